"""The resolver against in-memory indexes: data-driven cases, then behaviour one by one."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import compatible_tags, cpython_tags
from packaging.version import Version
from resolvelib import BaseReporter, ResolutionImpossible
from resolvelib.structs import RequirementInformation

from pipfence.errors import IntegrityError, PackageNotFound, ResolutionError
from pipfence.models.files import CoreMetadata
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.target import Target
from pipfence.resolver import InMemorySource, Resolution, resolve
from pipfence.resolver.candidates import PYTHON, Candidate, Dependency
from pipfence.resolver.provider import PipfenceProvider
from support import CASES_DIR

CASES = CASES_DIR / "resolver"

_PLATFORM_ENV = {
    "linux": {"platform_system": "Linux", "os_name": "posix"},
    "win32": {"platform_system": "Windows", "os_name": "nt"},
    "darwin": {"platform_system": "Darwin", "os_name": "posix"},
}


def make_target(
    python: str = "3.11.7",
    sys_platform: str = "linux",
    platforms: tuple[str, ...] = ("manylinux_2_17_x86_64", "linux_x86_64"),
    **environment: str,
) -> Target:
    """A CPython target described as data, independent of the machine running the tests."""
    version = Version(python)
    short = f"{version.major}.{version.minor}"
    interpreter = f"cp{version.major}{version.minor}"
    env = {
        "implementation_name": "cpython",
        "implementation_version": python,
        "platform_machine": "x86_64" if sys_platform != "win32" else "AMD64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "python_full_version": python,
        "python_version": short,
        "sys_platform": sys_platform,
        **_PLATFORM_ENV[sys_platform],
        **environment,
    }
    pair = (version.major, version.minor)
    tags = [
        *cpython_tags(pair, abis=[interpreter], platforms=platforms),
        *compatible_tags(pair, interpreter, platforms),
    ]
    return Target(environment=env, python_version=version, tags=tuple(tags))


def requirements(*texts: str) -> list[Requirement]:
    return [Requirement(text) for text in texts]


def versions(resolution: Resolution) -> dict[str, str]:
    return {name: str(package.version) for name, package in resolution.packages.items()}


# -- data-driven cases ---------------------------------------------------------------------------


def _case_files() -> list[Path]:
    return sorted(CASES.glob("*.toml"))


@pytest.mark.parametrize("path", _case_files(), ids=lambda path: path.stem)
def test_case(path: Path) -> None:
    case: dict[str, Any] = tomllib.loads(path.read_text())
    source = InMemorySource.from_dict(case.get("index", {}))
    target = make_target(**case.get("target", {}))
    allow = case.get("allow_prereleases", False)
    if isinstance(allow, list):
        allowed = {canonical_name(name) for name in allow}
        allow = allowed.__contains__

    locked = {lock: requirements(*pins) for lock, pins in case.get("locked", {}).items()}

    def run() -> Resolution:
        return resolve(
            requirements(*case["requested"]),
            source,
            target,
            allow_prereleases=allow,
            locked=locked or None,
        )

    if "conflict" in case:
        with pytest.raises(ResolutionError) as raised:
            run()
        text = f"{raised.value} {raised.value.hint or ''}"
        for fragment in case["conflict"]:
            assert fragment in text, text
    else:
        resolution = run()
        assert versions(resolution) == case["expected"]
        if "skipped" in case:
            assert [r.name for r in resolution.skipped] == case["skipped"]
    if "asked" in case:
        assert sorted(set(source.files_asked)) == sorted(case["asked"])
    for pin in case.get("metadata_not_asked", []):
        name, _, version = pin.partition("==")
        assert (name, Version(version)) not in source.metadata_asked


def test_every_case_file_has_an_outcome() -> None:
    for path in _case_files():
        case = tomllib.loads(path.read_text())
        assert ("expected" in case) != ("conflict" in case), path.name
        assert case.get("description"), path.name


# -- the result's shape --------------------------------------------------------------------------

INDEX: dict[str, Any] = {
    "Django": {
        "4.2": {
            "requires": [
                "asgiref>=3.6",
                "tzdata; sys_platform == 'win32'",
                "argon2-cffi; extra == 'argon2'",
            ],
            "extras": ["argon2", "bcrypt"],
            "wheels": ["py3-none-any"],
            "sdist": True,
        },
        "5.0": {"requires_python": ">=3.12", "requires": ["asgiref>=3.7"]},
    },
    "asgiref": {
        "3.6": {},
        "3.7": {"yanked": True},
        "3.8": {"wheels": ["py3-none-any", "cp311-cp311-win_amd64"]},
    },
    "argon2-cffi": {"23.1": {"requires": ["argon2-cffi-bindings"]}},
    "argon2-cffi-bindings": {"21.2": {"sdist": True}},
    "tzdata": {"2024.1": {}},
}


def test_resolution_records_packages_edges_and_graph() -> None:
    source = InMemorySource.from_dict(INDEX)
    resolution = resolve(requirements("Django[argon2]>=4"), source, make_target())

    assert versions(resolution) == {
        "argon2-cffi": "23.1",
        "argon2-cffi-bindings": "21.2",
        "asgiref": "3.8",
        "django": "4.2",
    }
    django = resolution.packages[NormalizedName("django")]
    assert django.display_name == "Django"
    assert django.extras == frozenset({"argon2"})
    assert django.is_direct
    assert [f.filename for f in django.files] == [
        "django-4.2-py3-none-any.whl",
        "django-4.2.tar.gz",
    ]
    assert [(e.parent, e.requirement, e.marker) for e in django.required_by] == [
        (None, "Django[argon2]>=4", None)
    ]

    argon2 = resolution.packages[NormalizedName("argon2-cffi")]
    assert [(e.parent, e.requirement, e.marker) for e in argon2.required_by] == [
        ("django", "argon2-cffi; extra == 'argon2'", 'extra == "argon2"')
    ]
    # Every file of the chosen version, including other platforms' wheels, for the lock's hashes.
    asgiref = resolution.packages[NormalizedName("asgiref")]
    assert len(asgiref.files) == 2
    assert all(f.sha256 for f in asgiref.files)

    assert resolution.graph == {
        None: ("django",),
        "argon2-cffi": ("argon2-cffi-bindings",),
        "django": ("argon2-cffi", "asgiref"),
    }
    assert resolution.children(NormalizedName("django")) == ("argon2-cffi", "asgiref")
    assert resolution.roots(NormalizedName("argon2-cffi-bindings")) == {"django"}
    assert resolution.ancestors(NormalizedName("argon2-cffi-bindings")) == {
        None,
        "django",
        "argon2-cffi",
    }
    assert resolution.packages[NormalizedName("asgiref")].parents == ("django",)
    assert list(resolution.packages) == sorted(resolution.packages)
    assert resolution.skipped == ()
    assert resolution.warnings == ()


def test_roots_tell_which_direct_requirements_bring_a_package() -> None:
    source = InMemorySource.from_dict(
        {
            "app": {"1.0": {"requires": ["shared"]}},
            "tool": {"1.0": {"requires": ["shared", "app"]}},
            "shared": {"1.0": {}},
        }
    )
    resolution = resolve(requirements("app", "tool"), source, make_target())
    assert resolution.roots(NormalizedName("shared")) == {"app", "tool"}
    assert resolution.roots(NormalizedName("app")) == {"app", "tool"}
    shared = resolution.packages[NormalizedName("shared")]
    assert {e.parent for e in shared.required_by} == {"app", "tool"}


def test_a_direct_requirement_with_a_false_marker_is_skipped_and_returned() -> None:
    source = InMemorySource.from_dict({"a": {"1.0": {}}})
    resolution = resolve(
        requirements("a; sys_platform == 'linux'", "pywin32; sys_platform == 'win32'"),
        source,
        make_target(),
    )
    assert versions(resolution) == {"a": "1.0"}
    assert [str(r) for r in resolution.skipped] == ['pywin32; sys_platform == "win32"']
    assert source.files_asked == ["a"]
    edge = resolution.packages[NormalizedName("a")].required_by[0]
    assert edge.marker == 'sys_platform == "linux"'


def test_cycles_resolve() -> None:
    source = InMemorySource.from_dict(
        {"a": {"1.0": {"requires": ["b"]}}, "b": {"1.0": {"requires": ["a"]}}}
    )
    resolution = resolve(requirements("a"), source, make_target())
    assert versions(resolution) == {"a": "1.0", "b": "1.0"}
    assert resolution.graph == {None: ("a",), "a": ("b",), "b": ("a",)}
    assert resolution.roots(NormalizedName("b")) == {"a"}


# -- talking to the source -----------------------------------------------------------------------


def test_source_is_asked_once_per_name_and_version() -> None:
    source = InMemorySource.from_dict(
        {
            "a": {"1.0": {"requires": ["c<2"]}, "2.0": {"requires": ["c>=2"]}},
            "b": {"1.0": {"requires": ["c<2", "a"]}},
            "c": {"1.0": {}, "2.0": {}},
        }
    )
    resolve(requirements("a", "b"), source, make_target())
    assert sorted(source.files_asked) == ["a", "b", "c"]
    assert len(source.metadata_asked) == len(set(source.metadata_asked))


def test_prefetch_runs_ahead_of_metadata() -> None:
    source = InMemorySource.from_dict(
        {
            "a": {"1.0": {"requires": ["b", "c"]}},
            "b": {"1.0": {"requires": ["d"]}},
            "c": {"1.0": {}},
            "d": {"1.0": {}},
        }
    )
    resolve(requirements("a"), source, make_target())
    assert sorted(source.prefetched) == [(n, Version("1.0")) for n in "abcd"]
    for name in "abcd":
        calls: list[tuple[str, str]] = [(kind, n) for kind, n, _ in source.calls]
        assert calls.index(("prefetch", name)) < calls.index(("metadata", name))
    # b and c are both prefetched before either's metadata is read: that is the concurrency.
    kinds = [(kind, n) for kind, n, _ in source.calls if n in "bc" and kind != "files"]
    assert kinds[:2] == [("prefetch", "b"), ("prefetch", "c")]


def test_direct_requirements_are_prefetched_before_resolution() -> None:
    source = InMemorySource.from_dict({"a": {"1.0": {}}, "b": {"1.0": {}, "2.0": {}}})
    resolve(requirements("a", "b<2"), source, make_target())
    assert source.calls[:4] == [
        ("files", "a", None),
        ("prefetch", "a", Version("1.0")),
        ("files", "b", None),
        ("prefetch", "b", Version("1.0")),
    ]


def test_a_missing_direct_requirement_propagates_unchanged() -> None:
    source = InMemorySource.from_dict({"a": {"1.0": {}}})
    with pytest.raises(PackageNotFound) as raised:
        resolve(requirements("a", "missing"), source, make_target())
    assert str(raised.value) == "Package `missing` was not found on the in-memory index"


def test_a_missing_dependency_with_no_way_around_names_the_chain() -> None:
    source = InMemorySource.from_dict(
        {
            "app": {"1.0": {"requires": ["b>1"]}},
            "b": {"1.0": {}, "2.0": {"requires": ["missing"]}, "3.0": {"requires": ["missing"]}},
        }
    )
    with pytest.raises(PackageNotFound) as raised:
        resolve(requirements("app"), source, make_target())
    assert "`missing` was not found" in str(raised.value)
    assert "`app` 1.0 → `b` 3.0, 2.0 → `missing`" in str(raised.value)


def test_a_version_passed_over_for_a_missing_dependency_is_noted() -> None:
    source = InMemorySource.from_dict(
        {"a": {"1.0": {}, "2.0": {"requires": ["missing"]}}, "other": {"1.0": {"requires": ["a"]}}}
    )
    resolution = resolve(requirements("other"), source, make_target())
    assert versions(resolution) == {"a": "1.0", "other": "1.0"}
    assert any("`a` 2.0 was passed over for 1.0" in note for note in resolution.warnings)


def test_metadata_naming_another_project_is_an_integrity_error() -> None:
    source = InMemorySource.from_dict({"a": {"1.0": {}}})
    key = (NormalizedName("a"), Version("1.0"))
    source.metadata_by_version = {
        key: CoreMetadata(name=NormalizedName("b"), version=Version("1.0"))
    }
    with pytest.raises(IntegrityError, match=r"`a` 1\.0"):
        resolve(requirements("a"), source, make_target())


# -- errors --------------------------------------------------------------------------------------


def test_conflict_is_a_resolution_error_chained_to_resolvelib() -> None:
    source = InMemorySource.from_dict({"a": {"1.0": {"requires": ["b>=2"]}}, "b": {"1.0": {}}})
    with pytest.raises(ResolutionError) as raised:
        resolve(requirements("a"), source, make_target())
    assert isinstance(raised.value.__cause__, ResolutionImpossible)
    assert "`a` 1.0 depends on `b>=2`" in str(raised.value)
    assert "versions on the index: 1.0" in str(raised.value)


def test_conflict_hint_names_excluded_versions() -> None:
    source = InMemorySource.from_dict(
        {"a": {"1.0": {}, "2.0b1": {}, "3.0": {"wheels": ["cp311-cp311-win_amd64"]}}}
    )
    with pytest.raises(ResolutionError) as raised:
        resolve(requirements("a>=2"), source, make_target())
    hint = raised.value.hint or ""
    assert "`a` 3.0 has no wheel for this platform" in hint
    # 2.0b1 would be taken (only pre-releases match); it is 3.0 that cannot be installed.
    source = InMemorySource.from_dict({"a": {"1.0": {}, "2.0": {"requires_python": ">=3.13"}}})
    with pytest.raises(ResolutionError) as raised:
        resolve(requirements("a>=2"), source, make_target())
    assert "`a` 2.0 requires Python >=3.13 (target: 3.11.7)" in (raised.value.hint or "")


def test_too_many_rounds_is_a_resolution_error() -> None:
    source = InMemorySource.from_dict({name: {"1.0": {}} for name in "abcdef"})
    with pytest.raises(ResolutionError, match="rounds"):
        resolve(requirements(*"abcdef"), source, make_target(), max_rounds=2)


def test_direct_references_are_refused() -> None:
    source = InMemorySource.from_dict({})
    with pytest.raises(ValueError, match="direct reference"):
        resolve(requirements("a @ https://example.invalid/a-1.0.tar.gz"), source, make_target())


def test_bad_metadata_entries_become_warnings() -> None:
    source = InMemorySource.from_dict(
        {
            "a": {"1.0": {"requires": ["b", "not a requirement!!", "c @ https://x.invalid/c.whl"]}},
            "b": {"1.0": {}},
        }
    )
    resolution = resolve(requirements("a[nope]"), source, make_target())
    assert versions(resolution) == {"a": "1.0", "b": "1.0"}
    assert sorted(resolution.warnings) == [
        "`a` 1.0 does not provide the extra `nope`",
        "`a` 1.0: ignored direct reference 'c'",
        "`a` 1.0: ignored invalid requirement 'not a requirement!!'",
    ]


# -- options -------------------------------------------------------------------------------------


def test_allow_prereleases_takes_a_predicate() -> None:
    index: dict[str, Any] = {"a": {"1.0": {}, "2.0a1": {}}, "b": {"1.0": {}, "2.0a1": {}}}
    asked: list[str] = []

    def only_b(name: NormalizedName) -> bool:
        asked.append(name)
        return name == "b"

    resolution = resolve(
        requirements("a", "b"),
        InMemorySource.from_dict(index),
        make_target(),
        allow_prereleases=only_b,
    )
    assert versions(resolution) == {"a": "1.0", "b": "2.0a1"}
    assert set(asked) == {"a", "b"}


def test_a_pinned_prerelease_satisfies_a_later_range() -> None:
    source = InMemorySource.from_dict(
        {"a": {"2.0b1": {}, "1.0": {}}, "b": {"1.0": {"requires": ["a>=1"]}}}
    )
    resolution = resolve(requirements("a==2.0b1", "b"), source, make_target())
    assert versions(resolution) == {"a": "2.0b1", "b": "1.0"}


def test_best_wheel_comes_first_for_metadata() -> None:
    seen: list[list[str]] = []

    class Recording(InMemorySource):
        def metadata(self, name: NormalizedName, version: Version, files: Any) -> CoreMetadata:
            seen.append([f.filename for f in files])
            return super().metadata(name, version, files)

    base = InMemorySource.from_dict(
        {
            "a": {
                "1.0": {
                    "sdist": True,
                    "wheels": [
                        "cp311-cp311-win_amd64",
                        "py3-none-any",
                        "cp311-cp311-manylinux_2_17_x86_64",
                    ],
                }
            }
        }
    )
    source = Recording(projects=base.projects, metadata_by_version=base.metadata_by_version)
    resolve(requirements("a"), source, make_target())
    assert seen == [
        [
            "a-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "a-1.0-py3-none-any.whl",
            "a-1.0.tar.gz",
        ]
    ]


def test_reporter_sees_pins() -> None:
    pinned: list[str] = []

    class Reporter(BaseReporter[Dependency, Candidate, str]):
        def pinning(self, candidate: Candidate) -> None:
            pinned.append(candidate.identifier)

    source = InMemorySource.from_dict({"a": {"1.0": {"requires": ["b"]}}, "b": {"1.0": {}}})
    resolve(requirements("a"), source, make_target(), reporter=Reporter())
    assert pinned == ["a", "b"]


def test_preference_order() -> None:
    counts = {"pinned-many": 40, "few": 2, "many-direct": 30, "many-deep": 30}
    source = InMemorySource.from_dict(
        {name: {f"{i}.0": {} for i in range(count)} for name, count in counts.items()}
    )
    provider = PipfenceProvider(source, make_target(), lambda _name: False)

    def dependency(name: str, specifier: str = "") -> Dependency:
        return Dependency(name=NormalizedName(name), specifier=SpecifierSet(specifier))

    parent = Candidate(name=NormalizedName("root"), version=Version("1.0"))
    open_: dict[str, tuple[Dependency, Candidate | None]] = {
        "pinned-many": (dependency("pinned-many", "==1.0"), None),
        "few": (dependency("few"), parent),
        "many-direct": (dependency("many-direct"), None),
        "many-deep": (dependency("many-deep"), parent),
        PYTHON: (dependency(PYTHON, ">=3"), parent),
    }

    def key(identifier: str) -> Any:
        requirement, requirer = open_[identifier]
        return provider.get_preference(
            identifier,
            {},
            {},
            {identifier: iter([RequirementInformation(requirement, requirer)])},
            [],
        )

    assert sorted(open_, key=key) == [PYTHON, "pinned-many", "few", "many-direct", "many-deep"]


def test_a_wide_index_resolves_without_repeated_work() -> None:
    # 200 projects with 30 versions, each depending on the next five: no backtracking.
    count, per = 200, 30
    index = {
        f"p{i}": {
            f"{v}.0": {"requires": [f"p{j}>={v // 2}" for j in range(i + 1, min(i + 6, count))]}
            for v in range(1, per + 1)
        }
        for i in range(count)
    }
    source = InMemorySource.from_dict(index)
    resolution = resolve(requirements("p0"), source, make_target())
    # Work, not time: each project's files asked once, one metadata read per project.
    assert sorted(source.files_asked) == sorted(index)
    assert len(source.metadata_asked) == count
    assert len(resolution.packages) == count
    assert all(p.version == Version(f"{per}.0") for p in resolution.packages.values())


# -- property: the resolver finds an answer exactly when one exists -------------------------------

_NAMES = ("a", "b", "c", "d")
_VERSIONS = ("1", "2", "3")


@st.composite
def _indexes(draw: st.DrawFn) -> dict[str, dict[str, dict[str, list[str]]]]:
    index: dict[str, dict[str, dict[str, list[str]]]] = {}
    for name in _NAMES:
        chosen = draw(st.lists(st.sampled_from(_VERSIONS), min_size=1, max_size=3, unique=True))
        index[name] = {}
        for version in chosen:
            deps = draw(
                st.lists(st.sampled_from([n for n in _NAMES if n != name]), max_size=2, unique=True)
            )
            index[name][version] = {
                "requires": [
                    f"{dep}{draw(st.sampled_from(['', '>=2', '<2', '==3', '!=1']))}" for dep in deps
                ]
            }
    return index


def _brute_force(
    index: dict[str, dict[str, dict[str, list[str]]]], roots: list[Requirement]
) -> bool:
    options = [[None, *index[name]] for name in _NAMES]
    for choice in itertools.product(*options):
        chosen = dict(zip(_NAMES, choice, strict=True))

        def ok(requirement: Requirement, chosen: dict[str, str | None] = chosen) -> bool:
            version = chosen[requirement.name]
            return version is not None and requirement.specifier.contains(version)

        if not all(ok(r) for r in roots):
            continue
        if all(
            ok(Requirement(dep))
            for name, version in chosen.items()
            if version is not None
            for dep in index[name][version]["requires"]
        ):
            return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=_indexes(), root=st.sampled_from(_NAMES), spec=st.sampled_from(["", ">=2", "<3"]))
def test_resolution_is_sound_and_complete(
    index: dict[str, dict[str, dict[str, list[str]]]], root: str, spec: str
) -> None:
    roots = requirements(f"{root}{spec}")
    try:
        resolution = resolve(roots, InMemorySource.from_dict(index), make_target())
    except ResolutionError:
        assert not _brute_force(index, roots)
        return
    chosen = versions(resolution)
    assert Requirement(f"{root}{spec}").specifier.contains(chosen[root])
    for name, version in chosen.items():
        for dep in index[name][version]["requires"]:
            requirement = Requirement(dep)
            assert requirement.specifier.contains(chosen[requirement.name])


def test_a_pin_whose_requirements_were_dropped_is_not_returned() -> None:
    # d 3 needs c<2; c 1 needs d<2, which rules d 3 out, so resolvelib drops d 3's
    # requirements; b 3 then moves c to 3 and d 3 fits again, its c<2 forgotten. The answer
    # must still meet every requirement of every pin: here d 2 alone.
    index: dict[str, dict[str, dict[str, list[str]]]] = {
        "a": {"1": {"requires": []}},
        "b": {"3": {"requires": ["c>=2", "a"]}, "1": {"requires": []}},
        "c": {"1": {"requires": ["b==3", "d<2"]}, "2": {"requires": []}, "3": {"requires": []}},
        "d": {"3": {"requires": ["c<2"]}, "1": {"requires": []}, "2": {"requires": []}},
    }
    resolution = resolve(requirements("d"), InMemorySource.from_dict(index), make_target())
    assert versions(resolution) == {"d": "2"}
