"""Pipfile changes for `install PKG` / `uninstall PKG`, computed without writing."""

from __future__ import annotations

import pytest

from pipfence.errors import PipfileError, UsageError
from pipfence.models.names import NormalizedName
from pipfence.models.pipfile import Pipfile
from pipfence.project.edits import add_packages, remove_packages

BASE = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[[source]]
url = "https://corp.example/simple/"
verify_ssl = true
name = "corp"

[packages]
requests = "*"  # keep this comment
"""


def add(arguments: list[str], *, index: str | None = None, table: str = "packages") -> Pipfile:
    change = add_packages(BASE, Pipfile.parse(BASE), arguments, table=table, index=index)
    assert "# keep this comment" in change.text
    return Pipfile.parse(change.text)


def test_plain_and_complex_requirements() -> None:
    pipfile = add(["flask>=3", "httpx[http2]", "colorama; sys_platform == 'win32'"])
    packages = pipfile.categories["packages"]
    assert packages[NormalizedName("flask")].version == ">=3"
    assert packages[NormalizedName("httpx")].extras == ("http2",)
    assert packages[NormalizedName("colorama")].markers == 'sys_platform == "win32"'


def test_index_by_name_and_by_existing_url() -> None:
    by_name = add(["internal"], index="corp")
    assert by_name.categories["packages"][NormalizedName("internal")].index == "corp"
    by_url = add(["internal"], index="https://corp.example/simple")
    assert [s.name for s in by_url.sources] == ["pypi", "corp"]
    assert by_url.categories["packages"][NormalizedName("internal")].index == "corp"


def test_new_url_adds_a_generated_source() -> None:
    pipfile = add(["torch"], index="https://download.pytorch.org/whl/cpu")
    assert [s.name for s in pipfile.sources] == ["pypi", "corp", "downloadpytorch"]
    assert pipfile.categories["packages"][NormalizedName("torch")].index == "downloadpytorch"


def test_credentials_in_a_new_url_become_placeholders() -> None:
    change = add_packages(
        BASE,
        Pipfile.parse(BASE),
        ["secret-lib"],
        table="packages",
        index="https://alice:canary-pw@private.example.com/simple",
    )
    assert "canary-pw" not in change.text
    assert "alice" not in change.text
    assert (
        "${PRIVATEEXAMPLE_USERNAME}:${PRIVATEEXAMPLE_PASSWORD}@private.example.com" in change.text
    )
    assert any("PRIVATEEXAMPLE_PASSWORD" in note for note in change.notes)
    assert not any("canary-pw" in note for note in change.notes)


def test_unknown_index_name_lists_valid_names() -> None:
    with pytest.raises((UsageError, PipfileError), match="`pypi`, `corp`"):
        add(["x"], index="nosuch")


def test_invalid_requirement_and_direct_url() -> None:
    with pytest.raises(UsageError, match="not a valid requirement"):
        add(["bad name!"])
    with pytest.raises(UsageError, match="direct URL"):
        add(["pkg @ https://example.com/pkg.whl"])


def test_remove_packages() -> None:
    change = remove_packages(BASE, Pipfile.parse(BASE), ["Requests"], tables=["packages"])
    assert NormalizedName("requests") not in Pipfile.parse(change.text).categories["packages"]
    with pytest.raises(UsageError, match="`absent` not found"):
        remove_packages(BASE, Pipfile.parse(BASE), ["absent"], tables=["packages"])
