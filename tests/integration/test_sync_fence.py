"""`pipfence sync` installs only what the lock recorded, from the index the Pipfile allows.

A lock whose hashes were tampered with, whose packages were moved to another index, or whose
sources point somewhere else is refused before the environment changes at all: the packages of
the same lock that would have been fine are not installed either, and installed versions that
would have been replaced stay. The environment is inside the project
(`PIPENV_VENV_IN_PROJECT=1`) so its site-packages can be read directly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support import start_pipfence
from support.dists import build_wheel
from support.project import (
    dist_infos,
    edit_lock,
    fresh_cache,
    installed,
    out,
    read_lock,
    site_packages,
    source_table,
    write_pipfile,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


# -- helpers -------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def downloads(index: PypiServer) -> list[str]:
    return [p for p in index.requested_paths() if p.startswith("/packages/")]


def install_then_lock(cli: RunPipfence, project: Path, first: str, second: str) -> list[str]:
    """Install the Pipfile `first` (making the environment), then lock `second` without
    installing it; return the environment's dist-info listing."""
    write_pipfile(project, first)
    result = cli(["install"])
    assert result.returncode == 0, out(result)
    write_pipfile(project, second)
    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    return dist_infos(project)


# -- 4. tampered hashes --------------------------------------------------------------------


def test_tampered_hash_refuses_the_whole_sync_and_leaves_the_env_alone(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "0.9")
    public_index.add_dist("alpha", "1.0", requires=["beta"])
    public_index.add_dist("beta", "2.0")
    public_index.add_dist("gamma", "1.0")
    public_index.add_dist("omega", "1.0")
    head = source_table("public", public_index.simple_url) + "[packages]\n"
    before = install_then_lock(
        cli,
        pipfence_project,
        head + 'alpha = "==0.9"\ngamma = "*"\n',
        head + 'alpha = "*"\ngamma = "*"\nomega = "*"\n',
    )
    assert installed(pipfence_project) == {"alpha": "0.9", "gamma": "1.0"}
    assert read_lock(pipfence_project)["default"]["alpha"]["version"] == "==1.0"

    def tamper(data: dict[str, Any]) -> None:
        (digest,) = data["default"]["beta"]["hashes"]
        flipped = "0" if digest[-1] != "0" else "1"
        data["default"]["beta"]["hashes"] = [digest[:-1] + flipped]

    tampered = edit_lock(pipfence_project, tamper)
    public_index.clear_log()

    result = cli(["sync"])
    assert result.returncode == 3, out(result)
    assert "`beta` 2.0" in result.stderr
    assert "`public`" in result.stderr
    assert public_index.simple_url in result.stderr
    assert "beta-2.0-py3-none-any.whl" in result.stderr
    assert "Traceback" not in result.stderr
    # All or nothing: alpha 0.9 was not replaced, omega (fine on its own) not installed.
    assert dist_infos(pipfence_project) == before
    assert installed(pipfence_project) == {"alpha": "0.9", "gamma": "1.0"}
    assert "/packages/beta-2.0-py3-none-any.whl" not in downloads(public_index)
    assert (pipfence_project / "Pipfile.lock").read_bytes() == tampered


@pytest.mark.parametrize("cache", ["fresh", "shared"])
def test_file_replaced_on_an_index_without_hashes_is_never_installed(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    cache: str,
) -> None:
    """The page gives no sha256: with a fresh cache the downloaded bytes themselves are
    checked and refused; with the cache the lock filled, its verified copy is installed."""
    good = dist_factory.wheel("nohash", "1.0")
    other = dist_factory.wheel("other", "1.0")
    fault_server.add_project("nohash", [good], hashes=False)
    fault_server.add_project("other", [other], hashes=False)
    head = source_table("corp", fault_server.simple_url) + "[packages]\n"
    before = install_then_lock(
        cli, pipfence_project, head + 'other = "*"\n', head + 'other = "*"\nnohash = "*"\n'
    )
    assert read_lock(pipfence_project)["default"]["nohash"]["hashes"] == [
        f"sha256:{sha256_of(good)}"
    ]

    evil = dist_factory.root / "evil"
    evil.mkdir()
    swapped = build_wheel(evil, "nohash", "1.0", files={"nohash/evil.py": "BAD = 1\n"})
    assert swapped.name == good.name
    assert sha256_of(swapped) != sha256_of(good)
    fault_server.add_project("nohash", [swapped], hashes=False)
    fault_server.clear()

    sync_env = fresh_cache(env, tmp_path) if cache == "fresh" else env
    result = cli(["sync"], env=sync_env)
    assert "Traceback" not in result.stderr
    if cache == "shared":
        assert result.returncode == 0, out(result)
        assert installed(pipfence_project) == {"other": "1.0", "nohash": "1.0"}
        assert (site_packages(pipfence_project) / "nohash" / "__init__.py").is_file()
        assert not (site_packages(pipfence_project) / "nohash" / "evil.py").exists()
        return
    assert result.returncode == 3, out(result)
    assert "nohash" in result.stderr
    assert "`corp`" in result.stderr
    assert f"/files/{good.name}" in fault_server.paths("GET")
    assert dist_infos(pipfence_project) == before
    assert installed(pipfence_project) == {"other": "1.0"}


# -- 5. a lock that moves a package to another index ---------------------------------------


def _move_alpha_to_private(data: dict[str, Any]) -> None:
    data["default"]["alpha"]["index"] = "private"


def _move_internal_to_public(data: dict[str, Any]) -> None:
    data["default"]["internal"]["index"] = "public"


def _drop_internal_index(data: dict[str, Any]) -> None:
    del data["default"]["internal"]["index"]


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (_move_alpha_to_private, ["`alpha`", "`private`"]),
        (_move_internal_to_public, ["`internal`", "`public`", "`private`"]),
        (_drop_internal_index, ["`internal`", "`private`"]),
        ("private-url", ["`private`"]),
        ("public-url", ["`public`"]),
        ("new-source", ["`alpha`", "`evil`"]),
    ],
    ids=[
        "default-package-moved",
        "pinned-package-moved",
        "pin-dropped",
        "source-url-changed",
        "default-url-changed",
        "package-moved-to-added-source",
    ],
)
def test_lock_that_moves_a_package_or_a_source_is_refused(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    fault_server: FaultServer,
    edit: Callable[[dict[str, Any]], None] | str,
    names: list[str],
) -> None:
    public_index.add_dist("seed", "1.0")
    public_index.add_dist("alpha", "1.0")
    private_index.add_dist("internal", "1.0")
    head = (
        source_table("public", public_index.simple_url)
        + source_table("private", private_index.simple_url)
        + "[packages]\n"
    )
    before = install_then_lock(
        cli,
        pipfence_project,
        head + 'seed = "*"\n',
        head + 'seed = "*"\nalpha = "*"\ninternal = {version = "*", index = "private"}\n',
    )
    assert read_lock(pipfence_project)["default"]["internal"]["index"] == "private"

    def redirect(data: dict[str, Any]) -> None:
        if edit == "private-url":
            data["_meta"]["sources"][1]["url"] = fault_server.simple_url
        elif edit == "public-url":
            data["_meta"]["sources"][0]["url"] = fault_server.simple_url
        elif edit == "new-source":
            data["_meta"]["sources"].append(
                {"name": "evil", "url": fault_server.simple_url, "verify_ssl": False}
            )
            data["default"]["alpha"]["index"] = "evil"
        else:
            assert callable(edit)
            edit(data)

    edited = edit_lock(pipfence_project, redirect)
    fault_server.add_project("alpha", {"alpha-1.0-py3-none-any.whl": b"evil"})
    fault_server.add_project("internal", {"internal-1.0-py3-none-any.whl": b"evil"})
    public_index.clear_log()
    private_index.clear_log()

    result = cli(["sync"])
    assert result.returncode == 3, out(result)
    for name in names:
        assert name in result.stderr, name
    assert "Traceback" not in result.stderr
    assert dist_infos(pipfence_project) == before
    assert installed(pipfence_project) == {"seed": "1.0"}
    assert public_index.requested_paths() == []
    assert private_index.requested_paths() == []
    assert fault_server.requests == []
    assert (pipfence_project / "Pipfile.lock").read_bytes() == edited


def test_a_refused_lock_does_not_even_create_the_environment(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, private_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + source_table("private", private_index.simple_url)
        + '[packages]\nalpha = "*"\n',
    )
    assert cli(["lock"]).returncode == 0
    edit_lock(pipfence_project, _move_alpha_to_private)

    result = cli(["sync"])
    assert result.returncode == 3, out(result)
    assert "`alpha`" in result.stderr
    assert not (pipfence_project / ".venv").exists()


# -- 7. install_search_all_sources ---------------------------------------------------------


@pytest.mark.parametrize(
    ("search_all", "public_copy", "code"),
    [(True, "identical", 0), (True, "different", 3), (False, "identical", 1)],
    ids=["search-all-identical", "search-all-different", "fenced-identical"],
)
def test_a_file_gone_from_its_index_is_taken_elsewhere_only_by_hash_and_only_when_allowed(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    search_all: bool,
    public_copy: str,
    code: int,
) -> None:
    """The lock was made on one machine; another (with its own cache) syncs it after the
    private index lost the file."""
    public_index.add_dist("alpha", "1.0")
    wheel = private_index.add_dist("internal", "1.0")
    locked_sha = sha256_of(wheel)
    setting = "true" if search_all else "false"
    head = (
        source_table("public", public_index.simple_url)
        + source_table("private", private_index.simple_url)
        + f"[pipenv]\ninstall_search_all_sources = {setting}\n\n[packages]\n"
    )
    before = install_then_lock(
        cli,
        pipfence_project,
        head + 'alpha = "*"\n',
        head + 'alpha = "*"\ninternal = {version = "*", index = "private"}\n',
    )
    assert read_lock(pipfence_project)["default"]["internal"]["hashes"] == [f"sha256:{locked_sha}"]

    if public_copy == "identical":
        copy = public_index.add(wheel)
        assert sha256_of(copy) == locked_sha
        private_index.remove(wheel.name)
    else:
        private_index.remove(wheel.name)
        copy = public_index.add_dist("internal", "1.0", files={"internal/evil.py": "BAD = 1\n"})
        assert copy.name == wheel.name
        assert sha256_of(copy) != locked_sha
    public_index.clear_log()
    private_index.clear_log()

    result = cli(["sync"], env=fresh_cache(env, tmp_path))
    assert result.returncode == code, out(result)
    assert "Traceback" not in result.stderr
    assert "/simple/internal/" in private_index.requested_paths()
    if code == 0:
        assert installed(pipfence_project) == {"alpha": "1.0", "internal": "1.0"}
        assert f"/packages/{wheel.name}" in downloads(public_index)
        return
    assert "`internal` 1.0" in result.stderr
    assert "`private`" in result.stderr
    assert dist_infos(pipfence_project) == before
    assert installed(pipfence_project) == {"alpha": "1.0"}
    assert downloads(public_index) == []
    if search_all:
        assert "`public`" in result.stderr
    else:
        assert "/simple/internal/" not in public_index.requested_paths()


def test_search_all_sources_takes_the_file_elsewhere_right_after_the_lock(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("alpha", "1.0")
    wheel = private_index.add_dist("internal", "1.0")
    head = (
        source_table("public", public_index.simple_url)
        + source_table("private", private_index.simple_url)
        + "[pipenv]\ninstall_search_all_sources = true\n\n[packages]\n"
    )
    install_then_lock(
        cli,
        pipfence_project,
        head + 'alpha = "*"\n',
        head + 'alpha = "*"\ninternal = {version = "*", index = "private"}\n',
    )
    public_index.add(wheel)
    private_index.remove(wheel.name)

    result = cli(["sync"])
    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"alpha": "1.0", "internal": "1.0"}


# -- 10. two syncs at once -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["sync", "install"])
def test_two_commands_at_once_on_one_project_are_serialised(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    command: str,
) -> None:
    public_index.add_dist("alpha", "1.0", requires=["beta"])
    public_index.add_dist("beta", "2.0")
    public_index.add_dist("gamma", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url) + '[packages]\nalpha = "*"\ngamma = "*"\n',
    )
    if command == "sync":
        assert cli(["lock"]).returncode == 0
    processes = [start_pipfence([command], pipfence_project, env) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in processes]
    codes = [p.returncode for p in processes]
    assert codes == [0, 0], results
    messages = sorted(stderr for _stdout, stderr in results)
    assert sum("Installed 3 packages" in m for m in messages) == 1, messages
    assert sum("already matches the lock (3 packages)" in m for m in messages) == 1, messages
    assert sum("Created the environment" in m for m in messages) == 1, messages

    assert installed(pipfence_project) == {"alpha": "1.0", "beta": "2.0", "gamma": "1.0"}
    assert sorted(read_lock(pipfence_project)["default"]) == ["alpha", "beta", "gamma"]
    assert cli(["verify"]).returncode == 0
    check = cli(["run", "python", "-m", "pip", "check"])
    assert check.returncode == 0, out(check)
    imported = cli(["run", "python", "-c", "import alpha, beta, gamma"])
    assert imported.returncode == 0, out(imported)


# -- 8. transitive entries checked against the fence ------------------------------------------


def test_a_transitive_package_moved_to_a_source_nothing_pinned_requires_is_refused(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, private_index: PypiServer
) -> None:
    # `private` has a pinned package (so the lock may use it), and a byte-identical copy of
    # `helper`: the edited lock's hashes still match, but no package from `private` requires
    # `helper`, so rule 3 can never send it there. Judged from the wheels' own metadata.
    public_index.add_dist("app", "1.0", requires=["helper"])
    helper = public_index.add_dist("helper", "1.0")
    private_index.add(helper)
    private_index.add_dist("internal", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + source_table("private", private_index.simple_url)
        + '[packages]\napp = "*"\ninternal = {version = "*", index = "private"}\n',
    )
    assert cli(["lock"]).returncode == 0
    edit_lock(pipfence_project, lambda data: data["default"]["helper"].update(index="private"))

    result = cli(["sync"])
    assert result.returncode == 3, out(result)
    assert "`helper` from index `private`" in result.stderr
    assert "no package from `private` requires it" in result.stderr
    assert "Traceback" not in result.stderr
    assert installed(pipfence_project) == {}


def _internal_with_a_private_dependency(
    project: Path, public_index: PypiServer, private_index: PypiServer
) -> None:
    """`internal` pinned to `private`, needing `internal-core`, which only `private` has."""
    private_index.add_dist("internal", "1.0", requires=["internal-core"])
    private_index.add_dist("internal-core", "1.0")
    write_pipfile(
        project,
        source_table("public", public_index.simple_url)
        + source_table("private", private_index.simple_url)
        + '[packages]\ninternal = {version = "*", index = "private"}\n',
    )


def test_a_transitive_package_from_its_parents_source_installs(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, private_index: PypiServer
) -> None:
    _internal_with_a_private_dependency(pipfence_project, public_index, private_index)
    assert cli(["lock"]).returncode == 0
    assert read_lock(pipfence_project)["default"]["internal-core"]["index"] == "private"
    public_index.clear_log()

    result = cli(["sync"])
    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"internal": "1.0", "internal-core": "1.0"}
    assert any("internal_core" in p for p in downloads(private_index))
    assert public_index.requested_paths() == []


def test_a_sync_that_changes_only_a_transitive_package_from_its_parents_source(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, private_index: PypiServer
) -> None:
    # The parent is installed already and kept; only its private dependency moves, so the
    # one file to fetch is justified by the installed parent's metadata alone.
    _internal_with_a_private_dependency(pipfence_project, public_index, private_index)
    assert cli(["install"]).returncode == 0
    private_index.add_dist("internal-core", "1.1")

    result = cli(["update", "internal-core"])
    assert result.returncode == 0, out(result)
    assert "Traceback" not in result.stderr
    assert read_lock(pipfence_project)["default"]["internal-core"]["version"] == "==1.1"
    assert installed(pipfence_project) == {"internal": "1.0", "internal-core": "1.1"}
