"""`.env` files and [scripts] for `pipfence run`."""

from __future__ import annotations

from pathlib import Path

from pipfence.project.dotenv import load_dotenv, read_dotenv
from pipfence.project.project import Project
from pipfence.project.running import commands_for, environment_for
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


def test_environment_activates_venv(tmp_path: Path) -> None:
    project = _project(tmp_path, {"PATH": "/usr/bin", "PYTHONHOME": "/x", "KEPT": "yes"})
    env = environment_for(project, tmp_path / ".venv")
    assert env["PATH"] == f"{tmp_path / '.venv' / 'bin'}:/usr/bin"
    assert env["VIRTUAL_ENV"] == str(tmp_path / ".venv")
    assert env["PIPENV_ACTIVE"] == "1"
    assert env["PIPENV_PROJECT_DIR"] == str(tmp_path)
    assert env["KEPT"] == "yes"
    assert "PYTHONHOME" not in env


def _loaded(tmp_path: Path, environ: dict[str, str], cwd: Path | None = None) -> list[str]:
    """``environ`` after `load_dotenv` (changed in place); the warnings it gave."""
    warned: list[str] = []
    load_dotenv(Settings.from_environ(dict(environ), cwd=cwd or tmp_path), environ, warned.append)
    return warned


def test_scripts_expand(tmp_path: Path) -> None:
    project = _project(tmp_path, {"PATH": "/usr/bin"})
    assert [c.argv for c in commands_for(project, ["test", "-x"])] == [("pytest", "-q", "-x")]
    assert [c.argv for c in commands_for(project, ["listed", "-x"])] == [
        ("python", "-V"),
        ("pytest", "-x"),
    ]
    assert [c.argv for c in commands_for(project, ["python", "-c", "1"])] == [("python", "-c", "1")]


def test_dotenv_is_loaded_from_the_project_folder_and_wins_over_the_environment(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text("FOO=from-dotenv\nBAR=${FOO}\nPATH=/nope\n", encoding="utf-8")
    _project(tmp_path, {})
    below = tmp_path / "src" / "pkg"
    below.mkdir(parents=True)
    environ = {"PATH": "/usr/bin", "FOO": "from-shell"}
    assert _loaded(tmp_path, environ, cwd=below) == []
    assert environ == {"PATH": "/nope", "FOO": "from-dotenv", "BAR": "from-dotenv"}
    skipped = {"PIPENV_DONT_LOAD_ENV": "1", "FOO": "from-shell"}
    _loaded(tmp_path, skipped)
    assert skipped == {"PIPENV_DONT_LOAD_ENV": "1", "FOO": "from-shell"}


def test_without_a_project_the_current_folders_dotenv_is_loaded(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HERE=1\n", encoding="utf-8")
    environ = {"PIPENV_MAX_DEPTH": "0"}
    _loaded(tmp_path, environ)
    assert environ["HERE"] == "1"


def test_a_dotenv_location_names_the_file_and_one_that_is_no_file_is_warned_about(
    tmp_path: Path,
) -> None:
    (tmp_path / "ci.env").write_text("FROM=ci\n", encoding="utf-8")
    environ = {"PIPENV_DOTENV_LOCATION": "ci.env"}
    assert _loaded(tmp_path, environ) == []
    assert environ["FROM"] == "ci"
    missing = {"PIPENV_DOTENV_LOCATION": "nowhere.env"}
    assert _loaded(tmp_path, missing) == [
        "PIPENV_DOTENV_LOCATION names `nowhere.env`, which is not a file: no variables loaded from it"
    ]


def test_a_dotenv_folder_is_skipped_as_pipenv_skips_it(tmp_path: Path) -> None:
    (tmp_path / ".env").mkdir()  # `python -m venv .env` makes one
    _project(tmp_path, {})
    environ = {"A": "1"}
    assert _loaded(tmp_path, environ) == []
    assert environ == {"A": "1"}
    unreadable = tmp_path / "latin1.env"
    unreadable.write_bytes(b"A=caf\xe9\n")
    warned = _loaded(tmp_path, {"PIPENV_DOTENV_LOCATION": str(unreadable)})
    assert len(warned) == 1
    assert "could not be read" in warned[0]
