"""Root test configuration: shared fixtures, `online` gating, a loopback-only network guard, and
the purity guard of tests/unit (no socket, no process unless a test is marked `fast_io`)."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import support
from support.cli import run_cli
from support.dists import DistFactory
from support.faultserver import FaultServer
from support.indexes import PypiServer

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

INDEX_USER = "pipfence"
INDEX_PASSWORD = "s3cret-pass"

_ONLINE_SELECTED = re.compile(r"(?<!not )\bonline\b")


class ExternalNetworkBlockedError(ConnectionRefusedError):
    """Raised in-process when a test not marked `online` reaches beyond loopback."""


class ImpureUnitTestError(RuntimeError):
    """Raised when a test in tests/unit without the `fast_io` mark opens a socket or a process."""


# A suite started in the background by a shell without job control (`cmd &` in a script,
# `nohup`) inherits SIGINT ignored, and so would every pipfence it starts: the interrupt tests
# would then test nothing. Commands started from here get the default disposition back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_bind = socket.socket.bind
_real_getaddrinfo = socket.getaddrinfo
_real_execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]
_network_allowed = False
_UNIT_TESTS = Path(__file__).resolve().parent / "unit"
_pure_test: str | None = None  # the node id of the running unit test that must stay pure


def _check_pure(what: str) -> None:
    if _pure_test is not None:
        raise ImpureUnitTestError(
            f"{_pure_test} {what}: mark it `@pytest.mark.fast_io` or make it pure"
        )


def _is_loopback(host: object) -> bool:
    if host is None or host == "localhost":
        return True
    if isinstance(host, bytes):
        host = host.decode()
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family in {socket.AF_INET, socket.AF_INET6}:
        _check_pure(f"connected a socket to {address!r}")
    if _network_allowed or sock.family not in {socket.AF_INET, socket.AF_INET6}:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        raise ExternalNetworkBlockedError(f"test tried to reach {address!r}; only loopback")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_address(self, address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)


def _guarded_bind(self: socket.socket, address: Any) -> None:
    if self.family in {socket.AF_INET, socket.AF_INET6}:
        _check_pure(f"bound a socket to {address!r}")
    _real_bind(self, address)


def _guarded_execute_child(self: subprocess.Popen[Any], args: Any, *rest: Any) -> None:
    _check_pure(f"started a process ({args!r})")
    _real_execute_child(self, args, *rest)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _network_allowed and host not in {"", b""} and not _is_loopback(host):
        try:
            ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, f"test tried to resolve {host!r}") from None
    return _real_getaddrinfo(host, *args, **kwargs)


def _online_enabled(config: pytest.Config) -> bool:
    if os.environ.get("PIPFENCE_ONLINE") == "1":
        return True
    return bool(_ONLINE_SELECTED.search(config.getoption("markexpr") or ""))


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
    socket.socket.bind = _guarded_bind  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _guarded_getaddrinfo
    subprocess.Popen._execute_child = _guarded_execute_child  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.socket.bind = _real_bind  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo
    subprocess.Popen._execute_child = _real_execute_child  # type: ignore[attr-defined]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _online_enabled(config):
        return
    skip = pytest.mark.skip(reason="online test: run with `-m online` or PIPFENCE_ONLINE=1")
    for item in items:
        if "online" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Setup, call and teardown of a test in tests/unit without `fast_io` run under the purity
    guard."""
    global _pure_test  # noqa: PLW0603
    pure = item.path.is_relative_to(_UNIT_TESTS) and item.get_closest_marker("fast_io") is None
    _pure_test = item.nodeid if pure else None
    # A change committed in-process lets Ctrl-C and SIGTERM go by for the rest of its command
    # (`pipfence._signals`); the next test gets the handlers it would have had.
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return (yield)
    finally:
        _pure_test = None
        for signum, handler in handlers.items():
            if handler is not None:
                signal.signal(signum, handler)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    global _network_allowed  # noqa: PLW0603
    _network_allowed = item.get_closest_marker("online") is not None
    try:
        return (yield)
    finally:
        _network_allowed = False


@pytest.fixture
def dist_factory(tmp_path_factory: pytest.TempPathFactory) -> DistFactory:
    """Builds wheels, sdists and source trees into a fresh directory (`.root`)."""
    return DistFactory(tmp_path_factory.mktemp("dists"))


def _session_index(
    tmp_path_factory: pytest.TempPathFactory, name: str, auth: tuple[str, str] | None = None
) -> Iterator[PypiServer]:
    server = PypiServer(tmp_path_factory.mktemp(name) / "packages", auth=auth)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _fresh(server: PypiServer) -> PypiServer:
    if not server.running:
        server.stop()
        server.start()
    server.reset()
    return server


@pytest.fixture(scope="session")
def _public_index_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    yield from _session_index(tmp_path_factory, "public-index")


@pytest.fixture(scope="session")
def _private_index_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    yield from _session_index(tmp_path_factory, "private-index")


@pytest.fixture(scope="session")
def _authenticated_index_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PypiServer]:
    yield from _session_index(tmp_path_factory, "auth-index", (INDEX_USER, INDEX_PASSWORD))


@pytest.fixture
def public_index(_public_index_server: PypiServer) -> PypiServer:
    """A running pypiserver, emptied of packages and log before the test."""
    return _fresh(_public_index_server)


@pytest.fixture
def private_index(_private_index_server: PypiServer) -> PypiServer:
    """A second running pypiserver on another port, emptied before the test."""
    return _fresh(_private_index_server)


@pytest.fixture
def authenticated_index(_authenticated_index_server: PypiServer) -> PypiServer:
    """A pypiserver requiring basic auth (`.auth` holds user and password) for every action."""
    return _fresh(_authenticated_index_server)


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def pipfence_env(tmp_path: Path) -> dict[str, str]:
    """Environment for the CLI: home, XDG dirs, caches and WORKON_HOME under tmp_path/env."""
    return support.pipfence_environ(tmp_path / "env")


@pytest.fixture
def pipfence_project(tmp_path: Path) -> Path:
    """An empty project directory, the default cwd of `run_pipfence`."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return project


@pytest.fixture(name="run_pipfence")
def run_pipfence_fixture(
    request: pytest.FixtureRequest, pipfence_env: dict[str, str], pipfence_project: Path
) -> support.RunPipfence:
    """Runs `pipfence` in pipfence_project with pipfence_env unless told otherwise: in this
    process (`support.cli`), or as `python -m pipfence` for `run`/`shell` and in a test marked
    `subprocess_cli`."""
    subprocess_only = request.node.get_closest_marker("subprocess_cli") is not None

    def run(
        args: Sequence[str | os.PathLike[str]],
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,  # noqa: A002
        timeout: float = support.CLI_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(
            args,
            pipfence_project if cwd is None else cwd,
            pipfence_env if env is None else env,
            input=input,
            timeout=timeout,
            subprocess_only=subprocess_only,
        )

    return run
