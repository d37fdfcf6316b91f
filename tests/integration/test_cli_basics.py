"""The real command: help, version, locations, verify, and bad input failing cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipfence.models.lockfile import LockedPackage, Lockfile, Meta
from pipfence.models.pipfile import Pipfile, lock_category, pipfile_hash

pytestmark = pytest.mark.integration

PIPENV_COMMANDS = [
    "install", "sync", "lock", "update", "upgrade", "uninstall", "clean", "run", "shell",
    "graph", "requirements", "verify", "check", "scripts", "open",
]  # fmt: skip


def run(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPENV_", "VIRTUAL_ENV"))}
    env.update(NO_COLOR="1", WORKON_HOME=str(cwd / "_workon"), PIP_CONFIG_FILE=os.devnull)
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "pipfence", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def write_lock(project: Path, digest: str | None = None) -> None:
    """A lock as `pipfence lock` would write it for this Pipfile (each package at 1.0)."""
    pipfile = Pipfile.parse((project / "Pipfile").read_text(encoding="utf-8"))
    categories = {
        lock_category(table): {
            spec.name: LockedPackage(name=spec.name, data={"hashes": [], "version": "==1.0"})
            for spec in specs.values()
        }
        for table, specs in pipfile.categories.items()
    }
    meta = Meta(
        hash=digest or pipfile_hash(pipfile.data),
        sources=pipfile.effective_sources,
        requires=pipfile.requires,
    )
    text = Lockfile(meta=meta, categories=categories).to_json()
    (project / "Pipfile.lock").write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pipfile").write_text(
        '[packages]\nrequests = "*"  # http\n\n[dev-packages]\n\n[scripts]\nt = "pytest"\n',
        encoding="utf-8",
    )
    return tmp_path


def test_help_lists_pipenvs_commands(tmp_path: Path) -> None:
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    for command in PIPENV_COMMANDS:
        assert f"    {command} " in result.stdout, command


def test_version(tmp_path: Path) -> None:
    result = run(["--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("pipfence, version ")


def test_where_and_venv_follow_pipenv_rules(project: Path) -> None:
    nested = project / "src" / "pkg"
    nested.mkdir(parents=True)
    assert run(["--where"], nested).stdout.strip() == str(project)
    venv = run(["--venv"], project)
    assert venv.returncode == 1  # pipenv's status and words for "no environment yet"
    assert "No virtualenv has been created for this project" in venv.stderr
    assert "_workon" in venv.stderr
    py = run(["--py"], project)
    assert py.returncode == 1
    assert "No virtualenv has been created for this project" in py.stderr
    empty = project / "empty"
    empty.mkdir()
    for flag in ("--where", "--venv", "--py"):
        alone = run([flag], empty, PIPENV_MAX_DEPTH="0")
        assert alone.returncode == 1, flag
        assert "No Pipfile present at project home." in alone.stderr
    assert str(project / ".venv") in run(["--venv"], project, PIPENV_VENV_IN_PROJECT="1").stderr
    (project / ".venv").mkdir()
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr\n", encoding="utf-8")
    found = run(["--venv"], project)
    assert (found.returncode, found.stdout.strip()) == (0, str(project / ".venv"))


@pytest.mark.parametrize(
    ("extra", "found"),
    [
        ({}, True),
        ({"PIPENV_NO_INHERIT": "1"}, False),
        ({"PIPENV_NO_INHERIT": "0"}, True),
        ({"PIPENV_MAX_DEPTH": "2"}, False),  # pkg and src: pipenv counts the folder itself
        ({"PIPENV_MAX_DEPTH": "3"}, True),
        ({"PIPENV_MAX_DEPTH": "3", "PIPENV_NO_INHERIT": "true"}, False),
        ({"PIPENV_MAX_DEPTH": "0"}, False),
    ],
)
def test_the_pipfile_of_a_parent_folder_is_found_as_pipenv_finds_it(
    project: Path, extra: dict[str, str], found: bool
) -> None:
    """``PIPENV_NO_INHERIT`` (the deployment guard against a parent's Pipfile) takes the
    current folder's only; ``PIPENV_MAX_DEPTH`` counts the folders searched, the current one
    first, as pipenv counts them."""
    nested = project / "src" / "pkg"
    nested.mkdir(parents=True)
    result = run(["--where"], nested, **extra)
    if found:
        assert (result.returncode, result.stdout.strip()) == (0, str(project)), result.stderr
    else:
        assert result.returncode == 1, result.stdout
        assert "No Pipfile present at project home." in result.stderr
        locked = run(["lock"], nested, **extra)
        assert locked.returncode == 2, locked.stdout
        searched = int(extra.get("PIPENV_MAX_DEPTH", "10"))
        parents = "PIPENV_NO_INHERIT" not in extra and searched > 1
        assert ("or its parent folders" in locked.stderr) == parents, locked.stderr


@pytest.mark.parametrize("depth", ["0", "1"])
def test_the_working_folders_pipfile_is_always_found(project: Path, depth: str) -> None:
    """``PIPENV_MAX_DEPTH=0`` searched no folder at all: `install` then started a new project
    over the Pipfile that was there, its packages lost. The working folder always counts."""
    before = (project / "Pipfile").read_bytes()
    where = run(["--where"], project, PIPENV_MAX_DEPTH=depth)
    assert (where.returncode, where.stdout.strip()) == (0, str(project)), where.stderr
    ran = run(["run", "python", "-c", "pass"], project, PIPENV_MAX_DEPTH=depth)
    assert "Created a Pipfile" not in ran.stderr
    assert (project / "Pipfile").read_bytes() == before


def test_a_relative_pipenv_pipfile_gives_the_project_pipenv_gives(tmp_path: Path) -> None:
    app, ci = tmp_path / "app", tmp_path / "ci"
    app.mkdir()
    ci.mkdir()
    (app / "Pipfile").write_text('[packages]\nsix = "*"\n', encoding="utf-8")
    workon = str(tmp_path / "_workon")
    from_ci = run(["--where"], ci, PIPENV_PIPFILE="../app/Pipfile", WORKON_HOME=workon)
    assert from_ci.stdout.strip() == str(app)  # pipenv's abspath: no `ci/..` in it
    venv_ci = run(["--venv"], ci, PIPENV_PIPFILE="../app/Pipfile", WORKON_HOME=workon)
    venv_app = run(["--venv"], app, WORKON_HOME=workon)
    assert venv_app.returncode == 1  # none yet; the message names the one it would be
    assert venv_ci.stderr == venv_app.stderr
    assert "ci/.." not in venv_ci.stderr


def test_a_pipfile_of_another_name_has_its_lock_named_after_it(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text('[packages]\nsix = "*"\n', encoding="utf-8")
    write_lock(tmp_path)
    (tmp_path / "Pipfile").rename(tmp_path / "Pipfile.ci")
    (tmp_path / "Pipfile.lock").rename(tmp_path / "Pipfile.ci.lock")  # as pipenv names it
    found = run(["verify"], tmp_path, PIPENV_PIPFILE="Pipfile.ci")
    assert (found.returncode, found.stdout) == (0, "Pipfile.lock is up-to-date.\n")
    listed = run(["requirements"], tmp_path, PIPENV_PIPFILE="Pipfile.ci")
    assert (listed.returncode, listed.stdout.splitlines()[-1]) == (0, "six==1.0")


def test_verify_names_a_pipfile_that_does_not_parse_even_without_a_lock(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text('[packages]\nsix = "*"\n[packages\n', encoding="utf-8")
    result = run(["verify"], tmp_path)
    assert result.returncode == 2
    assert "Pipfile:3: invalid TOML" in result.stderr
    assert "no lock yet" not in result.stderr


def test_verify_current_and_stale(project: Path) -> None:
    write_lock(project)
    current = run(["verify"], project)
    assert current.returncode == 0
    assert current.stdout == "Pipfile.lock is up-to-date.\n"  # pipenv's words, on stdout

    pipfile = project / "Pipfile"
    text = pipfile.read_text(encoding="utf-8")
    pipfile.write_text(text.replace("# http", "# the http client") + "# end\n", encoding="utf-8")
    assert run(["verify"], project).returncode == 0
    pipfile.write_text(text.replace('t = "pytest"', 't = "pytest -x"'), encoding="utf-8")
    assert run(["verify"], project).returncode == 0

    pipfile.write_text(
        text.replace("[dev-packages]\n", '[dev-packages]\npytest = "*"\n'), encoding="utf-8"
    )
    stale = run(["verify"], project)
    assert stale.returncode == 1
    assert "Pipfile.lock is out-of-date." in stale.stderr
    assert "[dev-packages] has `pytest` not in the lock" in stale.stderr

    pipfile.write_text(text.replace('requests = "*"', 'requests = ">=2"'), encoding="utf-8")
    stale = run(["verify"], project)
    assert stale.returncode == 1
    assert "package entries changed" in stale.stderr


BAD_PIPFILES = {
    "unclosed table": ('[packages\nrequests = "*"\n', "Pipfile:1: invalid TOML"),
    "duplicate key": ('[packages]\nrequests = "*"\nrequests = "<3"\n', "Pipfile:3: invalid TOML"),
    "duplicate source": (
        (
            '[[source]]\nurl = "https://a.example/simple"\nname = "a"\n'
            '[[source]]\nurl = "https://b.example/simple"\nname = "a"\n'
        ),
        "Pipfile:4: two [[source]] tables are named `a`",
    ),
    "bad specifier": ('[packages]\nrequests = "=>2"\n', "Pipfile:2: `=>2` is not a valid version"),
    "bad name": (
        '[packages]\n"re quests" = "*"\n',
        "Pipfile:2: `re quests` is not a valid package name",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PIPFILES))
@pytest.mark.parametrize("command", [["verify"], ["--venv"], ["lock"]])
def test_bad_pipfile_is_one_line_exit_2_nothing_written(
    tmp_path: Path, case: str, command: list[str]
) -> None:
    text, message = BAD_PIPFILES[case]
    (tmp_path / "Pipfile").write_text(text, encoding="utf-8")
    (tmp_path / "Pipfile.lock").write_text('{"_meta": {}, "default": {}}\n', encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    result = run(command, tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {message}")
    assert len(result.stderr.strip().splitlines()) <= 2
    assert "Traceback" not in result.stderr
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


BAD_LOCKS = {
    "invalid json": ('{"_meta": ', "Pipfile.lock:1: invalid JSON"),
    "no _meta": ('{"default": {}}', "Pipfile.lock: not a Pipfile.lock: it has no `_meta` object"),
    "not an object": ("[]", "Pipfile.lock: it is not a JSON object"),
    "merge conflict": (
        '{\n<<<<<<< HEAD\n    "_meta": {}\n=======\n>>>>>>> theirs\n}\n',
        "Pipfile.lock:2: it contains merge-conflict markers",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_LOCKS))
def test_corrupt_lock_is_one_line_exit_2_nothing_written(project: Path, case: str) -> None:
    text, message = BAD_LOCKS[case]
    (project / "Pipfile.lock").write_text(text, encoding="utf-8")
    before = {p: p.read_bytes() for p in project.iterdir()}
    result = run(["verify"], project)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {message}")
    assert "Traceback" not in result.stderr
    assert {p: p.read_bytes() for p in project.iterdir()} == before


def test_verbose_shows_the_traceback(project: Path) -> None:
    (project / "Pipfile.lock").write_text("[]", encoding="utf-8")
    result = run(["verify", "--verbose"], project)
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_no_pipfile_is_a_usage_error(tmp_path: Path) -> None:
    result = run(["lock"], tmp_path, PIPENV_MAX_DEPTH="0")
    assert result.returncode == 2
    assert "no Pipfile" in result.stderr


def test_verify_without_a_lock_or_a_pipfile_fails_with_pipenvs_words_and_exit_1(
    project: Path, tmp_path: Path
) -> None:
    no_lock = run(["verify"], project)
    assert no_lock.returncode == 1
    assert "Pipfile.lock is out-of-date." in no_lock.stderr
    assert "Traceback" not in no_lock.stderr
    assert not (project / "Pipfile.lock").exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    no_pipfile = run(["verify"], empty, PIPENV_MAX_DEPTH="0")
    assert no_pipfile.returncode == 1
    assert "No Pipfile present at project home." in no_pipfile.stderr
    assert list(empty.iterdir()) == []


def test_the_process_ends_at_once_with_all_its_output_and_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `entry` leaves with os._exit: what `main` wrote must all be flushed first.
    from pipfence.cli.main import main

    assert main(["--envs"]) == 0
    expected = capsys.readouterr().out
    result = run(["--envs"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    assert len(expected) > 1000
    failed = run(["lock"], tmp_path)  # no Pipfile here
    assert failed.returncode == 2
    assert "no Pipfile" in failed.stderr
