"""Pipfile.lock: byte-for-byte round trips and clear errors for corrupt files."""

from __future__ import annotations

import pytest

from pipfence.errors import LockfileError
from pipfence.models.lockfile import Lockfile
from support import CASES_DIR

LOCK = CASES_DIR / "locks" / "pipenv-written.lock"


def test_round_trip_is_byte_identical() -> None:
    text = LOCK.read_text(encoding="utf-8")
    assert Lockfile.parse(text).to_json() == text


def test_round_trip_keeps_crlf_newlines() -> None:
    text = LOCK.read_text(encoding="utf-8").replace("\n", "\r\n")
    lock = Lockfile.parse(text)
    assert lock.newline == "\r\n"
    assert lock.to_json() == text


def test_entries_expose_pipenv_fields() -> None:
    lock = Lockfile.parse(LOCK.read_text(encoding="utf-8"))
    default = lock.categories["default"]
    assert default["requests"].version == "2.32.3"
    assert default["requests"].index == "pypi"
    assert default["colorama"].index is None
    assert default["colorama"].markers == "sys_platform == 'win32'"
    assert not default["mylib"].is_named
    assert not default["tool"].is_named
    assert default["internal-lib"].is_named
    assert [s.name for s in lock.meta.sources] == ["pypi", "private"]
    assert "${PRIVATE_TOKEN}" in lock.meta.sources[1].url
    assert lock.categories["docs"] == {}


def test_hashes_are_written_sorted_and_keys_sorted() -> None:
    lock = Lockfile.from_dict(
        {
            "_meta": {"hash": {"sha256": "x"}, "sources": [], "requires": {}},
            "default": {"b": {"version": "==1", "hashes": ["sha256:bb", "sha256:aa"]}},
        }
    )
    text = lock.to_json()
    assert text.index('"sha256:aa"') < text.index('"sha256:bb"')
    assert text.index('"_meta"') < text.index('"default"')
    assert text.endswith("}\n")


def test_non_ascii_is_escaped() -> None:
    lock = Lockfile.parse(LOCK.read_text(encoding="utf-8"))
    assert lock.categories["develop"]["cafe"].markers == "platform_release == 'café'"
    assert "\\u00e9" in lock.to_json()


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("{not json", "invalid JSON", 1),
        ("{}", "no `_meta`", None),
        ("[]", "not a JSON object", None),
        ('{\n"_meta": {},\n"default": []\n}', "category `default` must be an object", None),
        ('{\n<<<<<<< HEAD\n"_meta": {}\n=======\n>>>>>>> other\n}', "merge-conflict", 2),
        ('{"_meta": {"sources": "x"}}', "`_meta.sources` must be a list", None),
    ],
)
def test_corrupt_locks_name_the_file_and_line(text: str, fragment: str, line: int | None) -> None:
    with pytest.raises(LockfileError) as info:
        Lockfile.parse(text, path="proj/Pipfile.lock")
    message = str(info.value)
    assert message.startswith("proj/Pipfile.lock" + (f":{line}:" if line else ":"))
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"_meta": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}", "nested too deeply"),
        ('{"_meta": {}, "default": {"\\u017fecret": {}}}', "`\\u017fecret` in `default`"),
        ('{"_meta": {}, "default": {"caf\\u00e9": {}}}', "`caf\\xe9` in `default`"),
        ('{"_meta": {}, "default": {"x\\n": {}}}', "`x\\n` in `default`"),
        ('{"_meta": {}, "default": {"../x": {}}}', "`../x` in `default`"),
    ],
)
def test_deep_or_non_pep508_locks_are_lockfile_errors(text: str, fragment: str) -> None:
    with pytest.raises(LockfileError) as info:
        Lockfile.parse(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
