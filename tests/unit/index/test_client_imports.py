"""A client that reads no page and no metadata loads neither the page parser, the page workers
nor the metadata reader (a sync from the cache and a remembered lock are such runs); the first
page it reads loads the parser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = """
import json, sys, time
from pathlib import Path
from pipfence.index.client import IndexClient
from pipfence.index.http import ClientSettings
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source

root = Path(sys.argv[1])
WATCHED = [
    "pipfence.index.simple",
    "pipfence.index.page_worker",
    "pipfence.index.page_workers",
    "pipfence.index.remote_metadata",
    "pipfence.index.metadata",
]
source = Source(name="folder", url=(root / "simple").as_uri())
remote = Source(name="remote", url="https://pkgs.example/simple")
seen = {}
with IndexClient(ClientSettings(cache_dir=root / "cache"), clock=time.time) as client:
    client.holds_file(remote, remote.url, "0" * 64)
    client.page_stamp(remote, remote.url, NormalizedName("six"))
    seen["idle"] = [m for m in WATCHED if m in sys.modules]
    page = client.project_page(source, source.url, NormalizedName("six"))
    seen["page"] = [m for m in WATCHED if m in sys.modules]
    seen["files"] = [f.filename for f in page.files] if page is not None else None
print(json.dumps(seen))
"""


@pytest.mark.fast_io  # a fresh interpreter: what the client loads
def test_the_page_parser_and_workers_are_loaded_only_when_a_page_is_read(
    tmp_path: Path,
) -> None:
    project = tmp_path / "simple" / "six"
    project.mkdir(parents=True)
    (project / "index.html").write_text(
        '<a href="six-1.17.0-py2.py3-none-any.whl#sha256=' + "a" * 64 + '">six</a>\n'
    )
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert seen["idle"] == []
    assert "pipfence.index.simple" in seen["page"]
    assert seen["files"] == ["six-1.17.0-py2.py3-none-any.whl"]
