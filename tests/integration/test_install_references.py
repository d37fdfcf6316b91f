"""`pipfence install` of a direct reference: a project folder (editable or not, with extras), a
local wheel or sdist, a file URL, `name[extra] @ URL`. Each writes the Pipfile entry pipenv
writes, locks it (an archive with its sha256, its dependencies fenced to the default source)
and installs it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.dists import build_wheel, write_source_tree
from support.project import out, pipfile_text, read_lock, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def run_in_venv(project: Path, code: str) -> str:
    done = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def packages(project: Path) -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads((project / "Pipfile").read_text(encoding="utf-8"))[
        "packages"
    ]
    return table


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_install_editable_dot_with_extras(
    run_pipfence: RunPipfence, public_index: PypiServer, env: dict[str, str], tmp_path: Path
) -> None:
    public_index.add_dist("helper", "1.0")
    project = write_source_tree(
        tmp_path, "mylib", "0.1", extras={"dev": ["helper"]}, files={"mylib/v.py": "V = 1\n"}
    )
    write_pipfile(project, pipfile_text([("public", public_index.simple_url)], ""))

    result = run_pipfence(["install", "-e", ".[dev]"], cwd=project, env=env)

    assert result.returncode == 0, out(result)
    assert packages(project)["mylib"] == {"extras": ["dev"], "path": ".", "editable": True}
    assert read_lock(project)["default"]["mylib"] == {
        "editable": True,
        "extras": ["dev"],
        "path": ".",
    }
    assert read_lock(project)["default"]["helper"]["version"] == "==1.0"
    code = "import mylib.v, helper; print(mylib.v.V)"
    assert run_in_venv(project, code) == "1"
    (project / "mylib" / "v.py").write_text("V = 2\n", encoding="utf-8")
    assert run_in_venv(project, code) == "2"  # editable: the folder itself is imported


def test_install_folder_with_spaces_by_relative_and_absolute_path(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
) -> None:
    tree = write_source_tree(pipfence_project / "dir with spaces", "spaced", "0.3")
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))

    result = run_pipfence(["install", f"./dir with spaces/{tree.name}"], env=env)

    assert result.returncode == 0, out(result)
    assert packages(pipfence_project)["spaced"] == {"path": f"./dir with spaces/{tree.name}"}
    assert "hashes" not in read_lock(pipfence_project)["default"]["spaced"]
    assert run_in_venv(pipfence_project, "import spaced; print(spaced.__version__)") == "0.3"

    # From a sub-folder, by absolute path: still written relative to the project folder.
    result = run_pipfence(["install", str(tree)], cwd=tree, env=env)
    assert result.returncode == 0, out(result)
    assert packages(pipfence_project)["spaced"] == {"path": f"./dir with spaces/{tree.name}"}


def test_a_folder_without_a_static_name_is_named_by_its_built_metadata(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
) -> None:
    tree = write_source_tree(pipfence_project, "Real_Name", "1.0")
    pyproject = tree / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text[: text.index("[project]")], encoding="utf-8")
    folder = tree.rename(pipfence_project / "checkout")
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))

    result = run_pipfence(["install", "-e", "checkout"], env=env)

    assert result.returncode == 0, out(result)
    assert packages(pipfence_project) == {"real-name": {"path": "./checkout", "editable": True}}
    assert "real-name" in read_lock(pipfence_project)["default"]
    assert folder.is_dir()


def test_install_local_sdist_is_hashed_and_its_dependencies_come_from_the_default(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    from support.dists import build_sdist

    public_index.add_dist("helper", "1.0")
    private_index.add_dist("helper", "2.0")
    sdist = build_sdist(tmp_path / "elsewhere", "fromdisk", "1.0", requires=["helper"])
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("public", public_index.simple_url), ("private", private_index.simple_url)], ""
        ),
    )
    private_index.clear_log()

    result = run_pipfence(["install", str(sdist)], env=env)

    assert result.returncode == 0, out(result)
    assert packages(pipfence_project)["fromdisk"] == {"path": "../elsewhere/fromdisk-1.0.tar.gz"}
    lock = read_lock(pipfence_project)["default"]
    assert lock["fromdisk"] == {
        "hashes": [sha256(sdist)],
        "path": "../elsewhere/fromdisk-1.0.tar.gz",
    }
    assert lock["helper"]["version"] == "==1.0"
    assert not [p for p in private_index.requested_paths() if "helper" in p]
    assert run_in_venv(pipfence_project, "import fromdisk, helper; print('ok')") == "ok"


def test_install_file_url_and_a_wheel_with_a_local_version(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    wheel = build_wheel(tmp_path / "wheels dir", "fileurl", "1.0")
    plain = build_wheel(tmp_path / "local", "localver", "1.0")
    # A local version label in the file name only, as some rebuilt wheels have it.
    artifacts = pipfence_project / "artifacts"
    artifacts.mkdir()
    marked = plain.rename(artifacts / "localver-1.0+mkl-py3-none-any.whl")
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))

    result = run_pipfence(["install", wheel.as_uri(), "./artifacts/" + marked.name], env=env)

    assert result.returncode == 0, out(result)
    entries = packages(pipfence_project)
    assert entries["fileurl"] == {"file": f"file://{wheel.as_posix()}"}
    assert entries["localver"] == {"path": f"./artifacts/{marked.name}"}
    lock = read_lock(pipfence_project)["default"]
    assert lock["fileurl"] == {"file": f"file://{wheel.as_posix()}", "hashes": [sha256(wheel)]}
    assert lock["localver"]["hashes"] == [sha256(marked)]
    assert run_in_venv(pipfence_project, "import fileurl, localver; print('ok')") == "ok"


def test_install_name_with_extras_at_an_http_wheel(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    env: dict[str, str],
) -> None:
    public_index.add_dist("extradep", "1.0")
    wheel = private_index.add_dist("remote", "1.0", extras={"std": ["extradep"]})
    url = private_index.file_url(wheel.name)
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))

    result = run_pipfence(["install", f"remote[std]@{url}"], env=env)

    assert result.returncode == 0, out(result)
    assert packages(pipfence_project)["remote"] == {"extras": ["std"], "file": url}
    lock = read_lock(pipfence_project)["default"]
    assert lock["remote"] == {"extras": ["std"], "file": url, "hashes": [sha256(wheel)]}
    assert lock["extradep"]["version"] == "==1.0"
    assert run_in_venv(pipfence_project, "import remote, extradep; print('ok')") == "ok"


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("./missing", "`./missing` does not exist"),
        ("./nothing-1.0.tar.gz", "`./nothing-1.0.tar.gz` does not exist"),
        ("./empty", "has neither pyproject.toml nor setup.py"),
        ("git+https://127.0.0.1:1/x.git", "version-control URL"),
    ],
)
def test_a_bad_reference_changes_nothing(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
    argument: str,
    message: str,
) -> None:
    (pipfence_project / "empty").mkdir()
    before = write_pipfile(
        pipfence_project, pipfile_text([("public", public_index.simple_url)], "")
    )

    result = run_pipfence(["install", argument], env=env)

    assert result.returncode == 2, out(result)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == before
    assert not (pipfence_project / "Pipfile.lock").exists()
    assert not (pipfence_project / ".venv").exists()


def test_install_editable_url_is_refused(
    run_pipfence: RunPipfence, pipfence_project: Path, env: dict[str, str]
) -> None:
    before = write_pipfile(pipfence_project, pipfile_text([("p", "http://127.0.0.1:9/simple")], ""))
    result = run_pipfence(["install", "-e", "https://127.0.0.1:9/x-1.0.tar.gz"], env=env)
    assert result.returncode == 2, out(result)
    assert "`-e` installs a folder" in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == before


def test_lock_json_is_unchanged_by_a_second_install(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
) -> None:
    write_source_tree(pipfence_project / "libs", "again", "1.0")
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))
    assert run_pipfence(["install", "./libs/again-1.0"], env=env).returncode == 0
    first = json.loads((pipfence_project / "Pipfile.lock").read_text(encoding="utf-8"))
    result = run_pipfence(["install"], env=env)
    assert result.returncode == 0, out(result)
    assert read_lock(pipfence_project) == first


def test_install_with_an_unknown_index_name_says_not_found(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    before = write_pipfile(
        pipfence_project, pipfile_text([("public", public_index.simple_url)], "")
    )
    result = run_pipfence(["install", "six", "--index", "nonexistent-index"])
    assert result.returncode == 2, out(result)
    assert "source `nonexistent-index` not found" in result.stderr
    assert "`public`" in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == before
    assert public_index.requested_paths() == []


def test_credentials_in_a_file_url_are_kept_out_of_the_pipfile_and_lock(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    authenticated_index: PypiServer,
    env: dict[str, str],
) -> None:
    wheel = authenticated_index.add_dist("secretpkg", "1.0")
    assert authenticated_index.auth is not None
    user, password = authenticated_index.auth
    url = f"http://{user}:{password}@127.0.0.1:{authenticated_index.port}/packages/{wheel.name}"
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))

    result = run_pipfence(["install", f"secretpkg @ {url}"], env=env)

    assert result.returncode == 0, out(result)
    written = (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    locked = (pipfence_project / "Pipfile.lock").read_text(encoding="utf-8")
    assert password not in written + locked + result.stdout + result.stderr
    assert packages(pipfence_project)["secretpkg"] == {
        "file": "http://${SECRETPKG_USERNAME}:${SECRETPKG_PASSWORD}@127.0.0.1:"
        f"{authenticated_index.port}/packages/{wheel.name}"
    }
    assert "SECRETPKG_PASSWORD" in result.stderr


def test_a_local_archive_replaced_after_the_lock_is_refused(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
) -> None:
    wheel = build_wheel(pipfence_project / "wheels", "pinned", "1.0")
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))
    assert run_pipfence(["install", f"./wheels/{wheel.name}"], env=env).returncode == 0
    lock_before = (pipfence_project / "Pipfile.lock").read_bytes()
    build_wheel(pipfence_project / "wheels", "pinned", "1.0", files={"pinned/x.py": "X = 1\n"})
    assert run_pipfence(["--rm"], env=env).returncode == 0

    result = run_pipfence(["sync"], env=env)

    assert result.returncode == 3, out(result)
    assert "sha256" in result.stderr
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock_before


def test_uninstall_all_names_a_local_file_and_keeps_pipfile_and_lock(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
) -> None:
    wheel = build_wheel(pipfence_project / "wheels", "localfile", "1.0")
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))
    assert run_pipfence(["install", wheel.as_uri()], env=env).returncode == 0
    files = {n: (pipfence_project / n).read_bytes() for n in ("Pipfile", "Pipfile.lock")}

    result = run_pipfence(["uninstall", "--all"], env=env)

    assert result.returncode == 0, out(result)
    assert result.stdout.splitlines() == ["- localfile==1.0"]
    assert {n: (pipfence_project / n).read_bytes() for n in files} == files


def test_upgrade_and_update_take_editable_folders_and_requirements_files(
    run_pipfence: RunPipfence, public_index: PypiServer, env: dict[str, str], tmp_path: Path
) -> None:
    """pipenv's `upgrade -e PATH` writes the editable entry and re-locks it (the environment
    untouched); `update -e PATH` installs it too; `-r FILE` writes the file's packages and
    moves them."""
    public_index.add_dist("helper", "1.0")
    public_index.add_dist("other", "1.0")
    project = tmp_path / "app"
    project.mkdir()
    write_source_tree(project, "mylib", "0.1", requires=["helper"])
    write_pipfile(project, pipfile_text([("public", public_index.simple_url)], ""))
    assert run_pipfence(["install"], cwd=project, env=env).returncode == 0

    upgraded = run_pipfence(["upgrade", "-e", "./mylib-0.1"], cwd=project, env=env)

    assert upgraded.returncode == 0, out(upgraded)
    assert packages(project)["mylib"] == {"path": "./mylib-0.1", "editable": True}
    assert read_lock(project)["default"]["mylib"] == {"editable": True, "path": "./mylib-0.1"}
    assert read_lock(project)["default"]["helper"]["version"] == "==1.0"
    find = "import importlib.util as u; print(u.find_spec('helper') is None)"
    assert run_in_venv(project, find) == "True"  # upgrade writes the lock only

    (project / "requirements.txt").write_text("other==1.0\n", encoding="utf-8")
    updated = run_pipfence(["update", "-r", "requirements.txt"], cwd=project, env=env)

    assert updated.returncode == 0, out(updated)
    assert packages(project)["other"] == "==1.0"
    assert read_lock(project)["default"]["other"]["version"] == "==1.0"
    assert run_in_venv(project, "import mylib, helper, other; print('ok')") == "ok"


def test_uninstall_editable_folder_removes_its_entry(
    run_pipfence: RunPipfence, public_index: PypiServer, env: dict[str, str], tmp_path: Path
) -> None:
    public_index.add_dist("helper", "1.0")
    project = tmp_path / "app"
    project.mkdir()
    write_source_tree(project, "mylib", "0.1", requires=["helper"])
    write_pipfile(project, pipfile_text([("public", public_index.simple_url)], ""))
    assert run_pipfence(["install", "-e", "./mylib-0.1"], cwd=project, env=env).returncode == 0

    missing = run_pipfence(["uninstall", "-e", "./nothing-here"], cwd=project, env=env)
    assert missing.returncode != 0
    assert "nothing-here" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert "mylib" in packages(project)

    result = run_pipfence(["uninstall", "-e", "./mylib-0.1"], cwd=project, env=env)

    assert result.returncode == 0, out(result)
    assert "mylib" not in packages(project)
    assert set(read_lock(project)["default"]) == set()
    assert "- mylib==0.1" in result.stderr
