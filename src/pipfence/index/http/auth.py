"""Credentials and the origin they are bound to: URL user-info, ``.netrc`` and keyring.

- `Endpoint` is a source as requests see it: a credential-free URL, the redacted form for
  messages, and the credentials its URL carried.
- `Authenticator.authorization` decides the ``Authorization`` header of one request: the
  source's own credentials only for its own origin (scheme, host, port); a ``.netrc`` entry only
  for the host it names (never the ``default`` entry); keyring only for the source's own origin,
  when the URL has no password, looked up once per source. Nothing is sent over plain http
  except to a loopback host.
- Keyring providers, as pip's ``--keyring-provider``: ``import`` uses the `keyring` package;
  ``subprocess`` runs the ``keyring`` command (``keyring get URL USER``, or
  ``keyring --mode creds get URL`` without a user name) with the credential-free URL, so no
  secret is ever on a command line; ``auto`` is ``import`` when keyring is importable, else
  ``subprocess`` when the command exists and a user name is known; ``disabled`` asks nothing.
"""

from __future__ import annotations

import base64
import logging
import netrc
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pipfence.errors import IndexServerError
from pipfence.index.http.settings import ClientSettings
from pipfence.models.sources import Source
from pipfence.models.urls import Origin, shown_url, split_userinfo

__all__ = ["Authenticator", "Credentials", "Endpoint", "Origin", "strip_userinfo"]

_log = logging.getLogger(__name__)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNKNOWN = object()


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password; neither appears in ``repr``."""

    username: str = field(repr=False)
    password: str = field(repr=False)

    def header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


def strip_userinfo(url: str) -> tuple[str, Credentials | None]:
    """``url`` without its user-info, and the credentials it held (percent-decoded)."""
    clean, userinfo = split_userinfo(url)
    if userinfo is None:
        return url, None
    return clean, Credentials(userinfo.username, userinfo.password)


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """A source as requests see it.

    ``url`` is the request URL without user-info (safe to log and to key a cache by); ``shown``
    is the redacted form used in messages; ``credentials`` came from the URL's user-info.
    """

    name: str
    url: str
    shown: str
    origin: Origin
    credentials: Credentials | None = field(default=None, repr=False)
    verify_tls: bool = True

    @classmethod
    def of(cls, source: Source, request_url: str) -> Endpoint:
        """Build from a source and its expanded request URL (which may hold credentials).

        Raises `IndexServerError` when the URL is not http(s).
        """
        shown = shown_url(request_url)
        try:
            url, credentials = strip_userinfo(request_url.strip())
            origin = Origin.of(url)
        except ValueError:
            raise IndexServerError(
                f"source `{source.name}` has URL {shown}, which is not an http(s) URL",
                source=source.name,
            ) from None
        return cls(
            name=source.name,
            url=url,
            shown=shown,
            origin=origin,
            credentials=credentials,
            verify_tls=source.verify_ssl,
        )

    @property
    def label(self) -> str:
        """How messages name the source: `` `name` (redacted URL)``."""
        return f"`{self.name}` ({self.shown})"

    @property
    def skips_tls_verification(self) -> bool:
        """Whether requests to this source's host are made without verifying TLS: the caller
        warns about it."""
        return not self.verify_tls and self.origin.scheme == "https"


def load_netrc(path: Path | None) -> netrc.netrc | None:
    """The netrc file at ``path``; None when there is none or it cannot be read (logged)."""
    if path is None:
        return None
    try:
        return netrc.netrc(str(path))
    except FileNotFoundError:
        return None
    except (OSError, netrc.NetrcParseError) as exc:
        # A broken netrc must not stop a lock that may not need it; the server's 401 will say so.
        _log.warning("ignoring netrc file %s: %s", path, exc)
        return None


class Authenticator:
    """The ``Authorization`` header of each request; safe to use from many threads."""

    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        self._netrc = load_netrc(settings.netrc_path)
        self._keyring_cache: dict[tuple[str, str | None], Credentials | None] = {}
        self._keyring_lock = threading.Lock()

    def authorization(self, endpoint: Endpoint, url: str) -> str | None:
        """The header value for a GET of ``url`` on behalf of ``endpoint``; None to send none.

        Raises `IndexServerError` when the source's URL credentials would go over plain http.
        """
        try:
            origin = Origin.of(url)
        except ValueError:
            return None
        credentials = endpoint.credentials if origin == endpoint.origin else None
        from_url = credentials is not None
        if credentials is None:
            credentials = self._netrc_credentials(origin.host)
        if origin == endpoint.origin and (credentials is None or not credentials.password):
            # A user name without a password (or nothing at all): ask keyring, as pip does.
            credentials = self._keyring_credentials(endpoint, credentials) or credentials
        if credentials is None:
            return None
        if origin.scheme == "http" and not origin.is_loopback:
            if from_url:
                raise IndexServerError(
                    f"source {endpoint.label} has credentials but uses plain http; "
                    "refusing to send them unencrypted",
                    source=endpoint.name,
                    hint="use an https URL for this source",
                )
            return None
        return credentials.header()

    def credentials_origin(self, endpoint: Endpoint) -> str | None:
        """Where the credentials a request for the source's own URL carries come from:
        ``"the URL"``, ``".netrc"`` or ``"keyring"``; None when it carries none (also when
        they would go over plain http and so are not sent). The same lookups as
        `authorization` (keyring's answer is cached, so the request asks it no second time).
        """
        try:
            if self.authorization(endpoint, endpoint.url) is None:
                return None
        except IndexServerError:
            return None
        credentials = endpoint.credentials
        origin = "the URL" if credentials is not None else None
        if credentials is None:
            credentials = self._netrc_credentials(endpoint.origin.host)
            origin = ".netrc" if credentials is not None else None
        if (credentials is None or not credentials.password) and self._keyring_credentials(
            endpoint, credentials
        ) is not None:
            return "keyring"
        return origin

    def _netrc_credentials(self, host: str) -> Credentials | None:
        # Only an entry for this very host: netrc's `default` entry would send one password
        # to every host a page links to.
        if self._netrc is None or host not in self._netrc.hosts:
            return None
        login, _account, password = self._netrc.hosts[host]
        return Credentials(login or "", password or "")

    def _keyring_credentials(
        self, endpoint: Endpoint, known: Credentials | None
    ) -> Credentials | None:
        """Credentials for the source's own URL from keyring; looked up once per source."""
        if self._settings.keyring == "disabled":
            return None
        key = (endpoint.url, known.username if known else None)
        found = self._keyring_cache.get(key, _UNKNOWN)
        if found is not _UNKNOWN:
            return found  # type: ignore[return-value]  # the sentinel was ruled out
        # One lookup at a time: the first requests of a lock start together, and each would
        # otherwise import keyring (or run it) and ask its backend.
        with self._keyring_lock:
            if key in self._keyring_cache:
                return self._keyring_cache[key]
            found = self._ask_keyring(endpoint, key[1])
            self._keyring_cache[key] = found
        return found

    def _ask_keyring(self, endpoint: Endpoint, username: str | None) -> Credentials | None:
        provider = self._settings.keyring
        if provider in {"auto", "import"}:
            try:
                import keyring  # optional, and slow to import
            except ImportError:
                keyring = None
            if keyring is not None:
                try:
                    credential = keyring.get_credential(endpoint.url, username)
                except Exception:  # noqa: BLE001  # a broken backend must not break the run
                    return None
                if credential is None or not credential.password:
                    return None
                return Credentials(credential.username or username or "", credential.password)
            if provider == "import":
                return None
        command = self._settings.keyring_command
        if command is None or (provider == "auto" and username is None):
            return None
        for service in (endpoint.url, endpoint.origin.host):
            found = self._run_keyring(command, service, username)
            if found is not None:
                return found
        return None

    def _run_keyring(self, command: str, service: str, username: str | None) -> Credentials | None:
        """Ask the ``keyring`` command for ``service`` (a credential-free URL or a host name).

        The secret comes back on stdout only; the command sees no terminal input (it must not
        prompt), and a failure, a timeout or an empty answer count as "no credentials".
        """
        if username is not None:
            argv = [command, "get", service, username]
        else:
            argv = [command, "--mode", "creds", "get", service]
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self._settings.keyring_timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            _log.warning("the keyring command could not be used: %s", type(exc).__name__)
            return None
        if done.returncode != 0:
            return None
        lines = done.stdout.decode("utf-8", "replace").splitlines()
        if username is not None:
            return Credentials(username, lines[0]) if lines and lines[0] else None
        if len(lines) >= 2 and lines[1]:  # noqa: PLR2004 - user name, then password
            return Credentials(lines[0], lines[1])
        return None
