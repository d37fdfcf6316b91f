"""A canary password given to a source through `${VAR}` in its URL reaches the index and nothing
else: no written file (project, cache, home, virtualenvs, temp dir), no output at any verbosity,
no traceback, no child process's command line — on success and on every kind of failure.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.faultserver import FaultServer, Hang, Respond
from support.project import one_source_pipfile, out, write_pipfile
from support.secrets import CmdlineWatch, leaks, needles

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support import RunPipfence
    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

CANARY = "canary-Pw-7f3e9b"


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
