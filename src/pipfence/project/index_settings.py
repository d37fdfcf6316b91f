"""Opens the index client with the project's settings: cache, timeouts, netrc, proxies, CAs,
client certificates, keyring, TLS warnings.

The variables read here (each documented in ``pipfence --envs`` and docs/):

- Proxies: ``http_proxy``/``HTTP_PROXY``, ``https_proxy``/``HTTPS_PROXY``,
  ``all_proxy``/``ALL_PROXY``, ``no_proxy``/``NO_PROXY`` (rules in `pipfence.models.proxies`).
- CAs: every one of ``PIP_CERT``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``
  that is set names a PEM bundle, and ``SSL_CERT_DIR`` a hashed CA folder; all of them are
  *added* to the system's trust store (each file once), unless ``PIPFENCE_CA_MODE=replace``
  makes them the whole store. No precedence among them is needed, because none is dropped:
  tools disagree on which one they read, and machines often set several to the same bundle.
  ``PIPFENCE_CA_BUNDLE_<SOURCE>`` adds a bundle for that source's own host only.
- Client certificates: ``PIP_CLIENT_CERT`` (a PEM file with certificate and key) for every
  server that asks; ``PIPFENCE_CLIENT_CERT_<SOURCE>`` for that source's own host, instead.
- Keyring: ``PIPENV_KEYRING_PROVIDER`` (then ``PIP_KEYRING_PROVIDER``): ``auto`` (default),
  ``import``, ``subprocess`` or ``disabled``, as pip's ``--keyring-provider``.

A variable that names a file which cannot be read, or holds a value pipfence cannot use, is a
`UsageError` naming the variable (and the path; never a proxy's credentials).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import get_args

from msgspec.structs import replace

from pipfence.errors import UsageError
from pipfence.index.client import IndexClient
from pipfence.index.http import ClientSettings, KeyringProvider, SourceTls, TlsSettings
from pipfence.models.pipfile import Pipfile
from pipfence.models.proxies import Proxies
from pipfence.models.urls import shown_url
from pipfence.project.files import require_cache_dir
from pipfence.project.settings import Settings

__all__ = [
    "CA_BUNDLE_PREFIX",
    "CA_VARIABLES",
    "CLIENT_CERT_PREFIX",
    "client_settings",
    "keyring_provider",
    "open_client",
    "proxies",
    "tls_settings",
]

#: The variables that name an extra CA bundle, all of them honoured (see the module docstring).
CA_VARIABLES = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
CA_BUNDLE_PREFIX = "PIPFENCE_CA_BUNDLE_"
CLIENT_CERT_PREFIX = "PIPFENCE_CLIENT_CERT_"


def client_settings(settings: Settings, *, fresh: bool = False) -> ClientSettings:
    """The index layer's settings from the environment (``PIPFENCE_TIMEOUT``, ``NETRC``, …).

    ``fresh`` revalidates every project page with the index (a conditional request), for the
    commands whose point is to see new releases: `update`, `upgrade`, `install PKG`.
    """
    env = settings.environ
    base = ClientSettings(cache_dir=settings.cache_dir / "index")
    timeout = settings.timeout
    netrc = (
        Path(env["NETRC"])
        if env.get("NETRC")
        else Path(env.get("HOME", "~")).expanduser() / ".netrc"
    )
    return replace(
        base,
        connect_timeout=timeout or base.connect_timeout,
        read_timeout=timeout or base.read_timeout,
        attempts=settings.retries or base.attempts,
        netrc_path=netrc if netrc.is_file() else None,
        page_max_age=0.0 if fresh else _first(settings.page_max_age, base.page_max_age),
        tls=tls_settings(env),
        proxies=proxies(env),
        keyring=keyring_provider(env),
        keyring_command=shutil.which("keyring", path=env.get("PATH")),
        transport="httpx" if env.get("PIPFENCE_HTTP", "").lower() == "httpx" else "auto",
        page_workers=settings.page_workers,
    )


def proxies(env: Mapping[str, str]) -> Proxies:
    """The proxy variables; `UsageError` for a proxy URL that cannot be used."""
    found = Proxies.from_environ(env)
    problems = found.problems()
    if problems:
        raise UsageError(problems[0], hint="write it as http://[user:password@]host:port")
    return found


def keyring_provider(env: Mapping[str, str]) -> KeyringProvider:
    """``PIPENV_KEYRING_PROVIDER``, else ``PIP_KEYRING_PROVIDER``, else ``auto``."""
    for name in ("PIPENV_KEYRING_PROVIDER", "PIP_KEYRING_PROVIDER"):
        value = env.get(name, "").strip().lower()
        if not value:
            continue
        choices: tuple[KeyringProvider, ...] = get_args(KeyringProvider)
        for choice in choices:
            if value == choice:
                return choice
        raise UsageError(f"{name} must be one of {', '.join(choices)}, not `{value[:40]}`")
    return "auto"


def tls_settings(env: Mapping[str, str]) -> TlsSettings:
    """CA bundles, CA folder, mode and client certificates from the variables; `UsageError`
    naming the variable and the path when a file cannot be read."""
    ca_files: list[Path] = []
    ca_dir: Path | None = None
    for name in CA_VARIABLES:
        path = _path(env, name)
        if path is None:
            continue
        if path.is_dir():  # requests takes a folder here too
            ca_dir = ca_dir or path
        else:
            ca_files.append(_readable(name, path))
    if (folder := _path(env, "SSL_CERT_DIR")) is not None:
        if not folder.is_dir():
            raise UsageError(f"SSL_CERT_DIR names `{folder}`, which is not a folder")
        ca_dir = folder
    mode = env.get("PIPFENCE_CA_MODE", "").strip().lower() or "add"
    if mode not in {"add", "replace"}:
        raise UsageError(f"PIPFENCE_CA_MODE must be `add` or `replace`, not `{mode[:40]}`")
    if mode == "replace" and not ca_files and ca_dir is None:
        raise UsageError(
            "PIPFENCE_CA_MODE=replace needs a CA bundle to replace the system's store with",
            hint=f"set one of {', '.join(CA_VARIABLES)} or SSL_CERT_DIR",
        )
    client_cert = _path(env, "PIP_CLIENT_CERT")
    per_source: dict[str, SourceTls] = {}
    for name in sorted(env):
        for prefix, field in ((CA_BUNDLE_PREFIX, "ca_file"), (CLIENT_CERT_PREFIX, "client_cert")):
            if name.startswith(prefix) and (path := _path(env, name)) is not None:
                key = name.removeprefix(prefix)
                per_source[key] = replace(
                    per_source.get(key, SourceTls()), **{field: _readable(name, path)}
                )
    return TlsSettings(
        ca_files=tuple(ca_files),
        ca_dir=ca_dir,
        replace_system=mode == "replace",
        client_cert=_readable("PIP_CLIENT_CERT", client_cert) if client_cert else None,
        per_source=per_source,
    )


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _readable(name: str, path: Path) -> Path:
    """``path`` when it is a file this process can read; `UsageError` naming ``name``."""
    if not path.is_file():
        raise UsageError(f"{name} names `{path}`, which is not a file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{name} names `{path}`, which cannot be read")
    return path


def _first(value: float | None, default: float) -> float:
    return default if value is None else value


@contextlib.contextmanager
def open_client(
    settings: Settings,
    pipfile: Pipfile,
    *,
    clear: bool = False,
    fresh: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Iterator[IndexClient]:
    """An index client for this run; warns once per source that skips TLS verification.
    `UsageError` when the cache folder cannot be written (see `require_cache_dir`)."""
    require_cache_dir(settings.cache_dir)
    client = IndexClient(client_settings(settings, fresh=fresh), clock=time.time)
    try:
        if clear:
            client.clear_cache()
        if warn is not None:
            _warn_unverified(settings, pipfile, warn)
        yield client
    finally:
        client.close()


def _warn_unverified(settings: Settings, pipfile: Pipfile, warn: Callable[[str], None]) -> None:
    """Warn once per source with ``verify_ssl = false`` on an https URL. A URL is expanded
    here only for such a source, and one whose variable is not set is passed over: credentials
    are expanded when a request needs them, and a command that sends none (a sync the
    environment already matches) must not fail for want of them."""
    for source in pipfile.effective_sources:
        if source.verify_ssl:
            continue
        try:
            url = settings.routes.url(source)
        except UsageError:
            continue  # the first request to it says which variable is missing
        if IndexClient.skips_tls_verification(source, url):
            warn(
                f"source `{source.name}` ({shown_url(url)}) has verify_ssl = false: "
                "its certificate is not checked"
            )
