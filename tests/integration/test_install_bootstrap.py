"""Starting a project: `pipfence install` with no Pipfile creates pipenv's new Pipfile (and
imports requirements.txt), and `install -r FILE` imports a requirements file, its indexes
becoming fenced sources."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.dists import write_source_tree
from support.project import out, pipfile_text, read_lock, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"
FULL = f"{MINOR}.{sys.version_info.micro}"


def pipfile(project: Path) -> dict[str, Any]:
    return tomllib.loads((project / "Pipfile").read_text(encoding="utf-8"))


def test_install_with_no_pipfile_creates_pipenvs_pipfile(
    run_pipfence: RunPipfence, pipfence_project: Path, env: dict[str, str]
) -> None:
    result = run_pipfence(["install"], env={**env, "PIPENV_MAX_DEPTH": "0"})

    assert result.returncode == 0, out(result)
    assert (pipfence_project / "Pipfile").read_text(encoding="utf-8") == (
        "[[source]]\n"
        'url = "https://pypi.org/simple"\n'
        "verify_ssl = true\n"
        'name = "pypi"\n'
        "\n"
        "[packages]\n"
        "\n"
        "[dev-packages]\n"
        "\n"
        "[requires]\n"
        f'python_version = "{MINOR}"\n'
    )
    assert read_lock(pipfence_project)["_meta"]["requires"] == {"python_version": MINOR}
    assert (pipfence_project / ".venv" / "pyvenv.cfg").is_file()


def test_install_python_full_version_is_written_when_asked_for(
    run_pipfence: RunPipfence, pipfence_project: Path, env: dict[str, str]
) -> None:
    result = run_pipfence(["install", "--python", FULL], env={**env, "PIPENV_MAX_DEPTH": "0"})

    assert result.returncode == 0, out(result)
    assert pipfile(pipfence_project)["requires"] == {
        "python_version": MINOR,
        "python_full_version": FULL,
    }


def test_a_python_that_does_not_exist_creates_nothing(
    run_pipfence: RunPipfence, pipfence_project: Path, env: dict[str, str]
) -> None:
    result = run_pipfence(["install", "--python", "2.1"], env={**env, "PIPENV_MAX_DEPTH": "0"})

    assert result.returncode == 2, out(result)
    assert "Python 2.1" in result.stderr
    assert list(pipfence_project.iterdir()) == []


def test_new_project_imports_requirements_txt_with_its_index_as_the_default(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    env: dict[str, str],
) -> None:
    private_index.add_dist("socksy", "1.0")
    private_index.add_dist("web", "2.0", extras={"socks": ["socksy"]})
    public_index.add_dist("web", "9.0")
    write_source_tree(pipfence_project / "libs", "locallib", "0.1")
    (pipfence_project / "requirements.txt").write_text(
        f"# pinned by hand\n-i {private_index.simple_url}\n"
        "web[socks]==2.0 \\\n    --hash=sha256:0000\n"
        "-e ./libs/locallib-0.1\n",
        encoding="utf-8",
    )
    public_index.clear_log()

    result = run_pipfence(["install"], env={**env, "PIPENV_MAX_DEPTH": "0"})

    assert result.returncode == 0, out(result)
    data = pipfile(pipfence_project)
    assert [s["url"] for s in data["source"]] == [private_index.simple_url]
    assert data["source"][0]["verify_ssl"] is False
    assert data["packages"]["web"] == {"version": "==2.0", "extras": ["socks"]}
    assert data["packages"]["locallib"] == {"path": "./libs/locallib-0.1", "editable": True}
    assert data["requires"] == {"python_version": MINOR}
    lock = read_lock(pipfence_project)["default"]
    assert lock["web"]["version"] == "==2.0"
    assert lock["socksy"]["version"] == "==1.0"
    assert public_index.requested_paths() == []
    assert "--hash" in result.stderr  # said not to be imported


def test_install_r_pins_the_files_packages_to_its_index_and_adds_extra_indexes(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    env: dict[str, str],
) -> None:
    private_index.add_dist("internal", "1.0")
    public_index.add_dist("internal", "5.0")
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], ""))
    (pipfence_project / "reqs").mkdir()
    (pipfence_project / "reqs" / "base.txt").write_text(
        f"--index-url {private_index.simple_url}\ninternal\n", encoding="utf-8"
    )
    (pipfence_project / "reqs" / "all.txt").write_text(
        "-r base.txt\n--extra-index-url https://127.0.0.1:9/extra/simple\n", encoding="utf-8"
    )

    result = run_pipfence(["install", "-r", "reqs/all.txt"], env=env)

    assert result.returncode == 0, out(result)
    data = pipfile(pipfence_project)
    names = {s["url"]: s["name"] for s in data["source"]}
    assert list(names) == [
        public_index.simple_url,
        "https://127.0.0.1:9/extra/simple",
        private_index.simple_url,
    ]
    assert data["packages"]["internal"] == {
        "version": "*",
        "index": names[private_index.simple_url],
    }
    assert read_lock(pipfence_project)["default"]["internal"]["version"] == "==1.0"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "requirements file `missing.txt` does not exist"),
        ("--find-links ./wheels\nsix\n", "missing.txt:1: `--find-links` takes files"),
        ("-i\n", "missing.txt:1: `-i` needs a value"),
        ("./nowhere\n", "`./nowhere` does not exist"),
    ],
)
def test_a_bad_requirements_file_changes_nothing(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    env: dict[str, str],
    content: str | None,
    message: str,
) -> None:
    before = write_pipfile(
        pipfence_project, pipfile_text([("public", public_index.simple_url)], "")
    )
    if content is not None:
        (pipfence_project / "missing.txt").write_text(content, encoding="utf-8")

    result = run_pipfence(["install", "-r", "missing.txt"], env=env)

    assert result.returncode == 2, out(result)
    assert message in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == before
    assert not (pipfence_project / "Pipfile.lock").exists()
    assert not (pipfence_project / ".venv").exists()


def test_python_alone_writes_the_requires_of_the_python_it_names(
    run_pipfence: RunPipfence, pipfence_project: Path, env: dict[str, str]
) -> None:
    result = run_pipfence(["--python", FULL], env={**env, "PIPENV_MAX_DEPTH": "0"})

    assert result.returncode == 0, out(result)
    assert pipfile(pipfence_project)["requires"] == {
        "python_version": MINOR,
        "python_full_version": FULL,
    }
    assert not (pipfence_project / "Pipfile.lock").exists()
