"""The compatibility corpus: Pipfile + Pipfile.lock pairs in the shapes real projects have.

Each case under `tests/cases/compat/` holds a Pipfile and the lock the real pipenv wrote for it
(`python -m support.compat` regenerates them; see `support/compat.py`). The packages they need
are served from local static indexes standing in for the sources the Pipfiles name, so nothing
leaves the machine. For every case:

- `pipfence verify` accepts the untouched pair;
- `pipfence lock` writes pipenv's lock again, byte for byte, except for the entries the case's
  `case.toml` names under `[differs]`, each with the reason;
- `pipfence sync` installs exactly the locked packages whose markers hold on this platform.

A few pairs go through the real pipenv too: it verifies the pair, writes the same lock again,
and installs the same set as `pipfence sync`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

import support
from support.compat import Case, build_universe, case_names, corpus_environ, load_case
from support.pipenv import pipenv_environ, run_pipenv
from support.project import installed, out, site_packages
from support.static_index import StaticIndexServer

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

CASES = case_names()
PIPENV_CASES = [
    "legacy-host-flask",
    "custom-categories",
    "dev-pinned-by-default",
    "path-editable-self",
]
"""Pairs the real pipenv also locks and syncs (a few: it takes seconds per command)."""

_NOT_ENTRIES = {"lock", "sync", "sync_refuses"}
"""The keys of a case's `[differs]` that name a command's outcome rather than a lock entry."""

_MARKER_ENV = (
    "import json, os, platform, sys; "
    "v = sys.version_info; "
    "print(json.dumps({'implementation_name': sys.implementation.name, "
    "'implementation_version': '.'.join(map(str, sys.implementation.version[:3])), "
    "'os_name': os.name, 'platform_machine': platform.machine(), "
    "'platform_release': platform.release(), 'platform_system': platform.system(), "
    "'platform_version': platform.version(), "
    "'python_full_version': platform.python_version(), "
    "'platform_python_implementation': platform.python_implementation(), "
    "'python_version': f'{v[0]}.{v[1]}', 'sys_platform': sys.platform}))"
)


def test_the_corpus_has_twenty_cases_or_more() -> None:
    assert len(CASES) >= 20, CASES


@pytest.fixture(scope="module")
def served_at(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of the static indexes holding every package the corpus needs."""
    root = build_universe(tmp_path_factory.mktemp("compat-indexes"))
    with StaticIndexServer(root) as server:
        yield server.url


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> Case:
    return load_case(request.param)


def _cli_env(pipfence_env: dict[str, str], case: Case, served_at: str) -> dict[str, str]:
    return {
        **pipfence_env,
        "PIPENV_VENV_IN_PROJECT": "1",
        **corpus_environ(case.pipfile, served_at),
    }


def _run(args: list[str], project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return support.run_pipfence(args, project, env, timeout=300)


def _entries(lock: dict[str, Any]) -> dict[str, Any]:
    """`<section>.<name>` -> entry for every package of the lock, and `_meta` -> its header."""
    found: dict[str, Any] = {"_meta": lock["_meta"]}
    for section, packages in lock.items():
        if section != "_meta":
            found.update({f"{section}.{name}": entry for name, entry in packages.items()})
    return found


def test_verify_accepts_the_untouched_pair(
    case: Case, served_at: str, pipfence_env: dict[str, str], tmp_path: Path
) -> None:
    project = case.copy_to(tmp_path / case.name)
    before = {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()}

    result = _run(["verify"], project, _cli_env(pipfence_env, case, served_at))

    assert result.returncode == 0, out(result)
    assert {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()} == before


def _describe(key: str, ours: Any, theirs: Any) -> str:
    """One line per differing field: `default.six: version: pipfence '==1.17.0', pipenv '==1.16.0'`."""
    if ours is None or theirs is None:
        return f"{key}: only in {'pipenv' if ours is None else 'pipfence'}'s lock"
    fields = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
    return "\n".join(
        f"{key}: {f}: pipfence {ours.get(f)!r}, pipenv {theirs.get(f)!r}" for f in fields
    )


def test_lock_writes_pipenvs_lock_again(
    case: Case, served_at: str, pipfence_env: dict[str, str], tmp_path: Path
) -> None:
    project = case.copy_to(tmp_path / case.name)
    theirs = case.lock.read_bytes()

    result = _run(["lock"], project, _cli_env(pipfence_env, case, served_at))

    if "lock" in case.differs:
        assert result.returncode != 0, out(result)
        pytest.xfail(f"pipfence cannot lock this Pipfile yet: {case.differs['lock']}")
    assert result.returncode == 0, out(result)
    ours = (project / "Pipfile.lock").read_bytes()
    mine, pipenvs = _entries(json.loads(ours)), _entries(json.loads(theirs))
    differing = {
        key: (mine.get(key), pipenvs.get(key))
        for key in mine.keys() | pipenvs.keys()
        if mine.get(key) != pipenvs.get(key)
    }
    named = {k for k in case.differs if k not in _NOT_ENTRIES}
    unexplained = {k: v for k, v in differing.items() if k not in named}
    assert not unexplained, "\n".join(_describe(k, *v) for k, v in sorted(unexplained.items()))
    assert sorted(differing) == sorted(named), "a difference named in case.toml is gone"
    if not differing:
        assert ours == theirs


def _marker_environment(project: Path) -> dict[str, str]:
    python = project / ".venv" / "bin" / "python"
    result = subprocess.run(
        [python, "-c", _MARKER_ENV], capture_output=True, text=True, check=True, timeout=60
    )
    environment: dict[str, str] = json.loads(result.stdout)
    return environment


def _expected(
    case: Case, lock: dict[str, Any], categories: list[str], env: dict[str, str]
) -> dict[str, str]:
    """Canonical name -> version of each locked package of `categories` whose markers hold in
    `env`; a path entry's version is its local project's."""
    trees = {canonicalize_name(spec["name"]): spec["version"] for spec in case.trees.values()}
    expected: dict[str, str] = {}
    for category in categories:
        for name, entry in lock.get(category, {}).items():
            marker = entry.get("markers")
            if marker and not Marker(marker).evaluate(env):
                continue
            key = canonicalize_name(name)
            if "path" in entry:
                expected[key] = trees[key]
            else:
                expected[key] = entry["version"].removeprefix("==")
    return expected


def _sync_categories(case: Case, lock: dict[str, Any]) -> list[str]:
    if case.sync is not None:
        return list(case.sync)
    return [section for section in lock if section != "_meta"]


def test_sync_installs_exactly_the_locked_set(
    case: Case, served_at: str, pipfence_env: dict[str, str], tmp_path: Path
) -> None:
    project = case.copy_to(tmp_path / case.name)
    lock = json.loads(case.lock.read_text("utf-8"))
    categories = _sync_categories(case, lock)

    result = _run(
        ["sync", "--categories", " ".join(categories)],
        project,
        _cli_env(pipfence_env, case, served_at),
    )

    if "sync" in case.differs:
        # A lock pipfence refuses to install, for the reason case.toml gives: a usage error
        # naming the entry, and nothing installed.
        assert result.returncode == 2, out(result)
        assert case.differs["sync_refuses"] in result.stderr, out(result)
        assert installed(project) == {}
        return
    assert result.returncode == 0, out(result)
    got = {canonicalize_name(k): v for k, v in installed(project).items()}
    assert got == _expected(case, lock, categories, _marker_environment(project))
    assert (project / "Pipfile.lock").read_bytes() == case.lock.read_bytes()


# -- beside the real pipenv ----------------------------------------------------------------------


def _pipenv_env(
    pipfence_env: dict[str, str], case: Case, served_at: str, root: Path
) -> dict[str, str]:
    env = pipenv_environ(pipfence_env, root)
    env.update(corpus_environ(case.pipfile, served_at))
    return env


@pytest.mark.parametrize("name", PIPENV_CASES)
def test_pipenv_verifies_locks_and_syncs_like_pipfence(
    name: str, served_at: str, pipfence_env: dict[str, str], tmp_path: Path
) -> None:
    case = load_case(name)
    penv = _pipenv_env(pipfence_env, case, served_at, tmp_path)

    verified = run_pipenv(case.copy_to(tmp_path / "verify"), penv, "verify")
    assert verified.returncode == 0, out(verified)

    relocked = case.copy_to(tmp_path / "lock")
    locked = run_pipenv(relocked, penv, "lock")
    assert locked.returncode == 0, out(locked)
    assert (relocked / "Pipfile.lock").read_bytes() == case.lock.read_bytes()

    lock = json.loads(case.lock.read_text("utf-8"))
    categories = _sync_categories(case, lock)
    theirs = case.copy_to(tmp_path / "pipenv-sync")
    synced = run_pipenv(theirs, penv, "sync", "--categories", " ".join(categories))
    assert synced.returncode == 0, out(synced)
    ours = case.copy_to(tmp_path / "pipfence-sync")
    result = _run(
        ["sync", "--categories", " ".join(categories)],
        ours,
        _cli_env(pipfence_env, case, served_at),
    )
    assert result.returncode == 0, out(result)
    assert installed(ours) == installed(theirs)
    assert site_packages(ours).parent.name == site_packages(theirs).parent.name


def test_the_pipenv_used_here_is_the_one_the_corpus_was_written_with() -> None:
    """The committed locks are pipenv 2026.10.3's; another version may write them otherwise."""
    result = subprocess.run(
        [sys.executable, "-m", "pipenv", "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIPENV_VERBOSITY": "-1"},
        timeout=120,
    )
    if result.returncode != 0:
        pytest.skip("pipenv is not installed")
    assert "2026.10.3" in result.stdout, result.stdout
