"""The fence policy (`pipfence.models.fence`) as a table of cases, then its small types.

Each ``tests/cases/fence/*.toml`` is one situation::

    description = "..."          # required: the situation in one sentence
    xfail = "..."                # optional: a known policy bug; `expected` states the fixed
                                 # behaviour (strict: the case fails once the bug is fixed)
    confusion_check = false      # optional: [pipenv] pipfence_confusion_check (default true)

    [[source]]                   # the Pipfile's sources in order; the first is the default
    name = "pypi"
    url = "https://pypi.org/simple"

    [pipfile]                    # every name the Pipfile lists -> its `index =` ("" for none)
    acme-app = "private"
    requests = ""

    [ask]                        # the call under test
    call = "decide"              # decide (the default) | fetch_sources | check_lock
                                 # | check_dependency_edges

    [expected]                   # what it gives, or `error` and what the error says

The call's inputs and outcomes:

- ``decide``: ``ask.name``, ``ask.parents = [[name, source], ...]``. ``sources_to_ask`` runs
  first and ``expected.asked`` (required unless the call is refused with `UsageError`) is what it
  names, in order; ``decide`` then gets the answers of exactly those sources. ``[answers.S]`` maps
  a version to its files' sha256 digests: no table is a 404 (None), an empty table a page that
  lists no files. Outcome: ``source`` and ``rule`` (and optionally ``parents``, the decision's
  parent names, ``explain_contains`` and ``explain_excludes``).
- ``fetch_sources``: ``ask.index`` (omitted: None), ``ask.search_all``; outcome ``sources``.
- ``check_lock``: ``ask.categories``; ``[lock]`` is a Pipfile.lock in its JSON layout (its
  ``_meta.sources`` default to the case's sources); outcome ``ok = true``.
- ``check_dependency_edges``: ``ask.lock_sources`` (name -> source), ``ask.requires``
  (name -> names); outcome ``ok = true``.

An error outcome: ``error`` (the most specific of FenceError, IndexServerError, PackageNotFound
and UsageError the error is), ``message_contains``, ``message_excludes``,
``hint_contains``, ``hint_excludes``, ``error_source`` (an `IndexServerError`'s ``source``).

A digest is written as a token: ``""`` is a file listed without a sha256, 64 hex digits are used
as written, and any other text stands for the sha256 of that text, so the same token on two
sources is the same bytes.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pipfence.errors import (
    FenceError,
    IndexServerError,
    PackageNotFound,
    PipfenceError,
    UsageError,
)
from pipfence.models.fence import AllowedHashes, Decision, Fence, Listing, Parent, Rule
from pipfence.models.files import DistFile
from pipfence.models.lockfile import Lockfile
from pipfence.models.names import canonical_name
from pipfence.models.sources import Source

CASES = Path(__file__).parent.parent / "cases" / "fence"
MIN_CASES = 45

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_ERRORS: dict[str, type[PipfenceError]] = {
    cls.__name__: cls for cls in (FenceError, IndexServerError, PackageNotFound, UsageError)
}
_TOP_KEYS = {
    "description",
    "xfail",
    "confusion_check",
    "source",
    "pipfile",
    "ask",
    "answers",
    "lock",
    "expected",
}
_ASK_KEYS = {
    "decide": {"call", "name", "parents"},
    "fetch_sources": {"call", "index", "search_all"},
    "check_lock": {"call", "categories"},
    "check_dependency_edges": {"call", "lock_sources", "requires"},
}
_OUTCOMES = {
    "decide": {"source", "error"},
    "fetch_sources": {"sources", "error"},
    "check_lock": {"ok", "error"},
    "check_dependency_edges": {"ok", "error"},
}
_EXPECTED_KEYS = {
    "asked",
    "source",
    "rule",
    "parents",
    "explain_contains",
    "explain_excludes",
    "sources",
    "ok",
    "error",
    "message_contains",
    "message_excludes",
    "hint_contains",
    "hint_excludes",
    "error_source",
}


def _case_files() -> list[Path]:
    return sorted(CASES.glob("*.toml"))


def _load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _case_params() -> list[Any]:
    params = []
    for path in _case_files():
        reason = _load(path).get("xfail")
        marks = []
        if reason:
            marks.append(pytest.mark.xfail(reason=str(reason), raises=AssertionError, strict=True))
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


# -- building the inputs -------------------------------------------------------------------------


def _digest(token: str) -> str | None:
    if not token:
        return None
    if _HEX64.fullmatch(token):
        return token
    return hashlib.sha256(token.encode()).hexdigest()


def _listing(table: Mapping[str, Any] | None) -> Listing | None:
    if table is None:
        return None
    return Listing.of({version: [_digest(t) for t in tokens] for version, tokens in table.items()})


def _fence(case: Mapping[str, Any]) -> Fence:
    sources = tuple(Source(name=s["name"], url=s["url"]) for s in case["source"])
    listed = {canonical_name(name): index for name, index in case.get("pipfile", {}).items()}
    return Fence(
        sources,
        {name: index for name, index in listed.items() if index},
        frozenset(listed),
        confusion_check=case.get("confusion_check", True),
    )


def _lock(case: Mapping[str, Any]) -> Lockfile:
    data = dict(case["lock"])
    meta = dict(data.get("_meta", {}))
    meta.setdefault("sources", [dict(s) for s in case["source"]])
    meta.setdefault("hash", {"sha256": ""})
    data["_meta"] = meta
    return Lockfile.from_dict(data)


# -- running a case ------------------------------------------------------------------------------


class _Run:
    """What a case's call did: the sources `sources_to_ask` named (decide only), and the
    call's result or the `PipfenceError` it raised."""

    def __init__(self) -> None:
        self.asked: list[str] | None = None
        self.result: object = None


def _decide(fence: Fence, case: Mapping[str, Any], run: _Run) -> Decision:
    ask = case["ask"]
    name = canonical_name(ask["name"])
    parents = tuple(Parent(canonical_name(p), s) for p, s in ask.get("parents", []))
    asked = fence.sources_to_ask(name, parents)
    run.asked = [s.name for s in asked]
    answers = case.get("answers", {})
    # decide hears exactly what the sources it named answered, as the callers give it
    return fence.decide(name, {s.name: _listing(answers.get(s.name)) for s in asked}, parents)


def _run(case: Mapping[str, Any]) -> _Run:
    fence = _fence(case)
    ask = case["ask"]
    run = _Run()
    try:
        match ask.get("call", "decide"):
            case "decide":
                run.result = _decide(fence, case, run)
            case "fetch_sources":
                run.result = fence.fetch_sources(ask.get("index"), search_all=ask["search_all"])
            case "check_lock":
                fence.check_lock(_lock(case), ask["categories"])  # None, or it raises
            case "check_dependency_edges":
                lock_sources = {canonical_name(n): s for n, s in ask["lock_sources"].items()}
                requires = {
                    canonical_name(n): [canonical_name(c) for c in children]
                    for n, children in ask.get("requires", {}).items()
                }
                fence.check_dependency_edges(lock_sources, requires)
            case other:
                pytest.fail(f"unknown call {other!r}")
    except PipfenceError as exc:
        run.result = exc
    return run


def _error_kind(error: PipfenceError) -> str | None:
    """The most specific of the table's error classes ``error`` is: `PackageNotFound` is not
    read as `IndexServerError`, and a subclass the table does not name reads as its base."""
    return next((c.__name__ for c in type(error).__mro__ if _ERRORS.get(c.__name__) is c), None)


def _check_error(result: object, expected: Mapping[str, Any]) -> None:
    name = expected["error"]
    assert isinstance(result, PipfenceError), f"expected {name}, got {result!r}"
    kind = _error_kind(result)
    assert kind == name, f"expected {name}, got {type(result).__name__}: {result}"
    message, hint = str(result), result.hint or ""
    for text in expected.get("message_contains", []):
        assert text in message, f"{text!r} not in the message {message!r}"
    for text in expected.get("message_excludes", []):
        assert text not in message, f"{text!r} in the message {message!r}"
    for text in expected.get("hint_contains", []):
        assert text in hint, f"{text!r} not in the hint {hint!r}"
    for text in expected.get("hint_excludes", []):
        assert text not in hint, f"{text!r} in the hint {hint!r}"
    if "error_source" in expected:
        assert isinstance(result, IndexServerError)
        assert result.source == expected["error_source"]


def _check_result(result: object, expected: Mapping[str, Any]) -> None:
    if isinstance(result, PipfenceError):
        pytest.fail(f"unexpected {type(result).__name__}: {result} (hint: {result.hint})")
    if "source" in expected:
        assert isinstance(result, Decision)
        assert (result.source.name, result.rule.value) == (expected["source"], expected["rule"])
        if "parents" in expected:
            assert [p.name for p in result.parents] == expected["parents"]
        explained = result.explain()
        for text in expected.get("explain_contains", []):
            assert text in explained, f"{text!r} not in {explained!r}"
        for text in expected.get("explain_excludes", []):
            assert text not in explained, f"{text!r} in {explained!r}"
    elif "sources" in expected:
        assert isinstance(result, tuple)
        assert [s.name for s in result] == expected["sources"]
    else:
        assert expected["ok"] is True
        assert result is None


@pytest.mark.parametrize("path", _case_params())
def test_case(path: Path) -> None:
    case = _load(path)
    expected = case["expected"]
    run = _run(case)
    if "asked" in expected:
        assert run.asked == expected["asked"], "sources_to_ask"
    if "error" in expected:
        _check_error(run.result, expected)
    else:
        _check_result(run.result, expected)


# -- the table itself ----------------------------------------------------------------------------


def test_case_files_are_well_formed() -> None:
    files = _case_files()
    assert len(files) >= MIN_CASES
    for path in files:
        case = _load(path)
        where = path.name
        assert case.get("description"), where
        assert set(case) <= _TOP_KEYS, (where, set(case) - _TOP_KEYS)
        names = [s["name"] for s in case["source"]]
        assert names, where
        assert len(set(names)) == len(names), where
        ask, expected = case["ask"], case["expected"]
        call = ask.get("call", "decide")
        assert call in _ASK_KEYS, where
        assert set(ask) <= _ASK_KEYS[call], (where, set(ask) - _ASK_KEYS[call])
        assert set(expected) <= _EXPECTED_KEYS, (where, set(expected) - _EXPECTED_KEYS)
        outcome = set(expected) & {"source", "sources", "ok", "error"}
        assert len(outcome) == 1, (where, outcome)
        assert outcome <= _OUTCOMES[call], (where, outcome)
        assert set(case.get("answers", {})) <= set(names), where
        assert ("answers" not in case) or call == "decide", where
        assert ("lock" in case) == (call == "check_lock"), where
        if call == "decide" and expected.get("error") != "UsageError":
            assert "asked" in expected, where
        if "source" in expected:
            assert expected.get("rule") in {r.value for r in Rule}, where
        if "error" in expected:
            assert expected["error"] in _ERRORS, where
        else:
            assert not {k for k in expected if k.startswith(("message_", "hint_", "error_"))}


def test_every_rule_and_error_has_a_case() -> None:
    rules, errors = set(), set()
    for path in _case_files():
        expected = _load(path)["expected"]
        rules.add(expected.get("rule"))
        errors.add(expected.get("error"))
    assert {r.value for r in Rule} <= rules
    assert set(_ERRORS) <= errors


def test_every_call_has_a_case() -> None:
    calls = {_load(path)["ask"].get("call", "decide") for path in _case_files()}
    assert calls == set(_ASK_KEYS)


# -- AllowedHashes -------------------------------------------------------------------------------

_A = "ab" * 32
_B = "cd" * 32


def test_allowed_hashes_normalises_prefix_and_case() -> None:
    allowed = AllowedHashes.of([f"sha256:{_A.upper()}", _B, f"SHA256:{_B}", f"sha256: {_A} "])
    assert allowed.digests == {_A, _B}


def test_allowed_hashes_drops_other_algorithms_and_empty_digests() -> None:
    assert AllowedHashes.of([f"md5:{_A}", f"sha512:{_B}", "sha256:"]).digests == frozenset()
    assert not AllowedHashes.of([f"md5:{_A}"])
    assert not AllowedHashes()
    assert AllowedHashes.of([f"sha1:{_A}", f"sha256:{_B}"]).digests == {_B}


def test_allowed_hashes_drops_a_blank_digest() -> None:
    allowed = AllowedHashes.of(["sha256:   "])
    assert allowed.digests == frozenset()
    assert "" not in allowed


def test_allowed_hashes_membership_ignores_case_and_takes_bare_digests() -> None:
    allowed = AllowedHashes.of([f"sha256:{_A}"])
    assert _A in allowed
    assert _A.upper() in allowed
    assert _B not in allowed
    assert f"sha256:{_A}" not in allowed
    assert None not in allowed
    assert 5 not in allowed


def test_allowed_hashes_to_lock_is_sorted_and_round_trips() -> None:
    allowed = AllowedHashes.of([f"sha256:{_B}", _A.upper(), f"md5:{_A}"])
    assert allowed.to_lock() == [f"sha256:{_A}", f"sha256:{_B}"]
    assert AllowedHashes.of(allowed.to_lock()) == allowed
    assert AllowedHashes().to_lock() == []


# -- Listing -------------------------------------------------------------------------------------


def _of(**versions: list[str]) -> Listing:
    """A listing from ``v1_0=["a"]``-style keywords (``_`` for ``.``), digest tokens as in cases."""
    return Listing.of(
        {
            v.removeprefix("v").replace("_", "."): [_digest(t) for t in ts]
            for v, ts in versions.items()
        }
    )


def test_listing_present() -> None:
    assert not Listing.of({}).present
    assert not Listing.of({"1.0": []}).present
    assert Listing.of({"1.0": [None]}).present  # a file without a digest is still a file
    assert _of(v1_0=["a"]).present


def test_listing_over_a_page_whose_groups_build_no_files_is_absent() -> None:
    # a parsed page's `Releases` builds each group on demand and drops the rows it cannot use
    # (a non-http URL, a malformed wheel name), so a version may come with no file
    assert not Listing({"1.0": ()}).present
    assert not Listing({"1.0": (), "2.0": ()}).present


def test_mirrors_identical_both_ways() -> None:
    default = _of(v1_0=["a", "b"], v2_0=["c"])
    copy = _of(v1_0=["a", "b"], v2_0=["c"])
    assert copy.mirrors(default)
    assert default.mirrors(copy)


def test_mirrors_subset_but_not_superset() -> None:
    default = _of(v1_0=["a", "b"], v2_0=["c"])
    subset = _of(v1_0=["b"])
    assert subset.mirrors(default)
    assert not default.mirrors(subset)


def test_mirrors_refuses_other_bytes_or_another_version() -> None:
    default = _of(v1_0=["a"])
    assert not _of(v1_0=["evil"]).mirrors(default)
    assert not _of(v1_0=["a", "evil"]).mirrors(default)
    assert not _of(v9_0=["a"]).mirrors(default)  # the same bytes under another version


def test_mirrors_never_takes_a_file_without_sha256_for_a_copy() -> None:
    assert not Listing.of({"1.0": [None]}).mirrors(Listing.of({"1.0": [None]}))
    assert not Listing.of({"1.0": [_digest("a"), None]}).mirrors(_of(v1_0=["a"]))


def test_mirrors_ignores_digest_case_and_version_spelling() -> None:
    digest = _digest("a")
    assert digest is not None
    assert Listing.of({"1.00": [digest.upper()]}).mirrors(Listing.of({"1.0": [digest]}))
    assert Listing.of({"1.0": [digest]}).mirrors(Listing.of({"1.0.post0": [], "1.00": [digest]}))


def test_mirrors_compares_a_version_that_is_not_pep440_as_written() -> None:
    default = Listing.of({"nightly": [_digest("a")]})
    assert Listing.of({"nightly": [_digest("a")]}).mirrors(default)
    assert not Listing.of({"Nightly": [_digest("a")]}).mirrors(default)


def test_mirrors_ignores_versions_listed_without_files() -> None:
    default = _of(v1_0=["a"])
    assert Listing.of({"1.0": [_digest("a")], "2.0": []}).mirrors(default)
    assert Listing.of({}).mirrors(default)  # nothing of its own (and not present: absent)
    assert not default.mirrors(Listing.of({}))


def test_listing_over_a_pages_files() -> None:
    digest = hashlib.sha256(b"wheel").hexdigest()
    page = Listing(
        {
            "1.0": [
                DistFile(filename="x-1.0.tar.gz", url="", hashes={"sha256": digest.upper()}),
                DistFile(filename="x-1.0-py3-none-any.whl", url="", hashes={"md5": "00"}),
            ]
        }
    )
    assert page.present
    assert page.digests() == {"1.0": frozenset({digest, None})}
    assert not page.mirrors(Listing.of({"1.0": [digest]}))  # the md5-only wheel


# -- Decision.explain ----------------------------------------------------------------------------

_PRIVATE = Source(name="private", url="https://private.example/simple")
_VIA = (Parent(canonical_name("acme-app"), "private"),)
_NAMES_PARENTS = {Rule.PARENT_ONLY, Rule.MIRROR, Rule.CHECK_OFF}


@pytest.mark.parametrize("rule", list(Rule), ids=lambda rule: rule.value)
def test_explain_gives_a_sentence_for_each_rule(rule: Rule) -> None:
    text = Decision(_PRIVATE, rule, _VIA).explain()
    assert isinstance(text, str)
    assert text
    assert "private" in text
    assert ("`acme-app`" in text) == (rule in _NAMES_PARENTS)
    if rule in _NAMES_PARENTS:
        assert "a package" in Decision(_PRIVATE, rule).explain()


def test_explain_sentences_differ() -> None:
    texts = {Decision(_PRIVATE, rule, _VIA).explain() for rule in Rule}
    assert len(texts) == len(Rule)


def test_explain_names_every_parent() -> None:
    parents = (*_VIA, Parent(canonical_name("acme-cli"), "private"))
    text = Decision(_PRIVATE, Rule.PARENT_ONLY, parents).explain()
    assert "`acme-app`, `acme-cli`" in text
