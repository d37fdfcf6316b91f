"""`pipfence check`: known vulnerabilities of the locked versions, through pip-audit's library.

pip-audit is an optional extra (``pip install pipfence[audit]``); `vulnerability_service`
returns None when it is not importable. Only packages whose source is PyPI are looked up: the
vulnerability databases describe PyPI projects, and a name from a private source must not
leave the fence (it would be sent to PyPI or OSV). Those are reported as skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from pipfence.errors import IndexServerError
from pipfence.models.lockfile import Lockfile
from pipfence.models.sources import is_pypi_url
from pipfence.project.export import package_source, selected_packages

__all__ = ["AuditReport", "Vulnerability", "audit_lock", "vulnerability_service"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Vulnerability:
    """One advisory for one locked package."""

    name: str
    version: str
    id: str
    fix_versions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """The advisories found, how many packages were looked up, and which were not (with why)."""

    vulnerabilities: tuple[Vulnerability, ...]
    checked: int
    skipped: tuple[tuple[str, str], ...] = ()


def vulnerability_service(name: str = "pypi", timeout: float = 30.0) -> Any | None:
    """pip-audit's PyPI (or ``osv``) vulnerability service, or None without pip-audit."""
    try:
        module = importlib.import_module("pip_audit._service")
    except ImportError:
        return None
    kind = module.OsvService if name == "osv" else module.PyPIService
    return kind(cache_dir=None, timeout=timeout)


def audit_lock(service: Any, lock: Lockfile, categories: Sequence[str]) -> AuditReport:
    """Ask ``service`` (see `vulnerability_service`) about every locked PyPI package of
    ``categories``. Raises `IndexServerError` when the service fails."""
    interface = importlib.import_module("pip_audit._service.interface")
    found: list[Vulnerability] = []
    skipped: list[tuple[str, str]] = []
    checked = 0
    for name, package in selected_packages(lock, categories).items():
        source = package_source(package, lock)
        if not package.is_named or package.version is None:
            skipped.append((name, "not an index package"))
            continue
        if not is_pypi_url(source.url):
            skipped.append((name, f"from source `{source.name}`, not PyPI"))
            continue
        try:
            version = Version(package.version)
        except InvalidVersion:
            skipped.append((name, f"version `{package.version}` is not PEP 440"))
            continue
        dependency = interface.ResolvedDependency(name=name, version=version)
        try:
            _dep, results = service.query(dependency)
        except Exception as exc:  # pip-audit raises its own ServiceError tree
            raise IndexServerError(
                f"the vulnerability service failed for `{name}`: {exc}", source="pip-audit"
            ) from exc
        checked += 1
        found.extend(
            Vulnerability(
                name=name,
                version=package.version,
                id=str(result.id),
                fix_versions=tuple(str(v) for v in result.fix_versions),
                aliases=tuple(sorted(str(a) for a in result.aliases)),
                description=str(result.description or ""),
            )
            for result in results
        )
    return AuditReport(vulnerabilities=tuple(found), checked=checked, skipped=tuple(skipped))
