"""Shell families, activation lines and the start-up files `pipfence shell` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipfence.errors import UsageError
from pipfence.models.shells import activate_line, rc_file, shell_kind
from pipfence.project.project import Project
from pipfence.project.running import shell_launch, user_shell
from pipfence.project.settings import Settings


@pytest.mark.parametrize(
    ("shell", "kind"),
    [
        ("/usr/bin/zsh", "zsh"),
        ("-bash", "bash"),
        ("C:\\Program Files\\PowerShell\\7\\pwsh.exe", "pwsh"),
        ("FISH", "fish"),
        ("/bin/dash", "dash"),
        ("nu", None),
        ("", None),
    ],
)
def test_shell_kind(shell: str, kind: str | None) -> None:
    assert shell_kind(shell) == kind


def test_activate_line_quotes_the_path() -> None:
    venv = Path("/home/me/my project/.venv")
    assert activate_line("bash", venv) == "source '/home/me/my project/.venv/bin/activate'"
    with pytest.raises(UsageError):
        activate_line("nu", venv)


def test_rc_file_reads_the_users_file_first() -> None:
    text = rc_file("bash", Path("/p/.venv"), user_rc='"$HOME/.bashrc"')
    assert text.splitlines() == [
        'if [ -f "$HOME/.bashrc" ]; then source "$HOME/.bashrc"; fi',
        "source /p/.venv/bin/activate",
    ]


def test_user_shell_order() -> None:
    assert user_shell({"PIPENV_SHELL": "/bin/zsh", "SHELL": "/bin/bash"}) == "/bin/zsh"
    assert user_shell({"SHELL": "/bin/bash"}) == "/bin/bash"
    assert user_shell({}) == "/bin/sh"


def _project(tmp_path: Path) -> tuple[Project, Path]:
    (tmp_path / "Pipfile").write_text("[packages]\n", encoding="utf-8")
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    settings = Settings.from_environ({"PATH": "/usr/bin", "HOME": "/home/me"}, cwd=tmp_path)
    return Project.find(settings), venv


def test_zsh_reads_pipfences_start_up_files_then_the_users(tmp_path: Path) -> None:
    project, venv = _project(tmp_path)
    launch = shell_launch(project, venv, "zsh", [])
    assert launch.argv == ["zsh", "-i"]
    assert launch.environ["ZDOTDIR"] == str(venv / ".pipfence-shell")
    assert launch.environ["PIPFENCE_USER_ZDOTDIR"] == "/home/me"
    zshrc = (venv / ".pipfence-shell" / ".zshrc").read_text(encoding="utf-8")
    assert zshrc.startswith('ZDOTDIR="$PIPFENCE_USER_ZDOTDIR"')
    assert zshrc.rstrip().endswith(f"source {venv}/bin/activate")


def test_fish_gets_an_init_command_and_arguments_pass_through(tmp_path: Path) -> None:
    project, venv = _project(tmp_path)
    fish = shell_launch(project, venv, "fish", [])
    assert fish.argv == ["fish", "-i", "-C", f"source {venv}/bin/activate.fish"]
    given = shell_launch(project, venv, "bash", ["-c", "echo hi"])
    assert given.argv == ["bash", "-c", "echo hi"]
    plain = shell_launch(project, venv, "bash", [], plain=True)
    assert plain.argv == ["bash"]
