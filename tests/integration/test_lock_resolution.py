"""`pipfence lock` resolving past dead ends and writing markers as pipenv does, against a real
local index."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import support
from support.dists import write_source_tree
from support.pipenv import pipenv_environ, run_pipenv
from support.project import out, pipfile_text, read_lock, write_pipfile
from support.static_index import StaticIndexServer, write_static_index

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support import RunPipfence
    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def test_a_dependency_on_no_index_makes_the_lock_take_an_older_parent(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    # packse's `example`: b 3.0.0 depends on c, which no index has; pip, pipenv and uv take
    # b 2.0.0 instead of failing.
    public_index.add_dist("a", "1.0.0", requires=["b>1.0.0"])
    public_index.add_dist("b", "1.0.0")
    public_index.add_dist("b", "2.0.0")
    public_index.add_dist("b", "3.0.0", requires=["c"])
    write_pipfile(
        pipfence_project, pipfile_text([("public", public_index.simple_url)], 'a = "*"\n')
    )

    result = run_pipfence(["lock"])

    assert result.returncode == 0, result.stderr
    default = read_lock(pipfence_project)["default"]
    assert {name: entry["version"] for name, entry in default.items()} == {
        "a": "==1.0.0",
        "b": "==2.0.0",
    }


def test_a_python_version_of_just_the_major_locks_for_the_python_found(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    # `[requires] python_version = "3"`: any Python 3, as pipenv takes it; not Python 3.0,
    # for which a package needing Python 3.9 would have no release.
    public_index.add_dist("modern", "1.0", requires_python=">=3.9")
    text = pipfile_text([("public", public_index.simple_url)], 'modern = "*"\n')
    write_pipfile(pipfence_project, text + '\n[requires]\npython_version = "3"\n')

    result = run_pipfence(["lock"])

    assert result.returncode == 0, out(result)
    lock = read_lock(pipfence_project)
    assert lock["default"]["modern"]["version"] == "==1.0"
    assert lock["_meta"]["requires"] == {"python_version": "3"}


def test_a_dependency_on_no_index_with_no_way_around_names_the_chain(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("a", "1.0.0", requires=["b>1.0.0"])
    public_index.add_dist("b", "2.0.0", requires=["c"])
    public_index.add_dist("b", "3.0.0", requires=["c"])
    write_pipfile(
        pipfence_project, pipfile_text([("public", public_index.simple_url)], 'a = "*"\n')
    )

    result = run_pipfence(["lock"])

    assert result.returncode == 1
    assert "`c` was not found on the default source `public`" in result.stderr
    assert "`a` 1.0.0 → `b` 3.0.0, 2.0.0 → `c`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()


# -- markers as pipenv writes them ----------------------------------------------------------------

#: Pipfile entries and what pipenv 2026.10.3 writes as their `markers` when it locks them on
#: Python 3.11 against `marker_index` (each package's wheel carries the Requires-Python shown
#: in `_MARKER_DISTS`); `old` it writes unpinned, without hashes.
MARKER_ENTRIES = {
    "dcf": (
        """{version = "*", os_name = "== 'splashwear'"}""",
        "python_version >= '3.6' and os_name == 'splashwear'",
    ),
    "plain": ('"*"', "python_full_version >= '3.7.1'"),
    "gaps": (
        '"*"',
        "python_version >= '2.7' and python_version != '3.0' and python_version != '3.1'",
    ),
    "plat": ("""{version = "*", markers = "sys_platform == 'linux'"}""", "sys_platform == 'linux'"),
    "keys": (
        """{version = "*", sys_platform = "== 'linux'", markers = "os_name == 'posix'"}""",
        "os_name == 'posix' and sys_platform == 'linux'",
    ),
    "newer": (
        """{version = "*", markers = "python_version >= '3.9'"}""",
        "python_version >= '3.9'",
    ),
    "vcr": ('"*"', None),
    "yarl": (None, "python_version >= '3.10'"),  # vcr needs it on python_version >= '3.4'
    "old": ("""{version = "*", markers = "python_version < '3.8'"}""", "python_version < '3.8'"),
}

_MARKER_DISTS: dict[str, dict[str, Any]] = {
    "dcf": {"requires_python": ">=3.6"},
    "plain": {"requires_python": ">=3.7.1"},
    "gaps": {"requires_python": "!=3.0.*,!=3.1.*,>=2.7"},
    "plat": {"requires_python": ">=3.8"},
    "keys": {"requires_python": ">=3.8,<4"},
    "newer": {"requires_python": ">=3.8"},
    "vcr": {"requires": ["yarl; python_version >= '3.4'"]},
    "yarl": {"requires_python": ">=3.10"},
    "old": {"requires_python": ">=3.8"},
}


@pytest.fixture
def marker_index(dist_factory: DistFactory) -> Iterator[str]:
    """A static index whose pages give each wheel's Requires-Python, as PyPI's do."""
    files = [dist_factory.wheel(name, "1.0", **options) for name, options in _MARKER_DISTS.items()]
    root = dist_factory.root / "index"
    write_static_index(root, files, requires_python=True)
    with StaticIndexServer(root) as server:
        yield server.url + "/simple/"


def _marker_pipfile(url: str) -> str:
    packages = "".join(
        f"{name} = {entry}\n" for name, (entry, _marker) in MARKER_ENTRIES.items() if entry
    )
    return pipfile_text([("pypi", url)], packages) + '\n[requires]\npython_version = "3.11"\n'


def _markers(lock: dict[str, Any]) -> dict[str, str | None]:
    return {name: entry.get("markers") for name, entry in lock["default"].items()}


def test_lock_markers_are_written_as_pipenv_writes_them(
    run_pipfence: RunPipfence, pipfence_project: Path, marker_index: str
) -> None:
    write_pipfile(pipfence_project, _marker_pipfile(marker_index))

    result = run_pipfence(["lock"])

    assert result.returncode == 0, out(result)
    lock = read_lock(pipfence_project)
    assert _markers(lock) == {name: marker for name, (_entry, marker) in MARKER_ENTRIES.items()}


def test_an_entry_no_release_of_the_projects_python_meets_is_locked_unpinned(
    run_pipfence: RunPipfence, pipfence_project: Path, marker_index: str
) -> None:
    write_pipfile(pipfence_project, _marker_pipfile(marker_index))

    result = run_pipfence(["lock"])

    assert result.returncode == 0, out(result)
    # Not `python_version < '3.8' and python_version >= '3.8'`, pinned to a version resolved
    # for 3.11: pipenv's entry, which no install takes.
    assert read_lock(pipfence_project)["default"]["old"] == {
        "markers": "python_version < '3.8'",
        "version": "*",
    }
    assert 'Could not find a matching version of old; python_version < "3.8"' in result.stderr
    assert "+ old\n" in result.stdout + result.stderr
    synced = run_pipfence(["sync"])
    assert synced.returncode == 0, out(synced)


def test_an_entry_for_another_platform_that_no_index_has_is_locked_unpinned(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    # pipenv's test_resolve_skip_unmatched_requirements: the lock succeeds and says so.
    public_index.add_dist("six", "1.16.0")
    packages = 'six = "*"\nmissing-package = {markers = "os_name == \'FakeOS\'"}\n'
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], packages))

    result = run_pipfence(["lock"])

    assert result.returncode == 0, out(result)
    assert 'Could not find a matching version of missing-package; os_name == "FakeOS"' in (
        result.stderr
    )
    default = read_lock(pipfence_project)["default"]
    assert default["missing-package"] == {"markers": "os_name == 'FakeOS'", "version": "*"}
    assert default["six"]["version"] == "==1.16.0"


def test_a_windows_only_entry_is_still_pinned_and_hashed(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("pywin32", "306", tag="cp311-cp311-win_amd64")
    packages = 'pywin32 = {version = "*", markers = "sys_platform == \'win32\'"}\n'
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], packages))

    result = run_pipfence(["lock"])

    assert result.returncode == 0, out(result)
    entry = read_lock(pipfence_project)["default"]["pywin32"]
    assert entry["version"] == "==306"
    assert entry["markers"] == "sys_platform == 'win32'"
    assert len(entry["hashes"]) == 1


def test_lock_markers_match_pipenvs_on_the_same_pipfile(
    tmp_path: Path, pipfence_env: dict[str, str], marker_index: str
) -> None:
    locks = {}
    for tool in ("pipenv", "pipfence"):
        project = tmp_path / tool
        project.mkdir()
        write_pipfile(project, _marker_pipfile(marker_index))
        if tool == "pipenv":
            result = run_pipenv(project, pipenv_environ(pipfence_env, tmp_path), "lock")
        else:
            result = support.run_pipfence(["lock"], project, pipfence_env)
        assert result.returncode == 0, out(result)
        locks[tool] = read_lock(project)
    assert _markers(locks["pipfence"]) == _markers(locks["pipenv"])
    assert locks["pipfence"]["default"]["old"] == locks["pipenv"]["default"]["old"]


# -- git URLs with the ref after `@` --------------------------------------------------------------


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize("editable", [False, True])
def test_a_git_url_ending_in_at_ref_is_cloned_at_that_ref(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    tmp_path: Path,
    editable: bool,
) -> None:
    # pipenv's test_lock_editable_vcs_with_ref_in_git: `git = "file:///…/requests@883caaf"`.
    repo = write_source_tree(tmp_path, "gitpkg", "0.3").rename(tmp_path / "repo")
    _git("init", "--quiet", "-b", "main", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "--quiet", "-m", "one", cwd=repo)
    first = _git("rev-parse", "HEAD", cwd=repo)
    (repo / "later.txt").write_text("two\n", encoding="utf-8")
    _git("add", ".", cwd=repo)
    _git("commit", "--quiet", "-m", "two", cwd=repo)
    url = repo.as_uri()
    flag = ", editable = true" if editable else ""
    entry = f'gitpkg = {{git = "{url}@{first[:7]}"{flag}}}\n'
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], entry))

    result = run_pipfence(["lock"])

    assert result.returncode == 0, out(result)
    locked = read_lock(pipfence_project)["default"]["gitpkg"]
    assert locked["git"] == url
    assert locked["ref"] == first


def test_a_corrupt_lock_is_called_corrupt_and_left_alone(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    # pipenv's test_lockfile_corrupted: `install` over `{corrupted}` fails, saying so.
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))
    (pipfence_project / "Pipfile.lock").write_text("{corrupted}", encoding="utf-8")

    result = run_pipfence(["install"])

    assert result.returncode == 2
    assert "Pipfile.lock is corrupt" in result.stderr
    assert "Traceback" not in result.stderr
    assert (pipfence_project / "Pipfile.lock").read_text(encoding="utf-8") == "{corrupted}"


def test_an_sdist_whose_version_holds_a_dash_is_found(
    run_pipfence: RunPipfence, pipfence_project: Path, dist_factory: DistFactory
) -> None:
    # pipenv's test_backup_resolver: `ibm-db-sa-py3-0.3.1-1.tar.gz` is version 0.3.1-1 of
    # ibm-db-sa-py3 (0.3.1.post1), not version 1 of `ibm-db-sa-py3-0.3.1`.
    built = dist_factory.sdist("ibm-db-sa-py3", "0.3.1.post1")
    sdist = built.rename(built.with_name("ibm-db-sa-py3-0.3.1-1.tar.gz"))
    older = dist_factory.sdist("ibm-db-sa-py3", "0.3.0")
    root = dist_factory.root / "index"
    simple = write_static_index(root, [sdist, older])
    # The helper files each name under the project its last `-` gives; serve both under the
    # project's own page, as an index does.
    page = (simple / "ibm-db-sa-py3-0-3-1" / "index.html").read_text(encoding="utf-8")
    own = simple / "ibm-db-sa-py3" / "index.html"
    links = page.split("<body>\n", 1)[1].split("</body>", 1)[0]
    own.write_text(own.read_text(encoding="utf-8").replace("</body>", links + "</body>"))
    with StaticIndexServer(root) as server:
        packages = '"ibm-db-sa-py3" = "==0.3.1-1"\n'
        write_pipfile(pipfence_project, pipfile_text([("corp", server.url + "/simple/")], packages))

        result = run_pipfence(["lock"])

    assert result.returncode == 0, out(result)
    entry = read_lock(pipfence_project)["default"]["ibm-db-sa-py3"]
    assert entry["version"] == "==0.3.1.post1"
    assert len(entry["hashes"]) == 1
