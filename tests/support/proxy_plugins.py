"""proxy.py plugins for the test proxy (loaded by the proxy process, not by the tests)."""

from __future__ import annotations

from typing import Any

from proxy.http.proxy import HttpProxyBasePlugin

#: Host names under this suffix exist only for the proxy: it connects them to 127.0.0.1, while
#: the machine's DNS knows nothing of them. An index named so is reachable only through it.
ALIAS_SUFFIX = ".internal"


class LoopbackAliases(HttpProxyBasePlugin):
    """Resolves ``*.internal`` to 127.0.0.1; every other host to an address that refuses
    (the proxy must never reach beyond loopback)."""

    def resolve_dns(self, host: str, port: int) -> tuple[str | None, Any]:
        if host.endswith(ALIAS_SUFFIX) or host in {"127.0.0.1", "localhost"}:
            return "127.0.0.1", None
        return "127.0.0.9", None  # loopback, nothing listens: the request fails
