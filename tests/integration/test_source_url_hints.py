"""A source URL with a typo: every package would be "not found"; pipfence sees that the source's
own index page is missing too (asking for it sends no package name) and says to check the URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from support.project import one_source_pipfile, out, write_pipfile

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def test_typo_in_source_url_says_to_check_the_url(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("payload", "1.0")
    typo = f"{public_index.url}/simpel"
    write_pipfile(pipfence_project, one_source_pipfile(typo))
    result = cli(["lock"])
    assert result.returncode == 1, out(result)
    assert f"source `corp` ({typo}) answered 404 for its own index page" in result.stderr
    assert "typo in `/simpel`?" in result.stderr, out(result)
    assert "Traceback" not in result.stderr
    # The package's page once, then one look at the index page, which names no package
    # (pypiserver redirects it into its own 404).
    asked = public_index.requested_paths()
    assert asked[:2] == ["/simpel/payload/", "/simpel/"], asked
    assert [p for p in asked if "payload" in p] == ["/simpel/payload/"], asked


def test_missing_package_on_a_sound_source_is_still_plain_not_found(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'absent = "*"\n'))
    result = cli(["lock"])
    assert result.returncode == 1, out(result)
    assert "`absent` was not found on the default source `corp`" in result.stderr, out(result)
    assert "index page" not in result.stderr
    assert public_index.requested_paths() == ["/simple/absent/", "/simple/"]
