"""`pipfence sources`: list the Pipfile's sources and check each; `sources audit`: exposure."""

from __future__ import annotations

import argparse
import json

from pipfence.cli.commands._options import add_mirror_option
from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import EXIT_FAILURE

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=("check", "audit"),
        default="check",
        help="check: list the sources and GET each one's root (default); audit: for each "
        "locked package from a non-default source, ask the default source and PyPI whether "
        "the name exists there too (this sends those names to them)",
    )
    parser.add_argument("--no-check", action="store_true", help="list the sources only")
    parser.add_argument(
        "--timeout", default=None, metavar="SECONDS", help="per request (check; default 10)"
    )
    parser.add_argument(
        "--no-pypi", action="store_true", help="audit: ask the default source only, not PyPI"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_mirror_option(parser)


def run(args: argparse.Namespace, ui: UI) -> int:
    if args.action == "audit":
        return _audit(args, ui)
    from pipfence.index.folder import is_file_url
    from pipfence.models.urls import shown_url
    from pipfence.project.adapters.source_checks import check_sources
    from pipfence.project.index_settings import client_settings
    from pipfence.project.settings import parse_seconds

    timeout = 10.0 if args.timeout is None else parse_seconds(args.timeout, "--timeout")
    project = project_from_args(args)
    sources = project.pipfile.effective_sources
    settings = project.settings
    if args.no_check:
        proxies = client_settings(settings).proxies
        rows: list[dict[str, object]] = []
        for i, source in enumerate(sources):
            # The proxy a request would go through: none for a local folder, nor for a host
            # NO_PROXY names, nor when no proxy variable is set.
            template = settings.routes.route(source).template
            proxy = None if is_file_url(template) else proxies.for_url(template)
            rows.append(
                {
                    "name": source.name,
                    "url": shown_url(source.url),
                    "verify_ssl": source.verify_ssl,
                    "default": i == 0,
                    "proxy": proxy.label if proxy is not None else None,
                }
            )
        if args.json:
            ui.result(json.dumps(rows, indent=4))
        else:
            for row in rows:
                mark = "  (default)" if row["default"] else ""
                via = f"  proxy: {row['proxy']}" if row["proxy"] else ""
                ui.result(f"{row['name']}  {row['url']}  verify_ssl={row['verify_ssl']}{mark}{via}")
        return 0
    checks = check_sources(
        sources,
        routes=settings.routes,
        settings=client_settings(settings),
        timeout=timeout,
    )
    if args.json:
        ui.result(json.dumps([c.to_dict() for c in checks], indent=4))
    else:
        for check in checks:
            mark = " (default)" if check.default else ""
            ui.result(f"{check.source.name}{mark}: {check.shown_url}")
            if check.mirror:
                ui.result(f"  through the mirror {check.mirror}")
            # No TLS set-up to show when the URL could not even be made (a variable unset).
            tls = check.tls or "not checked"
            ui.result(f"  verify_ssl: {str(check.source.verify_ssl).lower()}   TLS: {tls}")
            if check.tls != "local folder":
                # A local folder is read, not asked: no credentials or proxy apply to it.
                ui.result(f"  credentials: {check.credentials or 'none sent'}")
                ui.result(f"  proxy: {check.proxy or 'direct'}")
            ui.result(f"  {'ok' if check.ok else 'FAILED'}: {check.verdict}")
    return 0 if all(c.ok for c in checks) else EXIT_FAILURE


def _audit(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.index_settings import open_client
    from pipfence.project.sources import audit_exposure

    project = project_from_args(args)
    lock = project.require_lock()
    settings = project.settings
    with open_client(settings, project.pipfile, warn=ui.warning) as client:
        found = audit_exposure(
            client,
            project.pipfile,
            lock,
            routes=settings.routes,
            ask_pypi=not args.no_pypi,
            on_ask=ui.info,
        )
    default = lock.meta.sources[0].name if lock.meta.sources else "default"
    if args.json:
        ui.result(json.dumps([f.to_dict() for f in found], indent=4))
    elif not found:
        ui.result(f"Every locked package comes from the default source `{default}`.")
    for item in [] if args.json else found:
        where = [
            label
            for label, present in ((f"`{default}`", item.on_default), ("PyPI", item.on_pypi))
            if present
        ]
        free = [
            label
            for label, present in ((f"`{default}`", item.on_default), ("PyPI", item.on_pypi))
            if present is False
        ]
        exists = f"the name also exists on {' and '.join(where)}" if where else ""
        absent = f"the name is free on {' and '.join(free)}" if free else ""
        facts = "; ".join(x for x in (exists, absent) if x)
        if item.pinned:
            ui.result(f"{item.name} (from `{item.source}`): pinned with index =, closed. {facts}")
            if where:
                ui.result(
                    "  a flat requirements file or pip with --extra-index-url would still be "
                    "exposed: install with pipfence, or export with --pylock"
                )
        else:
            ui.result(f"{item.name} (from `{item.source}`): EXPOSED, not pinned. {facts}")
            if item.on_default:
                ui.result(f"  the next `pipfence lock` fails closed because `{default}` has it too")
            else:
                ui.result(
                    f"  anyone who publishes `{item.name}` on `{default}` changes where "
                    "it resolves from (pipfence then stops the lock; pip would take it)"
                )
            ui.result(f"  close it in the Pipfile: {item.fix}")
    return EXIT_FAILURE if any(f.exposed for f in found) else 0
