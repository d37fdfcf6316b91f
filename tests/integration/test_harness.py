"""Prove the shared test harness: built distributions, pypiserver indexes and the fault server."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
import zipfile
from email.parser import HeaderParser
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from pyproject_hooks import BuildBackendHookCaller

from support import SRC_DIR, RunPipfence, isolated_environ
from support.dists import Dist, build_many, build_sdist, build_wheel
from support.faultserver import (
    FaultServer,
    Hang,
    Redirect,
    Reset,
    Respond,
    RetryAfter,
    Trickle,
    Truncate,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from email.message import Message

    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def _client(**kwargs: object) -> httpx.Client:
    return httpx.Client(trust_env=False, **kwargs)  # type: ignore[arg-type]


def _check_wheel(path: Path) -> Message:
    """Assert every RECORD row matches the archive; return the parsed METADATA."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        records = [n for n in names if n.endswith(".dist-info/RECORD")]
        assert len(records) == 1
        record_name = records[0]
        rows = [line.split(",") for line in zf.read(record_name).decode().splitlines()]
        assert {row[0] for row in rows} == names
        for file_name, digest, size in rows:
            if file_name == record_name:
                assert (digest, size) == ("", "")
                continue
            data = zf.read(file_name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}"
            assert int(size) == len(data)
        info_dir = record_name.rsplit("/", 1)[0]
        return HeaderParser().parsestr(zf.read(f"{info_dir}/METADATA").decode())


def test_wheel_has_valid_record_and_metadata(tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path,
        "My.Cool-Pkg",
        "1.0",
        requires=["dep>=1", "colorama; sys_platform == 'win32'"],
        extras={"socks": ["pysocks>=1.7", "win-inet-pton; python_version < '3'"]},
        requires_python=">=3.8",
        files={"my_cool_pkg/extra.py": "X = 1\n"},
    )

    assert wheel.name == "my_cool_pkg-1.0-py3-none-any.whl"
    metadata = _check_wheel(wheel)
    assert metadata["Metadata-Version"] == "2.1"
    assert metadata["Name"] == "My.Cool-Pkg"
    assert metadata["Version"] == "1.0"
    assert metadata["Requires-Python"] == ">=3.8"
    assert metadata.get_all("Provides-Extra") == ["socks"]
    assert metadata.get_all("Requires-Dist") == [
        "dep>=1",
        'colorama; sys_platform == "win32"',
        'pysocks>=1.7; extra == "socks"',
        'win-inet-pton; (python_version < "3") and extra == "socks"',
    ]
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("my_cool_pkg/__init__.py") == b'__version__ = "1.0"\n'
        assert zf.read("my_cool_pkg/extra.py") == b"X = 1\n"
        wheel_text = zf.read("my_cool_pkg-1.0.dist-info/WHEEL").decode()
    assert "Tag: py3-none-any" in wheel_text


def test_wheel_tags_and_reproducible_bytes(tmp_path: Path) -> None:
    first = build_wheel(tmp_path / "a", "pkg", "2.0", tag="py2.py3-none-any")
    second = build_wheel(tmp_path / "b", "pkg", "2.0", tag="py2.py3-none-any")
    assert first.name == "pkg-2.0-py2.py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        wheel_text = zf.read("pkg-2.0.dist-info/WHEEL").decode()
    assert "Tag: py2-none-any\nTag: py3-none-any\n" in wheel_text

    linux = build_wheel(tmp_path, "native", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    assert linux.name == "native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    _check_wheel(linux)


def test_build_many_and_dist_factory(tmp_path: Path, dist_factory: DistFactory) -> None:
    built = build_many(
        tmp_path,
        [Dist("alpha", "1.0"), Dist("beta", "2.0", kind="sdist"), Dist("gamma", "3", kind="both")],
    )
    assert [p.name for p in built] == [
        "alpha-1.0-py3-none-any.whl",
        "beta-2.0.tar.gz",
        "gamma-3-py3-none-any.whl",
        "gamma-3.tar.gz",
    ]
    wheel = dist_factory.wheel("delta", "0.1", requires=["alpha"])
    assert wheel.parent == dist_factory.root
    assert dist_factory.sdist("delta", "0.1").name == "delta-0.1.tar.gz"
    tree = dist_factory.source_tree("epsilon", "1.0")
    assert (tree / "pyproject.toml").is_file()
    assert (tree / "epsilon" / "__init__.py").is_file()


def test_sdist_builds_offline_with_pyproject_hooks(tmp_path: Path) -> None:
    sdist = build_sdist(
        tmp_path / "dist",
        "Hooked_Pkg",
        "0.3",
        requires=["dep; sys_platform != 'win32'"],
        extras={"fast": ["speedup"]},
        files={"hooked_pkg/data.txt": "payload"},
    )
    assert sdist.name == "hooked_pkg-0.3.tar.gz"
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
        tf.extractall(tmp_path / "src", filter="data")
    assert "hooked_pkg-0.3/PKG-INFO" in names
    tree = tmp_path / "src" / "hooked_pkg-0.3"
    build_system = tomllib.loads((tree / "pyproject.toml").read_text())["build-system"]
    assert build_system["requires"] == []

    hooks = BuildBackendHookCaller(
        str(tree),
        build_system["build-backend"],
        backend_path=build_system["backend-path"],
        runner=_quiet_runner,
    )
    assert hooks.get_requires_for_build_wheel() == []
    assert hooks.get_requires_for_build_sdist() == []

    metadata_dir = tmp_path / "metadata"
    metadata_dir.mkdir()
    info = hooks.prepare_metadata_for_build_wheel(str(metadata_dir))
    assert info == "hooked_pkg-0.3.dist-info"
    metadata = HeaderParser().parsestr((metadata_dir / info / "METADATA").read_text())
    assert metadata["Name"] == "Hooked_Pkg"
    assert metadata.get_all("Requires-Dist") == [
        'dep; sys_platform != "win32"',
        'speedup; extra == "fast"',
    ]

    out = tmp_path / "out"
    out.mkdir()
    wheel = out / hooks.build_wheel(str(out), metadata_directory=str(metadata_dir))
    assert wheel.name == "hooked_pkg-0.3-py3-none-any.whl"
    assert _check_wheel(wheel)["Version"] == "0.3"
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("hooked_pkg/data.txt") == b"payload"
        assert not any(n in {"_backend.py", "pyproject.toml"} for n in zf.namelist())

    editable = out / hooks.build_editable(str(out))
    with zipfile.ZipFile(editable) as zf:
        assert zf.read("__editable__.hooked_pkg.pth").decode().strip() == str(tree)

    resdist = out / hooks.build_sdist(str(out))
    with tarfile.open(resdist) as tf:
        assert "hooked_pkg-0.3/_backend.py" in tf.getnames()


def _quiet_runner(
    cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
) -> None:
    env = isolated_environ()
    env.update(extra_environ or {})
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)


def test_pip_installs_built_dists_offline(tmp_path: Path) -> None:
    links = tmp_path / "links"
    build_many(
        links,
        [
            Dist(
                "top-pkg",
                "1.0",
                requires=["dep-a>=1", "colorama; sys_platform == 'win32'"],
                extras={"fast": ["from-sdist"]},
            ),
            Dist("dep-a", "0.9"),
            Dist("dep-a", "1.2"),
            Dist("from-sdist", "2.0", kind="sdist", files={"from_sdist/mod.py": "VALUE = 42\n"}),
        ],
    )
    venv = tmp_path / "venv"
    env = isolated_environ()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-index",
            "--find-links",
            str(links),
            "--no-cache-dir",
            "top-pkg[fast]",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    probe = subprocess.run(
        [
            str(python),
            "-c",
            (
                "import top_pkg, dep_a, from_sdist.mod as m;"
                "print(top_pkg.__version__, dep_a.__version__, m.VALUE)"
            ),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == ["1.0", "1.2", "42"]


def test_indexes_serve_their_own_files_and_log_requests(
    public_index: PypiServer, private_index: PypiServer
) -> None:
    assert public_index.port != private_index.port
    wheel = public_index.add_dist("Alpha", "1.0")
    private_index.add_sdist("beta", "2.0")

    with _client() as client:
        page = client.get(public_index.project_url("alpha"))
        assert page.status_code == 200
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert f'href="/packages/{wheel.name}#sha256={digest}"' in page.text
        assert client.get(private_index.project_url("alpha")).status_code == 404
        assert "beta-2.0.tar.gz" in client.get(private_index.project_url("beta")).text
        download = client.get(public_index.file_url(wheel.name))
        assert download.content == wheel.read_bytes()
        json_page = client.get(
            public_index.project_url("alpha"),
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        )
        assert json_page.headers["content-type"].startswith("text/html")

    assert public_index.requests() == [
        ("GET", "/simple/alpha/", 200),
        ("GET", f"/packages/{wheel.name}", 200),
        ("GET", "/simple/alpha/", 200),
    ]
    assert private_index.requested_paths() == ["/simple/alpha/", "/simple/beta/"]
    public_index.clear_log()
    assert public_index.requests() == []


def test_index_reset_and_add(public_index: PypiServer, tmp_path: Path) -> None:
    outside = build_wheel(tmp_path, "gamma", "1.0")
    public_index.add(outside)
    assert public_index.files() == ["gamma-1.0-py3-none-any.whl"]
    with _client() as client:
        assert client.get(public_index.project_url("gamma")).status_code == 200
        public_index.reset()
        assert public_index.files() == []
        assert client.get(public_index.project_url("gamma")).status_code == 404
    assert public_index.requests() == [("GET", "/simple/gamma/", 404)]


def test_authenticated_index(authenticated_index: PypiServer) -> None:
    assert authenticated_index.auth is not None
    wheel = authenticated_index.add_dist("secret-pkg", "1.0")
    url = authenticated_index.project_url("secret-pkg")
    with _client() as client:
        assert client.get(url).status_code == 401
        assert client.get(url, auth=("pipfence", "wrong")).status_code == 403
        page = client.get(url, auth=authenticated_index.auth)
        assert page.status_code == 200
        assert wheel.name in page.text
        file_url = authenticated_index.file_url(wheel.name)
        assert client.get(file_url).status_code == 401
    assert [r.status for r in authenticated_index.requests()] == [401, 403, 200, 401]


def test_pipfence_env_is_isolated(pipfence_env: dict[str, str], tmp_path: Path) -> None:
    assert pipfence_env["PIP_CONFIG_FILE"] == os.devnull
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        assert name not in pipfence_env
    assert not [k for k in pipfence_env if k.startswith("PIPENV_")]
    assert "VIRTUAL_ENV" not in pipfence_env
    assert pipfence_env["NO_COLOR"] == "1"
    for name in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "PIPFENCE_CACHE_DIR", "WORKON_HOME"):
        path = Path(pipfence_env[name])
        assert path.is_dir()
        assert path.is_relative_to(tmp_path)
    assert pipfence_env["PYTHONPATH"] == str(SRC_DIR)
    shown = subprocess.run(
        [sys.executable, "-c", "import os; print(os.path.expanduser('~'))"],
        env=pipfence_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == pipfence_env["HOME"]


def test_run_pipfence_runs_module_in_project(
    run_pipfence: RunPipfence, pipfence_env: dict[str, str], tmp_path: Path
) -> None:
    fake = tmp_path / "fake" / "pipfence"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(
        "import os, sys\n"
        "print(sys.argv[1:], os.getcwd(), sys.stdin.read(), os.environ['PIP_CONFIG_FILE'])\n"
        "raise SystemExit(3)\n"
    )
    env = {**pipfence_env, "PYTHONPATH": str(fake.parent)}
    result = run_pipfence(["lock", "--dev"], env=env, input="yes")
    assert result.returncode == 3
    assert result.stdout.strip() == f"['lock', '--dev'] {tmp_path / 'project'} yes {os.devnull}"


def test_network_guard_blocks_non_loopback() -> None:
    assert socket.socket.connect.__name__ == "_guarded_connect"
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="only loopback"):
        sock.connect(("192.0.2.1", 9))
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("pypi.org", 443)
    assert socket.getaddrinfo("127.0.0.1", 80)


@pytest.mark.online
def test_online_tests_run_only_when_asked(request: pytest.FixtureRequest) -> None:
    asked = os.environ.get("PIPFENCE_ONLINE") == "1" or "online" in (
        request.config.getoption("markexpr") or ""
    )
    assert asked


def test_fault_responses_in_order_then_repeat(fault_server: FaultServer) -> None:
    fault_server.route("/s", Respond(500, "boom"), Respond(200, "ok"))
    fault_server.route("/busy", RetryAfter(3), Respond(204))
    with _client() as client:
        assert [client.get(fault_server.url("/s")).status_code for _ in range(3)] == [500, 200, 200]
        busy = client.get(fault_server.url("/busy"))
        assert (busy.status_code, busy.headers["retry-after"]) == (503, "3")
        assert client.get(fault_server.url("/busy")).status_code == 204
        missing = client.get(fault_server.url("/nowhere?x=1"))
        assert missing.status_code == 404
        client.post(fault_server.url("/s"), content=b"data", headers={"Authorization": "Bearer t"})
    last = fault_server.requests[-1]
    assert (last.method, last.path, last.body) == ("POST", "/s", b"data")
    assert last.header("Authorization") == "Bearer t"
    assert fault_server.requests[-2].query == "x=1"
    assert fault_server.paths("GET") == ["/s", "/s", "/s", "/busy", "/busy", "/nowhere"]
    fault_server.clear()
    assert fault_server.requests == []


def test_fault_broken_bodies(fault_server: FaultServer) -> None:
    body = b"x" * 5000
    fault_server.route("/truncated", Truncate(body, sent=100))
    fault_server.route("/reset", Reset(body, sent=100))
    with _client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(fault_server.url("/truncated"))
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            client.get(fault_server.url("/reset"))


def test_fault_slow_responses(fault_server: FaultServer) -> None:
    fault_server.route("/slow", Trickle(b"abcd", interval=0.05))
    fault_server.route("/slower", Trickle(b"abcd", interval=1.0))
    fault_server.route("/bounded", Trickle(b"x" * 100, interval=0.05, limit=0.3))
    fault_server.route("/hang", Hang(limit=5))
    with _client(timeout=httpx.Timeout(5.0, read=0.4)) as client:
        started = time.monotonic()
        assert client.get(fault_server.url("/slow")).content == b"abcd"
        assert time.monotonic() - started >= 0.15
        with pytest.raises(httpx.ReadTimeout):
            client.get(fault_server.url("/slower"))
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(fault_server.url("/bounded"))
        with pytest.raises(httpx.ReadTimeout):
            client.get(fault_server.url("/hang"))


def test_fault_server_stop_releases_hanging_clients() -> None:
    errors: list[BaseException] = []
    with FaultServer() as server:
        server.route("/hang", Hang(limit=30))

        def fetch() -> None:
            try:
                with _client(timeout=30) as client:
                    client.get(server.url("/hang"))
            except httpx.HTTPError as exc:
                errors.append(exc)

        thread = threading.Thread(target=fetch, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 3
    assert errors


def test_fault_redirects(fault_server: FaultServer) -> None:
    fault_server.route("/a", Redirect("/b"))
    fault_server.route("/b", Redirect("/a"))
    with FaultServer() as other:
        other.route("/landing", Respond(200, "landed"))
        fault_server.route("/away", Redirect(other.url("/landing"), status=301))
        with _client(follow_redirects=True, max_redirects=5) as client:
            with pytest.raises(httpx.TooManyRedirects):
                client.get(fault_server.url("/a"))
            landed = client.get(fault_server.url("/away"), headers={"Authorization": "Basic eDp5"})
        assert landed.text == "landed"
        assert fault_server.requests[-1].header("authorization") == "Basic eDp5"
        assert other.requests[0].header("authorization") is None


def test_fault_server_as_simple_index(fault_server: FaultServer, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "flaky", "1.0")
    page_url = fault_server.add_project("Flaky", [wheel], before=[Respond(500)])
    assert page_url == fault_server.simple_url + "flaky/"
    with _client() as client:
        assert client.get(page_url).status_code == 500
        page = client.get(page_url)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        href = fault_server.url(f"/files/{wheel.name}") + f"#sha256={digest}"
        assert f'href="{href}"' in page.text
        assert client.get(href.split("#")[0]).content == wheel.read_bytes()
