"""`file:` sources: a PEP 503 tree on disk (air-gapped teams) is an index like any other — lock,
sync and install read it from disk, the lock records its `file:` URL as the Pipfile has it, and
the fence treats it as one more source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from support.dists import Dist
from support.project import (
    installed,
    one_source_pipfile,
    out,
    pipfile_text,
    read_lock,
    write_pipfile,
)
from support.static_index import write_static_index

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def test_folder_index_with_relative_links_and_metadata_files_locks_and_syncs(
    cli: RunPipfence, pipfence_project: Path, tmp_path: Path, dist_factory: DistFactory
) -> None:
    files = dist_factory.many(
        [
            Dist("acme-app", "1.0", requires=["acme-lib>=2"]),
            Dist("acme-app", "1.1", requires=["acme-lib>=2"]),
            Dist("acme-lib", "2.0", kind="both"),
        ]
    )
    # A folder whose path needs percent-encoding in a URL.
    simple = write_static_index(tmp_path / "wheel house 100%", files, metadata=True)
    url = simple.as_uri()
    assert "%20" in url
    assert "%25" in url
    write_pipfile(pipfence_project, one_source_pipfile(url, 'acme-app = "==1.0"\n', name="local"))

    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    lock = read_lock(pipfence_project)
    assert lock["_meta"]["sources"] == [{"name": "local", "url": url, "verify_ssl": False}]
    assert lock["default"]["acme-app"]["version"] == "==1.0"
    assert lock["default"]["acme-lib"]["version"] == "==2.0"
    assert len(lock["default"]["acme-lib"]["hashes"]) == 2  # the wheel and the sdist

    synced = cli(["sync"])
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"acme-app": "1.0", "acme-lib": "2.0"}


def test_folder_index_with_absolute_file_links_and_no_metadata_files(
    cli: RunPipfence,
    pipfence_project: Path,
    tmp_path: Path,
    dist_factory: DistFactory,
    public_index: PypiServer,
) -> None:
    files = dist_factory.many([Dist("acme-app", "1.0", requires=["acme-lib"])])
    files += dist_factory.many([Dist("acme-lib", "2.0", kind="sdist")])
    store = tmp_path / "store"
    simple = write_static_index(store, files, file_base=(store / "packages").as_uri() + "/")
    # The project folder spelled otherwise than normalised is found too.
    (simple / "acme-app").rename(simple / "Acme_App")
    public_index.add_dist("six", "1.0")
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("public", public_index.simple_url), ("local", simple.as_uri() + "/")],
            'six = "*"\nacme-app = {version = "*", index = "local"}\n',
        ),
    )
    result = cli(["install"])
    assert result.returncode == 0, out(result)
    lock = read_lock(pipfence_project)
    assert lock["default"]["acme-app"]["index"] == "local"
    assert lock["default"]["acme-lib"]["index"] == "local"
    assert installed(pipfence_project) == {"acme-app": "1.0", "acme-lib": "2.0", "six": "1.0"}
    # The fence as for any source: the pinned name never went to the default index; its
    # dependency was looked up on both (found only on the folder, so recorded there).
    asked = public_index.requested_paths()
    assert not [p for p in asked if "acme-app" in p], asked


def test_missing_project_in_folder_index_is_not_found(
    cli: RunPipfence, pipfence_project: Path, tmp_path: Path, dist_factory: DistFactory
) -> None:
    files = dist_factory.many([Dist("acme-app", "1.0")])
    simple = write_static_index(tmp_path / "store", files)
    write_pipfile(pipfence_project, one_source_pipfile(simple.as_uri(), 'absent = "*"\n'))
    result = cli(["lock"])
    assert result.returncode == 1, out(result)
    assert "`absent` was not found" in result.stderr, out(result)
    assert "Traceback" not in result.stderr


def test_sources_checks_a_folder_index_without_sending_anything(
    cli: RunPipfence, pipfence_project: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "air gapped" / "simple"
    (folder / "payload").mkdir(parents=True)
    (folder / "payload" / "index.html").write_text("<html><body></body></html>")
    write_pipfile(pipfence_project, one_source_pipfile(folder.as_uri()))
    result = cli(["sources"])
    assert result.returncode == 0, out(result)
    assert "local folder" in result.stdout
    missing = tmp_path / "nowhere" / "simple"
    write_pipfile(pipfence_project, one_source_pipfile(missing.as_uri()))
    gone = cli(["sources"])
    assert gone.returncode == 1, out(gone)
    assert "no folder at" in gone.stdout
