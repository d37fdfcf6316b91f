"""`.env` files and [scripts] for `pipfence run`."""

from __future__ import annotations

from pathlib import Path

from pipfence.project.project import Project
from pipfence.project.running import commands_for, environment_for, read_dotenv
from pipfence.project.settings import Settings


def test_dotenv_parsing(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nA=1\nexport B='two words'\nC=\"quoted # not a comment\"\nD=plain # comment\n"
        "not a line\n",
        encoding="utf-8",
    )
    assert read_dotenv(dotenv) == {
        "A": "1",
        "B": "two words",
        "C": "quoted # not a comment",
        "D": "plain",
    }
    assert read_dotenv(tmp_path / "missing") == {}


def _project(tmp_path: Path, environ: dict[str, str]) -> Project:
    (tmp_path / "Pipfile").write_text(
        '[packages]\n\n[scripts]\ntest = "pytest -q"\nlisted = ["python -V", "pytest"]\n',
        encoding="utf-8",
    )
    settings = Settings.from_environ(environ, cwd=tmp_path)
    return Project.find(settings)


def test_environment_activates_venv_and_loads_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FROM_DOTENV=yes\nPATH=/nope\n", encoding="utf-8")
    project = _project(tmp_path, {"PATH": "/usr/bin", "PYTHONHOME": "/x"})
    env = environment_for(project, tmp_path / ".venv")
    assert env["PATH"].split(":")[0] == str(tmp_path / ".venv" / "bin")
    assert env["VIRTUAL_ENV"] == str(tmp_path / ".venv")
    assert env["PIPENV_ACTIVE"] == "1"
    assert env["PIPENV_PROJECT_DIR"] == str(tmp_path)
    assert env["FROM_DOTENV"] == "yes"
    assert "PYTHONHOME" not in env
    skipped = environment_for(
        _project(tmp_path, {"PATH": "/usr/bin", "PIPENV_DONT_LOAD_ENV": "1"}), tmp_path / ".venv"
    )
    assert "FROM_DOTENV" not in skipped


def test_scripts_expand(tmp_path: Path) -> None:
    project = _project(tmp_path, {"PATH": "/usr/bin"})
    assert [c.argv for c in commands_for(project, ["test", "-x"])] == [("pytest", "-q", "-x")]
    assert [c.argv for c in commands_for(project, ["listed", "-x"])] == [
        ("python", "-V"),
        ("pytest", "-x"),
    ]
    assert [c.argv for c in commands_for(project, ["python", "-c", "1"])] == [("python", "-c", "1")]
