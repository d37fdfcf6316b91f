"""`resolve()`: direct requirements in, one pinned version per project out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep
from resolvelib.resolvers import Resolution as Run

from pipfence.errors import PackageNotFound, ResolutionError
from pipfence.resolver.candidates import PYTHON, Candidate, Dependency
from pipfence.resolver.provider import PipfenceProvider
from pipfence.resolver.resolution import Edge, Resolution, ResolvedPackage

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

    from packaging.requirements import Requirement
    from packaging.version import Version
    from resolvelib.resolvers import Criterion
    from resolvelib.structs import RequirementInformation

    from pipfence.models.names import NormalizedName
    from pipfence.models.target import Target
    from pipfence.resolver.source import PackageSource

__all__ = ["MAX_ROUNDS", "resolve"]

MAX_ROUNDS = 20_000
"""resolvelib rounds before giving up; each round pins or backtracks one project."""

_SHOWN_VERSIONS = 10  # versions listed when nothing matches
_CHAIN_STEPS = 12  # projects shown on the way from a direct requirement to a missing one

Reporter = BaseReporter[Dependency, Candidate, str]


def resolve(
    requirements: Iterable[Requirement],
    source: PackageSource,
    target: Target,
    *,
    allow_prereleases: bool | Callable[[NormalizedName], bool] = False,
    reporter: Reporter | None = None,
    max_rounds: int = MAX_ROUNDS,
    preferred: Mapping[NormalizedName, Version] | None = None,
    locked: Mapping[str, Sequence[Requirement]] | None = None,
) -> Resolution:
    """Pin one version of every project the requirements need on ``target``.

    ``requirements`` are the direct requirements (PEP 508, with extras and markers, no URLs:
    a direct reference raises `ValueError`, the caller resolves those itself). One whose
    marker is false for the target is not resolved and comes back in `Resolution.skipped`.
    ``allow_prereleases`` is a flag for every project or a predicate per project name
    (pre-releases are otherwise offered only as `PipfenceProvider.find_matches` explains).
    ``reporter`` receives resolvelib's progress hooks. ``preferred`` holds versions to keep
    while they still fit (those of an existing lock, for an edit that should move nothing else):
    each is tried before the newest. ``locked`` holds more direct requirements, by the lock
    whose versions they pin (``{"[packages]": [six==1.17.0, …]}``): a conflict names them
    as that lock's, not as the user's.

    The source is asked for files only of projects some requirement needs on this target,
    and metadata is prefetched — for the direct requirements' newest matches first, then for
    the dependencies of each pinned candidate.

    Raises `pipfence.errors.ResolutionError` when no set of versions satisfies everything
    (its message names the conflicting requirements and who required them) or when
    ``max_rounds`` are used up; the source's `IndexServerError` propagates unchanged, for the
    caller to add which index the name was fenced to. A dependency the source does not have
    (`PackageNotFound`) only passes over the versions that need it, as pip does; when nothing
    resolves without it, that `PackageNotFound` is raised — unchanged for a direct requirement,
    with the chain of requirements that leads to it otherwise.
    """
    predicate = (
        allow_prereleases if callable(allow_prereleases) else _constant(bool(allow_prereleases))
    )
    provider = PipfenceProvider(source, target, predicate, preferred)
    direct: list[Dependency] = []
    skipped: list[Requirement] = []
    given: list[tuple[Requirement, str | None]] = [(r, None) for r in requirements]
    given += [(r, lock) for lock, pins in (locked or {}).items() for r in pins]
    for requirement, locked_by in given:
        if requirement.url:
            msg = f"`{requirement.name}` is a direct reference; resolve() takes index names only"
            raise ValueError(msg)
        if requirement.marker is not None and not target.evaluate(requirement.marker):
            skipped.append(requirement)
            continue
        direct.append(Dependency.from_requirement(requirement, locked_by=locked_by))

    for dependency in direct:
        best = provider.best_candidate(dependency)
        if best is not None:
            provider.prefetch(best)

    # resolvelib's own Resolver.resolve() ends with a recursive walk that never returns when
    # backtracking leaves a cycle of stale criteria cut off from the root; run the algorithm
    # (the exported `Resolution`) and walk the final state here instead.
    try:
        state = _Run(provider, reporter or Reporter()).resolve(direct, max_rounds=max_rounds)
        if _unmet(state.mapping, state.criteria, provider):
            # resolvelib drops what a pin required once a new requirement rules the pin out,
            # and does not add it back when the pin fits again later: the pins it returns
            # can then break a requirement of one of them. Resolve again keeping every pin's
            # requirements; that never returns such pins.
            state = _Run(provider, reporter or Reporter(), keep_information=True).resolve(
                direct, max_rounds=max_rounds
            )
            unmet = _unmet(state.mapping, state.criteria, provider)
            if unmet:  # pragma: no cover - resolvelib keeps every requirement here
                raise ResolutionError(f"The resolver chose versions that conflict: {unmet[0]}")
    except ResolutionImpossible as exc:
        _raise_missing(exc.causes, provider)
        message, hint = _conflict_message(exc.causes, provider, target)
        raise ResolutionError(message, hint=hint) from exc
    except ResolutionTooDeep as exc:
        msg = f"Resolution gave up after {max_rounds} rounds of backtracking"
        hint = "narrow the version ranges of the packages that conflict"
        raise ResolutionError(msg, hint=hint) from exc
    notes = [*provider.warnings, *_passed_over(state.mapping, provider)]
    return _build(state.mapping, state.criteria, tuple(skipped), tuple(notes))


class _Run(Run[Dependency, Candidate, str]):
    """resolvelib's algorithm, unchanged, with two of its questions answered from memory.

    Every round, resolvelib re-checks each pin against every requirement on its project and
    asks the preference of every open project: for 300 projects, over 100k checks that give
    the answers of the round before. resolvelib replaces a criterion (a project's requirements)
    when it changes, and a pin when it changes, so an answer is kept for the pair of objects
    it was given for (both kept referenced, so that their ids stay theirs)."""

    def __init__(
        self, provider: PipfenceProvider, reporter: Reporter, *, keep_information: bool = False
    ) -> None:
        super().__init__(provider, reporter)
        self._provider = provider
        self._pins_ok: dict[tuple[int, int], tuple[object, object, bool]] = {}
        self._keep_information = keep_information

    def _remove_information_from_criteria(
        self, criteria: dict[str, Criterion[Dependency, Candidate]], parents: Collection[str]
    ) -> None:
        # With ``keep_information`` the requirements of a pin a new requirement ruled out
        # stay (resolvelib before 0.9 did so): the answer is then always consistent, at the
        # cost of a rare dead end resolvelib's pruning would have got through.
        if not self._keep_information:
            super()._remove_information_from_criteria(criteria, parents)

    def _is_current_pin_satisfying(
        self, name: str, criterion: Criterion[Dependency, Candidate]
    ) -> bool:
        pin = self.state.mapping.get(name)
        if pin is None:
            return False
        key = (id(criterion), id(pin))
        known = self._pins_ok.get(key)
        if known is None:
            ok = all(
                self._provider.is_satisfied_by(requirement, pin)
                for requirement in criterion.iter_requirement()
            )
            known = (criterion, pin, ok)
            self._pins_ok[key] = known
        return known[2]

    def _get_preference(self, name: str) -> tuple[bool, bool, int, int, str]:
        return self._provider.preference_of(name, self.state.criteria[name].information)


def _unmet(
    pins: Mapping[str, Candidate],
    criteria: Mapping[str, Criterion[Dependency, Candidate]],
    provider: PipfenceProvider,
) -> list[str]:
    """The requirements of the answer's candidates (the pins reachable from the direct
    requirements) that the pins break or leave unpinned, as ``parent version -> requirement``
    lines. A pin left over from an abandoned branch is not part of the answer."""
    unmet: list[str] = []
    for candidate in _reachable(pins, criteria).values():
        for dependency in provider.dependencies_of(candidate) or ():
            pin = pins.get(dependency.identifier)
            if pin is None or not provider.is_satisfied_by(dependency, pin):
                unmet.append(f"{candidate.name} {candidate.version} -> {dependency.text}")
    return unmet


def _constant(value: bool) -> Callable[[NormalizedName], bool]:
    def predicate(_name: NormalizedName) -> bool:
        return value

    return predicate


def _reachable(
    pins: Mapping[str, Candidate],
    criteria: Mapping[str, Criterion[Dependency, Candidate]],
) -> dict[str, Candidate]:
    """The pins reachable from the direct requirements through requirements of pins."""
    children: dict[str | None, list[str]] = {}
    for identifier, criterion in criteria.items():
        for info in criterion.information:
            parent = info.parent
            if parent is None:
                children.setdefault(None, []).append(identifier)
            elif pins.get(parent.identifier) == parent:
                children.setdefault(parent.identifier, []).append(identifier)
    seen: set[str] = set()
    stack = list(children.get(None, ()))
    while stack:
        identifier = stack.pop()
        if identifier in seen or identifier not in pins:
            continue
        seen.add(identifier)
        stack.extend(children.get(identifier, ()))
    return {identifier: pins[identifier] for identifier in pins if identifier in seen}


def _build(
    pins: Mapping[str, Candidate],
    criteria: Mapping[str, Criterion[Dependency, Candidate]],
    skipped: tuple[Requirement, ...],
    warnings: tuple[str, ...],
) -> Resolution:
    """Turn resolvelib's identifiers (with extras, with the Python pseudo-project) into one
    entry per project."""
    mapping = _reachable(pins, criteria)
    edges: dict[NormalizedName, dict[tuple[NormalizedName | None, str], Edge]] = {}
    names: dict[NormalizedName, str] = {}
    extras: dict[NormalizedName, set[str]] = {}
    for identifier, candidate in mapping.items():
        if candidate.name == PYTHON:
            continue
        extras.setdefault(candidate.name, set()).update(candidate.extras)
        infos = sorted(
            criteria[identifier].information,
            key=lambda info: info.parent is not None,  # direct requirements first
        )
        for info in infos:
            requirement, parent = info.requirement, info.parent
            if requirement.synthetic:
                continue
            if parent is not None and mapping.get(parent.identifier) != parent:
                continue  # left over from an abandoned branch; not in the answer
            parent_name = parent.name if parent is not None else None
            edge = Edge(parent=parent_name, requirement=requirement.text, marker=requirement.marker)
            edges.setdefault(candidate.name, {}).setdefault((parent_name, edge.requirement), edge)
            names.setdefault(candidate.name, requirement.display_name)

    packages: dict[NormalizedName, ResolvedPackage] = {}
    graph: dict[NormalizedName | None, set[NormalizedName]] = {}
    for name in sorted(extras):
        candidate = mapping[name]
        required_by = tuple(edges.get(name, {}).values())
        packages[name] = ResolvedPackage(
            name=name,
            display_name=names.get(name, name),
            version=candidate.version,
            files=candidate.all_files,
            extras=frozenset(extras[name]),
            required_by=required_by,
        )
        for edge in required_by:
            if edge.parent != name:
                graph.setdefault(edge.parent, set()).add(name)
    ordered_graph = {
        parent: tuple(sorted(children))
        for parent, children in sorted(graph.items(), key=lambda item: item[0] or "")
    }
    return Resolution(packages=packages, graph=ordered_graph, skipped=skipped, warnings=warnings)


def _raise_missing(
    causes: Iterable[RequirementInformation[Dependency, Candidate]], provider: PipfenceProvider
) -> None:
    """Raise the source's `PackageNotFound` when the dead end is a project it does not have."""
    for cause in causes:
        error = provider.missing.get(cause.requirement.name)
        if error is None:
            continue
        if cause.parent is None:
            raise error
        chain = _chain(cause.requirement.name, provider)
        raise PackageNotFound(
            f"{error} (needed through {chain}; no other versions avoid it)",
            source=error.source,
            status=error.status,
            hint=error.hint,
        ) from error


def _passed_over(pins: Mapping[str, Candidate], provider: PipfenceProvider) -> list[str]:
    """A note for each pinned project whose newer versions were passed over because they
    depend on a project the source does not have."""
    notes: list[str] = []
    for name, error in provider.missing.items():
        for parent in provider.required_by(name):
            pinned = pins.get(parent.identifier)
            if pinned is not None and parent.version > pinned.version:
                notes.append(
                    f"`{parent.name}` {parent.version} was passed over for {pinned.version}: "
                    f"it depends on `{name}` ({error})"
                )
    return notes


def _chain(name: NormalizedName, provider: PipfenceProvider) -> str:
    """``"`a` 1.0 → `b` 3.0, 2.0 → `c`"``: from a direct requirement to ``name``, each step
    the first project found to require the next, with the versions of it that did."""
    steps = [f"`{name}`"]
    seen = {name}
    current = name
    while len(steps) < _CHAIN_STEPS:
        parents = provider.required_by(current)
        if not parents:
            break
        project = parents[0].name
        if project in seen:
            break
        seen.add(project)
        versions = dict.fromkeys(str(p.version) for p in parents if p.name == project)
        steps.append(f"`{project}` {', '.join(versions)}")
        current = project
    return " → ".join(reversed(steps))


def _conflict_message(
    causes: Iterable[RequirementInformation[Dependency, Candidate]],
    provider: PipfenceProvider,
    target: Target,
) -> tuple[str, str | None]:
    """A uv-style sentence per conflicting project, and a hint on excluded versions."""
    by_name: dict[NormalizedName, list[RequirementInformation[Dependency, Candidate]]] = {}
    for cause in causes:
        by_name.setdefault(cause.requirement.name, []).append(cause)
    sentences: list[str] = []
    hints: list[str] = []
    for name, infos in by_name.items():
        clauses = _join(list(dict.fromkeys(_clause(info) for info in infos)))
        if name == PYTHON:
            python = target.python_version
            sentences.append(_capitalised(f"{clauses}, but the target Python is {python}."))
        elif len(infos) == 1:
            available = provider.available_versions(name)
            shown = ", ".join(str(v) for v in available[:_SHOWN_VERSIONS]) + (
                ", …" if len(available) > _SHOWN_VERSIONS else ""
            )
            found = f" (versions on the index: {shown})" if available else ""
            sentences.append(_capitalised(f"{clauses}, but no version of `{name}` matches{found}."))
        else:
            sentences.append(f"Because {clauses}, no version of `{name}` satisfies them all.")
        hints += provider.explain([info.requirement for info in infos])
    message = "Cannot resolve the requirements. " + " ".join(sentences)
    hint = "; ".join(dict.fromkeys(hints)) or None
    return message, hint


def _clause(info: RequirementInformation[Dependency, Candidate]) -> str:
    requirement, parent = info.requirement, info.parent
    if parent is None:
        if requirement.locked_by is not None:
            return f"{requirement.locked_by} locks `{requirement.short}`"
        return f"you require `{requirement.short}`"
    extras = f"[{','.join(sorted(parent.extras))}]" if parent.extras else ""
    who = f"`{parent.name}{extras}` {parent.version}"
    if requirement.name == PYTHON:
        return f"{who} requires Python {requirement.specifier}"
    return f"{who} depends on `{requirement.short}`"


def _join(clauses: list[str]) -> str:
    if len(clauses) <= 1:
        return "".join(clauses)
    return ", ".join(clauses[:-1]) + " and " + clauses[-1]


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]
