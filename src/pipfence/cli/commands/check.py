"""`pipfence check`: known vulnerabilities of the locked versions (needs pipfence[audit])."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.cli.commands._options import accept, add_category_options, tables_from_args
from pipfence.cli.context import settings_from_args
from pipfence.cli.ui import UI, count
from pipfence.errors import EXIT_FAILURE, UsageError
from pipfence.project.project import Project

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipfence.project.adapters.audit import VulnerabilityService
    from pipfence.project.audit import AuditReport
    from pipfence.project.settings import Settings

__all__ = ["add_arguments", "run"]


def add_service_options(parser: argparse.ArgumentParser, *flags: str, url_help: str) -> None:
    """The vulnerability database (``flags``: `check`'s ``--service``, `audit`'s ``-s
    --vulnerability-service``) and ``--service-url``, shared by `check` and `audit`."""
    parser.add_argument(
        *flags,
        choices=("pypi", "osv"),
        default=None,
        help="vulnerability database (default: pypi, or osv when a service URL is set)",
    )
    parser.add_argument("--service-url", metavar="URL", default=None, help=url_help)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_category_options(parser, categories_help="only these categories (comma or space separated)")
    add_service_options(
        parser,
        "--service",
        url_help="base URL of an OSV-compatible API to ask instead of the public OSV "
        "(default: $PIPFENCE_AUDIT_URL); ${VAR} is expanded, credentials are sent as basic "
        "auth and never shown",
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--output",
        choices=("default", "screen", "text", "minimal", "bare", "full-report", "json"),
        default=None,
        help="json: the same as --json; the others print the usual lines",
    )
    parser.add_argument(
        "-i",
        "--ignore",
        action="append",
        default=[],
        metavar="ID",
        help="leave out this advisory (by its id or an alias); may be repeated",
    )
    parser.add_argument(
        "--save-json", metavar="PATH", default=None, help="also write the findings as JSON here"
    )
    parser.add_argument(
        "--exit-code",
        dest="exit_code",
        action="store_true",
        default=True,
        help="exit 1 when a vulnerability is found (the default)",
    )
    parser.add_argument(
        "--continue-on-error",
        dest="exit_code",
        action="store_false",
        help="exit 0 even when vulnerabilities are found",
    )
    safety = "pipenv's check runs safety; pipfence asks pip-audit's services (see --service)"
    for flag in ("--db", "--key", "--policy-file", "--project"):
        accept(parser, flag, metavar="VALUE", reason=safety)
    for flag in ("--audit-and-monitor", "--disable-audit-and-monitor", "--auto-install", "--scan"):
        accept(parser, flag, reason=safety)
    accept(
        parser,
        "--use-installed",
        reason="pipfence checks the locked versions, which `pipfence sync` installs",
    )
    accept(parser, "--clear", reason="check keeps pip-audit's own cache, which it revalidates")


def required_service(
    command: str, name: str, url: str | None, settings: Settings
) -> VulnerabilityService:
    """The vulnerability service ``check`` and ``audit`` ask (``url``, else the variable, else
    the service's own); `UsageError` with the install line when pip-audit is missing."""
    from pipfence.project.adapters.audit import vulnerability_service

    service = vulnerability_service(
        name,
        url=url or settings.audit_url,
        environ=settings.environ,
        cache_dir=settings.cache_dir / "pip-audit",
    )
    if service is None:
        # Into the Python that runs pipfence (a pipx or project venv alike), by the name of
        # the package on the index: pip-audit itself.
        raise UsageError(
            f"`pipfence {command}` needs pip-audit, which is not installed",
            hint=f"{shlex.quote(sys.executable)} -m pip install 'pip-audit>=2.10'",
        )
    return service


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.audit import audit_lock
    from pipfence.project.categories import lock_categories

    settings = settings_from_args(args)
    service = required_service("check", args.service, args.service_url, settings)
    project = Project.find(settings)
    lock = project.require_lock()
    tables = tables_from_args(args, None)
    categories = lock_categories(project, tables, dev=args.dev, lock=lock, default_last=True)
    report = audit_lock(service, lock, categories)
    ignored = set(args.ignore)
    if ignored:
        kept = tuple(v for v in report.vulnerabilities if not ({v.id, *v.aliases} & ignored))
        report = replace(report, vulnerabilities=kept)
    document = json.dumps(
        {
            "vulnerabilities": [
                {
                    "name": v.name,
                    "version": v.version,
                    "id": v.id,
                    "aliases": list(v.aliases),
                    "fix_versions": list(v.fix_versions),
                    "description": v.description,
                }
                for v in report.vulnerabilities
            ],
            "service": {"name": service.name, "url": service.url},
            "checked": report.checked,
            "skipped": [{"name": n, "reason": r} for n, r in report.skipped],
        },
        indent=4,
    )
    if args.save_json:
        from pipfence.project.files import atomic_write

        atomic_write(Path(args.save_json), (document + "\n").encode(), display=args.save_json)
    if args.json or args.output == "json":
        ui.result(document)
    elif not _show_text(ui, report, service, categories):
        return EXIT_FAILURE
    return EXIT_FAILURE if report.vulnerabilities and args.exit_code else 0


def _show_text(
    ui: UI, report: AuditReport, service: VulnerabilityService, categories: Sequence[str]
) -> bool:
    """The report as lines for people; False when nothing could be looked up."""
    for vuln in report.vulnerabilities:
        fix = f"; fixed in {', '.join(vuln.fix_versions)}" if vuln.fix_versions else ""
        aliases = f" ({', '.join(vuln.aliases)})" if vuln.aliases else ""
        ui.result(f"{vuln.name} {vuln.version}: {vuln.id}{aliases}{fix}")
    for name, reason in report.skipped:
        ui.detail(f"skipped {name}: {reason}")
    if report.skipped:
        ui.info(skipped_summary(report.skipped))
    checked = count(report.checked, "package")
    if report.vulnerabilities:
        found = len(report.vulnerabilities)
        ui.info(
            f"{found} known vulnerabilit{'y' if found == 1 else 'ies'} in {checked} ({service})."
        )
    elif report.checked == 0 and not report.skipped:
        ui.success(f"Nothing to check: the lock lists no packages in {', '.join(categories)}.")
    elif report.checked == 0 and report.skipped:
        ui.warning(
            f"nothing was checked: none of the {count(len(report.skipped), 'package')} "
            f"could be looked up on {service}"
        )
        return False
    else:
        ui.success(f"No known vulnerabilities in {checked} ({service}).")
    return True


def skipped_summary(skipped: Sequence[tuple[str, str]]) -> str:
    """The line that counts the packages not looked up. It names the fence only for those
    left out for coming from another source: a package the service did not know, or whose
    version is not PEP 440, was not kept in by the fence."""
    from pipfence.project.audit import kept_in_fence

    text = f"{count(len(skipped), 'package')} not looked up"
    fenced = sum(kept_in_fence(reason) for _name, reason in skipped)
    if fenced == len(skipped):
        text += " (names from sources other than PyPI stay inside the fence)"
    elif fenced:
        text += (
            f" ({fenced} of them from sources other than PyPI: their names stay inside the fence)"
        )
    return text + "; -v lists them and why"
