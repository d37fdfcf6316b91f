"""`.env` files and [scripts] for `pipfence run`."""

from __future__ import annotations

from pathlib import Path

from pipfence.project.project import Project
from pipfence.project.running import commands_for, environment_for, read_dotenv
from pipfence.project.settings import Settings


def test_dotenv_reading(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nA=1\nexport B='two words'\nC=\"quoted # not a comment\"\nD=plain # comment\n"
        "not a line\nE=${A}${FROM_ENV}\n",
        encoding="utf-8",
    )
    warned: list[str] = []
    assert read_dotenv(dotenv, {"FROM_ENV": "!"}, warned.append) == {
        "A": "1",
        "B": "two words",
        "C": "quoted # not a comment",
        "D": "plain",
        "E": "1!",
    }
    assert warned == [f"{dotenv}: line 6 is not a `NAME=value` line; skipped"]
    assert read_dotenv(tmp_path / "missing", {}) == {}


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
    assert env["PATH"] == f"{tmp_path / '.venv' / 'bin'}:/nope"  # the file's PATH, as pipenv's
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


def test_dotenv_values_take_precedence_over_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FOO=from-dotenv\nBAR=${FOO}\n", encoding="utf-8")
    project = _project(tmp_path, {"PATH": "/usr/bin", "FOO": "from-shell"})
    env = environment_for(project, tmp_path / ".venv")
    assert (env["FOO"], env["BAR"]) == ("from-dotenv", "from-dotenv")


def test_a_dotenv_location_that_is_no_file_is_warned_about(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.env"
    project = _project(tmp_path, {"PATH": "/usr/bin", "PIPENV_DOTENV_LOCATION": str(missing)})
    warned: list[str] = []
    environment_for(project, tmp_path / ".venv", warned.append)
    assert warned == [
        f"PIPENV_DOTENV_LOCATION names `{missing}`, which is not a file: no variables loaded from it"
    ]
