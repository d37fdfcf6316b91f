"""`pipfence scripts` lists [scripts] as pipenv does; `pipfence check` needs the audit extra."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support import RunPipfence

pytestmark = pytest.mark.integration


def test_scripts_table(run_pipfence: RunPipfence, pipfence_project: Path) -> None:
    (pipfence_project / "Pipfile").write_text(
        '[packages]\n\n[scripts]\ntest = "pytest -q"\nserve = "python -m http.server"\n',
        encoding="utf-8",
    )
    result = run_pipfence(["scripts"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Command  Script",
        "-------  ---------------------",
        "test     pytest -q",
        "serve    python -m http.server",
    ]
