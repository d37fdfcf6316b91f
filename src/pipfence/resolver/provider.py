"""The resolvelib provider: Python packaging rules over a `PackageSource`.

resolvelib knows nothing of packaging; this module teaches it PEP 440 versions and specifiers,
PEP 508 markers and extras, PEP 425 wheel tags, PEP 592 yanking and ``Requires-Python``.
Identifiers are those of `pipfence.resolver.candidates`. A candidate with extras
depends on the plain project at exactly its own version, so every extras combination of a
project resolves to one version (resolvelib's documented extras recipe, as pip does it).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version
from resolvelib import AbstractProvider

from pipfence.errors import IntegrityError, PackageNotFound
from pipfence.models.files import (
    CoreMetadata,
    newest_first,
    version_of,
)
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.resolver.candidates import (
    PYTHON,
    Candidate,
    Dependency,
    Release,
    pinned,
    python_specifier,
    requires_dist,
    split_identifier,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence

    from resolvelib.structs import RequirementInformation

    from pipfence.models.target import Target
    from pipfence.resolver.source import PackageSource

__all__ = ["PipfenceProvider"]

# Counting candidates for the preference stops here: beyond it "few" no longer matters, and
# counting all versions of every open identifier in every round would cost O(n·versions).
_COUNT_CAP = 5


class PipfenceProvider(AbstractProvider[Dependency, Candidate, str]):
    """Answers resolvelib's questions from a `PackageSource`, for one `Target`.

    Costs: ``source.releases`` once per project, ``source.metadata`` once per pinned version
    (both cached here); ``get_preference`` is O(requirements of the identifier) plus a
    candidate count capped at a constant. Ignored metadata entries are collected in
    ``warnings``.
    """

    def __init__(
        self,
        source: PackageSource,
        target: Target,
        allow_prereleases: Callable[[NormalizedName], bool],
        preferred: Mapping[NormalizedName, Version] | None = None,
    ) -> None:
        self._source = source
        self._preferred = dict(preferred or {})
        self._target = target
        self._allow_prereleases = allow_prereleases
        self._releases: dict[NormalizedName, dict[Version, Release]] = {}
        self._metadata: dict[tuple[NormalizedName, Version], CoreMetadata] = {}
        self._prefetched: set[tuple[NormalizedName, Version]] = set()
        self._depths: dict[str, int] = {}
        self._identifiers: dict[NormalizedName, set[str]] = {}  # a project's extras variants
        # resolvelib re-checks every pin against every requirement each round; the answers
        # never change, and specifier matching dominates the profile without this memo.
        self._contained: dict[tuple[str, Version], bool] = {}
        self._counts: dict[tuple[NormalizedName, frozenset[str]], int] = {}
        self._satisfied: dict[tuple[int, int], tuple[Dependency, Candidate, bool]] = {}
        self._preferences: dict[int, tuple[object, bool, int]] = {}
        self._warnings: dict[str, None] = {}  # an ordered set: backtracking repeats questions
        #: Names no index has, with the source's error: a version depending on one is passed
        #: over (resolvelib backtracks), as pip does; `resolve` reports a dead end.
        self.missing: dict[NormalizedName, PackageNotFound] = {}
        #: name → the candidates whose dependencies named it, first seen first (for chains).
        self._required_by: dict[NormalizedName, dict[Candidate, None]] = {}
        self._dependencies: dict[Candidate, list[Dependency]] = {}

    @property
    def warnings(self) -> list[str]:
        """Metadata entries that were ignored, one sentence each, first seen first."""
        return list(self._warnings)

    def _warn(self, message: str) -> None:
        self._warnings.setdefault(message, None)

    # -- resolvelib's questions --------------------------------------------------------------

    def identify(self, requirement_or_candidate: Dependency | Candidate) -> str:
        identifier = requirement_or_candidate.identifier
        self._identifiers.setdefault(requirement_or_candidate.name, set()).add(identifier)
        return identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Dependency, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Dependency, Candidate]],
    ) -> tuple[bool, bool, int, int, str]:
        """Target Python first, then exact pins, then fewest candidates, then shallowest."""
        del resolutions, candidates, backtrack_causes  # narrowed on in narrow_requirement_selection
        return self.preference_of(identifier, list(information[identifier]), keep=False)

    def preference_of(
        self,
        identifier: str,
        infos: Collection[RequirementInformation[Dependency, Candidate]],
        *,
        keep: bool = True,
    ) -> tuple[bool, bool, int, int, str]:
        """`get_preference` for the requirements ``infos`` on ``identifier``. Whether one
        pins and how many versions they admit depend on ``infos`` alone, and are kept for
        that list object with ``keep`` (resolvelib makes a new one when a project's
        requirements change); the depth is worked out afresh, as the parents' depths may have
        changed."""
        key = id(infos)
        known = self._preferences.get(key)
        if known is None or known[0] is not infos:
            pinned = any(info.requirement.pins for info in infos)
            count = self._count_matching(identifier, [info.requirement for info in infos])
            known = (infos, pinned, count)
            if keep:
                self._preferences[key] = known
        depth = self._depth(identifier, infos)
        return (identifier != PYTHON, not known[1], known[2], depth, identifier)

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Dependency, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Dependency, Candidate]],
    ) -> Iterable[str]:
        """The target Python alone when open; else the identifiers that caused the last
        backtrack when any are open (pip does the same: work on the conflict first)."""
        del resolutions, candidates, information
        identifiers = list(identifiers)
        if PYTHON in identifiers:
            return [PYTHON]
        if backtrack_causes:
            causes = {cause.requirement.identifier for cause in backtrack_causes}
            causes |= {c.parent.identifier for c in backtrack_causes if c.parent is not None}
            selected = [identifier for identifier in identifiers if identifier in causes]
            if selected:
                return selected
        return identifiers

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Dependency]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate] | Callable[[], Iterator[Candidate]]:
        """Versions meeting every requirement on ``identifier``, newest first.

        A version is offered when it has a file that is installable on the target: a wheel
        with a supported tag or an sdist, whose ``Requires-Python`` admits the target, and
        that is not yanked — unless a requirement pins that very version with ``==``/``===``
        (PEP 592). Pre-releases are offered when allowed for the project, when a requirement
        names a pre-release (``>=2.0b1``), or when no final release would match (pip's rule).
        For the yanked and pre-release rules, requirements on the same project with other
        extras count too: ``a==2.0`` lets ``a[x]`` take a yanked 2.0.
        """
        requirements_here = list(requirements[identifier])
        rejected = {candidate.version for candidate in incompatibilities[identifier]}
        name, extras = split_identifier(identifier)
        if name == PYTHON:
            python = self.python_candidate()
            ok = all(self.is_satisfied_by(r, python) for r in requirements_here)
            return [python] if ok and python.version not in rejected else []
        related = [
            requirement
            for other in sorted(self._identifiers.get(name, ()))
            if other != identifier and other in requirements
            for requirement in requirements[other]
        ]

        preferred = self._preferred.get(name)

        def matches() -> Iterator[Candidate]:
            # A factory, so resolvelib walks versions newest first and stops early: only the
            # versions it looks at have their files checked for this target.
            for candidate in self._matching(name, extras, requirements_here, related):
                if candidate.version not in rejected:
                    yield candidate

        def preferred_first() -> Iterator[Candidate]:
            # The version a lock already holds comes first while it still fits, so an edit
            # moves nothing it does not have to; then the others, newest first.
            found = [c for c in matches() if c.version == preferred]
            yield from found
            yield from (c for c in matches() if c.version != preferred)

        return matches if preferred is None else preferred_first

    def is_satisfied_by(self, requirement: Dependency, candidate: Candidate) -> bool:
        # Pre-release policy is applied in find_matches only; a pinned pre-release satisfies
        # a later requirement whose range contains it, as in pip.
        if not requirement.specifier_text:
            return True
        # resolvelib re-checks every pin against every requirement on every round (about
        # 180k calls for 300 packages) with the same objects: answer by identity, keeping
        # both objects referenced so that their ids stay theirs.
        key = (id(requirement), id(candidate))
        known = self._satisfied.get(key)
        if known is None:
            known = (requirement, candidate, self._contains(requirement, candidate.version))
            self._satisfied[key] = known
        return known[2]

    def get_dependencies(self, candidate: Candidate) -> list[Dependency]:
        """The candidate's requirements for the target, and prefetch hints for them.

        ``Requires-Dist`` entries whose marker is false for the target (with the candidate's
        extras) are dropped before anyone asks the source about them. An extras candidate
        depends on its own project at its version plus the entries its extras add. A version
        whose metadata ``Requires-Python`` excludes the target depends on an unsatisfiable
        `PYTHON` requirement, which makes resolvelib reject it and backtrack.
        """
        if candidate.name == PYTHON:
            return []
        dependencies: list[Dependency] = []
        if candidate.extras:
            dependencies.append(
                Dependency(
                    name=candidate.name,
                    specifier=SpecifierSet(f"=={candidate.version}"),
                    text=f"{candidate.name}=={candidate.version}",
                    display_name=candidate.name,
                    synthetic=True,
                )
            )
        metadata = self.metadata(candidate)
        if not self._target.allows_python(metadata.requires_python):
            specifier = python_specifier(metadata.requires_python)
            dependencies = [
                Dependency(
                    name=PYTHON,
                    specifier=specifier,
                    text=f"Python{specifier}",
                    display_name="Python",
                )
            ]
            self._dependencies[candidate] = dependencies
            return dependencies
        dependencies += requires_dist(candidate, metadata, self._target, self._warn)
        for dependency in dependencies:
            if not dependency.synthetic:
                self._required_by.setdefault(dependency.name, {}).setdefault(candidate, None)
        self._dependencies[candidate] = dependencies
        self._prefetch(dependencies)
        return dependencies

    def dependencies_of(self, candidate: Candidate) -> list[Dependency] | None:
        """What `get_dependencies` answered for ``candidate``; None when it was not asked."""
        return self._dependencies.get(candidate)

    # -- used by resolve() -------------------------------------------------------------------

    def python_candidate(self) -> Candidate:
        """The target Python as a candidate of `PYTHON`."""
        return Candidate(name=PYTHON, version=self._target.python_version)

    def best_candidate(self, dependency: Dependency) -> Candidate | None:
        """The newest candidate ``dependency`` alone would accept; asks the source for files."""
        if dependency.name == PYTHON:
            return None
        preferred = self._preferred.get(dependency.name)
        candidates = self._matching(dependency.name, dependency.extras, [dependency])
        if preferred is not None:
            found = [c for c in candidates if c.version == preferred]
            if found:
                return found[0]
            candidates = self._matching(dependency.name, dependency.extras, [dependency])
        return next(candidates, None)

    def prefetch(self, candidate: Candidate) -> None:
        """Tell the source that ``candidate``'s metadata will be wanted (once per version)."""
        key = (candidate.name, candidate.version)
        if candidate.name == PYTHON or key in self._prefetched or key in self._metadata:
            return
        self._prefetched.add(key)
        self._source.prefetch(candidate.name, candidate.version, candidate.files)

    def metadata(self, candidate: Candidate) -> CoreMetadata:
        """Core metadata of the candidate's version, fetched once. Raises `IntegrityError`
        when it names another project or version than the file it came from."""
        key = (candidate.name, candidate.version)
        cached = self._metadata.get(key)
        if cached is not None:
            return cached
        metadata = self._source.metadata(candidate.name, candidate.version, candidate.files)
        if canonical_name(metadata.name) != candidate.name or metadata.version != candidate.version:
            msg = (
                f"Metadata of `{candidate.name}` {candidate.version} describes "
                f"`{metadata.name}` {metadata.version}"
            )
            raise IntegrityError(msg)
        self._metadata[key] = metadata
        return metadata

    def explain(self, requirements: Sequence[Dependency]) -> list[str]:
        """Why versions meeting all of ``requirements`` (on one project) were not offered, one
        line each, for error hints. Uses only files already fetched."""
        if not requirements or requirements[0].name == PYTHON:
            return []
        name = requirements[0].name
        releases = self._releases.get(name, {})
        pins = {pin for requirement in requirements for pin in requirement.pins}
        allow_pre = self._allow_prereleases(name) or any(
            r.specifier.prereleases for r in requirements
        )
        reasons: list[str] = []
        for version, release in releases.items():
            if not all(r.specifier.contains(version, prereleases=True) for r in requirements):
                continue
            why = release.unusable_reason(version, allow_pre=allow_pre, pins=pins)
            if why:
                reasons.append(f"`{name}` {version} {why}")
        shown = reasons[:5]
        if len(reasons) > len(shown):
            shown.append(f"… and {len(reasons) - len(shown)} more")
        return shown

    def required_by(self, name: NormalizedName) -> list[Candidate]:
        """The candidates whose dependencies named ``name``, in the order they were read."""
        return list(self._required_by.get(name, ()))

    def available_versions(self, name: NormalizedName) -> list[Version]:
        """Every version of ``name`` the source listed (fetched already), newest first."""
        return list(self._releases.get(name, {}))

    # -- internals ---------------------------------------------------------------------------

    def _matching(
        self,
        name: NormalizedName,
        extras: frozenset[str],
        requirements: list[Dependency],
        related: Sequence[Dependency] = (),
    ) -> Iterator[Candidate]:
        """Candidates meeting ``requirements``, newest first, computed as they are consumed;
        ``related`` (same project, other extras) only widen the yanked and pre-release rules."""
        releases = self._releases_of(name)
        pins = {pin for requirement in (*requirements, *related) for pin in requirement.pins}
        allow_pre = self._allow_prereleases(name) or any(
            r.specifier.prereleases for r in (*requirements, *related)
        )

        def candidates(finals_only: bool) -> Iterator[Candidate]:
            for version, release in releases.items():
                if finals_only and version.is_prerelease:
                    continue
                if not all(self._contains(r, version) for r in requirements):
                    continue
                files = release.usable(allow_yanked=pinned(version, pins))
                if files:
                    yield Candidate(
                        name=name,
                        version=version,
                        extras=extras,
                        files=files,
                        all_files=release.all_files,
                    )

        if allow_pre:
            return candidates(finals_only=False)
        finals = candidates(finals_only=True)
        first = next(finals, None)
        if first is not None:
            return itertools.chain([first], finals)
        # Only pre-releases match: take them rather than fail, as pip and packaging do.
        return candidates(finals_only=False)

    def _count_matching(self, identifier: str, requirements: list[Dependency]) -> int:
        """How many versions the requirements admit, up to `_COUNT_CAP`: the version numbers
        only, so counting never makes any version's files (a candidate's files are looked
        at when it is tried)."""
        name, _extras = split_identifier(identifier)
        if name == PYTHON:
            return 1
        # resolvelib asks for every open identifier on every round: the answer depends only
        # on the project and the set of specifiers, so it is kept.
        key = (name, frozenset(r.specifier_text for r in requirements))
        count = self._counts.get(key)
        if count is None:
            count = 0
            for version in self._releases_of(name):
                if all(self._contains(r, version) for r in requirements):
                    count += 1
                    if count >= _COUNT_CAP:
                        break
            self._counts[key] = count
        return count

    def _releases_of(self, name: NormalizedName) -> dict[Version, Release]:
        cached = self._releases.get(name)
        if cached is not None:
            return cached
        try:
            groups = self._source.releases(name)
        except PackageNotFound as exc:
            # No candidates: whoever depends on it is passed over, not the whole resolution.
            self.missing[name] = exc
            groups = {}
        # Keys are version texts; two may spell one version (`1.0`, `1.00`).
        grouped: dict[Version, list[str]] = {}
        for text in groups:
            version = version_of(text)
            if version is not None:
                spellings = grouped.get(version)
                if spellings is None:
                    grouped[version] = [text]
                else:
                    spellings.append(text)
        target = self._target
        releases = {
            version: Release(groups, grouped[version], target) for version in newest_first(grouped)
        }
        self._releases[name] = releases
        return releases

    def _contains(self, requirement: Dependency, version: Version) -> bool:
        key = (requirement.specifier_text, version)
        answer = self._contained.get(key)
        if answer is None:
            answer = requirement.specifier.contains(version, prereleases=True)
            self._contained[key] = answer
        return answer

    def _prefetch(self, dependencies: list[Dependency]) -> None:
        for dependency in dependencies:
            if dependency.synthetic:
                continue
            best = self.best_candidate(dependency)
            if best is not None:
                self.prefetch(best)

    def _depth(
        self, identifier: str, infos: Iterable[RequirementInformation[Dependency, Candidate]]
    ) -> int:
        """The shortest way from a direct requirement: 1 when one of ``infos`` has no
        parent, else one more than the shallowest parent's (1 for none)."""
        # Asked for every open project on every round (25,000 times for 300 projects): a
        # plain loop that stops at a direct requirement.
        depths = self._depths
        depth = 0
        for info in infos:
            parent = info.parent
            if parent is None:
                depth = 1
                break
            below = depths.get(parent.identifier, 1) + 1
            if not depth or below < depth:
                depth = below
        depth = depth or 1
        depths[identifier] = depth
        return depth
