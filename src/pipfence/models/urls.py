"""Index URLs and the credentials in them: one model for every layer.

A source URL is kept as the user wrote it (a *template*, ``${VAR}`` placeholders included) in
the Pipfile, the lock, every message and every cache key. It becomes a request URL only at the
moment of use, through `expand`, and that form never leaves the request:

- Each placeholder's value is percent-encoded for the URL component it stands in (user name,
  password, path, query, fragment), so a token holding ``#``, ``/``, ``?``, ``@``, ``:`` or
  ``%`` authenticates as written instead of reshaping the URL. A placeholder in the host must
  hold a host name; one that *starts* the URL (``url = "${CODEARTIFACT_URL}"``) holds a whole
  URL, taken as the user wrote it.
- The expanded URL must have the origin (scheme, host, port) and the user-info the template
  promised; one whose value would move the request elsewhere is refused before anything is sent.
- `shown_url` is the only form a URL is displayed in: user-info becomes ``***``, and so does
  the value of a query parameter named like a credential (``?access_token=…``).
- `Routes` says where a source's requests go: a per-source mirror on this machine, the PyPI
  mirror for PyPI's URL (in any of its spellings), or the source's own URL.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import msgspec

from pipfence.errors import UsageError
from pipfence.models.names import MIRROR_PREFIX, mirror_variable

__all__ = [
    "MIRROR_PREFIX",
    "PYPI_SIMPLE_URLS",
    "Origin",
    "Route",
    "RoutedSource",
    "Routes",
    "UserInfo",
    "expand",
    "hide_query_secrets",
    "is_pypi_url",
    "mirror_variable",
    "normalise",
    "placeholders",
    "redact_text",
    "same_url",
    "shown_url",
    "split_userinfo",
    "split_vcs_ref",
    "without_secrets",
]

#: PyPI's simple index in every spelling a Pipfile uses. The first is the one pipenv writes
#: into new Pipfiles and locks (`pipfence.models.sources.PYPI_SIMPLE_URL`); the others are
#: the legacy host name. Each counts as PyPI (a PyPI mirror replaces it) with either scheme and
#: with or without a trailing slash.
PYPI_SIMPLE_URLS = ("https://pypi.org/simple", "https://pypi.python.org/simple")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HOST_VALUE = re.compile(r"[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\]")
_PORT_VALUE = re.compile(r"[0-9]{1,5}")
# What each component keeps unencoded (RFC 3986): the unreserved characters always; sub-delims,
# ``:`` and ``@`` in a path segment, plus ``/`` between segments; ``?`` too in a query or
# fragment, but not ``&``/``=``, which would split a value into new parameters.
_SAFE = {
    "user": "",
    "host": "",
    "password": "",
    "path": "/!$'()*+,;:@",
    "query": "/?!$'()*,;:@",
    "fragment": "/?!$'()*+,;:@&=",
}


class Origin(msgspec.Struct, frozen=True):
    """RFC 6454 origin (scheme, host, port): what credentials are bound to."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of an absolute http(s) URL; `ValueError` for anything else."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            msg = "not an absolute http(s) URL"
            raise ValueError(msg)
        return cls(scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme])

    @property
    def is_loopback(self) -> bool:
        """Whether the host is this machine (``localhost`` or a loopback address)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user name and password taken from a URL (decoded); neither appears in ``repr``."""

    username: str = field(repr=False)
    password: str = field(repr=False)


def split_vcs_ref(url: str) -> tuple[str, str | None]:
    """A VCS URL without the revision written after ``@`` at the end of its path, and that
    revision (pip's ``git+https://host/repo.git@v1.0#egg=x``); None when there is none. The
    user-info's ``@`` (``ssh://git@host/repo``, ``git@host:repo``) is no revision, and the
    fragment stays on the URL."""
    base, hash_sign, fragment = url.partition("#")
    scheme_end = base.find("://")
    if scheme_end >= 0:
        slash = base.find("/", scheme_end + 3)
        path_start = slash if slash >= 0 else len(base)
    elif re.match(r"^[^/@:]+@[^/:]+:", base):  # scp-like: user@host:path
        path_start = base.index(":") + 1
    else:
        path_start = 0
    path = base[path_start:]
    if "@" not in path:
        return url, None
    path, _at, revision = path.rpartition("@")
    if not revision or not path:
        return url, None
    return base[:path_start] + path + hash_sign + fragment, revision


def split_userinfo(url: str) -> tuple[str, UserInfo | None]:
    """``url`` without its user-info, and the user-info decoded (None when it has none)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=host))
    return clean, UserInfo(unquote(username), unquote(password))


def shown_url(url: str) -> str:
    """``url`` as it may be displayed: any user-info replaced by ``***``, and the value of a
    query parameter named like a credential (``?access_token=…``, ``&sig=…``) too.

    Placeholders stay as they are (they name a variable, not its value); an expanded URL loses
    its credentials. A URL that does not parse is not echoed at all.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return hide_query_secrets(url.strip())
    host = parts.netloc.rpartition("@")[2]
    return hide_query_secrets(urlunsplit(parts._replace(netloc=f"***@{host}")))


_USERINFO_IN_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
#: A query parameter whose name says it carries a credential, and its value.
_SECRET_QUERY = re.compile(
    r"([?&][^=&#\s'\"]*(?:token|key|secret|passw|pwd|auth|sig|credential)[^=&#\s'\"]*=)"
    r"([^&#\s'\"]+)",
    re.IGNORECASE,
)
_WHOLE_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def hide_query_secrets(text: str) -> str:
    """``text`` with the value of every credential-named query parameter of its URLs as
    ``***``; a value that is only a ``${VAR}`` placeholder stays (it names a variable)."""

    def hidden(match: re.Match[str]) -> str:
        value = match.group(2)
        return match.group(0) if _WHOLE_PLACEHOLDER.fullmatch(value) else match.group(1) + "***"

    return _SECRET_QUERY.sub(hidden, text) if "=" in text else text


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text (a child process's error output) with the user-info of every URL in it
    replaced by ``***``, credential-named query values too (`hide_query_secrets`), and each of
    ``secrets`` gone in the forms a URL would carry it."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, "***")
    return hide_query_secrets(_USERINFO_IN_TEXT.sub(r"\1***@", text))


def without_secrets(url: str) -> tuple[str, bool]:
    """``url`` with user-info dropped unless it is made only of placeholders, and whether
    anything was dropped: the form a URL the user typed with a literal secret may be written
    to a file or printed in (``${VAR}`` placeholders are kept: they name no secret)."""
    parts = urlsplit(url.strip())
    if "@" not in parts.netloc:
        return url.strip(), False
    userinfo, _, host = parts.netloc.rpartition("@")
    if not _VAR.sub("", userinfo).replace(":", ""):
        return url.strip(), False
    return urlunsplit(parts._replace(netloc=host)), True


def placeholders(template: str) -> list[str]:
    """The variable names ``template`` refers to, in order of appearance."""
    return [m.group(1) or m.group(2) for m in _VAR.finditer(template)]


def normalise(url: str) -> str:
    """The form two URLs are compared in: scheme and host lower-cased, no trailing slash, no
    fragment."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def same_url(a: str, b: str) -> bool:
    """Whether two source URLs name the same index (case of scheme and host, and a trailing
    slash, do not matter)."""
    return normalise(a) == normalise(b)


def is_pypi_url(url: str) -> bool:
    """Whether ``url`` is PyPI's simple index in any of its spellings (`PYPI_SIMPLE_URLS`,
    http or https, trailing slash or not): the URL a PyPI mirror replaces."""
    parts = urlsplit(normalise(url))
    if parts.scheme not in _DEFAULT_PORTS or parts.query:
        return False
    for known in PYPI_SIMPLE_URLS:
        spelling = urlsplit(known)
        if (parts.netloc, parts.path) == (spelling.netloc, spelling.path):
            return True
    return False


# --- expansion -----------------------------------------------------------------------------


def expand(template: str, environ: Mapping[str, str], *, what: str) -> str:
    """``template`` with each ``${VAR}`` / ``$VAR`` replaced by its value from ``environ``.

    ``what`` names the URL in messages ("the URL of source `corp`"). Values are encoded for
    their component (see the module docstring). Raises `UsageError`, naming the variable and
    never a value, when a variable is unset, when a value cannot stand where it is, or when the
    result would have another origin or user-info than the template says.
    """
    names = placeholders(template)
    if not names:
        return template
    for name in names:
        if name not in environ:
            raise UsageError(
                f"environment variable `{name}` in {what} is not set",
                hint=f"set {name} before running pipfence",
            )
    lead = _VAR.match(template)
    if lead is not None:
        # A URL that starts with a variable takes that value as the user's own URL text.
        name = lead.group(1) or lead.group(2)
        value = environ[name].strip()
        if not _SCHEME.match(value):
            raise UsageError(
                f"environment variable `{name}` in {what} must hold a URL "
                "(starting with https://, http:// or file://)",
                hint=f"set {name} to the index's full URL",
            )
        rest = template[lead.end() :]
        return value + _expand_relative(rest, environ, what=what) if rest else value
    return _expand_components(template, environ, what=what)


def _expand_relative(rest: str, environ: Mapping[str, str], *, what: str) -> str:
    """The part of a template after a leading whole-URL variable: a path (and maybe a query),
    whose placeholders are encoded as such."""
    return _substitute(rest, environ, "path", what=what)


def _substitute(text: str, environ: Mapping[str, str], component: str, *, what: str) -> str:
    safe = _SAFE[component]

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        raw = environ[name]
        if component == "host":
            return _host_value(name, raw, what=what)
        return quote(raw, safe=safe)

    return _VAR.sub(value, text)


def _host_value(name: str, raw: str, *, what: str) -> str:
    value = raw.strip()
    host, sep, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    if not _HOST_VALUE.fullmatch(host) or (sep and not _PORT_VALUE.fullmatch(port)):
        raise UsageError(
            f"environment variable `{name}` in {what} stands for a host name, "
            "but its value is not one",
            hint=f"set {name} to a host name (with a port if needed), nothing else",
        )
    return value


def _expand_components(template: str, environ: Mapping[str, str], *, what: str) -> str:
    """Expand a template whose scheme is written out: find each placeholder's component on
    the template itself (placeholders hold no URL delimiters), encode each value for it, and
    check the result parses back to the same origin and user-info."""
    import secrets  # here: its OpenSSL import costs every command's start

    marker = f"pfv{secrets.token_hex(6)}x"
    found: list[str] = []

    def mark(match: re.Match[str]) -> str:
        found.append(match.group(0))
        return f"{marker}{len(found) - 1}{marker}"

    skeleton = urlsplit(_VAR.sub(mark, template))
    restore = re.compile(re.escape(marker) + r"(\d+)" + re.escape(marker))

    def fill(text: str, component: str) -> str:
        original = restore.sub(lambda m: found[int(m.group(1))], text)
        return _substitute(original, environ, component, what=what)

    userinfo, at, hostport = skeleton.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    user, password = fill(user, "user"), fill(password, "password")
    hostport = fill(hostport, "host")
    netloc = f"{user}{colon}{password}{at}{hostport}"
    result = urlunsplit(
        (
            skeleton.scheme,
            netloc,
            fill(skeleton.path, "path"),
            fill(skeleton.query, "query"),
            fill(skeleton.fragment, "fragment"),
        )
    )
    names = placeholders(restore.sub(lambda m: found[int(m.group(1))], skeleton.netloc))
    _check_shape(result, netloc=netloc, names=names, what=what)
    return result


def _check_shape(result: str, *, netloc: str, names: list[str], what: str) -> None:
    """Refuse an expansion that parses to another authority than the one it was built from."""
    try:
        parsed = urlsplit(result)
        parsed.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        parsed = None
    if parsed is None or parsed.netloc != netloc:
        raise UsageError(
            f"{what} does not keep its host once its variables are expanded",
            hint="a variable's value must fit where it stands; check the values set for "
            + ", ".join(f"`{n}`" for n in dict.fromkeys(names)),
        )


# --- routes --------------------------------------------------------------------------------


class RoutedSource(Protocol):
    """What routing needs of a Pipfile source (`pipfence.models.sources.Source`): its name and
    its URL as the Pipfile writes it. A protocol, so that this module, which `sources` builds
    on, does not import it back."""

    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...


class Route(msgspec.Struct, frozen=True):
    """Where one source's requests go: ``template`` (placeholders kept; safe to show through
    `shown_url`) and ``via``, how it was chosen ("its own URL", "the PyPI mirror", or the variable
    of a per-source mirror)."""

    source: RoutedSource
    template: str
    via: str

    @property
    def mirrored(self) -> bool:
        """Whether requests go to a mirror instead of the source's own URL."""
        return self.template != self.source.url


@dataclass(frozen=True, slots=True)
class Routes:
    """Source → the URL its requests go to, built once from the settings.

    ``pypi_mirror`` replaces PyPI's URL (`is_pypi_url`); ``mirrors`` maps a mirror variable
    (`mirror_variable`) to a mirror of that source on this machine, and wins over the PyPI
    mirror. The Pipfile and the lock keep each source's own URL either way, and what a mirror
    serves is trusted only through the lock's hashes.
    """

    environ: Mapping[str, str] = field(repr=False)
    pypi_mirror: str | None = None
    mirrors: Mapping[str, str] = field(default_factory=dict)

    def route(self, source: RoutedSource) -> Route:
        """How ``source``'s requests are routed (nothing expanded)."""
        variable = mirror_variable(source.name)
        if mirror := self.mirrors.get(variable):
            return Route(source, mirror.strip(), variable)
        if self.pypi_mirror and is_pypi_url(source.url):
            return Route(source, self.pypi_mirror.strip(), "the PyPI mirror")
        return Route(source, source.url, "its own URL")

    def url(self, source: RoutedSource) -> str:
        """The URL to send ``source``'s requests to, expanded now. It may hold credentials:
        use it for a request only, never for display, storage or a command line."""
        route = self.route(source)
        what = f"the URL of source `{source.name}`"
        if route.mirrored:
            what = f"the mirror URL of source `{source.name}` ({route.via})"
        return expand(route.template, self.environ, what=what)

    def shown(self, source: RoutedSource) -> str:
        """The URL ``source``'s requests go to, as it may be displayed."""
        return shown_url(self.route(source).template)
