"""`site_fingerprint`: what the installed-distribution check reads, and nothing else."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pipfence.installer.site_state import site_fingerprint


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    for name in ("alpha", "beta"):
        info = site / f"{name}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Name: {name}\nVersion: 1.0\n\n", encoding="utf-8")
        (info / "INSTALLER").write_text("pipfence\n", encoding="utf-8")
        (info / "RECORD").write_text("", encoding="utf-8")
    (site / "alpha").mkdir()
    (site / "alpha" / "__init__.py").write_text("", encoding="utf-8")
    return site


def _rewrite(path: Path, text: str) -> None:
    before = path.stat()
    path.write_text(text, encoding="utf-8")
    # The same size and a later time, as an editor's save would leave it.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))


CHANGES: dict[str, Callable[[Path], None]] = {
    "a dist-info folder added": lambda s: (s / "gamma-1.0.dist-info").mkdir(),
    "a dist-info folder removed": lambda s: shutil.rmtree(s / "beta-1.0.dist-info"),
    "METADATA rewritten in place": lambda s: _rewrite(
        s / "alpha-1.0.dist-info" / "METADATA", "Name: alpha\nVersion: 0.9\n\n"
    ),
    "INSTALLER removed": lambda s: (s / "alpha-1.0.dist-info" / "INSTALLER").unlink(),
    "direct_url.json added": lambda s: (s / "alpha-1.0.dist-info" / "direct_url.json").touch(),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_what_the_check_reads_changes_the_fingerprint(
    tmp_path: Path, change: Callable[[Path], None]
) -> None:
    site = _site(tmp_path)
    before = site_fingerprint([str(site)])
    change(site)
    assert site_fingerprint([str(site)]) != before


def test_what_the_check_does_not_read_leaves_it(tmp_path: Path) -> None:
    site = _site(tmp_path)
    before = site_fingerprint([str(site)])
    (site / "__pycache__").mkdir()
    (site / "alpha" / "__init__.py").write_text("x = 1\n", encoding="utf-8")
    (site / "extra.pth").write_text("", encoding="utf-8")
    assert site_fingerprint([str(site)]) == before


def test_the_site_folders_and_their_order_count(tmp_path: Path) -> None:
    site = _site(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    assert site_fingerprint([str(site)]) != site_fingerprint([str(site), str(other)])
    assert site_fingerprint([str(site), str(other)]) != site_fingerprint([str(other), str(site)])
    missing = site_fingerprint([str(tmp_path / "missing")])
    assert missing != site_fingerprint([str(other)])
