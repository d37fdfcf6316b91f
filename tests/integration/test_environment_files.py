"""What pipfence leaves in an environment it creates, as pipenv does: a `.project` file
naming the project folder (virtualenvwrapper's link back), wherever the environment lives."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import one_source_pipfile, out, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("in_project", ["1", "0"])
def test_a_new_environment_names_its_project(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    in_project: str,
) -> None:
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url))
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": in_project}
    result = cli(["install"], env=env)
    assert result.returncode == 0, out(result)
    where = cli(["--venv"], env=env)
    assert where.returncode == 0, out(where)
    venv = Path(where.stdout.strip())
    assert (venv == pipfence_project / ".venv") is (in_project == "1")
    assert (venv / ".project").read_text(encoding="utf-8") == str(pipfence_project)


def test_run_of_a_missing_command_exits_127_as_a_shell_does(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url))
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1"}
    assert cli(["install"], env=env).returncode == 0
    result = cli(["run", "no-such-command-here"], env=env)
    assert result.returncode == 127, out(result)
    assert "`no-such-command-here` was not found" in result.stderr
    assert "Traceback" not in result.stderr
