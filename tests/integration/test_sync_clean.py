"""`pipfence sync --clean` (pipenv 2026.9): the sync also uninstalls what no category of the
lock lists; plain `sync` leaves such packages alone, as pipenv's does."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import installed, out, source_table, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def test_sync_clean_removes_what_the_lock_does_not_list(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, dist_factory: DistFactory
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("beta", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + '[packages]\nalpha = "*"\n\n[dev-packages]\nbeta = "*"\n',
    )
    assert cli(["lock"]).returncode == 0
    synced = cli(["sync", "--dev"])
    assert synced.returncode == 0, out(synced)
    dist_factory.wheel("stray", "0.1")
    by_hand = cli(
        ["run", "pip", "install", "--no-index", "--find-links", dist_factory.root, "stray"]
    )
    assert by_hand.returncode == 0, out(by_hand)

    plain = cli(["sync"])
    assert plain.returncode == 0, out(plain)
    assert installed(pipfence_project)["stray"] == "0.1"

    cleaned = cli(["sync", "--clean"])
    assert cleaned.returncode == 0, out(cleaned)
    assert "Removed 1 package" in cleaned.stderr
    after = installed(pipfence_project, seed=True)
    assert "stray" not in after
    # beta is in another category of the lock: kept, as `clean` keeps it; pip stays.
    assert after["alpha"] == "1.0"
    assert after["beta"] == "1.0"
    assert "pip" in after
