"""Direct references: what one `pipfence install` argument names (a requirement on an index,
or a direct reference), and the path, file and git entries of a Pipfile and a lock (`DirectRef`).

    "requests>=2"                        ──► Requirement (resolved from the Pipfile's sources)
    "." / "./libs/x" / "/abs/dir[extra]" ──► Reference(kind="path")        a folder or archive
    "x-1.0.tar.gz" / "../x-1.0-….whl"    ──► Reference(kind="path")        an archive on disk
    "file:///…/x.whl"                    ──► Reference(kind="file")        as typed, decoded
    "https://…/x-1.0.whl"                ──► Reference(kind="file")        without its fragment
    "name[extra] @ https://…/x.whl"      ──► Reference(kind="file", name=…, extras=…)

The rules are pip's for an install argument (which pipenv hands to pip): a path is anything
with a slash or starting with a dot, or ending like a distribution archive, or any argument of
``-e``; a trailing ``[extra,…]`` of a path is its extras. What the path holds (folder or file)
and the project's name are found on disk by the project layer; this module does no I/O.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

import msgspec
from packaging.requirements import InvalidRequirement, Requirement

from pipfence.errors import UsageError
from pipfence.models.lockfile import LockedPackage
from pipfence.models.names import NormalizedName, canonical_name, is_valid_name, shown
from pipfence.models.package_spec import PackageSpec
from pipfence.models.urls import split_vcs_ref

__all__ = [
    "ARCHIVE_SUFFIXES",
    "DirectKind",
    "DirectRef",
    "FetchedReference",
    "Reference",
    "parse_install_argument",
    "relative_location",
]

#: The file names pip installs from: wheels and the sdist formats.
ARCHIVE_SUFFIXES = (
    ".whl",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tar",
    ".zip",
)

ReferenceKind = Literal["path", "file"]
_URL_SCHEMES = ("file:", "http://", "https://")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_TRAILING_EXTRAS = re.compile(r"^(?P<location>.+?)\[(?P<extras>[^\[\]]*)\]$")
_EGG = re.compile(r"(?:^|&)egg=(?P<name>[^&\[]+)(?:\[(?P<extras>[^\]]*)\])?")


class Reference(msgspec.Struct, frozen=True, kw_only=True):
    """A direct reference from the command line.

    ``location`` is the path as typed (``kind`` path) or the URL to write (``kind`` file);
    ``name`` is the project's name when the argument states it (``name @ url``, ``#egg=``).
    """

    kind: ReferenceKind
    location: str
    name: str | None = None
    extras: tuple[str, ...] = ()
    editable: bool = False

    @property
    def filename(self) -> str | None:
        """The archive's file name when the reference names an archive, else None."""
        path = urlsplit(self.location).path if self.kind == "file" else self.location
        last = unquote(path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
        return last if last.lower().endswith(ARCHIVE_SUFFIXES) else None


def _extras(text: str, argument: str) -> tuple[str, ...]:
    extras = tuple(e.strip() for e in text.split(",") if e.strip())
    bad = next((e for e in extras if not is_valid_name(e)), None)
    if bad is not None:
        raise UsageError(f"`{shown(argument)}` names the extra `{shown(bad)}`, which is not valid")
    return extras


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith((".", "~"))


def _is_url(text: str) -> bool:
    return text.lower().startswith(_URL_SCHEMES)


def _url_reference(
    url: str, *, name: str | None, extras: tuple[str, ...], editable: bool, argument: str
) -> Reference:
    """A ``file`` reference for ``url``: a ``file:`` URL as typed (percent-decoded, as pipenv
    writes it), an http(s) URL without its fragment (an ``#egg=`` there names the project)."""
    if url.lower().startswith(_VCS_PREFIXES):
        raise UsageError(
            f"`{shown(argument)}` is a version-control URL; pipfence adds git entries from the "
            "Pipfile only",
            hint='write it as `name = {git = "https://…", ref = "…"}` in the Pipfile',
        )
    if editable:
        raise UsageError(
            f"`{shown(argument)}` is a URL; `-e` installs a folder in editable mode",
            hint="leave out `-e`, or give the folder's path",
        )
    parts = urlsplit(url)
    egg = _EGG.search(parts.fragment)
    if egg is not None:
        name = name or egg.group("name")
        if egg.group("extras"):
            extras = extras or _extras(egg.group("extras"), argument)
    if url.lower().startswith("file:"):
        return Reference(
            kind="file", location=unquote(url.split("#", 1)[0]), name=name, extras=extras
        )
    return Reference(
        kind="file", location=urlunsplit(parts._replace(fragment="")), name=name, extras=extras
    )


def parse_install_argument(argument: str, *, editable: bool = False) -> Requirement | Reference:
    """What ``argument`` (one `install` argument, or the value of its ``-e``) asks for.

    A PEP 508 requirement is returned as such; a path, an archive file name, a URL or a
    ``name @ url`` requirement as a `Reference`. `UsageError` for a version-control URL (git
    entries are written in the Pipfile), for ``-e`` with something that is not a folder, and
    for what is none of these (the requirement's own parse error)."""
    text = argument.strip()
    if not text:
        raise UsageError("an empty argument is neither a requirement nor a path")
    if _is_url(text) or text.lower().startswith(_VCS_PREFIXES):
        return _url_reference(text, name=None, extras=(), editable=editable, argument=argument)
    archive = text.lower().endswith(ARCHIVE_SUFFIXES)
    if not editable:
        try:
            requirement: Requirement | None = Requirement(text)
        except InvalidRequirement:
            requirement = None
        if requirement is not None and requirement.url is not None:
            return _requirement_url(requirement, argument=argument)
        if requirement is not None and not archive:
            return requirement
    if editable or archive or _looks_like_path(text):
        location = text
        extras: tuple[str, ...] = ()
        match = _TRAILING_EXTRAS.match(text)
        if match is not None:
            location, extras = match.group("location"), _extras(match.group("extras"), argument)
        return Reference(kind="path", location=location, extras=extras, editable=editable)
    return Requirement(text)  # raises the parse error a caller shows


def _requirement_url(requirement: Requirement, *, argument: str) -> Reference:
    if requirement.marker is not None:
        raise UsageError(
            f"`{shown(argument)}`: a marker on a direct reference is not supported on the "
            "command line",
            hint="add the entry to the Pipfile with its `markers` key",
        )
    return _url_reference(
        requirement.url or "",
        name=requirement.name,
        extras=tuple(sorted(requirement.extras)),
        editable=False,
        argument=argument,
    )


def relative_location(target: str, base: str) -> str:
    """``target`` (an absolute POSIX path) as pipenv writes a local path in the Pipfile,
    relative to ``base`` (the project folder, absolute): ``.`` for the folder itself, ``./sub``
    below it, ``../other`` beside or above it."""
    target_parts = [p for p in target.split("/") if p]
    base_parts = [p for p in base.split("/") if p]
    common = 0
    for mine, theirs in zip(target_parts, base_parts, strict=False):
        if mine != theirs:
            break
        common += 1
    up = [".."] * (len(base_parts) - common)
    rest = target_parts[common:]
    if up:
        return "/".join([*up, *rest])
    return "./" + "/".join(rest) if rest else "."


DirectKind = Literal["path", "file", "git"]


class FetchedReference(Protocol):
    """What fetching a direct reference found that its lock entry records."""

    @property
    def commit(self) -> str | None: ...

    @property
    def sha256(self) -> str | None: ...


class DirectRef(msgspec.Struct, frozen=True, kw_only=True):
    """One direct reference. ``location`` is the path, file URL or git URL as written;
    ``ref`` the git ref asked for (Pipfile) or locked commit (lock); ``hashes`` the
    ``sha256:`` digests a lock allows for a ``file`` archive."""

    name: str
    kind: DirectKind
    location: str
    editable: bool = False
    ref: str | None = None
    subdirectory: str | None = None
    extras: tuple[str, ...] = ()
    markers: str | None = None
    hashes: tuple[str, ...] = ()

    @property
    def key(self) -> NormalizedName:
        return canonical_name(self.name)

    @classmethod
    def from_spec(cls, spec: PackageSpec) -> DirectRef:
        """From a Pipfile entry that is not a named (index) one."""
        if spec.vcs is not None and spec.vcs != "git":
            raise UsageError(
                f"`{spec.name}` is a {spec.vcs} entry; pipfence supports git checkouts only"
            )
        kind: DirectKind = "git" if spec.vcs else "path" if spec.path is not None else "file"
        location = spec.vcs_url if spec.vcs else spec.path if spec.path is not None else spec.file
        if not location:
            raise UsageError(f"`{spec.name}` has an empty `{kind}`")
        ref = spec.ref
        if kind == "git":
            # `git = "https://host/repo.git@v1.0"`: the repository, at that ref (a `ref` key
            # wins, as in pipenv).
            location, written = split_vcs_ref(location)
            ref = ref or written
        return cls(
            name=spec.name,
            kind=kind,
            location=location,
            editable=spec.editable,
            ref=ref,
            subdirectory=spec.subdirectory,
            extras=spec.extras,
            markers=spec.markers,
        )

    @classmethod
    def from_locked(cls, package: LockedPackage) -> DirectRef:
        """From a lock entry with ``path``, ``file`` or ``git``; `UsageError` for other VCS."""
        data = package.data
        for other in ("hg", "svn", "bzr"):
            if other in data:
                raise UsageError(
                    f"`{package.name}` is a {other} entry; pipfence supports git checkouts only"
                )
        kind: DirectKind = "git" if "git" in data else "path" if "path" in data else "file"
        location = data.get(kind)
        if not isinstance(location, str) or not location:
            raise UsageError(f"Pipfile.lock has an empty `{kind}` for `{package.name}`")
        ref = data.get("ref")
        if kind == "git":
            location, written = split_vcs_ref(location)
            ref = ref if isinstance(ref, str) else written
        sub = data.get("subdirectory")
        extras = data.get("extras", [])
        return cls(
            name=package.name,
            kind=kind,
            location=location,
            editable=data.get("editable") is True,
            ref=ref if isinstance(ref, str) else None,
            subdirectory=sub if isinstance(sub, str) else None,
            extras=tuple(e for e in extras if isinstance(e, str)),
            markers=package.markers,
            hashes=package.hashes,
        )

    def lock_data(self, fetched: FetchedReference) -> dict[str, Any]:
        """The lock entry (without markers and extras, which the caller adds) of the reference
        as ``fetched``: its git commit, its archive's sha256."""
        data: dict[str, Any] = {self.kind: self.location}
        if self.kind == "git":
            data["ref"] = fetched.commit
            if self.subdirectory:
                data["subdirectory"] = self.subdirectory
        if self.editable:
            data["editable"] = True
        if fetched.sha256:  # an archive, by file URL or by path
            data["hashes"] = [f"sha256:{fetched.sha256}"]
        return data
