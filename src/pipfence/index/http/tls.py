"""Which CAs and client certificate a request uses: the system store plus what the user added.

Both transports get the same answer, as a `Tls` value with file paths: libcurl takes one CA file
and one CA folder, so a store that *adds* bundles to the system's is written once per run as a
single PEM file — the system bundle followed by each extra bundle — under the cache folder,
named by the sha256 of its content (so it is written once, and two runs never disagree about
it). The system store is OpenSSL's compiled-in default (`ssl.get_default_verify_paths`
``openssl_cafile`` / ``openssl_capath``), not what ``SSL_CERT_FILE`` points at: that variable is
one of the extras, added like the others.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
import threading
from pathlib import Path

from pipfence.index.http.settings import TlsSettings, source_key
from pipfence.index.http.transport import Tls

__all__ = ["TrustStore", "system_store"]


def system_store() -> tuple[Path | None, Path | None]:
    """The system's CA file and CA folder (either None when the machine has none)."""
    paths = ssl.get_default_verify_paths()
    cafile = Path(paths.openssl_cafile) if paths.openssl_cafile else None
    capath = Path(paths.openssl_capath) if paths.openssl_capath else None
    return (
        cafile if cafile is not None and cafile.is_file() else None,
        capath if capath is not None and capath.is_dir() else None,
    )


class TrustStore:
    """`Tls` values for requests, built on first use; safe to share between threads.

    ``folder`` is where combined bundles are written: a folder of the user's (the cache);
    None makes a private temporary folder on first need.
    """

    def __init__(self, settings: TlsSettings, folder: Path | None) -> None:
        self._settings = settings
        self._folder = folder
        self._lock = threading.Lock()
        self._made: dict[tuple[Path, ...], Tls] = {}

    def tls(self, source: str | None, *, verify: bool = True) -> Tls:
        """The TLS set-up of a request; ``source`` names the source whose own host it goes to
        (None for any other host). Without ``verify`` no CA is loaded."""
        settings = self._settings
        own = settings.per_source.get(source_key(source)) if source is not None else None
        client_cert = own.client_cert if own and own.client_cert else settings.client_cert
        cert = str(client_cert) if client_cert is not None else None
        if not verify:
            return Tls(verify=False, client_cert=cert)
        extras = list(settings.ca_files)
        if own is not None and own.ca_file is not None:
            extras.append(own.ca_file)
        base = self._store(tuple(extras))
        return Tls(verify=True, cafile=base.cafile, capath=base.capath, client_cert=cert)

    def _store(self, extras: tuple[Path, ...]) -> Tls:
        with self._lock:
            found = self._made.get(extras)
            if found is None:
                found = self._build(extras)
                self._made[extras] = found
            return found

    def _build(self, extras: tuple[Path, ...]) -> Tls:
        settings = self._settings
        system_file, system_dir = (None, None) if settings.replace_system else system_store()
        # libcurl takes one folder: a folder the user names wins, the system's bundle file
        # (which holds the same CAs as the system folder) stays in the combined file.
        capath = settings.ca_dir or system_dir
        files: list[Path] = []
        seen: set[Path] = set()
        for path in (system_file, *extras):
            if path is None:
                continue
            real = path.resolve()
            if real not in seen:
                seen.add(real)
                files.append(path)
        if not extras:
            return Tls(cafile=_text(system_file), capath=_text(capath))
        if len(files) == 1:
            return Tls(cafile=str(files[0]), capath=_text(capath))
        content = b"\n".join(path.read_bytes().rstrip() for path in files) + b"\n"
        return Tls(cafile=str(self._write(content)), capath=_text(capath))

    def _write(self, content: bytes) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="pipfence-ca-"))
        folder = self._folder
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"ca-{hashlib.sha256(content).hexdigest()[:32]}.pem"
        try:
            if target.read_bytes() == content:
                return target
        except OSError:
            pass
        handle, temp = tempfile.mkstemp(dir=folder, prefix=".ca-", suffix=".pem")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            Path(temp).replace(target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)
