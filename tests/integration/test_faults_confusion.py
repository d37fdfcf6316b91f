"""Dependency confusion: a name fenced to a private index never reaches the public one, and pip's
own configuration (`PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL`, a pip.conf) never widens the fence.

The hostile index is a `FaultServer` answering every project with a tempting `99.0`: the tests
assert it received zero requests during lock and sync.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.dists import build_wheel
from support.faultserver import FaultServer, Respond
from support.project import installed, out, read_lock, source_table

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def hostile(fault_server: FaultServer, dist_factory: DistFactory, *names: str) -> None:
    """Serve `99.0` of every name from the hostile server, with a catch-all index page."""
    evil = dist_factory.root / "evil"
    evil.mkdir(exist_ok=True)

    for name in names:
        fault_server.add_project(name, [build_wheel(evil, name, "99.0")])
    fault_server.route(
        "/simple/", Respond(200, "<html><body></body></html>", content_type="text/html")
    )


def test_pinned_private_name_ignores_a_higher_public_version(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("corp-auth", "99.0")
    public_index.add_dist("six", "1.16.0")
    private_index.add_dist("corp-auth", "1.2", requires=["six"])
    (pipfence_project / "Pipfile").write_text(
        source_table("pypi", public_index.simple_url)
        + source_table("corp", private_index.simple_url)
        + '[packages]\ncorp-auth = {version = "*", index = "corp"}\n',
        encoding="utf-8",
    )
    locked = run_pipfence(["lock"], env=env)
    assert locked.returncode == 0, out(locked)
    entry = read_lock(pipfence_project)["default"]["corp-auth"]
    assert (entry["version"], entry["index"]) == ("==1.2", "corp")

    synced = run_pipfence(["sync"], env=env)
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"corp-auth": "1.2", "six": "1.16.0"}
    asked = public_index.requested_paths()
    assert [p for p in asked if "corp" in p] == [], asked
    assert not any("corp" in p for p in public_index.requested_paths("HEAD"))


def test_transitive_private_name_on_both_indexes_stops_lock_and_writes_nothing(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    private_index.add_dist("corp-app", "1.0", requires=["corp-core"])
    private_index.add_dist("corp-core", "1.0")
    public_index.add_dist("corp-core", "99.0")
    pipfile = (
        source_table("pypi", public_index.simple_url)
        + source_table("corp", private_index.simple_url)
        + '[packages]\ncorp-app = {version = "*", index = "corp"}\n'
    )
    (pipfence_project / "Pipfile").write_text(pipfile, encoding="utf-8")
    for command in (["lock"], ["install"]):
        result = run_pipfence(command, env=env)
        assert result.returncode == 1, out(result)
        assert "`corp-core`" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (pipfence_project / "Pipfile.lock").exists()
        assert (pipfence_project / "Pipfile").read_text(encoding="utf-8") == pipfile
    assert installed(pipfence_project) == {}


def _pip_conf(tmp_path: Path, text: str) -> str:
    path = tmp_path / "hostile-pip.conf"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "how", ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "pip.conf"]
)
def test_pip_configuration_gets_zero_requests(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    public_index: PypiServer,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    how: str,
) -> None:
    public_index.add_dist("app", "1.0", requires=["helper"])
    public_index.add_dist("helper", "1.0")
    hostile(fault_server, dist_factory, "app", "helper")
    hostile_env = dict(env)
    if how == "pip.conf":
        hostile_env["PIP_CONFIG_FILE"] = _pip_conf(
            tmp_path,
            f"[global]\nindex-url = {fault_server.simple_url}\n"
            f"extra-index-url = {fault_server.url('/extra/simple/')}\n"
            f"find-links = {fault_server.url('/links/')}\n",
        )
    elif how == "PIP_FIND_LINKS":
        hostile_env[how] = fault_server.url("/links/")
    else:
        hostile_env[how] = fault_server.simple_url
    (pipfence_project / "Pipfile").write_text(
        source_table("pypi", public_index.simple_url) + '[packages]\napp = "*"\n',
        encoding="utf-8",
    )
    locked = run_pipfence(["lock"], env=hostile_env)
    assert locked.returncode == 0, out(locked)
    synced = run_pipfence(["sync"], env=hostile_env)
    assert synced.returncode == 0, out(synced)
    installed_now = run_pipfence(["install"], env=hostile_env)
    assert installed_now.returncode == 0, out(installed_now)
    assert installed(pipfence_project) == {"app": "1.0", "helper": "1.0"}
    assert fault_server.requests == []


def test_pip_index_url_never_reached_when_the_real_index_fails(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    """Even when the Pipfile's own index fails, pip's configured index is no fallback."""
    hostile(fault_server, dist_factory, "app")
    with FaultServer() as broken:
        broken.route("/simple/app/", Respond(503, "down"))
        pipfile = source_table("corp", broken.simple_url) + '[packages]\napp = "*"\n'
        (pipfence_project / "Pipfile").write_text(pipfile, encoding="utf-8")
        bad_env = {
            **env,
            "PIP_INDEX_URL": fault_server.simple_url,
            "PIP_EXTRA_INDEX_URL": fault_server.simple_url,
            "PIPFENCE_RETRIES": "1",
        }
        result = run_pipfence(["lock"], env=bad_env)
    assert result.returncode == 1, out(result)
    assert "`corp`" in result.stderr
    assert fault_server.requests == []
    assert not (pipfence_project / "Pipfile.lock").exists()
