"""Finding Pythons: a pyenv shim of a version that is not selected is no Python, a Python 2 is
found and refused by name, and ``--support`` lists pyenv's and asdf's installs at their own
paths. The interpreters are shell scripts (`support.pythons`); pyenv and asdf live in
tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipfence.errors import UsageError
from pipfence.project.pythons import find_python
from pipfence.project.settings import Settings
from pipfence.project.support import support_report
from support.pythons import fake_python, pyenv_install, pyenv_shim, python2

pytestmark = pytest.mark.fast_io  # runs the fake interpreters


def _settings(tmp_path: Path) -> Settings:
    """PATH is tmp_path/bin alone; pyenv and asdf keep their Pythons under tmp_path."""
    (tmp_path / "bin").mkdir(exist_ok=True)
    environ = {
        "PATH": str(tmp_path / "bin"),
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
        "ASDF_DATA_DIR": str(tmp_path / "asdf"),
    }
    return Settings.from_environ(environ, cwd=tmp_path)


def test_support_lists_pyenvs_and_asdfs_installs_and_not_a_shim_that_fails(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    shim = pyenv_shim(tmp_path / "bin" / "python3.13")
    on_path = fake_python(tmp_path / "bin" / "python3", "3.11.7")
    pyenv = pyenv_install(tmp_path / "pyenv", "3.13.0")
    asdf = fake_python(tmp_path / "asdf/installs/python/3.12.1/bin/python3.12", "3.12.1")
    old = pyenv_install(tmp_path / "pyenv", "2.7.18")

    report = support_report(settings, None)

    section = report.split("user Python installations found:\n")[1].split("PEP 508")[0]
    listed = [line for line in section.splitlines() if line]
    assert listed == [
        f"  - `3.11.7`: `{on_path}`",
        f"  - `3.13.0`: `{pyenv}`",
        f"  - `3.12.1`: `{asdf}`",
        (
            f"  - `2.7.18`: `{old}` (pipfence cannot make an environment with it: it needs "
            "Python 3.6 or later)"
        ),
    ]
    assert str(shim) not in report
    assert "command not found" not in report


def test_a_version_found_only_as_python_2_is_refused_naming_where_it_is(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    pyenv_shim(tmp_path / "bin" / "python2.7")
    install = pyenv_install(tmp_path / "pyenv", "2.7.18")
    with pytest.raises(UsageError) as caught:
        find_python("2.7", settings)
    message = str(caught.value)
    assert f"Python 2.7 was found at `{install}` (Python 2.7.18)" in message
    assert "it needs Python 3.6 or later" in message
    assert "not found" not in message


def test_a_path_to_python_2_is_refused_naming_it_and_its_version(tmp_path: Path) -> None:
    python = python2(tmp_path / "old" / "python")
    with pytest.raises(UsageError) as caught:
        find_python(str(python), _settings(tmp_path))
    assert str(caught.value) == (
        f"`{python}` is Python 2.7.18, which pipfence cannot make an environment with: "
        "it needs Python 3.6 or later"
    )


def test_a_path_to_a_shim_that_fails_is_refused_with_what_it_said(tmp_path: Path) -> None:
    shim = pyenv_shim(tmp_path / "shims" / "python3.13")
    with pytest.raises(UsageError) as caught:
        find_python(str(shim), _settings(tmp_path))
    assert str(caught.value) == (
        f"`{shim}` cannot make an environment: it did not run as Python to say its version "
        "(pyenv: python3.13: command not found)"
    )


def test_a_versioned_command_whose_shim_fails_is_found_by_its_version(tmp_path: Path) -> None:
    """`--python python3.13` where PATH's `python3.13` is a pyenv shim of a version not
    selected: pipenv takes the installed 3.13, and so does pipfence."""
    settings = _settings(tmp_path)
    pyenv_shim(tmp_path / "bin" / "python3.13")
    install = pyenv_install(tmp_path / "pyenv", "3.13.0")
    assert find_python("python3.13", settings) == install
    with pytest.raises(UsageError, match=r"Python 3\.12 was not found"):
        find_python("python3.12", settings)
