"""Real index servers other than pypiserver, as teams run them: devpi-server (a private index
with users, and a PyPI-style mirror for `--pypi-mirror`) and a static "dumb" index (HTML files in
folders behind a plain static HTTP server, as on object storage), each as a private index and as
a mirror. Their access logs show what pipfence asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from support.devpi import DevpiServer, DevpiUnavailableError, devpi_available
from support.dists import Dist, build_many
from support.project import installed, one_source_pipfile, out, read_lock, write_pipfile
from support.static_index import StaticIndexServer, write_static_index

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

ALICE = ("alice", "al1ce-Pw:/#?%41")
PYPI = "https://pypi.org/simple"
APP = [
    Dist("acme-app", "1.0", requires=["acme-lib>=2"]),
    Dist("acme-lib", "2.0", kind="both"),
    Dist("acme-lib", "2.1"),
]


@pytest.fixture(scope="module")
def devpi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevpiServer]:
    if not devpi_available():
        pytest.skip("devpi-server is not installed (it comes with the `test` extra)")
    server = DevpiServer(tmp_path_factory.mktemp("devpi"))
    try:
        server.start()
    except DevpiUnavailableError as exc:
        pytest.skip(f"devpi-server could not start here: {exc}")
    try:
        server.create_user(*ALICE)
        yield server
    finally:
        server.stop()


def upstream_lock(
    cli: RunPipfence, project: Path, upstream: PypiServer, env: dict[str, str]
) -> bytes:
    result = cli(["lock", "--pypi-mirror", upstream.simple_url], env=env)
    assert result.returncode == 0, out(result)
    return (project / "Pipfile.lock").read_bytes()


# -- devpi ---------------------------------------------------------------------------------------


def test_devpi_user_index_with_credentials_from_env_locks_and_syncs(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    devpi: DevpiServer,
    tmp_path: Path,
) -> None:
    devpi.create_index("alice/dev", ALICE)
    files = build_many(tmp_path / "dists", APP)
    # Only alice may upload to her index.
    assert devpi.upload("alice/dev", files[0], auth=None) in {401, 403}
    assert devpi.upload("alice/dev", files[0], auth=("alice", "wrong")) in {401, 403}
    for path in files:
        assert devpi.upload("alice/dev", path, auth=ALICE) == 200
    url = devpi.simple_url("alice/dev").replace("http://", "http://alice:${DEVPI_PASSWORD}@")
    write_pipfile(pipfence_project, one_source_pipfile(url, 'acme-app = "*"\n', name="devpi"))
    secret_env = {**env, "DEVPI_PASSWORD": ALICE[1]}
    devpi.clear_log()

    locked = cli(["lock"], env=secret_env)
    assert locked.returncode == 0, out(locked)
    lock = read_lock(pipfence_project)
    assert lock["_meta"]["sources"][0]["url"] == url
    assert lock["default"]["acme-lib"]["version"] == "==2.1"
    synced = cli(["sync"], env=secret_env)
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"acme-app": "1.0", "acme-lib": "2.1"}
    for result in (locked, synced):
        assert ALICE[1] not in result.stdout + result.stderr
    asked = devpi.requested_paths()
    assert "/alice/dev/+simple/acme-app/" in asked, asked
    assert "/alice/dev/+simple/acme-lib/" in asked, asked
    assert any(p.startswith("/alice/dev/+f/") and "acme_app-1.0" in p for p in asked), asked


def test_devpi_mirror_of_the_default_index_through_pypi_mirror(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    devpi: DevpiServer,
    public_index: PypiServer,
) -> None:
    public_index.add_many(APP)
    devpi.create_index("alice/upstream", ALICE, type="mirror", mirror_url=public_index.simple_url)
    write_pipfile(pipfence_project, one_source_pipfile(PYPI, 'acme-app = "*"\n', name="pypi"))
    direct = upstream_lock(cli, pipfence_project, public_index, env)
    (pipfence_project / "Pipfile.lock").unlink()
    public_index.clear_log()
    devpi.clear_log()

    mirror = devpi.simple_url("alice/upstream")
    locked = cli(["lock", "--pypi-mirror", mirror])
    assert locked.returncode == 0, out(locked)
    assert (pipfence_project / "Pipfile.lock").read_bytes() == direct
    assert read_lock(pipfence_project)["_meta"]["sources"][0]["url"] == PYPI
    synced = cli(["sync", "--pypi-mirror", mirror])
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"acme-app": "1.0", "acme-lib": "2.1"}
    # pipfence asked devpi; devpi asked its upstream.
    assert "/alice/upstream/+simple/acme-app/" in devpi.requested_paths()
    assert "/simple/acme-app/" in public_index.requested_paths()


# -- a static index over plain HTTP -------------------------------------------------------------


@pytest.fixture
def static_root(tmp_path: Path) -> Path:
    return tmp_path / "bucket"


def test_static_index_as_private_index_and_as_mirror(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    static_root: Path,
) -> None:
    files = public_index.add_many(APP)
    write_static_index(static_root, files, metadata=True)
    with StaticIndexServer(static_root) as static:
        simple = f"{static.url}/simple"
        write_pipfile(pipfence_project, one_source_pipfile(simple, 'acme-app = "*"\n'))
        locked = cli(["lock"])
        assert locked.returncode == 0, out(locked)
        synced = cli(["sync"])
        assert synced.returncode == 0, out(synced)
        assert installed(pipfence_project) == {"acme-app": "1.0", "acme-lib": "2.1"}
        asked = static.requested_paths()
        assert "/simple/acme-app/" in asked, asked
        # PEP 658: the metadata files, not the wheels, during the lock; the wheels at sync.
        assert "/packages/acme_app-1.0-py3-none-any.whl.metadata" in asked, asked
        assert "/packages/acme_app-1.0-py3-none-any.whl" in asked, asked

        # The same bucket as a mirror of the default index: the lock is the upstream's.
        write_pipfile(pipfence_project, one_source_pipfile(PYPI, 'acme-app = "*"\n', name="pypi"))
        direct = upstream_lock(cli, pipfence_project, public_index, env)
        (pipfence_project / "Pipfile.lock").unlink()
        mirrored = cli(["lock", "--pypi-mirror", f"{simple}/"])
        assert mirrored.returncode == 0, out(mirrored)
        assert (pipfence_project / "Pipfile.lock").read_bytes() == direct
        assert read_lock(pipfence_project)["_meta"]["sources"][0]["url"] == PYPI
