"""Which proxy a request goes through: the standard ``*_proxy`` variables as curl and pip read them.

The rules (a pure function of the variables and the URL, so both HTTP transports, the source
listing and the tests agree):

- An ``http://`` URL uses ``http_proxy``, then ``HTTP_PROXY``; an ``https://`` URL uses
  ``https_proxy``, then ``HTTPS_PROXY``; either falls back to ``all_proxy``, then ``ALL_PROXY``.
  The lower-case name wins over the upper-case one, as in curl and Python's `urllib`. A variable
  set to the empty string counts as unset.
- A proxy written without a scheme (``proxy.corp:3128``) is an ``http://`` proxy, as in curl.
- ``no_proxy`` (then ``NO_PROXY``) is a comma- or space-separated list; a request whose host
  matches an entry goes direct. ``*`` alone matches every host. An entry matches its host and
  every sub-domain (``corp.example`` and ``.corp.example`` both match ``pypi.corp.example``);
  an IP address matches that address; a CIDR range (``10.0.0.0/8``) every address in it; an
  entry with a port (``pypi.corp.example:8443``) only that port. Host names compare without
  case and without a trailing dot.

A proxy URL may hold credentials (``http://user:secret@proxy:3128``): `Proxy.shown` is the form
every message uses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import msgspec

from pipfence.models.urls import shown_url

__all__ = ["PROXY_SCHEMES", "PROXY_VARIABLES", "Proxies", "Proxy", "bypasses_proxy"]

#: Proxy schemes both transports can use (socks needs libcurl, or httpx with socksio).
PROXY_SCHEMES = frozenset({"http", "https", "socks4", "socks4a", "socks5", "socks5h"})

#: Every variable read here, in the order they are looked at.
PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
)

_ORDER = {
    "http": ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
    "https": ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"),
}


@dataclass(frozen=True, slots=True)
class Proxy:
    """A proxy and the variable it came from. ``url`` may hold credentials: never show it."""

    url: str = field(repr=False)
    variable: str

    @property
    def shown(self) -> str:
        """The proxy's URL with any user-info replaced by ``***``."""
        return shown_url(self.url)

    @property
    def label(self) -> str:
        """How messages name it: ``http://***@proxy:3128 (from HTTPS_PROXY)``."""
        return f"{self.shown} (from {self.variable})"


class Proxies(msgspec.Struct, frozen=True, kw_only=True):
    """The proxy configuration of a run: per scheme, and the hosts that bypass it."""

    http: Proxy | None = None
    https: Proxy | None = None
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Proxies:
        """Read the variables (see the module docstring); a proxy without a scheme gets
        ``http://``. Values are not validated here: see `Proxies.problems`."""
        found: dict[str, Proxy | None] = {}
        for scheme, names in _ORDER.items():
            found[scheme] = None
            for name in names:
                value = environ.get(name, "").strip()
                if value:
                    url = value if "://" in value else f"http://{value}"
                    found[scheme] = Proxy(url, name)
                    break
        no_proxy = environ.get("no_proxy", "").strip() or environ.get("NO_PROXY", "").strip()
        entries = tuple(e for e in no_proxy.replace(" ", ",").split(",") if e)
        return cls(http=found["http"], https=found["https"], no_proxy=entries)

    def problems(self) -> list[str]:
        """One sentence per proxy that cannot be used (unknown scheme, no host), naming its
        variable and its redacted value."""
        problems = []
        for proxy in {p for p in (self.http, self.https) if p is not None}:
            try:
                parts = urlsplit(proxy.url)
                scheme, host = parts.scheme.lower(), parts.hostname
                _ = parts.port
            except ValueError:
                scheme, host = "", None
            if scheme not in PROXY_SCHEMES or not host:
                problems.append(
                    f"{proxy.variable} is not a proxy URL pipfence can use: `{proxy.shown}` "
                    f"(expected {'/'.join(sorted(PROXY_SCHEMES))}://host:port)"
                )
        return sorted(problems)

    def for_url(self, url: str) -> Proxy | None:
        """The proxy a GET for ``url`` goes through; None for a direct connection."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        proxy = self.https if scheme == "https" else self.http if scheme == "http" else None
        if proxy is None or not host:
            return None
        if bypasses_proxy(host, port or (443 if scheme == "https" else 80), self.no_proxy):
            return None
        return proxy


def bypasses_proxy(host: str, port: int, entries: tuple[str, ...]) -> bool:
    """Whether ``host`` (a name or an IP address, without brackets) on ``port`` matches one of
    the ``no_proxy`` ``entries``."""
    host = host.strip("[]").rstrip(".").lower()
    address = _address(host)
    for raw in entries:
        entry = raw.strip().lower()
        if entry == "*":
            return True
        entry, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        entry = entry.strip("[]").rstrip(".")
        if address is not None:
            if "/" in entry:
                try:
                    if address in ipaddress.ip_network(entry, strict=False):
                        return True
                except ValueError:
                    pass
                continue
            if _address(entry) == address:
                return True
            continue
        entry = entry.lstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port`` → (host, port); an IPv6 address or CIDR range without brackets keeps its
    colons."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None
