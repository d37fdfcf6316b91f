"""`pipfence install NAME` on a name the Pipfile pins to an index keeps the pin, end to end.

Rewriting the entry as `NAME = "*"` would drop `index = "private"`; the name would then be asked
of the default source alone, the public index, which here has a higher version of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from support.project import installed, out, pipfile_text, read_lock, write_pipfile

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

PINNED = 'acme = {version = "*", index = "private"}\n'


def asked_for(index: PypiServer, name: str) -> list[str]:
    return [p for p in index.requested_paths() if f"/{name}" in p]


@pytest.mark.parametrize(
    ("argument", "entry_after"),
    [
        pytest.param("acme", PINNED, id="no-specifier"),
        pytest.param("acme>=1", 'acme = {version = ">=1", index = "private"}\n', id="specifier"),
    ],
)
def test_install_keeps_the_index_pin(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
    argument: str,
    entry_after: str,
) -> None:
    public_index.add_dist("acme", "99.0")
    private_index.add_dist("acme", "1.0")
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    write_pipfile(pipfence_project, pipfile_text(sources, PINNED))

    result = cli(["install", argument])

    assert result.returncode == 0, out(result)
    pipfile = (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    assert pipfile == pipfile_text(sources, entry_after)
    acme = read_lock(pipfence_project)["default"]["acme"]
    assert acme["version"] == "==1.0"
    assert acme["index"] == "private"
    assert installed(pipfence_project) == {"acme": "1.0"}
    assert asked_for(public_index, "acme") == []
    assert asked_for(private_index, "acme") != []
