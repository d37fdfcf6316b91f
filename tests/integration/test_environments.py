"""Environments as pipenv makes them: `--python X` and `--site-packages` alone, `run` before
any install, `--system` (and the Docker recipe `install --system --deploy`), `--skip-lock`,
`clean` without an environment, `sync` without a lock, `--support`, `--man`, and where the
environment is (`.venv` files, `PIPENV_VENV_IN_PROJECT`, `PIPENV_IGNORE_VIRTUALENVS`)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.faultserver import Respond
from support.project import (
    installed,
    one_source_pipfile,
    out,
    read_lock,
    source_table,
    write_pipfile,
)

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

PYTHON = sys.executable


def _cfg(venv: Path) -> str:
    return (venv / "pyvenv.cfg").read_text(encoding="utf-8")


def _site_packages(prefix: Path) -> Path:
    found = sorted(prefix.glob("lib/python*/site-packages"))
    assert len(found) == 1, found
    return found[0]


def _installed_in(prefix: Path) -> set[str]:
    return {p.name.split("-")[0].lower() for p in _site_packages(prefix).glob("*.dist-info")}


# -- --python / --site-packages alone ----------------------------------------------------------


def test_python_alone_creates_the_environment_and_a_pipfile_installing_nothing(
    cli: RunPipfence, pipfence_project: Path
) -> None:
    result = cli(["--python", PYTHON])
    assert result.returncode == 0, out(result)
    venv = pipfence_project / ".venv"
    assert (venv / "pyvenv.cfg").is_file()
    assert "include-system-site-packages = false" in _cfg(venv)
    assert (venv / ".project").read_text(encoding="utf-8") == str(pipfence_project)
    assert "[packages]" in (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    assert not (pipfence_project / "Pipfile.lock").exists()
    assert _installed_in(venv) <= {"pip"}
    assert f"Virtualenv location: {venv}" in result.stderr

    py = cli(["--py"])
    assert py.returncode == 0, out(py)
    assert Path(py.stdout.strip()) == venv / "bin" / "python"

    pipfile = (pipfence_project / "Pipfile").read_bytes()
    again = cli(["--python", PYTHON])
    assert again.returncode == 0, out(again)
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile


def test_an_environment_of_another_python_than_requires_asks_is_warned_about(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    pipfile = source_table("public", public_index.simple_url) + '[packages]\nalpha = "*"\n'
    write_pipfile(pipfence_project, pipfile)
    first = cli(["install"])
    assert first.returncode == 0, out(first)
    assert "[requires]" not in first.stderr
    write_pipfile(pipfence_project, pipfile + '\n[requires]\npython_full_version = "3.0.1"\n')
    again = cli(["install"])  # the environment stays, as pipenv keeps it, with a warning
    assert again.returncode == 0, out(again)
    running = ".".join(str(part) for part in sys.version_info[:3])
    assert (
        f"the environment has Python {running}, but the Pipfile's [requires] asks for "
        "python_full_version 3.0.1"
    ) in again.stderr
    assert installed(pipfence_project) == {"alpha": "1.0"}


def test_python_alone_naming_a_missing_python_creates_nothing(
    cli: RunPipfence, pipfence_project: Path
) -> None:
    result = cli(["--python", "2.1"])
    assert result.returncode == 2, out(result)
    assert "Python 2.1 was not found" in result.stderr
    assert "(--python asks for it)" in result.stderr
    assert "project asks" not in result.stderr
    assert list(pipfence_project.iterdir()) == []


def test_a_missing_python_the_pipfile_requires_is_named_as_the_pipfiles(
    cli: RunPipfence, pipfence_project: Path
) -> None:
    write_pipfile(pipfence_project, '[packages]\n\n[requires]\npython_version = "3.98"\n')
    before = (pipfence_project / "Pipfile").read_bytes()
    result = cli(["install"])
    assert result.returncode == 2, out(result)
    assert "Python 3.98 was not found" in result.stderr
    assert "(the Pipfile's [requires] asks for it)" in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == before
    assert sorted(p.name for p in pipfence_project.iterdir()) == ["Pipfile"]


def test_site_packages_makes_the_base_pythons_packages_visible_and_no_site_packages_hides_them(
    cli: RunPipfence, pipfence_project: Path
) -> None:
    write_pipfile(pipfence_project, "[packages]\n")
    made = cli(["--python", PYTHON, "--site-packages"])
    assert made.returncode == 0, out(made)
    assert "Making site-packages available" in made.stderr
    venv = pipfence_project / ".venv"
    assert "include-system-site-packages = true" in _cfg(venv)
    probe = "import site, sys; print(sys.flags.no_site, len(site.getsitepackages()))"
    visible = cli(["run", "python", "-c", "import sys; print(sys.base_prefix in str(sys.path))"])
    assert visible.returncode == 0, out(visible)
    assert visible.stdout.strip() == "True"

    hidden = cli(["--no-site-packages"])
    assert hidden.returncode == 0, out(hidden)
    assert "include-system-site-packages = false" in _cfg(venv)
    check = cli(["run", "python", "-c", probe])
    assert check.returncode == 0, out(check)


def test_install_site_packages_creates_the_environment_with_them(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url))
    result = cli(["install", "--site-packages"])
    assert result.returncode == 0, out(result)
    assert "include-system-site-packages = true" in _cfg(pipfence_project / ".venv")
    # What the project installs goes into the environment all the same, hash-checked.
    assert installed(pipfence_project) == {"payload": "1.0"}


# -- run before any install ------------------------------------------------------------------


def test_run_before_any_install_creates_the_environment_where_pipenv_would(
    cli: RunPipfence, pipfence_env: dict[str, str], pipfence_project: Path
) -> None:
    write_pipfile(pipfence_project, "[packages]\n")
    env = {k: v for k, v in pipfence_env.items() if k != "PIPENV_VENV_IN_PROJECT"}
    where = cli(["--venv"], env=env)
    assert where.returncode != 0  # nothing yet
    result = cli(["run", "python", "-c", "import sys; print(sys.prefix)"], env=env)
    assert result.returncode == 0, out(result)
    assert "Creating a virtualenv" in result.stderr
    venv = Path(result.stdout.strip())
    assert venv.parent == Path(env["WORKON_HOME"])
    assert (venv / ".project").is_file()
    assert cli(["--venv"], env=env).stdout.strip() == str(venv)
    assert not (pipfence_project / "Pipfile.lock").exists()

    pip = cli(["run", "python", "-m", "pip", "--version"], env=env)
    assert pip.returncode == 0, out(pip)  # pipenv's environments come with pip


def test_run_in_a_folder_without_a_pipfile_starts_the_project_as_pipenv_does(
    cli: RunPipfence, pipfence_project: Path
) -> None:
    """pipenv's test_env: `run` with neither Pipfile nor environment writes the new Pipfile,
    makes the environment and runs the command with the folder's .env read."""
    assert not (pipfence_project / "Pipfile").exists()
    (pipfence_project / ".env").write_text("HELLO=WORLD\n", encoding="utf-8")
    result = cli(["run", "python", "-c", "import os; print(os.environ['HELLO'])"])
    assert result.returncode == 0, out(result)
    assert result.stdout.strip() == "WORLD"
    assert "Created a Pipfile" in result.stderr
    pipfile = (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    assert "[[source]]" in pipfile
    assert "[packages]" in pipfile
    assert (pipfence_project / ".venv" / "pyvenv.cfg").is_file()
    assert not (pipfence_project / "Pipfile.lock").exists()


# -- --skip-lock ------------------------------------------------------------------------------


def test_skip_lock_installs_what_the_pipfile_asks_and_writes_no_lock(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("alpha", "2.0")
    public_index.add_dist("gone", "1.0")
    public_index.add_dist("devtool", "1.0")
    pipfile = write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + '[packages]\nalpha = "==1.0"\n'
        + 'gone = {version = "*", markers = "python_version < \'3\'"}\n'
        + '\n[dev-packages]\ndevtool = "*"\n',
    )
    result = cli(["install", "--skip-lock"])
    assert result.returncode == 0, out(result)
    assert "Pipfile.lock not written" in result.stderr
    assert installed(pipfence_project) == {"alpha": "1.0"}  # no dev, marker respected
    assert not (pipfence_project / "Pipfile.lock").exists()
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile

    dev = cli(["install", "--dev", "--skip-lock"])
    assert dev.returncode == 0, out(dev)
    assert installed(pipfence_project) == {"alpha": "1.0", "devtool": "1.0"}
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_skip_lock_ignores_the_lock_and_leaves_it_as_it_was(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))
    assert cli(["lock"]).returncode == 0
    lock = (pipfence_project / "Pipfile.lock").read_bytes()
    public_index.add_dist("alpha", "2.0")
    public_index.add_dist("beta", "1.0")

    result = cli(["install", "--skip-lock"])
    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"alpha": "2.0"}  # the Pipfile's answer today
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock

    added = cli(["install", "beta", "--skip-lock"])
    assert added.returncode == 0, out(added)
    assert 'beta = "*"' in (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    assert installed(pipfence_project) == {"alpha": "2.0", "beta": "1.0"}
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock
    assert read_lock(pipfence_project)["default"].keys() == {"alpha"}


def test_skip_lock_refuses_a_file_that_does_not_match_the_sha256_its_index_published(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    good = dist_factory.wheel("payload", "1.0")
    fault_server.add_project("payload", [good])
    data = good.read_bytes()
    bad = data[:-10] + bytes([data[-10] ^ 1]) + data[-9:]
    fault_server.route(f"/files/{good.name}", Respond(200, bad))
    write_pipfile(pipfence_project, one_source_pipfile(fault_server.simple_url))

    result = cli(["install", "--skip-lock"])
    assert result.returncode == 3, out(result)
    assert hashlib.sha256(bad).hexdigest() in result.stderr
    assert "Traceback" not in result.stderr
    assert "payload" not in installed(pipfence_project)
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_skip_lock_is_fenced_a_package_only_on_another_source_is_not_taken_from_it(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, private_index: PypiServer
) -> None:
    private_index.add_dist("internal", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + source_table("corp", private_index.simple_url)
        + '[packages]\ninternal = "*"\n',
    )
    result = cli(["install", "--skip-lock"])
    assert result.returncode != 0, out(result)
    assert 'index = "corp"' in result.stderr  # the line that would pin it
    assert private_index.requested_paths() == []
    assert installed(pipfence_project) == {}


def test_skip_lock_with_deploy_is_a_usage_error(cli: RunPipfence, pipfence_project: Path) -> None:
    write_pipfile(pipfence_project, "[packages]\n")
    result = cli(["install", "--skip-lock", "--deploy"])
    assert result.returncode == 2, out(result)
    assert not (pipfence_project / ".venv").exists()


# -- --system ---------------------------------------------------------------------------------


@pytest.fixture
def system_python(tmp_path: Path, pipfence_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A Python standing for the image's own (a venv without pip), first on PATH."""
    prefix = tmp_path / "system-python"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(prefix)], check=True, timeout=120)
    env = {**pipfence_env, "PATH": f"{prefix / 'bin'}{os.pathsep}{pipfence_env['PATH']}"}
    return prefix, env


def test_system_installs_into_the_python_on_path_and_creates_no_environment(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    system_python: tuple[Path, dict[str, str]],
) -> None:
    prefix, env = system_python
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url))
    result = cli(["install", "--system"], env=env)
    assert result.returncode == 0, out(result)
    assert "payload" in _installed_in(prefix)
    assert not (pipfence_project / ".venv").exists()
    assert not list(Path(env["WORKON_HOME"]).iterdir())
    assert (pipfence_project / "Pipfile.lock").is_file()


def test_system_deploy_installs_a_current_lock_and_refuses_a_stale_one(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    system_python: tuple[Path, dict[str, str]],
) -> None:
    prefix, env = system_python
    public_index.add_dist("payload", "1.0")
    public_index.add_dist("extra", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url))
    assert cli(["lock"], env=env).returncode == 0

    deployed = cli(["install", "--system", "--deploy"], env=env)
    assert deployed.returncode == 0, out(deployed)
    assert "payload" in _installed_in(prefix)

    write_pipfile(
        pipfence_project,
        one_source_pipfile(public_index.simple_url, 'payload = "*"\nextra = "*"\n'),
    )
    stale = cli(["install", "--system", "--deploy"], env=env)
    assert stale.returncode == 1, out(stale)
    assert "out of date" in stale.stderr
    assert "extra" not in _installed_in(prefix)

    synced = cli(["sync", "--system"], env=env)  # the old lock, as it is
    assert synced.returncode == 0, out(synced)
    assert not (pipfence_project / ".venv").exists()


def test_pipenv_use_system_variable_means_system(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    system_python: tuple[Path, dict[str, str]],
) -> None:
    prefix, env = system_python
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url))
    assert cli(["lock"], env=env).returncode == 0
    result = cli(["sync"], env={**env, "PIPENV_USE_SYSTEM": "1"})
    assert result.returncode == 0, out(result)
    assert "payload" in _installed_in(prefix)
    assert not (pipfence_project / ".venv").exists()


# -- clean, sync, verify ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [
        pytest.param("clean", 0, "Nothing to clean", id="clean-has-nothing-to-do"),
        pytest.param("sync", 2, "Pipfile.lock not found!", id="sync-says-so-in-pipenvs-words"),
    ],
)
def test_without_an_environment_or_a_lock_nothing_is_created(
    cli: RunPipfence, pipfence_project: Path, command: str, code: int, message: str
) -> None:
    """`clean` with no environment has nothing to do; `sync` with no lock says so as pipenv
    does. Neither creates anything."""
    write_pipfile(pipfence_project, "[packages]\n")
    result = cli([command])
    assert result.returncode == code, out(result)
    assert message in result.stderr
    assert sorted(p.name for p in pipfence_project.iterdir()) == ["Pipfile"]


# -- --support, --man -----------------------------------------------------------------------


def test_support_is_markdown_with_the_files_and_no_credentials(
    cli: RunPipfence, pipfence_env: dict[str, str], pipfence_project: Path
) -> None:
    write_pipfile(
        pipfence_project,
        source_table("corp", "https://deploy:hunter2-literal@corp.example/simple")
        + source_table("tokened", "https://${CORP_TOKEN}@other.example/simple")
        + source_table("queried", "https://q.example/simple?access_token=qtok-literal")
        + '[packages]\nrequests = "*"\n',
    )
    env = {
        **pipfence_env,
        "CORP_TOKEN": "tok-0123456789",
        "PIPFENCE_MIRROR_PYPI": "https://mirror-user:mirror-pass@mirror.example/simple",
        "PIPENV_VENV_IN_PROJECT": "1",
    }
    result = cli(["--support"], env=env)
    assert result.returncode == 0, out(result)
    text = result.stdout
    assert text.startswith("<details><summary>$ pipfence --support</summary>")
    assert text.rstrip().endswith("</details>")
    assert "Contents of `Pipfile`" in text
    assert 'requests = "*"' in text
    assert "`PIPENV_VENV_IN_PROJECT`: `1`" in text
    assert "`CORP_TOKEN`" in text  # named among the variables, value hidden
    for secret in ("hunter2-literal", "tok-0123456789", "mirror-pass", "qtok-literal"):
        assert secret not in text
        assert secret not in result.stderr
    assert "${CORP_TOKEN}" in text  # a placeholder names no secret


def test_support_without_a_pipfile_still_answers(
    cli: RunPipfence, pipfence_env: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli(["--support"], cwd=empty, env={**pipfence_env, "PIPENV_MAX_DEPTH": "0"})
    assert result.returncode == 0, out(result)
    assert "No Pipfile was found here." in result.stdout


def test_man_prints_a_manual_page_listing_the_commands(cli: RunPipfence) -> None:
    result = cli(["--man"])
    assert result.returncode == 0, out(result)
    assert result.stdout.startswith(".TH PIPFENCE 1")
    for command in ("install", "sync", "lock", "verify", "clean"):
        assert f"\\fBpipfence {command}\\fR" in result.stdout
    assert "\\-\\-skip\\-lock" in result.stdout


# -- where the environment is -----------------------------------------------------------------


def test_ignore_virtualenvs_takes_pipenvs_boolean_words(
    cli: RunPipfence, pipfence_env: dict[str, str], pipfence_project: Path, tmp_path: Path
) -> None:
    write_pipfile(pipfence_project, "[packages]\n")
    active = tmp_path / "active-venv"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(active)], check=True, timeout=120)
    base = {**pipfence_env, "VIRTUAL_ENV": str(active), "PIPENV_VENV_IN_PROJECT": "1"}
    for value, expected in (("0", active), ("false", active), ("1", None), ("yes", None)):
        env = {**base, "PIPENV_IGNORE_VIRTUALENVS": value}
        where = cli(["--venv"], env=env)
        if expected is None:
            assert f"`{pipfence_project / '.venv'}`" in where.stderr, (value, out(where))
        else:
            assert where.stdout.strip() == str(expected), (value, out(where))


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("named-env\n", "workon/named-env"),
        ("envs/inner", "project/envs/inner"),
        ("", "workon/default"),
    ],
    ids=["a-name", "a-relative-path", "empty"],
)
def test_a_dot_venv_file_names_the_environment(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    content: str,
    where: str,
) -> None:
    write_pipfile(pipfence_project, "[packages]\n")
    (pipfence_project / ".venv").write_text(content, encoding="utf-8")
    env = {k: v for k, v in pipfence_env.items() if k != "PIPENV_VENV_IN_PROJECT"}
    made = cli(["--python", PYTHON], env=env)
    assert made.returncode == 0, out(made)
    venv = Path(cli(["--venv"], env=env).stdout.strip())
    workon = Path(env["WORKON_HOME"])
    if where == "workon/default":
        assert venv.parent == workon
    elif where.startswith("workon/"):
        assert venv == workon / where.split("/", 1)[1]
    else:
        assert venv == pipfence_project / where.split("/", 1)[1]
    assert (venv / ".project").is_file()
    assert (pipfence_project / ".venv").is_file()  # the file is left as it was


@pytest.mark.parametrize("value", ["0", "false", "no", "off"])
def test_venv_in_project_off_ignores_an_existing_dot_venv_folder(
    cli: RunPipfence, pipfence_env: dict[str, str], pipfence_project: Path, value: str
) -> None:
    write_pipfile(pipfence_project, "[packages]\n")
    (pipfence_project / ".venv").mkdir()
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": value}
    made = cli(["--python", PYTHON], env=env)
    assert made.returncode == 0, out(made)
    venv = Path(cli(["--venv"], env=env).stdout.strip())
    assert venv.parent == Path(env["WORKON_HOME"])
    assert list((pipfence_project / ".venv").iterdir()) == []


def _another_python() -> Path | None:
    """An interpreter of another minor version than the running one (pyenv's), or None."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for entry in sorted((root / "versions").glob("3.*"), reverse=True):
        minor = ".".join(entry.name.split(".")[:2])
        binary = entry / "bin" / f"python{minor}"
        if minor != running and minor >= "3.9" and binary.is_file():
            return binary
    return None


def test_python_alone_naming_another_python_makes_the_environment_again(
    cli: RunPipfence, pipfence_project: Path
) -> None:
    other = _another_python()
    if other is None:
        pytest.skip("no interpreter of another minor version")
    write_pipfile(pipfence_project, "[packages]\n")
    assert cli(["--python", PYTHON]).returncode == 0
    venv = pipfence_project / ".venv"
    (venv / "left-behind").write_text("old", encoding="utf-8")

    result = cli(["--python", str(other)])
    assert result.returncode == 0, out(result)
    assert "replaced the environment's Python" in result.stderr
    version = cli(["run", "python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    assert version.stdout.strip() == other.name.removeprefix("python"), out(version)
    assert not (venv / "left-behind").exists()
    assert not list(pipfence_project.glob(".venv.pipfence-replaced"))


@pytest.mark.parametrize("command", [["--python"], ["install", "--python"]])
def test_python_naming_an_interpreter_that_does_not_run_is_an_error_beside_an_environment(
    cli: RunPipfence, pipfence_project: Path, tmp_path: Path, command: list[str]
) -> None:
    """A `--python` that names something that is not a usable Python (a broken shim, Python 2,
    not an interpreter at all) is an error, as it is without an environment; it was taken as
    naming the environment's own Python, and the command went on with it (exit 0)."""
    write_pipfile(pipfence_project, "[packages]\n")
    assert cli(["--python", PYTHON]).returncode == 0
    before = sorted(str(p) for p in (pipfence_project / ".venv").rglob("*"))
    shim = tmp_path / "bin" / "python3"
    shim.parent.mkdir()
    shim.write_text("#!/bin/sh\necho 'pyenv: python3: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)

    result = cli([*command, str(shim)])
    assert result.returncode == 2, out(result)
    assert f"`{shim}` cannot make an environment" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(str(p) for p in (pipfence_project / ".venv").rglob("*")) == before


def test_a_wheel_asking_more_on_the_environments_python_than_on_the_locked_one_says_so(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    """The lock resolved for [requires]' Python leaves out what a wheel asks only on newer
    ones; syncing it into an environment of such a Python must say that (exit 2), not blame
    the index's metadata (exit 3, `lock --clear`, which changes nothing)."""
    running = ".".join(str(part) for part in sys.version_info[:2])
    public_index.add_dist("app", "1.0", requires=[f'newdep; python_version >= "{running}"'])
    public_index.add_dist("newdep", "1.0")
    pipfile = source_table("public", public_index.simple_url) + '[packages]\napp = "*"\n'
    write_pipfile(pipfence_project, "[packages]\n")
    assert cli(["--python", PYTHON]).returncode == 0  # an environment of the running Python
    write_pipfile(pipfence_project, pipfile + '\n[requires]\npython_version = "3.0"\n')
    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    assert "newdep" not in (pipfence_project / "Pipfile.lock").read_text(encoding="utf-8")
    before = sorted(p.name for p in pipfence_project.iterdir())

    result = cli(["sync"])
    assert result.returncode == 2, out(result)
    assert "`app-1.0-py3-none-any.whl` requires `newdep" in result.stderr
    assert "on the environment's Python" in result.stderr
    assert "Pipfile.lock was resolved for Python 3.0 ([requires])" in result.stderr
    assert "lock --clear" not in result.stderr
    assert "newdep" not in installed(pipfence_project)
    assert "app" not in installed(pipfence_project)
    assert sorted(p.name for p in pipfence_project.iterdir()) == before


@pytest.mark.parametrize(
    "command",
    [["--python", "3.99", "lock"], ["lock", "--python", "3.99"], ["--python", "3.99", "clean"],
     ["uninstall", "--python", "3.99", "alpha"], ["--python", "3.99", "upgrade", "alpha"]],
)  # fmt: skip
def test_a_python_that_is_not_there_stops_commands_that_make_no_environment(
    cli: RunPipfence, pipfence_project: Path, command: list[str]
) -> None:
    """`lock`, `uninstall`, `upgrade` and `clean` take `--python` and make no environment
    with it; one that names no Python is an error all the same (pipenv's `lock --python 3.99`
    fails), not a typo passed over while the Pipfile and lock change."""
    write_pipfile(pipfence_project, '[packages]\nalpha = "*"\n')
    before = sorted((p.name, p.read_bytes()) for p in pipfence_project.iterdir() if p.is_file())
    result = cli(command)
    assert result.returncode == 2, out(result)
    assert "Python 3.99 was not found" in result.stderr
    assert "(--python asks for it)" in result.stderr
    assert "Traceback" not in result.stderr
    after = sorted((p.name, p.read_bytes()) for p in pipfence_project.iterdir() if p.is_file())
    assert after == before
