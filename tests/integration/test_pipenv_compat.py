"""pipfence and the real pipenv agree on Pipfile.lock's `_meta.hash`, both ways."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipfence.models.pipfile import Pipfile, pipfile_hash
from support import CASES_DIR

pytestmark = pytest.mark.integration

CORPUS = sorted((CASES_DIR / "pipfiles").glob("*.toml"))

# Computes both hashes with pipenv's own code: the current canonical-name hash, and plette's
# raw-name hash that older pipenv releases wrote.
_PIPENV_HASHES = """
import json, sys
from pipenv.project import Project
from pipenv.vendor import plette
project = Project(chdir=False)
with open(sys.argv[1]) as handle:
    legacy = plette.Pipfile.load(handle).get_hash().value
print(json.dumps({"hash": project.pipfile.calculate_hash(), "legacy": legacy}))
"""


def _isolated_env(tmp_path: Path, pipfile: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PIPENV_", "VIRTUAL_ENV"))
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIPENV_PIPFILE=str(pipfile),
        HOME=str(tmp_path / "home"),
        WORKON_HOME=str(tmp_path / "venvs"),
        PIPENV_YES="1",
        PIPENV_NOSPIN="1",
        NO_COLOR="1",
        PRIVATE_USER="alice",
        PRIVATE_TOKEN="s3cret",
    )
    return env


def _project(tmp_path: Path, source: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copyfile(source, project / "Pipfile")
    return project / "Pipfile"


def _pipenv_hashes(tmp_path: Path, pipfile: Path) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-c", _PIPENV_HASHES, str(pipfile)],
        env=_isolated_env(tmp_path, pipfile),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("source", CORPUS, ids=lambda p: p.stem)
def test_meta_hash_matches_pipenv(tmp_path: Path, source: Path) -> None:
    pipfile = _project(tmp_path, source)
    data = Pipfile.parse(pipfile.read_text(encoding="utf-8")).data
    expected = _pipenv_hashes(tmp_path, pipfile)
    assert pipfile_hash(data) == expected["hash"]
    assert pipfile_hash(data, canonical=False) == expected["legacy"]


def _lock_for(pipfile: Path, digest: str) -> str:
    parsed = Pipfile.parse(pipfile.read_text(encoding="utf-8"))
    lock = {
        "_meta": {
            "hash": {"sha256": digest},
            "pipfile-spec": 6,
            "requires": dict(parsed.requires),
            "sources": [s.to_dict() for s in parsed.effective_sources],
        },
        "default": {},
        "develop": {},
    }
    return json.dumps(lock, indent=4, sort_keys=True) + "\n"


def _run(tool: list[str], tmp_path: Path, pipfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tool, "verify"],
        cwd=pipfile.parent,
        env=_isolated_env(tmp_path, pipfile),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


PIPENV = [sys.executable, "-m", "pipenv"]
PIPFENCE = [sys.executable, "-m", "pipfence"]


@pytest.mark.parametrize("name", ["odd_casing", "categories", "no_source"])
def test_pipenv_verify_accepts_pipfence_hash_and_back(tmp_path: Path, name: str) -> None:
    pipfile = _project(tmp_path, CORPUS[[p.stem for p in CORPUS].index(name)])
    data = Pipfile.parse(pipfile.read_text(encoding="utf-8")).data
    lock = pipfile.with_name("Pipfile.lock")

    lock.write_text(_lock_for(pipfile, pipfile_hash(data)), encoding="utf-8")
    assert _run(PIPENV, tmp_path, pipfile).returncode == 0
    assert _run(PIPFENCE, tmp_path, pipfile).returncode == 0

    lock.write_text(_lock_for(pipfile, "0" * 64), encoding="utf-8")
    assert _run(PIPENV, tmp_path, pipfile).returncode != 0
    assert _run(PIPFENCE, tmp_path, pipfile).returncode == 1


def test_pipfence_accepts_a_lock_with_the_older_raw_name_hash(tmp_path: Path) -> None:
    pipfile = _project(tmp_path, CORPUS[[p.stem for p in CORPUS].index("odd_casing")])
    legacy = _pipenv_hashes(tmp_path, pipfile)["legacy"]
    assert legacy != _pipenv_hashes(tmp_path, pipfile)["hash"]
    pipfile.with_name("Pipfile.lock").write_text(_lock_for(pipfile, legacy), encoding="utf-8")
    result = _run(PIPFENCE, tmp_path, pipfile)
    assert result.returncode == 0, result.stderr


_PIPENV_VENV = """
from pipenv.project import Project
print(Project(chdir=False).venv_locator.location)
"""


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"PIPENV_VENV_IN_PROJECT": "1"},
        {"PIPENV_PYTHON": "3.12"},
        {"PIPENV_CUSTOM_VENV_NAME": "team-env"},
    ],
    ids=["workon", "in-project", "python-suffix", "custom-name"],
)
def test_venv_location_matches_pipenv(tmp_path: Path, extra: dict[str, str]) -> None:
    pipfile = _project(tmp_path, CORPUS[0])
    env = {**_isolated_env(tmp_path, pipfile), **extra}
    ours = subprocess.run(
        [*PIPFENCE, "--venv"], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    theirs = subprocess.run(
        [sys.executable, "-c", _PIPENV_VENV],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    expected = theirs.stdout.strip().splitlines()[-1]
    assert f"`{expected}`" in ours.stderr
