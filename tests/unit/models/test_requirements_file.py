"""pip requirements files: what is imported into a Pipfile and what is said not to be."""

from __future__ import annotations

import pytest

from pipfence.errors import UsageError
from pipfence.models.requirements_file import RequirementLine, parse_requirements_file


def test_requirements_options_comments_and_continuations() -> None:
    text = (
        "# a comment\n"
        "-i https://corp.example/simple\n"
        "--extra-index-url=https://extra.example/simple\n"
        "--trusted-host extra.example\n"
        "requests[socks]==2.19.1  # why\n"
        "six \\\n"
        "    >=1.0\n"
        "pkg==1.0 --hash=sha256:abc\n"
        "-e ./libs/x\n"
        "-r other.txt\n"
        "-c constraints.txt\n"
        "--no-binary :all:\n"
        'colorama; sys_platform == "win32"\n'
    )
    parsed = parse_requirements_file(text, path="requirements.txt")
    assert parsed.index_url == "https://corp.example/simple"
    assert parsed.extra_index_urls == ("https://extra.example/simple",)
    assert parsed.trusted_hosts == ("extra.example",)
    assert parsed.includes == ("other.txt",)
    assert parsed.requirements == (
        RequirementLine("requests[socks]==2.19.1", 5),
        RequirementLine("six     >=1.0", 6),
        RequirementLine("pkg==1.0", 8),
        RequirementLine("./libs/x", 9, editable=True),
        RequirementLine('colorama; sys_platform == "win32"', 13),
    )
    assert parsed.ignored == (
        "requirements.txt:8: --hash",
        "requirements.txt:11: -c constraints.txt",
        "requirements.txt:12: --no-binary",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-f ./wheels\n", "requirements.txt:1: `-f` takes files from outside any index"),
        ("six\n--find-links=https://h/\n", "requirements.txt:2: `--find-links`"),
        ("--index-url\n", "requirements.txt:1: `--index-url` needs a value"),
    ],
)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_requirements_file(text, path="requirements.txt")


def test_a_url_with_a_hash_fragment_is_not_a_comment() -> None:
    parsed = parse_requirements_file("https://h/x-1.0.whl#sha256=ab\n", path="r.txt")
    assert parsed.requirements == (RequirementLine("https://h/x-1.0.whl#sha256=ab", 1),)
