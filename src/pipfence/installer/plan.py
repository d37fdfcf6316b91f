"""The sync plan: what to install, replace, keep and remove to make an environment match a lock.

Pure: it compares two mappings of values and touches nothing. The project layer builds the
wanted side from the lock (after markers are evaluated) and the installed side from
`VirtualEnv.installed()`, then carries the plan out with `installer.wheel`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import msgspec

from pipfence.installer.satisfies import InstalledDist, WantedDist, satisfies
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.urls import shown_url

__all__ = ["PROTECTED", "Replacement", "SyncPlan", "plan_sync"]

# pipenv's `clean` never removes these (pipenv.utils.dependencies.BAD_PACKAGES): they belong
# to the environment's tooling rather than to the project.
PROTECTED: frozenset[NormalizedName] = frozenset(
    canonical_name(n) for n in ("distribute", "pip", "pkg-resources", "setuptools", "wheel")
)


class Replacement(msgspec.Struct, frozen=True, kw_only=True):
    """An installed distribution to uninstall before its wanted version or kind goes in."""

    installed: InstalledDist
    wanted: WantedDist


class SyncPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The changes that make an environment match what is wanted; every list sorted by name."""

    install: tuple[WantedDist, ...] = ()
    replace: tuple[Replacement, ...] = ()
    keep: tuple[InstalledDist, ...] = ()
    remove: tuple[InstalledDist, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether the environment already matches (nothing to install, replace or remove)."""
        return not (self.install or self.replace or self.remove)

    def changes(self) -> list[str]:
        """What carrying the plan out changes, one line a distribution sorted by name, as uv
        shows it: ``+ name==1.2`` (installed), ``- name==1.0`` (removed), ``~ name 1.0 -> 1.2``
        (replaced); a direct reference shows its URL (``+ name @ file:///…``), an editable
        one ``(editable)``."""
        lines = [(w.name, f"+ {_shown(w)}") for w in self.install]
        lines.extend((d.name, f"- {d.name}=={d.version}") for d in self.remove)
        for r in self.replace:
            new = _shown(r.wanted, new=True)
            lines.append((r.wanted.name, f"~ {r.wanted.name} {r.installed.version} -> {new}"))
        return [line for _name, line in sorted(lines)]

    @property
    def to_fetch(self) -> tuple[WantedDist, ...]:
        """Every distribution whose files are needed: new installs and replacements, by name."""
        return tuple(
            sorted([*self.install, *(r.wanted for r in self.replace)], key=lambda w: w.name)
        )


def _shown(wanted: WantedDist, *, new: bool = False) -> str:
    """``name==1.2`` (``1.2`` with ``new``), or ``name @ URL`` for a direct reference."""
    editable = " (editable)" if wanted.editable else ""
    if wanted.url is not None:
        where = f"@ {shown_url(wanted.url)}"
        return f"{where}{editable}" if new else f"{wanted.name} {where}{editable}"
    return f"{wanted.version}{editable}" if new else f"{wanted.name}=={wanted.version}{editable}"


def plan_sync(
    wanted: Mapping[NormalizedName, WantedDist],
    installed: Mapping[NormalizedName, InstalledDist],
    *,
    remove_extraneous: bool,
    protected: Collection[NormalizedName] = PROTECTED,
    reinstall: Collection[NormalizedName] = (),
) -> SyncPlan:
    """Compare ``wanted`` with ``installed`` (both keyed by normalised name).

    - wanted and not installed → ``install``;
    - installed but not as wanted (`satisfies`: another version, by PEP 440 equality, or
      another kind: editable vs not, a different direct URL, a direct URL vs an index), or
      named in ``reinstall`` → ``replace``;
    - otherwise → ``keep``;
    - installed and not wanted → ``remove`` only when ``remove_extraneous`` (pipenv's ``clean``;
      its ``sync`` leaves extra distributions alone) and the name is not in ``protected``;
      otherwise it is neither kept nor removed, just left out of the plan.
    """
    install: list[WantedDist] = []
    replace: list[Replacement] = []
    keep: list[InstalledDist] = []
    remove: list[InstalledDist] = []
    for name in sorted(wanted):
        want = wanted[name]
        have = installed.get(name)
        if have is None:
            install.append(want)
        elif name in reinstall or not satisfies(want, have):
            replace.append(Replacement(installed=have, wanted=want))
        else:
            keep.append(have)
    if remove_extraneous:
        remove.extend(
            installed[name]
            for name in sorted(installed)
            if name not in wanted and name not in protected
        )
    return SyncPlan(
        install=tuple(install), replace=tuple(replace), keep=tuple(keep), remove=tuple(remove)
    )
