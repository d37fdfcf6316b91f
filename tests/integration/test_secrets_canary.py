"""A canary password given to a source through `${VAR}` in its URL reaches the index and nothing
else: no written file (project, cache, home, virtualenvs, temp dir), no output at any verbosity,
no traceback, no child process's command line — on success and on every kind of failure.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import pytest

from support.faultserver import FaultServer, Hang, Respond
from support.project import one_source_pipfile, out, write_pipfile

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support import RunPipfence
    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

CANARY = "canary-Pw-7f3e9b"


def needles(user: str, password: str) -> list[bytes]:
    """Every form the secret could leak in: raw, URL-quoted, inside a Basic header."""
    basic = base64.b64encode(f"{user}:{password}".encode())
    return sorted({password.encode(), quote(password, safe="").encode(), basic})


def leaks(roots: list[Path], secrets: list[bytes]) -> list[str]:
    found = []
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found.extend(f"{path}: {s!r}" for s in secrets if s in data)
            found.extend(f"name {path}" for s in secrets if s.decode() in str(path))
    return found


def assert_no_leak(
    tmp_path: Path, env: dict[str, str], results: list[Any], secrets: list[bytes]
) -> None:
    for result in results:
        text = (result.stdout + result.stderr).encode()
        for secret in secrets:
            assert secret not in text, out(result)
        assert "Traceback" not in result.stderr or "--verbose" in " ".join(result.args)
    roots = [tmp_path / "project", Path(env["HOME"]), Path(env["PIPFENCE_CACHE_DIR"])]
    roots += [Path(env["WORKON_HOME"]), Path(env["XDG_CACHE_HOME"]).parent, Path(env["TMPDIR"])]
    assert leaks(roots, secrets) == []


@pytest.fixture
def env(pipfence_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    temp = tmp_path / "env" / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    return {
        **pipfence_env,
        "PIPENV_VENV_IN_PROJECT": "1",
        "TMPDIR": str(temp),
        "PIPFENCE_RETRIES": "2",
        "PIPFENCE_TIMEOUT": "2",
    }


def templated(url: str) -> str:
    return url.replace("http://", "http://${IDX_USER}:${IDX_PASS}@")


class CmdlineWatch:
    """Polls every process's /proc/*/cmdline while commands run (the test's own index
    servers, which are given the password on purpose, excepted)."""

    def __init__(self, secrets: list[bytes], ignore: tuple[bytes, ...] = ()) -> None:
        self.secrets = secrets
        self.ignore = (b"pypiserver", *ignore)
        self.hits: list[str] = []
        self.seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit() or int(entry.name) == me:
                    continue
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if any(part in cmdline for part in self.ignore):
                    continue
                self.seen += 1
                self.hits.extend(
                    cmdline.replace(b"\0", b" ").decode(errors="replace")
                    for secret in self.secrets
                    if secret in cmdline
                )
            self._stop.wait(0.01)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# -- the successful flows ---------------------------------------------------------------------


def test_canary_never_leaks_across_lock_sync_install_and_reports(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    authenticated_index: PypiServer,
) -> None:
    assert authenticated_index.auth is not None
    user, password = authenticated_index.auth
    authenticated_index.add_dist("payload", "1.0", requires=["buildme"])
    authenticated_index.add_sdist("buildme", "1.0")
    pipfile = write_pipfile(
        pipfence_project, one_source_pipfile(templated(authenticated_index.simple_url))
    )
    secret_env = {**env, "IDX_USER": user, "IDX_PASS": password}
    secrets = needles(user, password)
    results = []
    with CmdlineWatch(secrets) as watch:
        for args in (
            ["lock", "-v"],
            ["sync", "-v"],
            ["install", "-v"],
            ["requirements"],
            ["requirements", "--hash"],
            ["graph"],
            ["why", "buildme"],
            ["verify"],
            ["sources"],
            ["--envs"],
            ["--venv"],
        ):
            result = cli(args, env=secret_env)
            assert result.returncode == 0, f"{args}: {out(result)}"
            results.append(result)
        # Rebuild from scratch so the sdist build (a child process) runs under the watch.
        subprocess.run(["rm", "-rf", str(pipfence_project / ".venv")], check=True)
        rebuilt = cli(
            ["sync", "-v"], env={**secret_env, "PIPFENCE_CACHE_DIR": str(tmp_path / "c2")}
        )
        assert rebuilt.returncode == 0, out(rebuilt)
        results.append(rebuilt)
    assert watch.seen > 0
    assert watch.hits == []
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile
    assert b"${IDX_PASS}" in (pipfence_project / "Pipfile.lock").read_bytes()
    assert_no_leak(tmp_path, env, results, secrets)
    assert leaks([tmp_path / "c2"], secrets) == []


def test_literal_credentials_in_index_option_are_not_written_or_shown(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    authenticated_index: PypiServer,
) -> None:
    assert authenticated_index.auth is not None
    user, password = authenticated_index.auth
    authenticated_index.add_dist("payload", "1.0")
    results = []
    # The user typed the password on pipfence's own command line; its children must not repeat it.
    with CmdlineWatch(needles(user, password), ignore=(b"pipfence\0install",)) as watch:
        results.append(
            cli(
                [
                    "install",
                    "-v",
                    "payload",
                    f"--index={authenticated_index.authenticated_simple_url()}",
                ]
            )
        )
    assert results[0].returncode == 0, out(results[0])
    assert watch.hits == []
    assert_no_leak(tmp_path, env, results, needles(user, password))


# -- failures ---------------------------------------------------------------------------------


@pytest.fixture
def canary_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param(
            Respond(401, "unauthorized", {"WWW-Authenticate": 'Basic realm="x"'}), id="401"
        ),
        pytest.param(Respond(403, "forbidden"), id="403"),
        pytest.param(Respond(500, "boom"), id="500"),
        pytest.param(Hang(10), id="timeout"),
        pytest.param(
            Respond(200, "not json {", content_type="application/vnd.pypi.simple.v1+json"),
            id="bad-page",
        ),
    ],
)
@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_canary_never_leaks_on_failure(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    canary_server: FaultServer,
    behaviour: Any,
    verbose: bool,
) -> None:
    canary_server.route("/simple/payload/", behaviour)
    write_pipfile(pipfence_project, one_source_pipfile(templated(canary_server.simple_url)))
    secret_env = {**env, "IDX_USER": "alice", "IDX_PASS": CANARY}
    flag = ["--verbose"] if verbose else []
    results = [cli([*flag, command], env=secret_env, timeout=60) for command in ("lock", "install")]
    for result in results:
        assert result.returncode == 1, out(result)
        assert "`corp`" in result.stderr
    # The secret reached the index as it should, in the Authorization header.
    headers = [r.header("authorization") for r in canary_server.requests]
    assert headers
    assert all(
        h == "Basic " + base64.b64encode(f"alice:{CANARY}".encode()).decode() for h in headers
    )
    assert_no_leak(tmp_path, env, results, needles("alice", CANARY))


def test_canary_never_leaks_when_sync_download_fails(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    canary_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    wheel = dist_factory.wheel("payload", "1.0")
    canary_server.add_project("payload", [wheel])
    write_pipfile(pipfence_project, one_source_pipfile(templated(canary_server.simple_url)))
    secret_env = {**env, "IDX_USER": "alice", "IDX_PASS": CANARY}
    locked = cli(["lock"], env=secret_env)
    assert locked.returncode == 0, out(locked)
    results = [locked]
    for behaviour in (Respond(401, "no"), Respond(500, "boom"), Hang(10)):
        canary_server.route(f"/files/{wheel.name}", behaviour)
        result = cli(
            ["--verbose", "sync"],
            env={**secret_env, "PIPFENCE_CACHE_DIR": str(tmp_path / "fresh-cache")},
            timeout=60,
        )
        assert result.returncode == 1, out(result)
        results.append(result)
    assert_no_leak(tmp_path, env, results, needles("alice", CANARY))


def test_credentials_are_refused_over_plain_http_to_a_remote_host_without_leaking(
    cli: RunPipfence, env: dict[str, str], tmp_path: Path, pipfence_project: Path
) -> None:
    """A non-loopback http source with credentials is refused before anything is sent (the
    test network guard would block the connection anyway: nothing may be attempted)."""
    write_pipfile(
        pipfence_project,
        one_source_pipfile("http://${IDX_USER}:${IDX_PASS}@example.invalid/simple/"),
    )
    secret_env = {**env, "IDX_USER": "alice", "IDX_PASS": CANARY}
    result = cli(["--verbose", "lock"], env=secret_env)
    assert result.returncode in {1, 2}, out(result)
    assert_no_leak(tmp_path, env, [result], needles("alice", CANARY))
    assert not (pipfence_project / "Pipfile.lock").exists()
