"""The global switches about places: ``--where``, ``--venv``, ``--py``, ``--envs``, ``--rm``;
``--python`` / ``--site-packages`` without a command (make the environment now), and
``--support``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipfence.cli.context import project_from_args, settings_from_args
from pipfence.cli.ui import UI
from pipfence.errors import PipfenceError, UsageError

if TYPE_CHECKING:
    from pipfence.project.project import Project

__all__ = [
    "ENVIRONMENT_VARIABLES",
    "create",
    "creating_message",
    "project_or_new",
    "run",
    "support",
]

#: The variables pipfence reads, pipenv's names where pipenv has one.
ENVIRONMENT_VARIABLES = {
    "PIPENV_PIPFILE": "path of the Pipfile to use instead of searching from the current folder",
    "PIPENV_MAX_DEPTH": "how many parent folders to search for a Pipfile",
    "PIPENV_VENV_IN_PROJECT": "1 to keep the environment in the project's .venv, 0 never to",
    "WORKON_HOME": "folder holding environments that are not in their project",
    "PIPENV_CUSTOM_VENV_NAME": "name of the environment's folder under WORKON_HOME",
    "PIPENV_PYTHON": "Python to create the environment with",
    "PIPENV_DEFAULT_PYTHON_VERSION": "Python for a new environment when nothing else names one",
    "PIPENV_DEFAULT_CATEGORIES": "Pipfile tables a command works on when neither --dev nor "
    "--categories is given (comma or space separated)",
    "PIPENV_PYPI_MIRROR": "URL that replaces PyPI's for requests (the lock keeps PyPI's URL)",
    "PIPENV_IGNORE_VIRTUALENVS": "1 to ignore an activated environment (VIRTUAL_ENV)",
    "PIPENV_USE_SYSTEM": "1 to install into the Python on PATH, as --system does",
    "PIP_BREAK_SYSTEM_PACKAGES": "1 to let --system install into an externally managed "
    "Python (PEP 668), as pip needs it",
    "PIPENV_VERBOSE": "1 for verbose output",
    "PIPFENCE_CACHE_DIR": "folder of pipfence's download and metadata cache",
    "PIPFENCE_MIRROR_<SOURCE>": "mirror URL for one [[source]] (name upper-cased, - as _); "
    "also ~/.config/pipfence/mirrors.toml [mirrors]",
    "PIPFENCE_LINK_MODE": "auto (default: clone where the filesystem can, else hardlink), "
    "clone, copy or hardlink: how installed files come from the wheel cache; clone and copy "
    "give each environment its own files, hardlink shares them (an in-place edit in one "
    "environment reaches the others linked to it; the cache itself is re-checked)",
    "PIPFENCE_TIMEOUT": "seconds to wait for an index (connect and each read)",
    "PIPFENCE_RETRIES": "attempts per request (first one included)",
    "PIPFENCE_PAGE_MAX_AGE": "seconds a cached project page is used without asking the index",
    "PIPFENCE_AUDIT_URL": "base URL of an OSV-compatible API for `check` (like --service-url)",
    "PIPFENCE_HTTP": "httpx to use httpx instead of libcurl for requests",
    "HTTP_PROXY": "proxy for http:// URLs (http_proxy, lower-case, wins)",
    "HTTPS_PROXY": "proxy for https:// URLs (https_proxy, lower-case, wins)",
    "ALL_PROXY": "proxy for URLs whose scheme has none set (all_proxy wins)",
    "NO_PROXY": "hosts, domains (.corp), IPs, CIDR ranges or host:port reached directly; "
    "* for all (no_proxy wins)",
    "PIP_CERT": "CA bundle added to the system's trust store (so are REQUESTS_CA_BUNDLE, "
    "CURL_CA_BUNDLE and SSL_CERT_FILE: every one set is added)",
    "REQUESTS_CA_BUNDLE": "CA bundle added to the system's trust store",
    "CURL_CA_BUNDLE": "CA bundle added to the system's trust store",
    "SSL_CERT_FILE": "CA bundle added to the system's trust store",
    "SSL_CERT_DIR": "folder of hashed CA certificates added to the trust store",
    "PIPFENCE_CA_MODE": "add (default): the CA variables add to the system's store; replace: "
    "they are the whole store",
    "PIPFENCE_CA_BUNDLE_<SOURCE>": "CA bundle added for one [[source]]'s host only "
    "(name upper-cased, - as _)",
    "PIP_CLIENT_CERT": "PEM file with a client certificate and its key, for servers that ask",
    "PIPFENCE_CLIENT_CERT_<SOURCE>": "client certificate for one [[source]]'s host, instead",
    "PIPENV_KEYRING_PROVIDER": "auto (default), import, subprocess or disabled: where keyring "
    "credentials come from (also PIP_KEYRING_PROVIDER)",
    "NO_COLOR": "set to turn colour off",
}


def run(args: argparse.Namespace, ui: UI) -> int:
    if args.envs:
        for name, meaning in ENVIRONMENT_VARIABLES.items():
            ui.result(f"{name:<26} {meaning}")
        return 0
    try:
        project = project_from_args(args)
    except UsageError as exc:
        if args.rm:
            raise
        # pipenv's words and exit status, which scripts test for.
        raise PipfenceError(
            f"No Pipfile present at project home. ({exc})",
            hint="run `pipfence install` to start one",
        ) from exc
    if args.where:
        ui.result(str(project.root))
        return 0
    if args.rm:
        from pipfence.project.environment import remove_environment

        ui.warning("`--rm` is deprecated, as in pipenv; use `pipfence remove`")
        ui.result(f"Removed the environment at {remove_environment(project)}")
        return 0
    venv = project.venv_path()
    if not (venv / "pyvenv.cfg").is_file():
        raise PipfenceError(
            f"No virtualenv has been created for this project {project.root} yet! "
            f"(it would be `{venv}`)",
            hint="run `pipfence install` to create it",
        )
    ui.result(str(venv / "bin" / "python") if args.py else str(venv))
    return 0


def creating_message(project: Project, ui: UI, *, site_packages: bool | None) -> None:
    """pipenv's lines before an environment is made (scripts and people look for them)."""
    venv = project.venv_path()
    if not (venv / "pyvenv.cfg").is_file():
        ui.info(f"Creating a virtualenv for this project at {venv}")
    if site_packages:
        ui.info("Making site-packages available...")


def project_or_new(args: argparse.Namespace) -> tuple[Project, bool]:
    """The project, and whether it is new: in a folder with no Pipfile here or above, the
    Pipfile pipenv would write (not written yet), as ``pipenv --python X`` and ``pipenv run``
    start one."""
    from pipfence.project.bootstrap import new_project

    try:
        return project_from_args(args), False
    except UsageError:
        settings = settings_from_args(args)
        if settings.pipfile is not None:
            raise
        return new_project(settings, python=getattr(args, "python", None)), True


def create(args: argparse.Namespace, ui: UI) -> int:
    """``pipfence --python X`` / ``--site-packages`` alone: make the project's environment
    (and, in a folder without a Pipfile, a new Pipfile), installing nothing, as pipenv does."""
    from pipfence.project.environment import ensure_env
    from pipfence.project.serial import project_lock

    project, new = project_or_new(args)
    with project_lock(project):
        creating_message(project, ui, site_packages=args.site_packages)
        env, created, replaced = ensure_env(
            project, python=args.python, site_packages=args.site_packages
        )
        if new:
            project.write_pipfile(project.pending_pipfile_text or "")
            ui.info(f"Created a Pipfile at {project.pipfile_path}")
    if replaced is not None:
        ui.warning(
            f"replaced the environment's Python {replaced} with Python {env.python_version}; "
            "it is empty now: run `pipfence sync` to install the lock into it"
        )
    verb = "Created" if created else "Using"
    ui.success(f"{verb} the environment with Python {env.python_version}")
    ui.info(f"Virtualenv location: {env.root}")
    return 0


def support(args: argparse.Namespace, ui: UI) -> int:
    """``pipfence --support``: the Markdown report for a bug (credentials hidden)."""
    from pipfence.project.support import support_report

    settings = settings_from_args(args)
    try:
        project: Project | None = project_from_args(args)
    except UsageError:
        project = None
    ui.result(support_report(settings, project).rstrip("\n"))
    return 0
