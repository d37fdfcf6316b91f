"""Bad settings fail with exit 2 and one error line naming the variable, option or folder, with
nothing written and nothing asked of the index: numeric variables and options that are not a
number in range (nan, inf, negatives, garbage), a cache folder that is a file or read-only, and
`--categories` naming no category (pipenv installs nothing and exits 0 there).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import assert_refused, file_bytes, one_source_pipfile, out, source_table

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer

pytestmark = pytest.mark.integration


@pytest.fixture
def project(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> Path:
    """A project with a current lock of `payload` 1.0 and no environment; the server's log is
    emptied after locking."""
    fault_server.add_project("payload", [dist_factory.wheel("payload", "1.0")])
    (pipfence_project / "Pipfile").write_text(
        one_source_pipfile(fault_server.simple_url), encoding="utf-8"
    )
    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    fault_server.clear()
    return pipfence_project


BAD_NUMBERS = [
    ("PIPFENCE_TIMEOUT", "nan"),
    ("PIPFENCE_TIMEOUT", "inf"),
    ("PIPFENCE_TIMEOUT", "-1"),
    ("PIPFENCE_TIMEOUT", "0"),
    ("PIPFENCE_TIMEOUT", "1e300"),
    ("PIPFENCE_TIMEOUT", "ten"),
    ("PIPFENCE_RETRIES", "nan"),
    ("PIPFENCE_RETRIES", "-1"),
    ("PIPFENCE_RETRIES", "0"),
    ("PIPFENCE_RETRIES", "inf"),
    ("PIPFENCE_RETRIES", "2.5"),
    ("PIPFENCE_RETRIES", "1e400"),
    ("PIPFENCE_PAGE_MAX_AGE", "nan"),
    ("PIPFENCE_PAGE_MAX_AGE", "-5"),
    ("PIPFENCE_PAGE_MAX_AGE", "inf"),
    ("PIPENV_MAX_DEPTH", "-1"),
    ("PIPENV_MAX_DEPTH", "lots"),
]


@pytest.mark.parametrize("command", [["lock"], ["sync"], ["install"]])
@pytest.mark.parametrize(("variable", "value"), BAD_NUMBERS)
def test_numeric_variable_out_of_range_is_refused(
    cli: RunPipfence,
    env: dict[str, str],
    project: Path,
    fault_server: FaultServer,
    variable: str,
    value: str,
    command: list[str],
) -> None:
    before = file_bytes(project)
    result = cli(command, env={**env, variable: value})
    assert_refused(result, variable)
    assert f"`{value}`" in result.stderr
    assert file_bytes(project) == before
    assert not (project / ".venv").exists()
    assert fault_server.requests == []


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "soon"])
def test_sources_timeout_out_of_range_is_refused(
    cli: RunPipfence, project: Path, fault_server: FaultServer, value: str
) -> None:
    result = cli(["sources", "--timeout", value])
    assert_refused(result, "--timeout")
    assert fault_server.requests == []


def test_numbers_in_range_are_accepted(
    cli: RunPipfence, env: dict[str, str], project: Path
) -> None:
    numbers = {
        "PIPFENCE_TIMEOUT": "2.5",
        "PIPFENCE_RETRIES": "1",
        "PIPFENCE_PAGE_MAX_AGE": "0",
        "PIPENV_MAX_DEPTH": "3",
    }
    result = cli(["sync"], env={**env, **numbers})
    assert result.returncode == 0, out(result)


# -- the cache folder ---------------------------------------------------------------------------


def test_cache_dir_that_is_a_file_is_refused(
    cli: RunPipfence, env: dict[str, str], project: Path, fault_server: FaultServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache-file"
    cache.write_text("not a folder\n", encoding="utf-8")
    before = file_bytes(project)
    for command in (["lock"], ["sync"], ["install"]):
        result = cli(command, env={**env, "PIPFENCE_CACHE_DIR": str(cache)})
        assert_refused(result, str(cache))
        assert "not a folder" in result.stderr
        result = cli(command, env={**env, "PIPFENCE_CACHE_DIR": str(cache / "below")})
        assert_refused(result, str(cache / "below"))
    assert file_bytes(project) == before
    assert cache.read_text(encoding="utf-8") == "not a folder\n"
    assert not (project / ".venv").exists()
    assert fault_server.requests == []


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A read-only tmpfs mount (root ignores a folder's mode bits, not a read-only mount)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a read-only tmpfs")
    folder = tmp_path / "read-only-cache"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.parametrize("command", [["lock"], ["sync"], ["install"], ["sources", "audit"]])
def test_read_only_cache_dir_is_refused(
    cli: RunPipfence,
    env: dict[str, str],
    project: Path,
    fault_server: FaultServer,
    read_only_folder: Path,
    command: list[str],
) -> None:
    before = file_bytes(project)
    result = cli(command, env={**env, "PIPFENCE_CACHE_DIR": str(read_only_folder)})
    assert_refused(result, str(read_only_folder))
    assert "read-only" in result.stderr
    assert file_bytes(project) == before
    assert not (project / ".venv").exists()
    assert fault_server.requests == []


# -- --categories --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["sync", "--categories", "../../x"],
        ["sync", "--categories", "typo"],
        ["sync", "--categories", "packages typo"],
        ["sync", "--categories", "source"],
        ["install", "--categories", "typo"],
        ["install", "--categories", "../x"],
        ["install", "payload", "--categories", "../x"],
        ["install", "payload", "--categories", "/abs"],
        ["lock", "--categories", "typo"],
        ["update", "--categories", "typo"],
        ["uninstall", "payload", "--categories", "typo"],
        ["requirements", "--categories", "typo"],
    ],
)
def test_unknown_category_is_refused_listing_the_known_ones(
    cli: RunPipfence, project: Path, fault_server: FaultServer, command: list[str]
) -> None:
    before = file_bytes(project)
    result = cli(command)
    assert_refused(result, "--categories")
    assert "`packages`, `dev-packages`" in result.stderr
    assert file_bytes(project) == before
    assert not (project / ".venv").exists()
    assert fault_server.requests == []


def test_known_categories_are_accepted(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    fault_server.add_project("payload", [dist_factory.wheel("payload", "1.0")])
    (pipfence_project / "Pipfile").write_text(
        source_table("corp", fault_server.simple_url) + '[packages]\n\n[docs]\npayload = "*"\n',
        encoding="utf-8",
    )
    assert cli(["lock"]).returncode == 0
    for categories in ("docs", "default docs", "packages,develop"):
        result = cli(["sync", "--categories", categories])
        assert result.returncode == 0, out(result)
    assert list((pipfence_project / ".venv").glob("lib/python*/site-packages/payload*"))
