"""glibc's malloc arenas are capped (`few_malloc_arenas`, through ctypes) before a sync's
threads download and unpack wheels, and not for a sync from the cache, which needs neither
the cap nor the 12 ms import of ctypes it takes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import installed, out, source_table, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = [pytest.mark.integration, pytest.mark.subprocess_cli]

#: Runs the CLI, then says on its last line of stderr whether ctypes was ever imported.
_WRAPPER = (
    "import sys\n"
    "from pipfence.cli.main import main\n"
    "code = main()\n"
    "print('ctypes' in sys.modules, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _sync_loads_ctypes(project: Path, env: dict[str, str]) -> bool:
    shutil.rmtree(project / ".venv", ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, "sync"],
        cwd=project,
        env={**env, "PIPENV_VENV_IN_PROJECT": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed(project) == {"alpha": "1.0", "beta": "2.0"}
    return done.stderr.strip().splitlines()[-1] == "True"


def test_arenas_are_capped_for_downloads_only(
    cli: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("beta", "2.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url) + '[packages]\nalpha = "*"\nbeta = "*"\n',
    )
    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    assert _sync_loads_ctypes(pipfence_project, pipfence_env)  # downloads: capped
    assert not _sync_loads_ctypes(pipfence_project, pipfence_env)  # from the cache
