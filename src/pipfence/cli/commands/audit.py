"""`pipfence audit`: pipenv's pip-audit command, over the locked versions (needs
pipfence[audit]).

It does what `pipfence check` does — the same services, the same fence (only packages from
PyPI are looked up) — and prints pip-audit's own output formats, as pipenv's ``audit`` does.
The lock is what is audited, always: pipenv's ``--locked``. The options that choose what
pip-audit collects from an environment have nothing to choose here and are accepted as such.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipfence.cli.commands._options import add_category_options, tables_from_args
from pipfence.cli.commands.check import add_service_options, skipped_summary
from pipfence.cli.context import settings_from_args
from pipfence.cli.ui import UI, count
from pipfence.errors import EXIT_FAILURE, FileWriteError, UsageError
from pipfence.project.adapters.audit import AUDIT_FORMATS, VulnerabilityService
from pipfence.project.audit import AuditReport
from pipfence.project.project import Project

__all__ = ["add_arguments", "run"]

#: pipenv/pip-audit options about collecting packages from an environment: the lock has
#: already decided each of them.
_NO_EFFECT = {
    "skip_editable": "--skip-editable (editable and path entries are never looked up)",
    "no_deps": "--no-deps (every locked entry is pinned; nothing is resolved)",
    "local": "--local (the lock is audited, not the environment)",
    "locked": "--locked (the lock is always what is audited)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--output", choices=AUDIT_FORMATS, default="columns", help="pip-audit's output format"
    )
    add_service_options(
        parser,
        "-s",
        "--vulnerability-service",
        url_help="base URL of an OSV-compatible API (default: $PIPFENCE_AUDIT_URL), as for `check`",
    )
    parser.add_argument(
        "-i",
        "--ignore",
        "--ignore-vuln",
        action="append",
        default=[],
        metavar="ID",
        help="leave out this advisory (an id or an alias); may be repeated",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail when a package could not be looked up"
    )
    parser.add_argument("--desc", action="store_true", help="show each advisory's description")
    parser.add_argument("--aliases", action="store_true", help="show each advisory's aliases")
    parser.add_argument(
        "-o", "--output-file", metavar="FILE", help="write the report to FILE instead of stdout"
    )
    add_category_options(
        parser,
        dev_help="[dev-packages] too (the default, as pipenv's)",
        categories_help="only these categories (comma or space separated)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the packages that would be looked up, and ask nothing",
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="refused: pip-audit would upgrade the environment behind the lock's back",
    )
    for option in ("--skip-editable", "--no-deps", "--local", "--locked"):
        parser.add_argument(option, action="store_true", help="accepted; no effect on a lock")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.cli.commands.check import required_service
    from pipfence.project.adapters.audit import render_report
    from pipfence.project.audit import audit_lock
    from pipfence.project.categories import lock_categories
    from pipfence.project.export import selected_packages

    if args.fix:
        raise UsageError(
            "`pipfence audit --fix` is not supported: pip-audit would upgrade packages in the "
            "environment without the lock",
            hint="upgrade the package with `pipfence update NAME`, which locks and syncs",
        )
    for option, meaning in _NO_EFFECT.items():
        if getattr(args, option):
            ui.detail(f"{meaning}: no effect")
    settings = settings_from_args(args)
    project = Project.find(settings)
    lock = project.require_lock()
    # pipenv's `audit --locked` covers [packages] and [dev-packages].
    tables = tables_from_args(args, None)
    categories = lock_categories(project, tables, dev=True, lock=lock)
    if args.dry_run:
        for name in selected_packages(lock, categories):
            ui.result(name)
        return 0
    service = required_service("audit", args.vulnerability_service, args.service_url, settings)
    report = audit_lock(service, lock, categories, ignore=args.ignore)
    text = render_report(report, args.output, descriptions=args.desc, aliases=args.aliases)
    if args.output_file:
        try:
            Path(args.output_file).write_text(text + "\n" if text else "", encoding="utf-8")
        except OSError as exc:
            raise FileWriteError(f"could not write `{args.output_file}`: {exc}") from exc
    elif text:
        ui.result(text)
    return _summary(ui, report, service, strict=args.strict)


def _summary(ui: UI, report: AuditReport, service: VulnerabilityService, *, strict: bool) -> int:
    """The closing lines of an audit, and its exit code: a failure when a vulnerability was
    found, when nothing could be looked up, or (``strict``) when anything was skipped."""
    for name, reason in report.skipped:
        ui.detail(f"skipped {name}: {reason}")
    checked = count(report.checked, "package")
    found = len(report.vulnerabilities)
    if report.checked == 0 and report.skipped:
        ui.warning(
            f"nothing was checked: none of the {count(len(report.skipped), 'package')} "
            f"could be looked up on {service}"
        )
        return EXIT_FAILURE
    if found:
        ui.info(f"Found {found} known vulnerabilit{'y' if found == 1 else 'ies'} in {checked}")
    else:
        ui.success(f"No known vulnerabilities found in {checked} ({service})")
    if report.skipped:
        ui.info(skipped_summary(report.skipped))
    if found or (strict and report.skipped):
        return EXIT_FAILURE
    return 0
