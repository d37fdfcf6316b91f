"""The global switches about places: ``--where``, ``--venv``, ``--py``, ``--envs``, ``--rm``."""

from __future__ import annotations

import argparse

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import UsageError

__all__ = ["ENVIRONMENT_VARIABLES", "run"]

#: The variables pipfence reads, pipenv's names where pipenv has one.
ENVIRONMENT_VARIABLES = {
    "PIPENV_PIPFILE": "path of the Pipfile to use instead of searching from the current folder",
    "PIPENV_MAX_DEPTH": "how many parent folders to search for a Pipfile",
    "PIPENV_VENV_IN_PROJECT": "1 to keep the environment in the project's .venv, 0 never to",
    "WORKON_HOME": "folder holding environments that are not in their project",
    "PIPENV_CUSTOM_VENV_NAME": "name of the environment's folder under WORKON_HOME",
    "PIPENV_PYTHON": "Python to create the environment with",
    "PIPENV_DEFAULT_PYTHON_VERSION": "Python for a new environment when nothing else names one",
    "PIPENV_PYPI_MIRROR": "URL that replaces PyPI's for requests (the lock keeps PyPI's URL)",
    "PIPENV_IGNORE_VIRTUALENVS": "1 to ignore an activated environment (VIRTUAL_ENV)",
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
    project = project_from_args(args)
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
        raise UsageError(
            f"no environment exists for this project yet (it would be `{venv}`)",
            hint="run `pipfence install` to create it",
        )
    ui.result(str(venv / "bin" / "python") if args.py else str(venv))
    return 0
