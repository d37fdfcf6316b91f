"""No option of any command is taken from a prefix of its name (argparse's default), so a
pipenv flag pipfence lacks is refused instead of silently meaning a longer one."""

from __future__ import annotations

import argparse

import pytest

from pipfence.cli.main import build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _cases() -> list[tuple[str, str]]:
    cases = []
    for name, parser in _commands().items():
        options = {o for a in parser._actions for o in a.option_strings}
        for option in sorted(options):
            prefix = option[:-1]
            if option.startswith("--") and len(prefix) > 2 and prefix not in options:
                cases.append((name, prefix))
    return cases


@pytest.mark.parametrize(("command", "prefix"), _cases())
def test_a_prefix_of_an_option_is_not_that_option(command: str, prefix: str) -> None:
    argv = [command, prefix] if command else [prefix]
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2


def test_lock_dev_is_pipenvs_flag_not_dev_only() -> None:
    args = build_parser().parse_args(["lock", "--dev"])
    assert args.dev is True
    assert args.dev_only is False
    assert build_parser().parse_args(["lock", "-d"]).dev is True


@pytest.mark.parametrize(
    ("argv", "environ", "tables"),
    [
        (["install"], {}, None),
        (["install", "--categories", "prereq other"], {}, ["prereq", "other"]),
        (["install", "--categories", "prereq, other"], {}, ["prereq", "other"]),
        (["install", "--categories", "b a b"], {}, ["b", "a"]),
        (["install", "--categories", "default develop"], {}, ["packages", "dev-packages"]),
        (
            ["install"],
            {"PIPENV_DEFAULT_CATEGORIES": "packages,dev-packages"},
            ["packages", "dev-packages"],
        ),
        (["install", "--dev"], {"PIPENV_DEFAULT_CATEGORIES": "docs"}, None),
        (["sync", "--categories", "x"], {"PIPENV_DEFAULT_CATEGORIES": "docs"}, ["x"]),
        (["lock", "--dev-only"], {"PIPENV_DEFAULT_CATEGORIES": "docs"}, ["dev-packages"]),
        (["install"], {"PIPENV_DEFAULT_CATEGORIES": " , "}, None),
    ],
)
def test_the_tables_a_command_works_on(
    argv: list[str], environ: dict[str, str], tables: list[str] | None
) -> None:
    from pathlib import Path

    from pipfence.cli.commands._options import tables_from_args
    from pipfence.project.settings import Settings

    args = build_parser().parse_args(argv)
    settings = Settings.from_environ(
        {"HOME": "/nonexistent-home", "XDG_CONFIG_HOME": "/nonexistent", **environ}, cwd=Path("/")
    )
    assert tables_from_args(args, settings) == tables


def test_the_command_is_found_past_the_options_before_it() -> None:
    from pipfence.cli.main import TOP_VALUE_OPTIONS, command_of

    top = build_parser()
    taking_values = {
        flag
        for action in top._actions
        if action.nargs != 0 and action.option_strings
        for flag in action.option_strings
        if flag.startswith("--")
    }
    assert taking_values == TOP_VALUE_OPTIONS
    assert command_of(["run", "python", "-c", "pass"]) == "run"
    assert command_of(["--python", "3.12", "install", "requests"]) == "install"
    assert command_of(["-v", "--pypi-mirror", "http://m/simple", "lock"]) == "lock"
    assert command_of(["--python", "run"]) is None
    assert command_of(["--where"]) is None
    assert command_of(["nonsense"]) is None


def test_a_parser_for_one_command_reads_it_as_the_full_parser_does() -> None:
    argv = ["--python", "3.12", "install", "-e", ".", "--dev", "--categories", "a b"]
    full = vars(build_parser().parse_args(argv))
    one = vars(build_parser("install").parse_args(argv))
    assert one == full


@pytest.mark.fast_io  # a fresh interpreter is the only one that has imported nothing yet
def test_version_and_the_run_parser_import_little() -> None:
    """`pipfence --version` and `pipfence run` start often: the first imports neither rich
    nor packaging, and reading `run`'s arguments imports no command but `run`, nor rich."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from pipfence.cli.main import build_parser, main\n"
        "main(['--version'])\n"
        "heavy = lambda: sorted(m for m in sys.modules if m.split('.')[0] in {'rich', 'packaging'})\n"
        "assert heavy() == [], heavy()\n"
        "build_parser('run').parse_args(['run', 'python'])\n"
        "commands = sorted(m for m in sys.modules if m.startswith('pipfence.cli.commands.'))\n"
        "assert commands == ['pipfence.cli.commands._options', 'pipfence.cli.commands.run'], commands\n"
        "assert not any(m.split('.')[0] == 'rich' for m in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
