"""The fence's rules, situation by situation, through the real CLI against real loopback indexes.

Each test asserts what the rules (`pipfence.models.fence`) say: the exit code, the lock, the
message, and above all the indexes' access logs: which index heard which name.

1. ``index = "X"``: only X hears the name, and the package comes from X.
2. Listed without ``index``: only the default hears it.
3. A dependency: the default, and the source its parent came from (X) too; only on X → X
   (``"index": "X"``); on both as the same files (X mirrors the default) → the default; on both
   as different files → the lock stops (unless ``pipfence_confusion_check = false``: the
   default). A page listing no files counts as absent.
4. Build requirements follow 1-3, the package being built standing as their parent.
5. sync checks every lock entry before it fetches anything.
7. No prefetch sends a name where 1-3 would not.
"""

from __future__ import annotations

import hashlib
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from packaging.utils import canonicalize_name

from support.dists import dist_filename_stem, pack_sdist, write_source_tree
from support.faultserver import Respond
from support.project import (
    edit_lock,
    fresh_cache,
    installed,
    out,
    pipfile_text,
    read_lock,
    write_pipfile,
)

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


# -- helpers -------------------------------------------------------------------------------


def _naming(name: str) -> re.Pattern[str]:
    """A path segment naming the project: its page (``/simple/acme-build/``) or one of its
    files (``/packages/acme_build-1.0-py3-none-any.whl``)."""
    canonical = canonicalize_name(name)
    forms = sorted({canonical, canonical.replace("-", "_")})
    return re.compile(r"/(?:" + "|".join(map(re.escape, forms)) + r")(?:[-/.]|$)", re.IGNORECASE)


def heard(index: PypiServer, name: str) -> list[str]:
    """Every request (any method) ``index`` answered whose path names ``name``."""
    pattern = _naming(name)
    return [f"{r.method} {r.path}" for r in index.requests() if pattern.search(r.path)]


def file_gets(index: PypiServer, name: str) -> list[str]:
    """The downloads (GET of a file, not of a page) of ``name`` from ``index``."""
    pattern = _naming(name)
    return [p for p in index.requested_paths() if p.startswith("/packages/") and pattern.search(p)]


def fault_heard(server: FaultServer, name: str) -> list[str]:
    """Every request path the fault server recorded that names ``name``."""
    pattern = _naming(name)
    return [p for p in server.paths() if pattern.search(p)]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def closed_port_url() -> str:
    """A loopback URL where nothing listens: every connection is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"http://127.0.0.1:{port}/simple/"


def sdist_with_build_requirements(
    dest: Path,
    scratch: Path,
    name: str,
    version: str,
    *,
    build_requires: list[str],
    backend_prefix: str = "",
) -> Path:
    """An sdist whose ``[build-system] requires`` lists ``build_requires`` and whose in-tree
    backend starts with ``backend_prefix`` (run on every hook: a check of what it imports)."""
    root = write_source_tree(scratch, name, version)
    tree = root.rename(root.with_name(dist_filename_stem(name, version)))
    pyproject = tree / "pyproject.toml"
    listed = ", ".join(f'"{r}"' for r in build_requires)
    text = pyproject.read_text(encoding="utf-8")
    assert "requires = []" in text
    pyproject.write_text(text.replace("requires = []", f"requires = [{listed}]"), encoding="utf-8")
    backend = tree / "_backend.py"
    backend.write_text(backend_prefix + backend.read_text(encoding="utf-8"), encoding="utf-8")
    return pack_sdist(tree, dest)


def two_sources(public: str, private: str) -> list[tuple[str, str]]:
    """The usual set-up: the public index is the default, the private one the second."""
    return [("public", public), ("private", private)]


def pin_app_to_private(project: Path, public: PypiServer, private: PypiServer) -> None:
    """The usual Pipfile: the two sources, and `acme-app` pinned to `private`."""
    write_pipfile(
        project,
        pipfile_text(
            two_sources(public.simple_url, private.simple_url),
            'acme-app = {version = "*", index = "private"}\n',
        ),
    )


# -- a. an unpinned name is asked of the default alone; a down third source is harmless -----


@pytest.mark.parametrize("down", ["503", "closed-port"])
def test_a_unpinned_names_are_asked_of_the_default_alone_and_a_down_source_is_never_asked(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    fault_server: FaultServer,
    down: str,
) -> None:
    public_index.add_dist("tool", "1.0", requires=["helper"])
    public_index.add_dist("helper", "2.0")
    private_index.add_dist("acme-app", "1.0")
    if down == "503":
        for path in ("/simple/", "/simple/tool/", "/simple/helper/", "/simple/acme-app/"):
            fault_server.route(path, Respond(503, "down for maintenance"))
        pytorch = fault_server.simple_url
    else:
        pytorch = closed_port_url()
    sources = [*two_sources(public_index.simple_url, private_index.simple_url)]
    sources.append(("pytorch", pytorch))
    write_pipfile(
        pipfence_project,
        pipfile_text(sources, 'tool = "*"\nacme-app = {version = "*", index = "private"}\n'),
    )

    result = cli(["lock"], env={**env, "PIPFENCE_RETRIES": "1"})
    assert result.returncode == 0, out(result)
    default = read_lock(pipfence_project)["default"]
    assert default["tool"]["version"] == "==1.0"
    assert default["helper"]["version"] == "==2.0"
    assert "index" not in default["helper"]
    assert (default["acme-app"]["version"], default["acme-app"]["index"]) == ("==1.0", "private")
    # The log works, and the default alone heard the unpinned names.
    assert heard(public_index, "tool")
    assert heard(public_index, "helper")
    assert heard(private_index, "tool") == []
    assert heard(private_index, "helper") == []
    # The pinned name went to its index alone.
    assert heard(private_index, "acme-app")
    assert heard(public_index, "acme-app") == []
    # The down source is no source of anything here: it heard nothing at all.
    assert fault_server.requests == []


# -- b. a private default mirroring the public one, the public one a secondary source ------


def test_b_a_dependency_on_a_mirroring_default_and_on_its_parents_source_is_the_defaults(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    app = public_index.add_dist("app", "1.0", requires=["six"])
    six = public_index.add_dist("six", "1.16.0")
    # The private default mirrors the public index: the very same files.
    for path in (app, six):
        private_index.add(path)
    sources = [("private", private_index.simple_url), ("public", public_index.simple_url)]
    write_pipfile(
        pipfence_project, pipfile_text(sources, 'app = {version = "*", index = "public"}\n')
    )

    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    assert "dependency confusion" not in result.stderr + result.stdout
    default = read_lock(pipfence_project)["default"]
    assert (default["app"]["version"], default["app"]["index"]) == ("==1.0", "public")
    assert default["six"]["version"] == "==1.16.0"
    assert default["six"].get("index", "private") == "private"
    assert default["six"]["hashes"] == [f"sha256:{sha256_of(six)}"]
    # Rule 1: the pinned name never reached the default.
    assert heard(private_index, "app") == []
    # Rule 3: the parent's source was asked about `six`, but the file came from the default.
    assert heard(public_index, "six")
    assert file_gets(public_index, "six") == []


# -- c. a private index carrying copies of public packages a private package needs ---------


def test_c_a_dependency_identical_on_the_private_index_comes_from_the_default(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    six = public_index.add_dist("six", "1.16.0")
    private_index.add(six)
    private_index.add_dist("acme-app", "1.0", requires=["six"])
    pin_app_to_private(pipfence_project, public_index, private_index)

    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    assert "dependency confusion" not in result.stderr + result.stdout
    default = read_lock(pipfence_project)["default"]
    assert (default["acme-app"]["version"], default["acme-app"]["index"]) == ("==1.0", "private")
    assert default["six"]["version"] == "==1.16.0"
    assert "index" not in default["six"]
    assert default["six"]["hashes"] == [f"sha256:{sha256_of(six)}"]
    assert heard(public_index, "acme-app") == []
    assert heard(private_index, "six")  # asked (rule 3), found to be a copy
    assert file_gets(private_index, "six") == []


def test_c_copies_of_the_private_files_beside_a_hostile_newer_version_stop_the_lock(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    # The attacker put byte-identical copies of the private `acme-core` 1.0 on the default,
    # beside a hostile 99.0: the default would be chosen (99.0), which `private` has no copy
    # of, so the lock stops instead of taking it.
    core = private_index.add_dist("acme-core", "1.0")
    public_index.add(core)
    public_index.add_dist("acme-core", "99.0")
    private_index.add_dist("acme-app", "1.0", requires=["acme-core"])
    pin_app_to_private(pipfence_project, public_index, private_index)

    result = cli(["lock"])
    assert result.returncode == 1, out(result)
    assert "`acme-core` is on the default source `public` and on `private`" in result.stderr
    assert "`private` has no identical copy of 99.0, the version chosen" in result.stderr
    assert 'acme-core = {version = "*", index = "private"}' in result.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_c_a_lagging_private_default_and_the_public_secondary_agree_on_the_version_chosen(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    # The seed's set-up: a private default that mirrors the public index (here behind it by
    # one release), the public index as a secondary for one pinned package. The dependency is
    # taken from the default at the default's newest, which the public index has identically.
    six = public_index.add_dist("six", "1.16.0")
    public_index.add_dist("six", "1.17.0")
    private_index.add(six)
    public_index.add_dist("tool", "1.0", requires=["six"])
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("corp", private_index.simple_url), ("pypi", public_index.simple_url)],
            'tool = {version = "*", index = "pypi"}\n',
        ),
    )

    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    default = read_lock(pipfence_project)["default"]
    assert default["six"]["version"] == "==1.16.0"
    assert default["six"].get("index", "corp") == "corp"


# -- d. an empty 200 page from the parent's source counts as absent ------------------------

_EMPTY_SIX_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Links for six</title></head>"
    "<body><h1>Links for six</h1>\n\n</body></html>\n"
)


def test_d_an_empty_page_on_the_parents_source_counts_as_absent(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    public_index.add_dist("six", "1.16.0")
    fault_server.add_project("acme-app", [dist_factory.wheel("acme-app", "1.0", requires=["six"])])
    fault_server.route(
        "/simple/six/", Respond(200, _EMPTY_SIX_PAGE, content_type="text/html; charset=utf-8")
    )
    write_pipfile(
        pipfence_project,
        pipfile_text(
            two_sources(public_index.simple_url, fault_server.simple_url),
            'acme-app = {version = "*", index = "private"}\n',
        ),
    )

    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    default = read_lock(pipfence_project)["default"]
    assert (default["acme-app"]["version"], default["acme-app"]["index"]) == ("==1.0", "private")
    assert default["six"]["version"] == "==1.16.0"
    assert "index" not in default["six"]
    # Asked (the parent came from there), and its empty page taken for no answer.
    assert fault_heard(fault_server, "six") == ["/simple/six/"]
    assert heard(public_index, "acme-app") == []
    assert file_gets(public_index, "six")


# -- e. on both as different files: the stop, and the check switched off ------------------


def _different_six_on_both(public_index: PypiServer, private_index: PypiServer) -> None:
    public_index.add_dist("six", "1.16.0")
    private_index.add_dist("six", "99.0", files={"six/__init__.py": "EVIL = 1\n"})
    private_index.add_dist("acme-app", "1.0", requires=["six"])


def test_e_confusion_check_off_takes_the_defaults_copy(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    _different_six_on_both(public_index, private_index)
    write_pipfile(
        pipfence_project,
        pipfile_text(
            two_sources(public_index.simple_url, private_index.simple_url),
            'acme-app = {version = "*", index = "private"}\n\n'
            "[pipenv]\npipfence_confusion_check = false\n",
        ),
    )

    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    default = read_lock(pipfence_project)["default"]
    assert default["six"]["version"] == "==1.16.0"
    assert "index" not in default["six"]
    assert (default["acme-app"]["version"], default["acme-app"]["index"]) == ("==1.0", "private")
    assert file_gets(private_index, "six") == []
    assert heard(public_index, "acme-app") == []
    # Taken, but not silently: the lock says what the check would have stopped.
    assert (
        "`six` was taken from `public` although `private` serves other files under the name"
    ) in result.stderr


def test_e_confusion_check_on_stops_the_lock_naming_everything_and_writes_nothing(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    _different_six_on_both(public_index, private_index)
    pin_app_to_private(pipfence_project, public_index, private_index)

    result = cli(["lock"])
    assert result.returncode == 1, out(result)
    message = result.stderr
    assert "`six`" in message
    assert "`public`" in message
    assert "`private`" in message
    assert "`acme-app`" in message
    assert "dependency confusion" in message
    assert 'six = {version = "*", index = "private"}' in message
    assert 'six = {version = "*", index = "public"}' in message
    assert "Traceback" not in message
    assert not (pipfence_project / "Pipfile.lock").exists()
    assert file_gets(private_index, "six") == []
    assert heard(public_index, "acme-app") == []


# -- f. a dependency only on its parent's source: locked and installed from there ----------


def test_f_a_dependency_only_on_its_parents_source_is_locked_and_installed_from_it(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("six", "1.16.0")
    private_index.add_dist("acme-app", "1.0", requires=["acme-core"])
    core = private_index.add_dist("acme-core", "2.0")
    pin_app_to_private(pipfence_project, public_index, private_index)

    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    entry = read_lock(pipfence_project)["default"]["acme-core"]
    assert (entry["version"], entry["index"]) == ("==2.0", "private")
    assert entry["hashes"] == [f"sha256:{sha256_of(core)}"]
    # Rule 3: the default was asked about the dependency, and lacked it.
    assert heard(public_index, "acme-core")
    assert file_gets(public_index, "acme-core") == []
    public_index.clear_log()
    private_index.clear_log()

    synced = cli(["sync"], env=fresh_cache(env, tmp_path))
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"acme-app": "1.0", "acme-core": "2.0"}
    assert file_gets(private_index, "acme-core") == [f"/packages/{core.name}"]
    # At install time the lock decides: the default hears nothing of it.
    assert heard(public_index, "acme-core") == []
    assert heard(public_index, "acme-app") == []


# -- g. build requirements of a private sdist ----------------------------------------------


def test_g1_a_pinned_build_requirement_comes_from_its_pin_at_lock_and_at_sync(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    # The public copy's code would run inside the build: it must never even be asked for.
    public_index.add_dist("acme-build", "99.0", files={"acme_build/__init__.py": "OK = 99\n"})
    private_index.add_dist("acme-build", "1.0", files={"acme_build/__init__.py": "OK = 1\n"})
    sdist_with_build_requirements(
        private_index.package_dir,
        tmp_path / "scratch",
        "acme-app",
        "1.0",
        build_requires=["acme-build"],
        backend_prefix="import acme_build\nassert acme_build.OK == 1, acme_build.OK\n",
    )
    write_pipfile(
        pipfence_project,
        pipfile_text(
            two_sources(public_index.simple_url, private_index.simple_url),
            'acme-app = {version = "*", index = "private"}\n'
            'acme-build = {version = "*", index = "private"}\n',
        ),
    )

    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    default = read_lock(pipfence_project)["default"]
    assert (default["acme-app"]["version"], default["acme-app"]["index"]) == ("==1.0", "private")
    assert (default["acme-build"]["version"], default["acme-build"]["index"]) == (
        "==1.0",
        "private",
    )
    assert heard(public_index, "acme-build") == []
    assert heard(public_index, "acme-app") == []
    assert file_gets(private_index, "acme-build")  # installed into the build environment

    # sync builds the wheel (the lock only prepared the metadata): acme-build again.
    synced = cli(["sync"])
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"acme-app": "1.0", "acme-build": "1.0"}
    assert heard(public_index, "acme-build") == []
    assert heard(public_index, "acme-app") == []

    # Then a fresh environment, on a machine with an empty cache: everything built again.
    removed = cli(["--rm"])
    assert removed.returncode == 0, out(removed)
    assert not (pipfence_project / ".venv").exists()
    private_index.clear_log()
    synced = cli(["sync"], env=fresh_cache(env, tmp_path))
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"acme-app": "1.0", "acme-build": "1.0"}
    assert file_gets(private_index, "acme-app")
    assert file_gets(private_index, "acme-build")
    assert heard(public_index, "acme-build") == []
    assert heard(public_index, "acme-app") == []


def test_g2_an_unpinned_build_requirement_on_both_as_different_files_stops_the_lock(
    cli: RunPipfence,
    tmp_path: Path,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("acme-build", "1.0", files={"acme_build/__init__.py": "OK = 1\n"})
    private_index.add_dist("acme-build", "9.0", files={"acme_build/__init__.py": "OK = 9\n"})
    sdist_with_build_requirements(
        private_index.package_dir,
        tmp_path / "scratch",
        "acme-app",
        "1.0",
        build_requires=["acme-build"],
    )
    pin_app_to_private(pipfence_project, public_index, private_index)

    result = cli(["lock"])
    assert result.returncode == 1, out(result)
    message = result.stderr
    assert "`acme-build` is on the default source `public` and on `private`" in message
    assert "`acme-app`" in message
    assert "dependency confusion" in message
    assert 'acme-build = {version = "*", index = "private"}' in message
    assert 'acme-build = {version = "*", index = "public"}' in message
    assert "Traceback" not in message
    assert not (pipfence_project / "Pipfile.lock").exists()
    assert heard(private_index, "acme-build")  # asked: the built package came from there
    assert file_gets(private_index, "acme-build") == []  # and nothing of it was installed


# -- h. no speculation on a private package's unused versions ------------------------------


@pytest.mark.parametrize("used", ["sdist", "wheel"])
def test_h_the_dependencies_of_an_unused_private_version_never_reach_the_default(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    used: str,
) -> None:
    # The newest version (2.0, a wheel) is the one a metadata prefetch would guess; the
    # Pipfile asks for 1.0. With 1.0 an sdist the resolver spends seconds building its
    # metadata, so a guess at 2.0 would have all the time it needs to reach the default
    # (with 1.0 a wheel too, a lock that guesses may finish before the guess goes out).
    public_index.add_dist("six", "1.16.0")
    if used == "sdist":
        private_index.add_sdist("acme-app", "1.0")
    else:
        private_index.add_dist("acme-app", "1.0")
    private_index.add_dist("acme-app", "2.0", requires=["acme-secret"])
    private_index.add_dist("acme-secret", "1.0")
    write_pipfile(
        pipfence_project,
        pipfile_text(
            two_sources(public_index.simple_url, private_index.simple_url),
            'acme-app = {version = "==1.0", index = "private"}\n',
        ),
    )

    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    default = read_lock(pipfence_project)["default"]
    assert sorted(default) == ["acme-app"]
    assert (default["acme-app"]["version"], default["acme-app"]["index"]) == ("==1.0", "private")
    assert heard(public_index, "acme-secret") == []
    assert heard(public_index, "acme-app") == []


# -- i. sync refuses a lock that moves a transitive entry to another declared index --------


def _move_six_to_private(data: dict[str, Any]) -> None:
    data["default"]["six"]["index"] = "private"


def test_i_sync_refuses_a_transitive_entry_moved_to_another_index_before_fetching(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("app", "1.0", requires=["six"])
    six = public_index.add_dist("six", "1.16.0")
    write_pipfile(
        pipfence_project,
        pipfile_text(two_sources(public_index.simple_url, private_index.simple_url), 'app = "*"\n'),
    )
    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    assert "index" not in read_lock(pipfence_project)["default"]["six"]
    edited = edit_lock(pipfence_project, _move_six_to_private)
    private_index.add(six)  # the moved entry would even pass its hash check there
    public_index.clear_log()
    private_index.clear_log()

    result = cli(["sync"])
    assert result.returncode == 3, out(result)  # LockFenceError: EXIT_INTEGRITY
    assert "`six`" in result.stderr
    assert "`private`" in result.stderr
    assert "Traceback" not in result.stderr
    assert public_index.requested_paths() == []
    assert private_index.requested_paths() == []
    assert not (pipfence_project / ".venv").exists()
    assert (pipfence_project / "Pipfile.lock").read_bytes() == edited


def test_i_sync_refuses_a_transitive_entry_moved_to_a_source_that_has_a_pin(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    # `six` is required by `app` (from `public`) only; `acme-app` (pinned to `private`)
    # requires nothing, so no rule can send `six` to `private`.
    public_index.add_dist("app", "1.0", requires=["six"])
    six = public_index.add_dist("six", "1.16.0")
    private_index.add_dist("acme-app", "1.0")
    write_pipfile(
        pipfence_project,
        pipfile_text(
            two_sources(public_index.simple_url, private_index.simple_url),
            'app = "*"\nacme-app = {version = "*", index = "private"}\n',
        ),
    )
    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    assert "index" not in read_lock(pipfence_project)["default"]["six"]
    edit_lock(pipfence_project, _move_six_to_private)
    private_index.add(six)  # the moved entry would pass its hash check there
    public_index.clear_log()
    private_index.clear_log()

    result = cli(["sync"])
    assert result.returncode == 3, out(result)  # LockFenceError: EXIT_INTEGRITY
    assert "`six`" in result.stderr
    assert "Traceback" not in result.stderr
    assert heard(private_index, "six") == []
    assert "six" not in installed(pipfence_project)


def test_i_sync_refuses_a_private_dependency_moved_to_the_default(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    # The lock took `acme-core` from `private` (only there). An edit moves it to the default,
    # to a hostile 99.0 with that file's real hash: the default is where dependencies come
    # from, but `acme-app` from `private` requires it and `private` has another `acme-core`,
    # so the lock would never have taken the default's; sync refuses before installing.
    private_index.add_dist("acme-app", "1.0", requires=["acme-core"])
    private_index.add_dist("acme-core", "1.0")
    pin_app_to_private(pipfence_project, public_index, private_index)
    assert cli(["lock"]).returncode == 0
    assert read_lock(pipfence_project)["default"]["acme-core"]["index"] == "private"
    hostile = public_index.add_dist("acme-core", "99.0")

    def move(data: dict[str, Any]) -> None:
        entry = data["default"]["acme-core"]
        del entry["index"]
        entry["version"] = "==99.0"
        entry["hashes"] = [f"sha256:{sha256_of(hostile)}"]

    edit_lock(pipfence_project, move)
    result = cli(["sync"])
    assert result.returncode == 3, out(result)
    assert "Pipfile.lock takes `acme-core` from the default source `public`" in result.stderr
    assert "Traceback" not in result.stderr
    assert "acme-core" not in installed(pipfence_project)
