"""`pipfence check`: known vulnerabilities of the locked versions (needs pipfence[audit])."""

from __future__ import annotations

import argparse
import json

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import EXIT_FAILURE, LockfileError, UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--dev", action="store_true", help="include [dev-packages]")
    parser.add_argument(
        "--categories", default=None, help="only these categories (comma or space separated)"
    )
    parser.add_argument(
        "--service", choices=("pypi", "osv"), default="pypi", help="vulnerability database"
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.audit import audit_lock, vulnerability_service
    from pipfence.project.export import lock_categories_for

    service = vulnerability_service(args.service)
    if service is None:
        raise UsageError(
            "`pipfence check` needs pip-audit, which is not installed",
            hint="pip install pipfence[audit]",
        )
    project = project_from_args(args)
    lock = project.read_lock()
    if lock is None:
        raise LockfileError("does not exist", hint="run `pipfence lock` to create it")
    report = audit_lock(
        service, lock, lock_categories_for(dev=args.dev, categories=args.categories)
    )
    if args.json:
        ui.result(
            json.dumps(
                {
                    "vulnerabilities": [
                        {
                            "name": v.name,
                            "version": v.version,
                            "id": v.id,
                            "aliases": list(v.aliases),
                            "fix_versions": list(v.fix_versions),
                        }
                        for v in report.vulnerabilities
                    ],
                    "checked": report.checked,
                    "skipped": [{"name": n, "reason": r} for n, r in report.skipped],
                },
                indent=4,
            )
        )
    else:
        for vuln in report.vulnerabilities:
            fix = f"; fixed in {', '.join(vuln.fix_versions)}" if vuln.fix_versions else ""
            aliases = f" ({', '.join(vuln.aliases)})" if vuln.aliases else ""
            ui.result(f"{vuln.name} {vuln.version}: {vuln.id}{aliases}{fix}")
        for name, reason in report.skipped:
            ui.detail(f"skipped {name}: {reason}")
        if report.skipped:
            ui.info(
                f"{len(report.skipped)} package(s) not looked up (not from PyPI: their names "
                "stay inside the fence); -v lists them"
            )
        if not report.vulnerabilities:
            ui.success(f"No known vulnerabilities in {report.checked} packages.")
    return EXIT_FAILURE if report.vulnerabilities else 0
