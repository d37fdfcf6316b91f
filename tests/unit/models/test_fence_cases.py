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
    call = "decide"              # decide (the default) | confirm | fetch_sources | check_lock
                                 # | check_dependency_edges

    [expected]                   # what it gives, or `error` and what the error says

The call's inputs and outcomes:

- ``decide``: ``ask.name``, ``ask.parents = [[name, source], ...]``. ``sources_to_ask`` runs
  first and ``expected.asked`` (required unless the call is refused with `UsageError`) is what it
  names, in order; ``decide`` then gets the answers of exactly those sources. ``[answers.S]`` maps
  a version to its files' sha256 digests: no table is a 404 (None), an empty table a page that
  lists no files. Outcome: ``source`` and ``rule`` (and optionally ``parents``, the decision's
  parent names, ``explain_contains`` and ``explain_excludes``); ``others`` (the decision's other
  sources, in order) is required whenever the decision has any.
- ``confirm``: the inputs of ``decide`` plus ``ask.version``, the version the resolver chose.
  ``decide`` runs as above and must give a decision, which ``expected.decision = {source, rule,
  others}`` states; ``confirm`` then checks ``version`` against the same answers. Outcome:
  ``ok = true``, or an error (which is then confirm's, never decide's). A confirm given too few
  answers (a `ValueError`, not a policy outcome) is tested directly below the table.
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
sources is the same bytes. A token that is a file name (``idna-3.7.tar.gz``, maybe followed by a
note: ``idna-3.7.tar.gz (hostile)`` is another file of that name) also names the file, as
messages show it; ``idna-3.7.tar.gz (no sha256)`` is that file listed without a sha256.
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
from pipfence.models.decision import Decision, Parent, Rule
from pipfence.models.fence import Fence
from pipfence.models.files import DistFile
from pipfence.models.listing import AllowedHashes, Listing
from pipfence.models.lockfile import Lockfile
from pipfence.models.names import canonical_name
from pipfence.models.sources import Source
from support import CASES_DIR

CASES = CASES_DIR / "fence"
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
    "confirm": {"call", "name", "parents", "version"},
    "fetch_sources": {"call", "index", "search_all"},
    "check_lock": {"call", "categories"},
    "check_dependency_edges": {"call", "lock_sources", "requires"},
}
_OUTCOMES = {
    "decide": {"source", "error"},
    "confirm": {"ok", "error"},
    "fetch_sources": {"sources", "error"},
    "check_lock": {"ok", "error"},
    "check_dependency_edges": {"ok", "error"},
}
_EXPECTED_KEYS = {
    "asked",
    "source",
    "rule",
    "parents",
    "others",
    "decision",
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


_DECISION_KEYS = {"source", "rule", "others"}
_RULES_WITH_OTHERS = {Rule.MIRROR.value, Rule.CHECK_OFF.value}
_ASKS_SOURCES = {"decide", "confirm"}


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


#: A token naming a file, maybe with a note after it (``x-1.0.tar.gz (hostile)``: another
#: file of that name, as the note makes the token, and so the digest, another).
_FILE_NAME = re.compile(r"^(\S+\.(?:whl|tar\.gz|zip))(?: \(.*\))?$")


def _digest(token: str) -> str | None:
    if not token or token.endswith(" (no sha256)"):
        return None
    if _HEX64.fullmatch(token):
        return token
    return hashlib.sha256(token.encode()).hexdigest()


def _listing(table: Mapping[str, Any] | None) -> Listing | None:
    """A token that is a file name (``idna-3.7.tar.gz``, maybe with a note) names the file
    too, as messages name it; any other file gets a made-up name of its own."""
    if table is None:
        return None
    return Listing(
        {
            version: [
                DistFile(
                    filename=_FILE_NAME.sub(r"\1", token)
                    if _FILE_NAME.search(token)
                    else f"x-{version}-{n}.tar.gz",
                    url="",
                    hashes={"sha256": digest} if (digest := _digest(token)) else {},
                )
                for n, token in enumerate(tokens)
            ]
            for version, tokens in table.items()
            if tokens
        }
    )


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
        self.decision: Decision | None = None  # confirm only: what decide gave first
        self.result: object = None


def _decide(
    fence: Fence, case: Mapping[str, Any], run: _Run
) -> tuple[Decision, dict[str, Listing | None]]:
    ask = case["ask"]
    name = canonical_name(ask["name"])
    parents = tuple(Parent(canonical_name(p), s) for p, s in ask.get("parents", []))
    asked = fence.sources_to_ask(name, parents)
    run.asked = [s.name for s in asked]
    table = case.get("answers", {})
    # decide hears exactly what the sources it named answered, as the callers give it
    answers = {s.name: _listing(table.get(s.name)) for s in asked}
    return fence.decide(name, answers, parents), answers


def _confirm(fence: Fence, case: Mapping[str, Any], run: _Run) -> None:
    try:
        decision, answers = _decide(fence, case, run)
    except PipfenceError as exc:
        pytest.fail(f"decide raised {type(exc).__name__} before confirm: {exc}")
    run.decision = decision
    # confirm hears the answers decide heard, and the version the resolver chose
    fence.confirm(canonical_name(case["ask"]["name"]), decision, case["ask"]["version"], answers)


def _run(case: Mapping[str, Any]) -> _Run:
    fence = _fence(case)
    ask = case["ask"]
    run = _Run()
    try:
        match ask.get("call", "decide"):
            case "decide":
                run.result, _answers = _decide(fence, case, run)
            case "confirm":
                _confirm(fence, case, run)  # None, or it raises
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
        if "others" in expected:
            assert list(result.others) == expected["others"], "others"
        else:
            assert not result.others, f"the decision has others {result.others}: assert them"
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
    if "decision" in expected:
        decided = expected["decision"]
        assert run.decision is not None
        got = run.decision
        assert (got.source.name, got.rule.value, list(got.others)) == (
            decided["source"],
            decided["rule"],
            decided["others"],
        ), "the decision confirm was given"
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
        assert ("answers" not in case) or call in _ASKS_SOURCES, where
        assert ("lock" in case) == (call == "check_lock"), where
        if call in _ASKS_SOURCES and expected.get("error") != "UsageError":
            assert "asked" in expected, where
        assert ("decision" in expected) == (call == "confirm"), where
        if call == "confirm":
            assert set(expected["decision"]) == _DECISION_KEYS, where
            assert expected["decision"]["rule"] in {r.value for r in Rule}, where
            assert isinstance(ask["version"], str), where
        if "source" in expected:
            assert expected.get("rule") in {r.value for r in Rule}, where
            if expected["rule"] in _RULES_WITH_OTHERS:
                assert "others" in expected, where
        assert "others" not in expected or "source" in expected, where
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


def test_copy_of_identical_both_ways() -> None:
    default = _of(v1_0=["a", "b"], v2_0=["c"])
    copy = _of(v1_0=["a", "b"], v2_0=["c"])
    for version in ("1.0", "2.0"):
        assert copy.copy_of(default, version)
        assert default.copy_of(copy, version)


def test_copy_of_refuses_a_subset_or_a_superset_of_the_files() -> None:
    # byte-identical: the same set of files both ways, so neither side may add one (a hostile
    # wheel beside copied sdists) nor leave one out (a cache holding only the wheel)
    default = _of(v1_0=["a", "b"])
    subset = _of(v1_0=["b"])
    assert not subset.copy_of(default, "1.0")
    assert not default.copy_of(subset, "1.0")
    assert _of(v1_0=["b", "a"]).copy_of(default, "1.0")  # the order of the files is no matter


def test_copy_of_is_symmetric() -> None:
    listings = [
        _of(v1_0=["a"]),
        _of(v1_0=["a", "b"]),
        _of(v1_0=["b"], v2_0=["c"]),
        Listing.of({"1.0": [_digest("a"), None]}),
        Listing.of({"1.0.0": [_digest("a")]}),
        Listing.of({}),
    ]
    for one in listings:
        for other in listings:
            for version in ("1.0", "2.0"):
                assert one.copy_of(other, version) == other.copy_of(one, version)


def test_copy_of_judges_the_version_asked_alone() -> None:
    default = _of(v1_0=["a"], v2_0=["b"])
    lagging = _of(v1_0=["a"])
    assert lagging.copy_of(default, "1.0")
    assert not lagging.copy_of(default, "2.0")  # nothing of its own for 2.0: no copy
    assert not default.copy_of(lagging, "2.0")  # 2.0 is not on the other side
    assert not default.copy_of(default, "3.0")  # a version listed nowhere
    extra = _of(v1_0=["a"], v9_0=["private"])
    assert extra.copy_of(default, "1.0")  # a version of its own elsewhere does not matter
    assert not extra.copy_of(default, "9.0")


def test_copy_of_refuses_other_bytes_or_another_version() -> None:
    default = _of(v1_0=["a"])
    assert not _of(v1_0=["evil"]).copy_of(default, "1.0")
    assert not _of(v1_0=["a", "evil"]).copy_of(default, "1.0")
    assert not _of(v9_0=["a"]).copy_of(default, "9.0")  # the same bytes under another version
    assert not _of(v9_0=["a"]).copy_of(default, "1.0")


def test_copy_of_never_takes_a_file_without_sha256_for_a_copy() -> None:
    unhashed = Listing.of({"1.0": [None]})
    assert not unhashed.copy_of(Listing.of({"1.0": [None]}), "1.0")
    assert not Listing.of({"1.0": [_digest("a"), None]}).copy_of(_of(v1_0=["a"]), "1.0")
    assert not _of(v1_0=["a"]).copy_of(unhashed, "1.0")


def test_copy_of_ignores_digest_case() -> None:
    digest = _digest("a")
    assert digest is not None
    upper, lower = Listing.of({"1.0": [digest.upper()]}), Listing.of({"1.0": [digest]})
    assert upper.copy_of(lower, "1.0")
    assert lower.copy_of(upper, "1.0")


def test_copy_of_reads_a_version_spelled_another_way_as_the_same() -> None:
    digest = _digest("a")
    default = Listing.of({"1.0": [digest]})
    assert Listing.of({"1.00": [digest]}).copy_of(default, "1.0")
    assert Listing.of({"v1.0": [digest]}).copy_of(default, "1.0")
    assert Listing.of({"1.0": [digest]}).copy_of(default, "1.00")  # the version asked, too
    assert Listing.of({"1.0": [digest]}).copy_of(
        Listing.of({"1.0.post0": [], "1.00": [digest]}), "1.0"
    )


def test_copy_of_reads_1_0_and_1_0_0_as_one_version() -> None:
    # the resolver groups a page's files by Version, and Version("1.0") == Version("1.0.0")
    digest = _digest("a")
    default = Listing.of({"1.0": [digest]})
    assert Listing.of({"1.0": [digest]}).copy_of(default, "1.0.0")
    assert Listing.of({"1.0.0": [digest]}).copy_of(default, "1.0")
    assert Listing.of({"1": [digest]}).copy_of(default, "1.0.0.0")
    assert Listing.of({"1.0.0.post1": [digest]}).copy_of(
        Listing.of({"1.post1": [digest]}), "1.0.post1"
    )
    assert not Listing.of({"1.0.1": [digest]}).copy_of(default, "1.0")  # 1.0.1 is another


def test_copy_of_groups_one_pages_spellings_of_a_version() -> None:
    # a page whose sdist says 1.0 and whose wheel says 1.0.0 lists one version with two files:
    # a side holding only one of them is not identical
    a, b = _digest("sdist"), _digest("wheel")
    page = Listing.of({"1.0": [a], "1.0.0": [b]})
    assert Listing.of({"1.0": [a, b]}).copy_of(page, "1.0")
    assert page.copy_of(Listing.of({"1": [b, a]}), "1.0.0")
    assert not Listing.of({"1.0": [a]}).copy_of(page, "1.0")
    assert not page.copy_of(Listing.of({"1.0.0": [b]}), "1.0.0")


def test_copy_of_compares_a_version_that_is_not_pep440_as_written() -> None:
    default = Listing.of({"nightly": [_digest("a")]})
    assert Listing.of({"nightly": [_digest("a")]}).copy_of(default, "nightly")
    assert not Listing.of({"Nightly": [_digest("a")]}).copy_of(default, "Nightly")
    assert not Listing.of({"Nightly": [_digest("a")]}).copy_of(default, "nightly")


def test_copy_of_a_version_listed_without_files_is_no_copy() -> None:
    default = _of(v1_0=["a"])
    assert not Listing({"1.0": ()}).copy_of(default, "1.0")  # nothing of its own
    assert not _of(v1_0=["a"]).copy_of(Listing({"1.0": ()}), "1.0")
    assert not Listing.of({}).copy_of(default, "1.0")


def test_copied_versions_are_the_identical_versions_of_both() -> None:
    default = _of(v1_0=["a"], v2_0=["b", "c"], v3_0=["d"], v99_0=["hostile"])
    private = _of(v1_0=["a"], v2_0=["b"], v3_0=["d"], v4_0=["private"])
    copied = private.copied_versions(default)
    assert copied == default.copied_versions(private)
    assert len(copied) == 2  # 1.0 and 3.0: 2.0 is a subset, 4.0 and 99.0 one side's only
    assert all(private.copy_of(default, v) and default.copy_of(private, v) for v in copied)
    assert not private.copy_of(default, "2.0")
    assert _of(v1_0=["a"]).copied_versions(_of(v1_0=["b"])) == frozenset()
    assert Listing.of({}).copied_versions(default) == frozenset()
    spelled = Listing.of({"1.0.0": [_digest("a")]}).copied_versions(_of(v1_0=["a"]))
    assert len(spelled) == 1


def test_shares_a_copy_needs_one_version_copied() -> None:
    default = _of(v1_0=["a"], v2_0=["b"], v99_0=["hostile"])
    assert _of(v1_0=["a"]).shares_a_copy(default)
    assert _of(v1_0=["a"], v2_0=["b (private)"]).shares_a_copy(default)  # 1.0 is enough
    assert _of(v1_0=["a"], v3_0=["private"]).shares_a_copy(default)
    assert default.shares_a_copy(_of(v1_0=["a"]))  # 2.0 and 99.0 are not: still one
    assert not _of(v2_0=["evil"], v3_0=["a"]).shares_a_copy(default)
    assert not _of(v1_0=["a", "evil"]).shares_a_copy(default)
    assert not _of(v1_0=["a", "b"]).shares_a_copy(_of(v1_0=["a"]))  # one file more: none
    assert not _of(v1_0=["a"]).shares_a_copy(_of(v1_0=["a", "b"]))  # one file fewer: none


def test_shares_a_copy_never_through_files_without_sha256_or_versions_without_files() -> None:
    default = _of(v1_0=["a"])
    assert not Listing.of({"1.0": [None]}).shares_a_copy(Listing.of({"1.0": [None]}))
    assert not Listing.of({"1.0": [_digest("a"), None]}).shares_a_copy(default)
    assert not Listing({"1.0": ()}).shares_a_copy(default)
    assert not Listing.of({}).shares_a_copy(default)  # nothing listed: nothing shared
    assert not default.shares_a_copy(Listing.of({}))
    assert Listing.of({"1.0": [_digest("a")], "2.0": [None]}).shares_a_copy(default)


def test_shares_a_copy_reads_digest_case_and_version_spelling() -> None:
    digest = _digest("a")
    assert digest is not None
    default = Listing.of({"1.0": [digest]})
    assert Listing.of({"1.00": [digest.upper()]}).shares_a_copy(default)
    assert Listing.of({"nightly": [digest]}).shares_a_copy(Listing.of({"nightly": [digest]}))
    assert not Listing.of({"Nightly": [digest]}).shares_a_copy(Listing.of({"nightly": [digest]}))


def test_newest_orders_versions_as_pep440() -> None:
    assert _of(v9_0=["a"], v10_0=["b"], v1_0=["c"]).newest() == "10.0"
    assert _of(v2_0rc1=["a"], v1_0=["b"]).newest() == "2.0rc1"
    assert _of(v2_0rc1=["a"], v2_0=["b"]).newest() == "2.0"
    assert _of(v1_0_post1=["a"], v1_0=["b"]).newest() == "1.0.post1"


def test_newest_keeps_the_pages_spelling() -> None:
    assert Listing.of({"1.00": [_digest("a")]}).newest() == "1.00"
    assert Listing.of({"v2.0": [_digest("a")], "1.0": [_digest("b")]}).newest() == "v2.0"
    assert Listing.of({"1.0.0": [_digest("a")]}).newest() == "1.0.0"
    # one version spelled two ways: the spelling the page used first
    assert Listing.of({"1.0.0": [_digest("a")], "1.0": [_digest("b")]}).newest() == "1.0.0"
    assert Listing.of({"0.9": [_digest("a")], "1.0": [_digest("b")]}).newest() == "1.0"


def test_newest_skips_non_pep440_versions_and_versions_without_files() -> None:
    assert Listing.of({"nightly": [_digest("a")], "1.0": [_digest("b")]}).newest() == "1.0"
    assert Listing.of({"nightly": [_digest("a")]}).newest() is None
    assert (
        Listing({"1.0": [DistFile(filename="x-1.0.tar.gz", url="")], "3.0": ()}).newest() == "1.0"
    )
    assert Listing({"3.0": ()}).newest() is None
    assert Listing.of({}).newest() is None
    assert Listing.of({"2.0": [None]}).newest() == "2.0"  # a file without sha256 is a file


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
    assert list(page.digests().values()) == [frozenset({digest, None})]  # one version, two files
    assert not page.copy_of(Listing.of({"1.0": [digest]}), "1.0")  # the md5-only wheel
    # nor the other way: the page's wheel is a file the other side does not list
    assert not Listing.of({"1.0": [digest]}).copy_of(page, "1.0")
    assert not page.shares_a_copy(Listing.of({"1.0": [digest]}))
    wheel = hashlib.sha256(b"the wheel").hexdigest()
    hashed = Listing(
        {
            "1.0.0": [
                DistFile(filename="x-1.0.0.tar.gz", url="", hashes={"sha256": digest}),
                DistFile(filename="x-1.0.0-py3-none-any.whl", url="", hashes={"sha256": wheel}),
            ]
        }
    )
    assert Listing.of({"1.0": [wheel, digest.upper()]}).copy_of(hashed, "1.0")
    assert hashed.copy_of(Listing.of({"1.0": [wheel, digest]}), "1.0.0")


# -- Decision.explain ----------------------------------------------------------------------------

_PYPI = Source(name="pypi", url="https://pypi.org/simple")
_PRIVATE = Source(name="private", url="https://private.example/simple")
_CORP = Source(name="corp", url="https://corp.example/pypi/simple")
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


def test_explain_parent_only_names_its_sources_parents_and_the_others() -> None:
    corp = Parent(canonical_name("corp-auth"), "corp")
    text = Decision(_PRIVATE, Rule.PARENT_ONLY, (corp, *_VIA), ("corp",)).explain()
    assert "a dependency of `acme-app`, not on the default source" in text
    assert "`corp-auth`" not in text
    assert "(`corp` has the same files)" in text
    alone = Decision(_PRIVATE, Rule.PARENT_ONLY, _VIA).explain()
    assert "has the same files" not in alone
    # no parent came from the source taken: every parent is named rather than none
    assert "`corp-auth`" in Decision(_PRIVATE, Rule.PARENT_ONLY, (corp,)).explain()


def test_explain_mirror_says_the_version_chosen_is_byte_identical() -> None:
    text = Decision(_PYPI, Rule.MIRROR, _VIA, ("private",)).explain()
    assert "a dependency of `acme-app`: the default source `pypi`" in text
    assert "byte-identical" in text


# -- Fence.confirm's inputs ----------------------------------------------------------------------

_IDNA = canonical_name("idna")
_SHARED = canonical_name("shared-util")


def _three_sources(*, confusion_check: bool = True) -> Fence:
    pins = {canonical_name("acme-app"): "private", canonical_name("corp-auth"): "corp"}
    return Fence((_PYPI, _PRIVATE, _CORP), pins, frozenset(pins), confusion_check=confusion_check)


def test_confirm_refuses_a_missing_answer_of_the_other_source() -> None:
    fence = _three_sources()
    listing = _of(v3_7=["idna-3.7.tar.gz"])
    decision = fence.decide(_IDNA, {"pypi": listing, "private": listing}, _VIA)
    assert (decision.rule, decision.others) == (Rule.MIRROR, ("private",))
    fence.confirm(_IDNA, decision, "3.7", {"pypi": listing, "private": listing})
    with pytest.raises(ValueError, match="private"):
        fence.confirm(_IDNA, decision, "3.7", {"pypi": listing})
    with pytest.raises(ValueError, match="private"):
        fence.confirm(_IDNA, decision, "3.7", {"pypi": listing, "private": None})


def test_confirm_refuses_a_missing_answer_of_the_source_taken() -> None:
    fence = _three_sources()
    listing = _of(v3_7=["idna-3.7.tar.gz"])
    decision = fence.decide(_IDNA, {"pypi": listing, "private": listing}, _VIA)
    with pytest.raises(ValueError, match="pypi"):
        fence.confirm(_IDNA, decision, "3.7", {"private": listing})
    with pytest.raises(ValueError, match="pypi"):
        fence.confirm(_IDNA, decision, "3.7", {"pypi": None, "private": listing})


def test_confirm_refuses_a_missing_answer_between_parents_sources() -> None:
    fence = _three_sources()
    listing = _of(v1_0=["shared-util-1.0.tar.gz"])
    parents = (*_VIA, Parent(canonical_name("corp-auth"), "corp"))
    decision = fence.decide(_SHARED, {"pypi": None, "private": listing, "corp": listing}, parents)
    assert (decision.source, decision.rule, decision.others) == (
        _PRIVATE,
        Rule.PARENT_ONLY,
        ("corp",),
    )
    fence.confirm(_SHARED, decision, "1.0", {"private": listing, "corp": listing})
    with pytest.raises(ValueError, match="corp"):
        fence.confirm(_SHARED, decision, "1.0", {"pypi": None, "private": listing})


def test_confirm_with_the_check_off_needs_no_answer() -> None:
    listing = _of(v3_7=["idna-3.7.tar.gz"])
    off = _three_sources(confusion_check=False)
    decision = off.decide(_IDNA, {"pypi": listing, "private": listing}, _VIA)
    assert decision.rule == Rule.MIRROR
    off.confirm(_IDNA, decision, "3.7", {})  # nothing is compared, so nothing is needed


def test_confirm_with_the_check_off_returns_the_sources_it_let_through() -> None:
    # The lock warns about these: the default's 3.7 taken although `private`'s 3.7 differs.
    off = _three_sources(confusion_check=False)
    default = _of(v3_6=["idna-3.6.tar.gz"], v3_7=["idna-3.7.tar.gz"])
    private = _of(v3_6=["idna-3.6.tar.gz"], v3_7=["idna-3.7.tar.gz (private build)"])
    decision = off.decide(_IDNA, {"pypi": default, "private": private}, _VIA)
    assert (decision.rule, decision.others) == (Rule.MIRROR, ("private",))
    answers = {"pypi": default, "private": private}
    assert off.confirm(_IDNA, decision, "3.7", answers) == ("private",)
    assert off.confirm(_IDNA, decision, "3.6", answers) == ()
    on = _three_sources()
    assert on.confirm(_IDNA, on.decide(_IDNA, answers, _VIA), "3.6", answers) == ()


def test_a_check_off_decision_names_only_the_sources_that_differ() -> None:
    off = _three_sources(confusion_check=False)
    default = _of(v3_7=["idna-3.7.tar.gz"])
    parents = (*_VIA, Parent(canonical_name("corp-auth"), "corp"))
    answers = {"pypi": default, "private": default, "corp": _of(v3_7=["idna-3.7 (corp)"])}
    decision = off.decide(_IDNA, answers, parents)
    assert (decision.rule, decision.others) == (Rule.CHECK_OFF, ("corp",))
