"""Version forms real Pipfiles use, through the CLI: a TOML number (`six = 1.11`) and a wildcard
(`"1.*"`, as pipenv's own Pipfile writes) lock as exact pins, and survive an edit."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import one_source_pipfile, out, read_lock, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def test_numbers_and_wildcards_lock_as_pins_and_survive_an_edit(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    for version in ("1.10", "1.11", "2.0"):
        public_index.add_dist("six", version)
    for version in ("1.0", "1.5", "2.0"):
        public_index.add_dist("payload", version)
    public_index.add_dist("extra-pkg", "1.0")
    packages = 'six = 1.11\npayload = "1.*"\n'
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1"}
    locked = cli(["lock"], env=env)
    assert locked.returncode == 0, out(locked)
    default = read_lock(pipfence_project)["default"]
    assert default["six"]["version"] == "==1.11"
    assert default["payload"]["version"] == "==1.5"
    added = cli(["install", "extra-pkg"], env=env)
    assert added.returncode == 0, out(added)
    pipfile = (pipfence_project / "Pipfile").read_text()
    assert "six = 1.11\n" in pipfile
    assert 'payload = "1.*"\n' in pipfile
    assert read_lock(pipfence_project)["default"]["six"]["version"] == "==1.11"


def test_a_crlf_pipfile_keeps_its_line_endings_through_an_edit(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    public_index.add_dist("payload", "1.0")
    public_index.add_dist("extra-pkg", "1.0")
    text = one_source_pipfile(public_index.simple_url).replace("\n", "\r\n")
    (pipfence_project / "Pipfile").write_bytes(text.encode())
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1"}
    added = cli(["install", "extra-pkg"], env=env)
    assert added.returncode == 0, out(added)
    data = (pipfence_project / "Pipfile").read_bytes()
    assert b'extra-pkg = "*"\r\n' in data
    assert data.count(b"\n") == data.count(b"\r\n")
    removed = cli(["uninstall", "extra-pkg"], env=env)
    assert removed.returncode == 0, out(removed)
    assert (pipfence_project / "Pipfile").read_bytes() == text.encode()


def test_a_misspelled_key_is_warned_about_with_the_likely_key(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("payload", "1.0")
    public_index.add_dist("payload", "2.0")
    packages = 'payload = {versoin = "==1.0"}\n'
    text = (
        one_source_pipfile(public_index.simple_url, packages) + "\n[pipenv]\nskip_resolver = true\n"
    )
    write_pipfile(pipfence_project, text)
    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    assert "`versoin` in the entry for `payload`" in result.stderr
    assert "did you mean `version`?" in result.stderr
    assert "Pipfile:7:" in result.stderr
    assert "[pipenv] skip_resolver is not acted on" in result.stderr


def test_lock_keys_are_spelled_as_pipenv_spells_them_and_read_back(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    """pipenv keys `ruamel.yaml` as `ruamel.yaml` (lower case, `_` as `-`, dots kept): a lock
    written with `ruamel-yaml` would churn every time a team member used the other tool."""
    public_index.add_dist("ruamel.yaml", "0.18.0", requires=["Zope_Interface>=5"])
    public_index.add_dist("zope.interface", "6.0")
    packages = '"Ruamel.YAML" = "*"\n'
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1"}
    locked = cli(["lock"], env=env)
    assert locked.returncode == 0, out(locked)
    assert sorted(read_lock(pipfence_project)["default"]) == ["ruamel.yaml", "zope-interface"]
    for args in (["install", "--deploy"], ["verify"], ["sync"], ["graph"], ["requirements"]):
        result = cli(args, env=env)
        assert result.returncode == 0, f"{args}: {out(result)}"
    again = cli(["lock"], env=env)
    assert again.returncode == 0, out(again)
    assert sorted(read_lock(pipfence_project)["default"]) == ["ruamel.yaml", "zope-interface"]


def test_a_dotted_string_entry_is_locked_without_index_as_pipenv_writes_it(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    """pipenv 2026.10.3 writes `"index"` for a string entry, except when its name has a dot
    (`"zope.event" = "*"`, as in the corpus case `dotted-names`); the same lock from both
    tools keeps a team that alternates between them from churning it."""
    public_index.add_dist("zope.event", "5.0")
    public_index.add_dist("six", "1.16.0")
    packages = '"zope.event" = "*"\nsix = "*"\n'
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    default = read_lock(pipfence_project)["default"]
    assert "index" not in default["zope.event"]
    assert default["six"]["index"] == "corp"
    for args in (["verify"], ["sync"]):
        result = cli(args)
        assert result.returncode == 0, f"{args}: {out(result)}"


@pytest.fixture
def other_python(pipfence_env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The minor version (X.Y) of a pyenv install other than the running Python, with a patch
    release above 0, and the CLI's environment that finds it: the tests' HOME is temporary, so
    PYENV_ROOT says where pyenv lives, as a user's shell does. Skips without one."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for entry in sorted((root / "versions").glob("3.*"), reverse=True):
        parts = entry.name.split(".")
        minor = ".".join(parts[:2])
        usable = (entry / "bin" / f"python{minor}").is_file()
        if len(parts) == 3 and minor != running and int(parts[2]) > 0 and usable:
            return minor, {**pipfence_env, "PYENV_ROOT": str(root), "PIPENV_VENV_IN_PROJECT": "1"}
    pytest.skip("no pyenv install of another Python minor version with a patch release")


def test_python_version_resolves_for_the_interpreter_that_will_be_used(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    other_python: tuple[str, dict[str, str]],
) -> None:
    """`python_version = "X.Y"` with no X.Y running: the lock is for the pyenv install that
    would make the environment (X.Y.Z), not for X.Y.0, so `Requires-Python >= X.Y.1` fits."""
    minor, env = other_python
    public_index.add_dist("payload", "1.0", requires_python=f">={minor}.1")
    text = (
        one_source_pipfile(public_index.simple_url) + f'\n[requires]\npython_version = "{minor}"\n'
    )
    write_pipfile(pipfence_project, text)
    result = cli(["lock"], env=env)
    assert result.returncode == 0, out(result)
    assert read_lock(pipfence_project)["default"]["payload"]["version"] == "==1.0"


def test_disagreeing_python_versions_follow_python_full_version_with_a_warning(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("payload", "1.0")
    text = one_source_pipfile(public_index.simple_url) + (
        '\n[requires]\npython_version = "3.10"\npython_full_version = "3.11.7"\n'
    )
    write_pipfile(pipfence_project, text)
    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    assert "disagree; python_full_version is used" in result.stderr
    assert "bug" not in result.stderr


def test_default_python_version_is_used_when_nothing_else_names_one(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    other_python: tuple[str, dict[str, str]],
) -> None:
    minor, env = other_python
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url))
    result = cli(["install"], env={**env, "PIPENV_DEFAULT_PYTHON_VERSION": minor})
    assert result.returncode == 0, out(result)
    cfg = (pipfence_project / ".venv" / "pyvenv.cfg").read_text()
    assert f"version = {minor}." in cfg or f"version_info = {minor}." in cfg, cfg


def test_python_option_for_another_python_replaces_the_environment(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    other_python: tuple[str, dict[str, str]],
) -> None:
    minor, env = other_python
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url))
    first = cli(["install"], env=env)
    assert first.returncode == 0, out(first)
    cfg = pipfence_project / ".venv" / "pyvenv.cfg"
    before = cfg.read_text()
    missing = cli(["install", "--python", "/nonexistent/python3"], env=env)
    assert missing.returncode == 2, out(missing)
    assert "/nonexistent/python3" in missing.stderr
    assert cfg.read_text() == before
    again = cli(["install", "--python", minor], env=env)
    assert again.returncode == 0, out(again)
    assert f"version_info = {minor}." in cfg.read_text() or f"version = {minor}." in cfg.read_text()
    assert "replaced the environment's Python" in again.stderr
    assert not list(pipfence_project.glob(".venv.pipfence-*"))
    listed = cli(["run", "python", "-c", "import payload"], env=env)
    assert listed.returncode == 0, out(listed)


def test_a_dependency_named_once_per_python_is_locked_for_every_python(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    """A parent that needs `numlike` on every Python, in a different version on each (as
    pandas needs numpy), must not get `numlike` locked for this Python only: a sync on the next
    Python would install the parent without it."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    public_index.add_dist(
        "parent",
        "1.0",
        requires=[
            f'numlike>=1; python_version < "{here}"',
            f'numlike>=2; python_version == "{here}"',
            f'numlike>=3; python_version > "{here}"',
            f'onlyhere; python_version == "{here}"',
        ],
    )
    for version in ("1.0", "2.0"):
        public_index.add_dist("numlike", version)
    public_index.add_dist("onlyhere", "1.0")
    packages = 'parent = "*"\n'
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    default = read_lock(pipfence_project)["default"]
    assert default["numlike"]["version"] == "==2.0"
    assert "markers" not in default["numlike"], default["numlike"]
    assert default["onlyhere"]["markers"] == f"python_version == '{here}'"
