"""Building from source against local indexes: sdist-only packages, fenced build requirements,
path, file and git entries, and failing builds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.dists import dist_filename_stem, pack_sdist, write_source_tree
from support.project import pipfile_text, read_lock, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def venv_python(project: Path) -> str:
    return str(project / ".venv" / "bin" / "python")


def run_in_venv(project: Path, code: str) -> str:
    done = subprocess.run(
        [venv_python(project), "-c", code], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def dist_info(project: Path, name: str) -> Path:
    found = list((project / ".venv").glob(f"lib/python*/site-packages/{name}-*.dist-info"))
    assert len(found) == 1, found
    return found[0]


def custom_sdist(
    dest: Path,
    scratch: Path,
    name: str,
    version: str,
    *,
    build_requires: list[str] | None = None,
    backend_prefix: str = "",
    backend_suffix: str = "",
    requires: list[str] | None = None,
) -> Path:
    root = write_source_tree(scratch, name, version, requires=requires or [])
    tree = root.rename(root.with_name(dist_filename_stem(name, version)))
    if build_requires is not None:
        text = (tree / "pyproject.toml").read_text(encoding="utf-8")
        listed = ", ".join(f'"{r}"' for r in build_requires)
        (tree / "pyproject.toml").write_text(
            text.replace("requires = []", f"requires = [{listed}]"), encoding="utf-8"
        )
    backend = (tree / "_backend.py").read_text(encoding="utf-8")
    (tree / "_backend.py").write_text(backend_prefix + backend + backend_suffix, encoding="utf-8")
    return pack_sdist(tree, dest)


def private_needsbuild(
    project: Path, public: PypiServer, private: PypiServer, tmp_path: Path, *, check: bool
) -> None:
    """`needsbuild` 1.0, an sdist on `private` whose build requires `buildhelper` (and, with
    `check`, imports it and asserts `OK == 1`), pinned to `private` in a Pipfile whose default
    source is `public`."""
    custom_sdist(
        private.package_dir,
        tmp_path / "scratch",
        "needsbuild",
        "1.0",
        build_requires=["buildhelper"],
        backend_prefix="import buildhelper\nassert buildhelper.OK == 1\n" if check else "",
    )
    sources = [("public", public.simple_url), ("private", private.simple_url)]
    write_pipfile(
        project, pipfile_text(sources, 'needsbuild = {version = "*", index = "private"}\n')
    )


def test_sdist_only_package_locks_and_installs_and_is_built_once(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
) -> None:
    public_index.add_sdist(
        "sdonly", "1.0", requires=["helper>=1"], files={"sdonly/v.py": "V = 7\n"}
    )
    public_index.add_dist("helper", "1.0")
    write_pipfile(
        pipfence_project, pipfile_text([("public", public_index.simple_url)], 'sdonly = "*"\n')
    )

    result = run_pipfence(["lock"], env=env)
    assert result.returncode == 0, result.stderr
    lock = read_lock(pipfence_project)
    assert lock["default"]["sdonly"]["version"] == "==1.0"
    assert len(lock["default"]["sdonly"]["hashes"]) == 1
    assert lock["default"]["helper"]["version"] == "==1.0"

    result = run_pipfence(["sync"], env=env)
    assert result.returncode == 0, result.stderr
    assert run_in_venv(pipfence_project, "import sdonly.v, helper; print(sdonly.v.V)") == "7"

    cache = Path(env["PIPFENCE_CACHE_DIR"]) / "builds"
    wheels = list(cache.glob("*/wheels/*.whl"))
    assert [w.name for w in wheels] == ["sdonly-1.0-py3-none-any.whl"]
    stamp = wheels[0].stat().st_mtime_ns
    result = run_pipfence(["--rm"], env=env)
    result = run_pipfence(["sync"], env=env)
    assert result.returncode == 0, result.stderr
    assert run_in_venv(pipfence_project, "import sdonly.v; print(sdonly.v.V)") == "7"
    assert wheels[0].stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_a_private_sdists_build_requirement_on_both_indexes_stops_the_lock(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    # Rule 4: a build requirement of a package from `private` is asked of `private` too; a
    # different public copy under the name is dependency confusion, and nothing is built.
    public_index.add_dist("buildhelper", "1.0", files={"buildhelper/__init__.py": "OK = 1\n"})
    private_index.add_dist("buildhelper", "9.0", files={"buildhelper/__init__.py": "OK = 9\n"})
    private_needsbuild(pipfence_project, public_index, private_index, tmp_path, check=False)

    result = run_pipfence(["install"], env=env)
    assert result.returncode == 1, result.stderr
    assert "`buildhelper` is on the default source `public` and on `private`" in result.stderr
    assert "`needsbuild`" in result.stderr
    assert 'buildhelper = {version = "*", index = "private"}' in result.stderr
    assert "Traceback" not in result.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_a_build_requirement_pinned_in_the_pipfile_comes_from_its_pin(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    # The critical case: `acme-build` pinned to `private`; the public copy (whose code would
    # run during the build) is never asked for, let alone downloaded.
    public_index.add_dist("acme-build", "99.0", files={"acme_build/__init__.py": "OK = 99\n"})
    private_index.add_dist("acme-build", "1.0", files={"acme_build/__init__.py": "OK = 1\n"})
    custom_sdist(
        private_index.package_dir,
        tmp_path / "scratch",
        "needsbuild",
        "1.0",
        build_requires=["acme-build"],
        backend_prefix="import acme_build\nassert acme_build.OK == 1\n",
    )
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    write_pipfile(
        pipfence_project,
        pipfile_text(
            sources,
            'needsbuild = {version = "*", index = "private"}\n'
            'acme-build = {version = "*", index = "private"}\n',
        ),
    )

    result = run_pipfence(["install"], env=env)
    assert result.returncode == 0, result.stderr
    assert run_in_venv(pipfence_project, "import needsbuild; print('ok')") == "ok"
    assert not any("acme" in p for p in public_index.requested_paths())


def test_a_cached_build_never_serves_a_project_with_another_fence(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    # Two projects share one cache. The first pins the build helper to `public`, the second
    # to `private`: the second must build with its own helper, not reuse the first's wheel.
    public_index.add_dist("acme-build", "99.0", files={"acme_build/__init__.py": "OK = 99\n"})
    private_index.add_dist("acme-build", "1.0", files={"acme_build/__init__.py": "OK = 1\n"})
    record = (
        "import acme_build, os\n"
        "_here = os.path.dirname(os.path.abspath(__file__))\n"
        "with open(os.path.join(_here, 'needsbuild', 'helper.py'), 'w') as _f:\n"
        "    _f.write(f'OK = {acme_build.OK}\\n')\n"
    )
    custom_sdist(
        private_index.package_dir,
        tmp_path / "scratch",
        "needsbuild",
        "1.0",
        build_requires=["acme-build"],
        backend_prefix=record,
    )
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    second = tmp_path / "second"
    second.mkdir()
    for project, helper in ((pipfence_project, "public"), (second, "private")):
        write_pipfile(
            project,
            pipfile_text(
                sources,
                'needsbuild = {version = "*", index = "private"}\n'
                f'acme-build = {{version = "*", index = "{helper}"}}\n',
            ),
        )
        result = run_pipfence(["install"], env=env, cwd=project)
        assert result.returncode == 0, result.stderr

    assert run_in_venv(pipfence_project, "import needsbuild.helper as h; print(h.OK)") == "99"
    assert run_in_venv(second, "import needsbuild.helper as h; print(h.OK)") == "1"


def test_a_build_requirement_only_on_the_default_comes_from_the_default(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    public_index.add_dist("buildhelper", "1.0", files={"buildhelper/__init__.py": "OK = 1\n"})
    private_needsbuild(pipfence_project, public_index, private_index, tmp_path, check=True)

    result = run_pipfence(["install"], env=env)
    assert result.returncode == 0, result.stderr
    assert run_in_venv(pipfence_project, "import needsbuild; print('ok')") == "ok"
    assert any("/packages/buildhelper" in p for p in public_index.requested_paths())
    # Asked of `private` (where `needsbuild` came from), found absent there.
    assert any("/buildhelper" in p for p in private_index.requested_paths())
    assert "buildhelper" not in read_lock(pipfence_project)["default"]


def test_a_build_requirement_only_on_the_packages_own_source_comes_from_it(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    # Rule 3 for a build: the requirement is asked of the default and of `private`, where
    # `needsbuild` came from; only `private` has it, so it is taken from there.
    public_index.add_dist("six", "1.16.0")
    private_index.add_dist("buildhelper", "1.0", files={"buildhelper/__init__.py": "OK = 1\n"})
    private_needsbuild(pipfence_project, public_index, private_index, tmp_path, check=True)

    result = run_pipfence(["install"], env=env)
    assert result.returncode == 0, result.stderr
    assert run_in_venv(pipfence_project, "import needsbuild; print('ok')") == "ok"
    assert any("/packages/buildhelper" in p for p in private_index.requested_paths())
    assert not any("/packages/buildhelper" in p for p in public_index.requested_paths())


def test_failing_build_is_reported_and_leaves_the_environment_alone(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    public_index.add_dist("good", "1.0")
    public_index.add_dist("other", "1.0")
    custom_sdist(
        public_index.package_dir,
        tmp_path / "scratch",
        "broken",
        "1.0",
        backend_suffix=(
            "\n\ndef build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
            "    raise SystemExit('error: the C compiler exploded')\n"
        ),
    )
    write_pipfile(
        pipfence_project, pipfile_text([("public", public_index.simple_url)], 'good = "*"\n')
    )
    assert run_pipfence(["install"], env=env).returncode == 0

    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("public", public_index.simple_url)], 'good = "*"\nother = "*"\nbroken = "*"\n'
        ),
    )
    result = run_pipfence(["install"], env=env)
    assert result.returncode == 1, result.stderr
    assert "Building `broken` failed" in result.stderr
    assert "the C compiler exploded" in result.stderr
    installed = run_in_venv(
        pipfence_project,
        "import importlib.metadata as m; print(sorted(d.metadata['Name'] for d in m.distributions()))",
    )
    assert "good" in installed
    assert "other" not in installed
    assert "broken" not in installed


def test_editable_path_entry(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
) -> None:
    public_index.add_dist("helper", "1.0")
    tree = write_source_tree(
        pipfence_project / "libs",
        "mylib",
        "0.1",
        requires=["helper"],
        files={"mylib/value.py": "VALUE = 1\n"},
    )
    tree = tree.rename(tree.with_name("mylib"))
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("public", public_index.simple_url)],
            'mylib = {path = "./libs/mylib", editable = true}\n',
        ),
    )
    result = run_pipfence(["install"], env=env)
    assert result.returncode == 0, result.stderr
    lock = read_lock(pipfence_project)
    assert lock["default"]["mylib"] == {"editable": True, "path": "./libs/mylib"}
    assert lock["default"]["helper"]["version"] == "==1.0"

    code = "import mylib.value, helper; print(mylib.value.VALUE)"
    assert run_in_venv(pipfence_project, code) == "1"
    (tree / "mylib" / "value.py").write_text("VALUE = 2\n", encoding="utf-8")
    assert run_in_venv(pipfence_project, code) == "2"
    direct = json.loads((dist_info(pipfence_project, "mylib") / "direct_url.json").read_text())
    assert direct == {"dir_info": {"editable": True}, "url": tree.resolve().as_uri()}

    result = run_pipfence(["sync"], env=env)
    assert result.returncode == 0, result.stderr


def test_file_entry_is_locked_with_its_hash_and_installed(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    public_index.add_dist("helper", "1.0")
    sdist = custom_sdist(
        pipfence_project / "dist", tmp_path / "scratch", "fromfile", "2.0", requires=["helper"]
    )
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("public", public_index.simple_url)],
            'fromfile = {file = "./dist/fromfile-2.0.tar.gz"}\n',
        ),
    )
    result = run_pipfence(["install"], env=env)
    assert result.returncode == 0, result.stderr
    entry = read_lock(pipfence_project)["default"]["fromfile"]
    import hashlib

    assert entry == {
        "file": "./dist/fromfile-2.0.tar.gz",
        "hashes": [f"sha256:{hashlib.sha256(sdist.read_bytes()).hexdigest()}"],
    }
    assert run_in_venv(pipfence_project, "import fromfile, helper; print('ok')") == "ok"


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_git_entry_is_locked_to_its_commit_and_installed(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    public_index.add_dist("helper", "1.0")
    tree = write_source_tree(
        tmp_path, "gitpkg", "0.3", requires=["helper"], files={"gitpkg/v.py": "V = 'one'\n"}
    )
    repo = tree.rename(tmp_path / "repo")
    _git("init", "--quiet", "-b", "main", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "--quiet", "-m", "one", cwd=repo)
    first = _git("rev-parse", "HEAD", cwd=repo)
    url = repo.as_uri()
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("public", public_index.simple_url)], f'gitpkg = {{git = "{url}", ref = "main"}}\n'
        ),
    )
    result = run_pipfence(["install"], env=env)
    assert result.returncode == 0, result.stderr
    assert read_lock(pipfence_project)["default"]["gitpkg"] == {"git": url, "ref": first}
    assert read_lock(pipfence_project)["default"]["helper"]["version"] == "==1.0"
    assert run_in_venv(pipfence_project, "import gitpkg.v; print(gitpkg.v.V)") == "one"
    direct = json.loads((dist_info(pipfence_project, "gitpkg") / "direct_url.json").read_text())
    assert direct["vcs_info"]["commit_id"] == first
    assert direct["url"] == url

    # A new commit on the branch: the lock keeps the old one until it is locked again.
    (repo / "gitpkg" / "v.py").write_text("V = 'two'\n", encoding="utf-8")
    _git("commit", "--quiet", "-am", "two", cwd=repo)
    second = _git("rev-parse", "HEAD", cwd=repo)
    assert run_pipfence(["sync"], env=env).returncode == 0
    assert run_in_venv(pipfence_project, "import gitpkg.v; print(gitpkg.v.V)") == "one"
    result = run_pipfence(["lock"], env=env)
    assert result.returncode == 0, result.stderr
    assert read_lock(pipfence_project)["default"]["gitpkg"]["ref"] == second
    result = run_pipfence(["sync"], env=env)
    assert result.returncode == 0, result.stderr
    assert run_in_venv(pipfence_project, "import gitpkg.v; print(gitpkg.v.V)") == "two"
