"""The line `check` and `audit` print for packages not looked up: it blames the fence only
for the packages the fence kept in (from a source other than PyPI), not for a package the
service did not know."""

from __future__ import annotations

import pytest

from pipfence.cli.commands.check import skipped_summary

FENCED = ("internal-tool", "from source `corp`, not PyPI")
UNKNOWN = ("certifi", "not known to PyPI")
NOT_PEP440 = ("odd", "version `1.0-foo-bar` is not PEP 440")


@pytest.mark.parametrize(
    ("skipped", "line"),
    [
        (
            [FENCED],
            (
                "1 package not looked up (names from sources other than PyPI stay inside the "
                "fence); -v lists them and why"
            ),
        ),
        ([UNKNOWN, UNKNOWN], "2 packages not looked up; -v lists them and why"),
        ([NOT_PEP440], "1 package not looked up; -v lists them and why"),
        (
            [FENCED, UNKNOWN, NOT_PEP440],
            (
                "3 packages not looked up (1 of them from sources other than PyPI: their names "
                "stay inside the fence); -v lists them and why"
            ),
        ),
    ],
)
def test_the_fence_is_named_only_for_what_it_kept_in(
    skipped: list[tuple[str, str]], line: str
) -> None:
    assert skipped_summary(skipped) == line
