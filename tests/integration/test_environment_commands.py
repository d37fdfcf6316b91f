"""The commands about the environment itself, as pipenv has them: `remove` (and the deprecated
`--rm`), `activate`, and `shell` with the `(project)` prompt marker; and `uninstall` with no
package."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import out, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def no_parent_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process commands see pytest as their parent, never the shell pytest was started
    from: `activate` and `shell` take a parent shell before SHELL, so these tests gave bash's
    line under a `pytest` typed in bash and the line SHELL asks for under `make test`."""
    monkeypatch.setattr(os, "getppid", os.getpid)


@pytest.fixture
def project(cli: RunPipfence, pipfence_project: Path) -> Path:
    """A project with no packages and its environment, in project/.venv."""
    write_pipfile(pipfence_project, "[packages]\n")
    created = cli(["install"])
    assert created.returncode == 0, out(created)
    assert (pipfence_project / ".venv" / "pyvenv.cfg").is_file()
    return pipfence_project


def test_remove_deletes_the_environment(cli: RunPipfence, project: Path) -> None:
    pipfile = (project / "Pipfile").read_bytes()
    removed = cli(["remove"])
    assert removed.returncode == 0, out(removed)
    assert str(project / ".venv") in removed.stdout
    assert "deprecated" not in removed.stderr
    assert not (project / ".venv").exists()
    assert (project / "Pipfile").read_bytes() == pipfile
    again = cli(["remove"])
    assert again.returncode == 2, out(again)
    assert "no environment has been created for this project yet" in again.stderr


def test_rm_still_removes_it_with_a_deprecation_warning(cli: RunPipfence, project: Path) -> None:
    removed = cli(["--rm"])
    assert removed.returncode == 0, out(removed)
    assert "deprecated" in removed.stderr
    assert "pipfence remove" in removed.stderr
    assert not (project / ".venv").exists()


def test_remove_leaves_an_activated_environment_of_the_users_alone(
    cli: RunPipfence, env: dict[str, str], project: Path
) -> None:
    # VIRTUAL_ENV outside a pipenv/pipfence shell is the user's own environment.
    own = {**env, "VIRTUAL_ENV": str(project / ".venv")}
    result = cli(["remove"], env=own)
    assert result.returncode == 2, out(result)
    assert "activated environment" in result.stderr
    assert (project / ".venv" / "pyvenv.cfg").is_file()


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("/bin/bash", "source {venv}/bin/activate"),
        ("/usr/bin/zsh", "source {venv}/bin/activate"),
        ("/bin/sh", ". {venv}/bin/activate"),
        ("/usr/bin/fish", "source {venv}/bin/activate.fish"),
        ("tcsh", "source {venv}/bin/activate.csh"),
        ("pwsh", ". {venv}/bin/Activate.ps1"),
    ],
)
def test_activate_prints_the_command_for_the_users_shell(
    cli: RunPipfence, env: dict[str, str], project: Path, shell: str, line: str
) -> None:
    # The test runner is pipfence's parent, not a shell, so PIPENV_SHELL / SHELL decide.
    result = cli(["activate"], env={**env, "SHELL": shell})
    assert result.returncode == 0, out(result)
    assert result.stdout.strip() == line.format(venv=project / ".venv")
    explicit = cli(["activate"], env={**env, "SHELL": "/bin/bash", "PIPENV_SHELL": shell})
    assert explicit.stdout.strip() == line.format(venv=project / ".venv")


def test_activate_line_activates(cli: RunPipfence, env: dict[str, str], project: Path) -> None:
    import subprocess

    line = cli(["activate"], env={**env, "SHELL": "/bin/sh"}).stdout.strip()
    check = subprocess.run(
        ["/bin/sh", "-c", f'{line} && command -v python && echo "$VIRTUAL_ENV"'],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert check.stdout.split() == [
        str(project / ".venv" / "bin" / "python"),
        str(project / ".venv"),
    ], check.stderr


def test_activate_of_an_unknown_shell_is_a_usage_error(
    cli: RunPipfence, env: dict[str, str], project: Path
) -> None:
    result = cli(["activate"], env={**env, "PIPENV_SHELL": "/opt/bin/weirdsh"})
    assert result.returncode == 2, out(result)
    assert "weirdsh" in result.stderr
    assert "PIPENV_SHELL" in result.stderr


@pytest.mark.parametrize("shell", ["/bin/bash", "/bin/sh"])
def test_shell_prompt_shows_the_project_marker(
    cli: RunPipfence, env: dict[str, str], project: Path, shell: str
) -> None:
    # An interactive shell prints its prompt on stderr; commands come from stdin here.
    result = cli(
        ["shell"],
        env={**env, "SHELL": shell},
        input='echo "python=$(command -v python)"\nexit 0\n',
    )
    assert result.returncode == 0, out(result)
    assert f"python={project / '.venv' / 'bin' / 'python'}" in result.stdout
    assert f"({project.name}) " in result.stderr, out(result)


def test_shell_passes_its_own_options_to_the_shell(
    cli: RunPipfence, env: dict[str, str], project: Path
) -> None:
    """`pipfence shell -c "cmd"` runs cmd in the activated shell and exits with its code;
    an unknown option of another command is still refused."""
    result = cli(
        ["shell", "-c", 'echo "python=$(command -v python)"; exit 3'],
        env={**env, "SHELL": "/bin/bash"},
    )
    assert result.returncode == 3, out(result)
    assert f"python={project / '.venv' / 'bin' / 'python'}" in result.stdout
    refused = cli(["install", "-c", "x"])
    assert refused.returncode == 2
    assert "unrecognized arguments: -c" in refused.stderr


def test_shell_inside_an_active_one_needs_anyway(
    cli: RunPipfence, env: dict[str, str], project: Path
) -> None:
    nested = {**env, "SHELL": "/bin/sh", "PIPENV_ACTIVE": "1"}
    refused = cli(["shell"], env=nested, input="exit 0\n")
    assert refused.returncode == 2, out(refused)
    assert "--anyway" in refused.stderr
    anyway = cli(["shell", "--anyway"], env=nested, input="exit 0\n")
    assert anyway.returncode == 0, out(anyway)


def test_shell_that_is_not_there_is_a_one_line_error(
    cli: RunPipfence, env: dict[str, str], project: Path
) -> None:
    missing = project / "no-such-shell"
    result = cli(["shell"], env={**env, "PIPENV_SHELL": str(missing)}, input="exit 0\n")
    assert result.returncode == 127, out(result)
    assert f"`{missing}` was not found" in result.stderr
    assert "this is a bug" not in result.stderr


def test_uninstall_without_a_package_says_so(cli: RunPipfence, project: Path) -> None:
    pipfile = (project / "Pipfile").read_bytes()
    result = cli(["uninstall"])
    assert result.returncode == 2, out(result)
    assert "No package provided!" in result.stderr
    assert (project / "Pipfile").read_bytes() == pipfile
