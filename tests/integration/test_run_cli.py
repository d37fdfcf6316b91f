"""`pipfence run` as pipenv runs commands and [scripts]: variables expanded (from the process
and `.env`), `NAME=value` words before the command, shell built-ins, `{call = "pkg.mod:func"}`
entries and array scripts run in order."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import out, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence

pytestmark = pytest.mark.integration


@pytest.fixture
def project(cli: RunPipfence, pipfence_project: Path) -> Path:
    """A project with no packages, its environment created, and `write_scripts` to add
    [scripts] afterwards (the Pipfile's hash then changes, which `run` does not mind)."""
    write_pipfile(pipfence_project, "[packages]\n")
    created = cli(["install"])
    assert created.returncode == 0, out(created)
    return pipfence_project


def write_scripts(project: Path, scripts: str) -> None:
    write_pipfile(project, "[packages]\n\n[scripts]\n" + scripts)


def test_scripts_expand_variables_from_the_environment_and_dotenv(
    cli: RunPipfence, env: dict[str, str], project: Path
) -> None:
    (project / ".env").write_text("FROM_DOTENV=dotenv-value\n", encoding="utf-8")
    write_scripts(project, 'show = "echo $FROM_SHELL ${FROM_DOTENV} $NOT_SET"\n')
    result = cli(["run", "show"], env={**env, "FROM_SHELL": "shell-value"})
    assert result.returncode == 0, out(result)
    assert result.stdout.strip() == "shell-value dotenv-value $NOT_SET"
    # pipenv expands the words of a command line too; a quoted `$NAME` reaches it unexpanded.
    direct = cli(["run", "echo", "$FROM_DOTENV"])
    assert direct.stdout.strip() == "dotenv-value", out(direct)


def test_dotenv_is_loaded_as_pipenv_loads_it(
    cli: RunPipfence, env: dict[str, str], project: Path
) -> None:
    (project / ".env").write_text(
        'FOO=from-dotenv\nBASE=${FOO}/x\nLINES="one\ntwo\\tend"\n', encoding="utf-8"
    )
    code = "import os; print(repr([os.environ[k] for k in ('FOO', 'BASE', 'LINES')]))"
    result = cli(["run", "python", "-c", code], env={**env, "FOO": "from-shell"})
    assert result.returncode == 0, out(result)
    assert result.stdout.strip() == repr(["from-dotenv", "from-dotenv/x", "one\ntwo\tend"])


def test_a_double_dash_before_the_command_is_not_the_command(
    cli: RunPipfence, project: Path
) -> None:
    write_scripts(project, "show = \"python -c 'import sys; print(sys.argv[1:])'\"\n")
    result = cli(["run", "--", "python", "-c", "import sys; print(sys.argv[1:])", "--", "-x"])
    assert result.returncode == 0, out(result)
    assert result.stdout.strip() == "['--', '-x']"
    script = cli(["run", "--", "show", "a"])
    assert script.returncode == 0, out(script)
    assert script.stdout.strip() == "['a']"


def test_inline_assignments_set_the_commands_environment(cli: RunPipfence, project: Path) -> None:
    code = "import os; print(os.environ['A'], os.environ['B'])"
    result = cli(["run", "A=foo", "B=two words", "python", "-c", code])
    assert result.returncode == 0, out(result)
    assert result.stdout.strip() == "foo two words"
    write_scripts(
        project,
        "greet = \"GREET='hello world' python -c \\\"import os; print(os.environ['GREET'])\\\"\"\n",
    )
    script = cli(["run", "greet"])
    assert script.returncode == 0, out(script)
    assert script.stdout.strip() == "hello world"


def test_shell_builtins_run_through_the_shell(cli: RunPipfence, project: Path) -> None:
    moved = cli(["run", "cd", "/"])
    assert moved.returncode == 0, out(moved)
    # The shell's own answer and exit code come back.
    missing = cli(["run", "cd", str(project / "no-such-folder")])
    assert missing.returncode != 0, out(missing)
    assert "no-such-folder" in missing.stderr
    exported = cli(["run", "export", "X=1"])
    assert exported.returncode == 0, out(exported)


def test_call_scripts_run_a_function_of_a_module(cli: RunPipfence, project: Path) -> None:
    (project / "pkg").mkdir()
    (project / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (project / "pkg" / "mod.py").write_text(
        "import os\n"
        "def test_func():\n    print('success', os.environ['VIRTUAL_ENV'])\n"
        "def arg_func(s, i):\n    print(f'{s.upper()}. Easy as {i}')\n",
        encoding="utf-8",
    )
    write_scripts(
        project,
        'pkgfunc = {call = "pkg.mod:test_func"}\nargfunc = {call = "pkg.mod:arg_func(\'abc\', 123)"}\n',
    )
    plain = cli(["run", "pkgfunc"])
    assert plain.returncode == 0, out(plain)
    assert plain.stdout.split() == ["success", str(project / ".venv")]
    called = cli(["run", "argfunc"])
    assert called.returncode == 0, out(called)
    assert called.stdout.strip() == "ABC. Easy as 123"


def test_bad_call_script_is_one_line_error(cli: RunPipfence, project: Path) -> None:
    write_scripts(project, 'broken = {call = "pkg.mod"}\n')
    result = cli(["run", "broken"])
    assert result.returncode == 2, out(result)
    assert "[scripts] `broken`" in result.stderr
    assert "package.module:function" in result.stderr
    assert "Traceback" not in result.stderr


def test_array_script_runs_in_order_and_stops_at_the_first_failure(
    cli: RunPipfence, project: Path
) -> None:
    write_scripts(project, 'steps = ["echo one", "sh -c \'exit 3\'", "echo never"]\n')
    result = cli(["run", "steps"])
    assert result.returncode == 3, out(result)
    assert result.stdout.split() == ["one"]
    write_scripts(project, 'both = ["echo one", "echo two"]\n')
    extra = cli(["run", "both", "three"])
    assert extra.returncode == 0, out(extra)
    assert extra.stdout.split() == ["one", "two", "three"]


def test_commands_know_the_project_folder(cli: RunPipfence, project: Path) -> None:
    nested = project / "sub"
    nested.mkdir()
    code = "import os; print(os.environ['PIPENV_PROJECT_DIR'])"
    result = cli(["run", "python", "-c", code], cwd=nested)
    assert result.returncode == 0, out(result)
    assert result.stdout.strip() == str(project)


def test_run_reads_only_the_tables_it_needs_and_refuses_a_pipfile_that_is_not_toml(
    cli: RunPipfence, project: Path
) -> None:
    # pipenv runs [scripts] whatever the package tables say (it reads the TOML alone); so
    # does pipfence, while `lock` still names the broken entry.
    write_pipfile(project, '[packages]\nrequests = true\n\n[scripts]\nhello = "echo hello"\n')
    ran = cli(["run", "hello"])
    assert ran.returncode == 0, out(ran)
    assert ran.stdout.strip() == "hello"
    locked = cli(["lock"])
    assert locked.returncode == 2, out(locked)
    assert locked.stderr.startswith("error: Pipfile:2: the entry for `requests`"), out(locked)
    write_pipfile(project, '[packages]\n\n[scripts]\nhello = "echo hello\n')
    broken = cli(["run", "hello"])
    assert broken.returncode == 2, out(broken)
    assert broken.stderr.startswith("error: Pipfile:4: invalid TOML"), out(broken)
    assert "Traceback" not in broken.stderr
    write_pipfile(project, 'scripts = "echo"\n\n[packages]\n')
    not_a_table = cli(["run", "echo", "x"])
    assert not_a_table.returncode == 2, out(not_a_table)
    assert "[scripts] must be a table" in not_a_table.stderr
