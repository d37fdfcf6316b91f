"""The Pythons the CLI finds, through the real commands: a Pipfile asking for Python 2.7, which
pipfence cannot make an environment with, is told so with the interpreter's path; `--python` a
Python 2 is refused in one line; `--support` lists pyenv's installs, not shims that fail. The
interpreters are shell scripts (`support.pythons`) and pyenv lives in tmp_path: PATH and
PYENV_ROOT point there."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import out, pipfile_text, write_pipfile
from support.pythons import fake_python, pyenv_install, pyenv_shim, python2
from support.static_index import StaticIndexServer, write_static_index

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory

pytestmark = pytest.mark.integration


@pytest.fixture
def env(pipfence_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The CLI's environment, with PATH holding only tmp_path/bin and pyenv under tmp_path."""
    (tmp_path / "bin").mkdir()
    return {
        **pipfence_env,
        "PATH": str(tmp_path / "bin"),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
        "PIPENV_VENV_IN_PROJECT": "1",
    }


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_install_for_python_2_7_names_the_install_found_and_writes_nothing(
    cli: RunPipfence, env: dict[str, str], pipfence_project: Path, tmp_path: Path
) -> None:
    write_pipfile(pipfence_project, '[packages]\n\n[requires]\npython_version = "2.7"\n')
    pyenv_shim(tmp_path / "bin" / "python2.7")
    install = pyenv_install(tmp_path / "pyenv", "2.7.18")

    result = cli(["install"], env=env)

    assert result.returncode == 2, out(result)
    assert _errors(result.stderr) == [
        (
            f"error: Python 2.7 was found at `{install}` (Python 2.7.18), but pipfence cannot make "
            "an environment with it: it needs Python 3.6 or later"
        )
    ]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in pipfence_project.iterdir()) == ["Pipfile"]


def test_a_lock_for_python_2_7_that_resolves_nothing_names_the_install_found(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    tmp_path: Path,
    dist_factory: DistFactory,
) -> None:
    """Nothing resolves for [requires]' Python 2.7, and the 2.7 found is too old to use: the
    error says so (it said that Python "is not installed here")."""
    root = dist_factory.root / "index"
    write_static_index(root, [dist_factory.wheel("alpha", "1.0")])
    pyenv_shim(tmp_path / "bin" / "python2.7")
    install = pyenv_install(tmp_path / "pyenv", "2.7.18")
    with StaticIndexServer(root) as server:
        pipfile = pipfile_text([("pypi", server.url + "/simple/")], 'alpha = "*"\n')
        written = write_pipfile(
            pipfence_project, pipfile + '\n[requires]\npython_version = "2.7"\n'
        )
        result = cli(["lock"], env=env)

    assert result.returncode == 2, out(result)
    (error,) = _errors(result.stderr)
    assert error.startswith("error: nothing resolves for Python 2.7, which [requires] asks for (")
    assert error.endswith(
        f"nor can pipfence use that Python here: Python 2.7 was found at `{install}` "
        "(Python 2.7.18), but pipfence cannot make an environment with it: it needs Python "
        "3.6 or later"
    )
    assert "not installed" not in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == written
    assert sorted(p.name for p in pipfence_project.iterdir()) == ["Pipfile"]


@pytest.mark.parametrize("pipfile", [False, True], ids=["new-project", "with-a-pipfile"])
def test_python_naming_a_python_2_is_refused_in_one_line_and_makes_nothing(
    cli: RunPipfence, env: dict[str, str], pipfence_project: Path, tmp_path: Path, pipfile: bool
) -> None:
    if pipfile:
        write_pipfile(pipfence_project, "[packages]\n")
    python = python2(tmp_path / "old" / "bin" / "python")

    result = cli(["--python", str(python)], env=env)

    assert result.returncode == 2, out(result)
    assert _errors(result.stderr) == [
        (
            f"error: `{python}` is Python 2.7.18, which pipfence cannot make an environment with: "
            "it needs Python 3.6 or later"
        )
    ]
    assert "python -h" not in result.stderr
    assert sorted(p.name for p in pipfence_project.iterdir()) == (["Pipfile"] if pipfile else [])


def test_support_lists_pyenvs_installs_and_not_the_shims_that_fail(
    cli: RunPipfence, env: dict[str, str], tmp_path: Path
) -> None:
    for minor in ("3.13", "3.12"):
        pyenv_shim(tmp_path / "bin" / f"python{minor}")
    python3 = fake_python(tmp_path / "bin" / "python3", "3.11.7")
    newer = pyenv_install(tmp_path / "pyenv", "3.13.0")
    older = pyenv_install(tmp_path / "pyenv", "3.12.1")

    result = cli(["--support"], env=env)

    assert result.returncode == 0, out(result)
    assert "command not found" not in result.stdout
    for listed in (f"`3.11.7`: `{python3}`", f"`3.13.0`: `{newer}`", f"`3.12.1`: `{older}`"):
        assert f"  - {listed}\n" in result.stdout
