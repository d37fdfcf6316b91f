"""A lock made again with nothing changed is recalled, not resolved (`project/lock_memo.py`);
anything it was made from that changes makes it resolve anew."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from support.project import one_source_pipfile, out, read_lock, source_table, write_pipfile

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

RECALLED = "the lock is the one last made"


def _lock(run_pipfence: RunPipfence, project: Path, *args: str, **kw: object) -> str:
    """Lock from scratch (no Pipfile.lock on disk); return stderr."""
    (project / "Pipfile.lock").unlink(missing_ok=True)
    result = run_pipfence(["lock", "-v", *args], **kw)  # type: ignore[arg-type]
    assert result.returncode == 0, out(result)
    return result.stderr


def _two_sources(public: PypiServer, private: PypiServer, project: Path, packages: str) -> None:
    """A Pipfile with the public index first and `corp`, ``packages`` and `corp-app` from corp."""
    pipfile = (
        source_table("pypi", public.simple_url)
        + source_table("corp", private.simple_url)
        + f'[packages]\n{packages}corp-app = {{version = "*", index = "corp"}}\n'
    )
    (project / "Pipfile").write_text(pipfile, encoding="utf-8")


def _app_needing_lib(index: PypiServer, project: Path) -> None:
    """`app` 1.0, which requires `lib` (2.0 on the index), the Pipfile's one package."""
    index.add_dist("app", "1.0", requires=["lib"])
    index.add_dist("lib", "2.0")
    write_pipfile(project, one_source_pipfile(index.simple_url, 'app = "*"\n'))


def test_an_unchanged_project_is_recalled_byte_for_byte_without_a_request(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
) -> None:
    _app_needing_lib(public_index, pipfence_project)
    assert RECALLED not in _lock(run_pipfence, pipfence_project)
    first = (pipfence_project / "Pipfile.lock").read_bytes()

    public_index.clear_log()
    env = {**pipfence_env, "PYTHONPROFILEIMPORTTIME": "1"}
    again = _lock(run_pipfence, pipfence_project, env=env)
    assert RECALLED in again
    assert (pipfence_project / "Pipfile.lock").read_bytes() == first
    assert public_index.requested_paths() == []
    loaded = {
        line.rpartition("|")[2].strip()
        for line in again.splitlines()
        if line.startswith("import time:")
    }
    assert "resolvelib" not in loaded  # nothing was resolved


def test_a_new_release_is_locked_once_its_page_is_asked_again(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
) -> None:
    _app_needing_lib(public_index, pipfence_project)
    _lock(run_pipfence, pipfence_project)
    public_index.add_dist("lib", "3.0")

    # Within the page max-age neither a resolution nor a recall asks the index: 2.0 stays.
    assert RECALLED in _lock(run_pipfence, pipfence_project)
    assert read_lock(pipfence_project)["default"]["lib"]["version"] == "==2.0"
    # Pages asked again: the entry is a new one, so the lock resolves and takes 3.0 ...
    fresh = {**pipfence_env, "PIPFENCE_PAGE_MAX_AGE": "0"}
    assert RECALLED not in _lock(run_pipfence, pipfence_project, env=fresh)
    assert read_lock(pipfence_project)["default"]["lib"]["version"] == "==3.0"
    # ... and that lock is the one recalled next.
    assert RECALLED in _lock(run_pipfence, pipfence_project)
    assert read_lock(pipfence_project)["default"]["lib"]["version"] == "==3.0"


def test_an_edited_pipfile_or_clear_resolves_anew(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("lib", "1.0")
    public_index.add_dist("lib", "2.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'lib = "*"\n'))
    _lock(run_pipfence, pipfence_project)
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'lib = "<2"\n'))
    assert RECALLED not in _lock(run_pipfence, pipfence_project)
    assert read_lock(pipfence_project)["default"]["lib"]["version"] == "==1.0"
    assert RECALLED in _lock(run_pipfence, pipfence_project)
    assert RECALLED not in _lock(run_pipfence, pipfence_project, "--clear")


def test_a_name_a_private_index_lacked_is_asked_again_and_confusion_still_stops_the_lock(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    # corp-core is on the private index only, so the lock asked the default for it (404).
    private_index.add_dist("corp-app", "1.0", requires=["corp-core"])
    private_index.add_dist("corp-core", "1.0")
    public_index.add_dist("unrelated", "1.0")
    _two_sources(public_index, private_index, pipfence_project, "")
    _lock(run_pipfence, pipfence_project)
    public_index.clear_log()
    assert RECALLED in _lock(run_pipfence, pipfence_project)
    # Asked again, as a resolution asks it (with the index's root, to tell a 404 from a
    # wrong URL); no other name reaches the default.
    assert set(public_index.requested_paths()) == {"/simple/corp-core/", "/simple/"}

    # Someone publishes the private name on the public index: no recall lets it through.
    public_index.add_dist("corp-core", "99.0")
    (pipfence_project / "Pipfile.lock").unlink()
    result = run_pipfence(["lock"])
    assert result.returncode == 1, out(result)
    assert "`corp-core`" in result.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_pages_past_their_age_that_did_not_change_are_asked_again_and_the_lock_recalled(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
) -> None:
    _app_needing_lib(public_index, pipfence_project)
    _lock(run_pipfence, pipfence_project)
    first = (pipfence_project / "Pipfile.lock").read_bytes()
    stale = {**pipfence_env, "PIPFENCE_PAGE_MAX_AGE": "1"}
    time.sleep(1.2)  # both pages are past their age: a lock must ask for them again

    public_index.clear_log()
    env = {**stale, "PYTHONPROFILEIMPORTTIME": "1"}
    again = _lock(run_pipfence, pipfence_project, env=env)
    assert RECALLED in again
    assert (pipfence_project / "Pipfile.lock").read_bytes() == first
    # Each page asked once (this index sends them again whole: no 304), nothing else.
    assert sorted(public_index.requested_paths()) == ["/simple/app/", "/simple/lib/"]
    loaded = {line.rpartition("|")[2].strip() for line in again.splitlines()}
    assert "resolvelib" not in loaded

    # A page that changed meanwhile: resolved anew, the new release taken.
    time.sleep(1.2)
    public_index.add_dist("lib", "3.0")
    assert RECALLED not in _lock(run_pipfence, pipfence_project, env=stale)
    assert read_lock(pipfence_project)["default"]["lib"]["version"] == "==3.0"


def test_with_several_sources_a_page_past_its_age_makes_the_lock_resolve(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    private_index.add_dist("corp-app", "1.0")
    public_index.add_dist("lib", "1.0")
    _two_sources(public_index, private_index, pipfence_project, 'lib = "*"\n')
    stale = {**pipfence_env, "PIPFENCE_PAGE_MAX_AGE": "1"}
    _lock(run_pipfence, pipfence_project)
    time.sleep(1.2)
    assert RECALLED not in _lock(run_pipfence, pipfence_project, env=stale)
