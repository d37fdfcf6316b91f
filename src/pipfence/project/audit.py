"""`pipfence check` and `audit`: known vulnerabilities of the locked versions, asked of a
vulnerability service (`pipfence.project.adapters.audit`).

Only packages whose source is PyPI are looked up: the vulnerability databases describe PyPI
projects, and a name from a private source must not leave the fence (it would be sent to PyPI
or OSV). Those are reported as skipped, also when the service is a private OSV mirror.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from packaging.version import InvalidVersion, Version

from pipfence.models.lockfile import LockedPackage, Lockfile, package_source
from pipfence.models.urls import is_pypi_url
from pipfence.project.adapters.audit import VulnerabilityService
from pipfence.project.export import selected_packages

__all__ = ["AuditReport", "Vulnerability", "audit_lock"]


class Vulnerability(msgspec.Struct, frozen=True, kw_only=True):
    """One advisory for one locked package."""

    name: str
    version: str
    id: str
    fix_versions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """The advisories found, how many packages were looked up, and which were not (with why).

    ``results`` is the same in pip-audit's own terms (each dependency, skipped ones included,
    with its advisories), for pip-audit's output formats (`render_report`)."""

    vulnerabilities: tuple[Vulnerability, ...]
    checked: int
    skipped: tuple[tuple[str, str], ...] = ()
    results: Mapping[Any, Sequence[Any]] = field(default_factory=dict, repr=False)


def audit_lock(
    service: VulnerabilityService,
    lock: Lockfile,
    categories: Sequence[str],
    *,
    ignore: Collection[str] = (),
) -> AuditReport:
    """Ask ``service`` (see `vulnerability_service`) about every locked PyPI package of
    ``categories``; an advisory whose id or alias is in ``ignore`` is left out. Raises
    `IndexServerError` when the service fails."""
    found: list[Vulnerability] = []
    skipped: list[tuple[str, str]] = []
    raw: dict[Any, list[Any]] = {}
    checked = 0
    for name, package in selected_packages(lock, categories).items():
        version = _auditable(name, package, lock, skipped)
        if version is None:
            continue
        answer = service.query(name, version)
        if answer is None:
            skipped.append((name, f"not known to {service}"))
            continue
        checked += 1
        dependency, results = answer
        results = [
            r for r in results if not ({str(r.id), *(str(a) for a in r.aliases)} & set(ignore))
        ]
        raw[dependency] = results
        found.extend(_vulnerability(name, str(package.version), result) for result in results)
    for name, reason in skipped:
        raw[service.skipped(name, reason)] = []
    return AuditReport(
        vulnerabilities=tuple(found), checked=checked, skipped=tuple(skipped), results=raw
    )


#: How the reason of a package left out for coming from another source than PyPI ends.
_FENCED = ", not PyPI"


def kept_in_fence(reason: str) -> bool:
    """Whether a package was left out (``reason``, as `AuditReport.skipped` gives it) for
    coming from another source than PyPI: its name may not go to the service."""
    return reason.endswith(_FENCED)


def _auditable(
    name: str, package: LockedPackage, lock: Lockfile, skipped: list[tuple[str, str]]
) -> Version | None:
    """The version of ``package`` to look up, or None (and why, added to ``skipped``) when it
    is not looked up: not an index package, not from PyPI, or not a PEP 440 version."""
    source = package_source(package, lock)
    if not package.is_named or package.version is None:
        skipped.append((name, "not an index package"))
        return None
    if not is_pypi_url(source.url):
        skipped.append((name, f"from source `{source.name}`{_FENCED}"))
        return None
    try:
        return Version(package.version)
    except InvalidVersion:
        skipped.append((name, f"version `{package.version}` is not PEP 440"))
        return None


def _vulnerability(name: str, version: str, result: Any) -> Vulnerability:
    """One of pip-audit's advisories as a `Vulnerability`."""
    return Vulnerability(
        name=name,
        version=version,
        id=str(result.id),
        fix_versions=tuple(str(v) for v in result.fix_versions),
        aliases=tuple(sorted(str(a) for a in result.aliases)),
        description=str(result.description or ""),
    )
