"""What the HTTP layer is told instead of reading the environment: limits, proxies, TLS, keyring.

`pipfence.project.index_settings.client_settings` fills these from the variables; everything in
`pipfence.index.http` only reads them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

from pipfence.models.proxies import Proxies

__all__ = [
    "ClientSettings",
    "KeyringProvider",
    "MiB",
    "SourceTls",
    "TlsSettings",
    "source_key",
    "tls_variable",
]

MiB = 1024 * 1024

#: pip's ``--keyring-provider`` values: ``auto`` imports keyring when it can, else runs the
#: ``keyring`` command when one is on PATH (and then only when a user name is known).
KeyringProvider = Literal["auto", "import", "subprocess", "disabled"]


class SourceTls(msgspec.Struct, frozen=True, kw_only=True):
    """TLS settings for one source's own host: an extra CA bundle and a client certificate."""

    ca_file: Path | None = None
    client_cert: Path | None = None


class TlsSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where trusted CAs and client certificates come from.

    ``ca_files`` (PEM bundles) and ``ca_dir`` (an OpenSSL hashed folder) are added to the
    system's trust store, or replace it when ``replace_system`` is set. ``client_cert`` is a
    PEM file with a certificate and its key, offered to every TLS server that asks for one;
    ``per_source`` (by source name) adds a CA bundle and sets the client certificate for
    requests to that source's own host only.
    """

    ca_files: tuple[Path, ...] = ()
    ca_dir: Path | None = None
    replace_system: bool = False
    client_cert: Path | None = None
    per_source: Mapping[str, SourceTls] = msgspec.field(default_factory=dict)


class ClientSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the index layer would otherwise read from the environment.

    ``transport`` is ``"auto"`` (libcurl when pycurl is installed, else httpx) or ``"httpx"``.
    ``cache_dir`` None disables the on-disk cache; ``page_max_age`` is how long (seconds) a
    cached project page is used without asking the index again. ``attempts`` counts the first
    try. ``netrc_path`` None means no netrc. ``ca_bundle`` is one more CA bundle added to
    ``tls.ca_files`` (kept for callers that have one file). ``temp_dir`` is where a wheel
    downloaded whole for its metadata is spooled (None: the platform default).
    ``max_download_bytes`` caps a distribution file whose size neither the project page
    (PEP 700 ``size``) nor a ``Content-Length`` gives. ``proxies`` says which proxy each URL
    goes through (none by default). ``keyring_command`` is the ``keyring`` executable the
    subprocess provider runs (None: not found on PATH).
    """

    cache_dir: Path | None = None
    page_max_age: float = 600.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_connections: int = 64
    max_keepalive: int = 32
    attempts: int = 3
    backoff: float = 0.5
    max_retry_after: float = 30.0
    max_redirects: int = 10
    max_page_bytes: int = 64 * MiB
    max_metadata_bytes: int = 16 * MiB
    max_download_bytes: int = 4096 * MiB
    netrc_path: Path | None = None
    ca_bundle: Path | None = None
    tls: TlsSettings = msgspec.field(default_factory=TlsSettings)
    proxies: Proxies = msgspec.field(default_factory=Proxies)
    http2: bool = True
    user_agent: str = "pipfence"
    keyring: KeyringProvider = "auto"
    keyring_command: str | None = None
    keyring_timeout: float = 30.0
    temp_dir: Path | None = None
    transport: str = "auto"
    #: Processes that parse and store project pages beside this one (None: one a core
    #: beyond the first, at most two; 0: none). See `pipfence.index.page_workers`.
    page_workers: int | None = None


def source_key(source_name: str) -> str:
    """A source's name as per-source variables spell it: ``corp-pypi`` → ``CORP_PYPI``
    (upper-cased, anything but ASCII letters and digits as ``_``, as the per-source mirror
    variables are named)."""
    return re.sub(r"[^A-Za-z0-9]", "_", source_name).upper()


def tls_variable(kind: str, source_name: str) -> str:
    """The per-source TLS variable of ``kind`` (``CA_BUNDLE``, ``CLIENT_CERT``) for
    ``source_name``: ``corp-pypi`` → ``PIPFENCE_CA_BUNDLE_CORP_PYPI``."""
    return f"PIPFENCE_{kind}_{source_key(source_name)}"
