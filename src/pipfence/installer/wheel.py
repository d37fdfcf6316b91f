"""Installing wheels into an environment, uninstalling them, and installing many at once.

Every install goes through the unpacked-wheel cache: the wheel is checked and unpacked (once,
verified against RECORD; see `pipfence.installer.cache`), then `_install_unpacked` (the steps
of `installer.install`) drives the installation from that tree into `_EnvDestination`, which
places each file into the environment as the cache's link mode says (a clone, a copy or a
hard link; see `pipfence.installer.cache.LinkMode`), rewrites ``#!python`` shebangs,
generates entry point scripts and writes RECORD for the installed layout. Without a persistent
cache, a private one inside the environment is used for that one install (hard-linked: it is
removed afterwards, so nothing else shares the files).

The destination never writes outside the environment, nor over the environment's own
interpreter (``python``, ``python3``, ``python3.X`` in the scripts folder) or ``pyvenv.cfg``:
every target is checked against its scheme folder (``..`` cannot climb out), the real path of
the nearest folder that existed before against the environment's real path (a symlinked folder
cannot lead out), and an existing file is moved aside rather than written through (a symlink
cannot redirect a write). When an install fails, everything it wrote is removed, folders it
made are pruned, and files it displaced come back. A file it displaced that another installed
distribution's RECORD lists is reported (one warning line a wheel).

Replacing distributions is a transaction (`EnvChange`): the old ones are moved aside (each
file renamed beside itself, which needs no free space), the new ones installed, and only when
the caller commits are the set-aside files deleted; a rollback uninstalls what was installed and
renames every set-aside file back, so the environment is exactly as it was.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, Self, cast

from installer.destinations import WheelDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry
from installer.scripts import InvalidScript, Script
from installer.sources import WheelSource
from installer.utils import (
    SCHEME_NAMES,
    Scheme,
    construct_record_file,
    copyfileobj_with_hashing,
    fix_shebang,
    parse_entrypoints,
    parse_metadata_file,
)

from pipfence.errors import ArchiveError, InstallError, PipfenceError
from pipfence.installer.archive import check_entry_point_name, plainly_safe
from pipfence.installer.cache import CachedFile, LinkMode, UnpackedCache, UnpackedWheel, place_file
from pipfence.installer.satisfies import InstalledDist

if TYPE_CHECKING:
    from installer.scripts import LauncherKind, ScriptSection

    from pipfence.models.names import NormalizedName

__all__ = [
    "EnvChange",
    "Environment",
    "SetAside",
    "WheelInstall",
    "install_many",
    "install_wheel",
    "uninstall",
]

#: Threads installing wheels at once (`install_many`): half the cores, at most 4. Placing a
#: file is a system call or two of directory work in the kernel, and every one hands the
#: interpreter lock to another thread: on 2 cores one thread syncs 300 packages as fast as
#: six, with a fraction of the CPU time (measured: 534k futex calls with six, 478 with one).
_INSTALL_WORKERS = max(1, min(4, (os.cpu_count() or 1) // 2))

#: The names an environment's interpreter goes by in its scripts folder; no wheel may write them.
_INTERPRETER = re.compile(r"^python(\d+(\.\d+)?)?w?(\.exe)?$", re.IGNORECASE)


class Environment(Protocol):
    """What installing into an environment needs of it. `pipfence.installer.venv.VirtualEnv`
    is one; the protocol is declared here, by its user, so that this module does not import
    the one that creates environments (which seeds pip through `install_wheel`).

    ``python`` is the interpreter that scripts' shebangs name, ``script_kind`` the launcher
    kind `installer` needs (``posix``, ``win-amd64`` …), ``site_dirs`` where ``*.dist-info``
    directories live; ``scheme_dict`` is the `installer` scheme for one distribution,
    ``contains`` whether a path (made absolute, symlinks not followed) is inside ``root``.
    """

    @property
    def root(self) -> Path: ...
    @property
    def python(self) -> Path: ...
    @property
    def scripts(self) -> Path: ...
    @property
    def data(self) -> Path: ...
    @property
    def script_kind(self) -> str: ...
    @property
    def site_dirs(self) -> tuple[Path, ...]: ...
    def scheme_dict(self, name: str) -> dict[str, str]: ...
    def contains(self, path: Path | str) -> bool: ...
    def installed(self) -> Mapping[NormalizedName, InstalledDist]: ...


class UnpackedSource(WheelSource):
    """`installer.sources.WheelSource` over a cache entry.

    ``get_contents`` yields `CachedFile` objects in place of streams: the destination in
    `pipfence.installer.wheel` links them (or opens them when it must rewrite a shebang). The
    RECORD was validated when the entry was made, so ``validate_record`` has nothing to do.
    """

    def __init__(self, unpacked: UnpackedWheel) -> None:
        super().__init__(distribution=unpacked.info.distribution, version=unpacked.info.version)
        self._unpacked = unpacked

    @property
    def dist_info_dir(self) -> str:
        return self._unpacked.info.dist_info

    @property
    def data_dir(self) -> str:
        return self._unpacked.info.data_dir

    @property
    def dist_info_filenames(self) -> list[str]:
        prefix = self.dist_info_dir + "/"
        return [f.path[len(prefix) :] for f in self._unpacked.files if f.path.startswith(prefix)]

    def read_dist_info(self, filename: str) -> str:
        return (self._unpacked.tree / self.dist_info_dir / filename).read_text(encoding="utf-8")

    def validate_record(self) -> None:
        return

    def get_contents(self) -> Iterator[tuple[tuple[str, str, str], BinaryIO, bool]]:
        for file in self._unpacked.files:
            # The destination recognises CachedFile and links it instead of reading a stream;
            # installer's core passes the object through untouched.
            yield (file.path, file.hash, str(file.size)), cast("BinaryIO", file), file.executable


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelInstall:
    """One wheel for `install_many`; the fields are `install_wheel`'s parameters."""

    path: Path
    sha256: str | None = None
    requested: bool = False
    direct_url: Mapping[str, Any] | None = None


class _EnvDestination(WheelDestination):
    """An `installer` destination that writes only inside ``env`` and can undo itself.

    Paths are plain strings on the per-file path: a large wheel has thousands of files and
    `pathlib` objects cost more than the links themselves.
    """

    def __init__(
        self,
        env: Environment,
        name: str,
        filename: str,
        link_mode: LinkMode,
        *,
        known_dirs: set[str] | None = None,
    ) -> None:
        self._env = env
        self._filename = filename
        self._schemes = {k: str(v) for k, v in env.scheme_dict(name).items()}
        self._root_prefix = str(env.root) + os.sep
        self._own_cfg = os.path.normcase(os.path.join(env.root, "pyvenv.cfg"))  # noqa: PTH118
        self._own_scripts = os.path.normcase(self._schemes["scripts"])
        self._real_root = os.path.realpath(env.root)
        # Schemes inside the environment whose folder holds neither pyvenv.cfg nor the scripts
        # folder (purelib, platlib): `_target` skips its slow checks for plain paths there.
        self._plain = frozenset(
            name
            for name, base in self._schemes.items()
            if os.sep == "/"
            and base.startswith(self._root_prefix)
            and not self._own_cfg.startswith(base + "/")
            and not (self._own_scripts + "/").startswith(base + "/")
        )
        # Folders known to be real folders leading into the environment: ones that were there
        # (their real path checked) or made by an install. Shared by the installs of one
        # `install_many`, so the scheme folders are checked once, not once a wheel.
        self._ready_dirs: set[str] = known_dirs if known_dirs is not None else set()
        self._mode: LinkMode = link_mode
        self.written: list[str] = []
        self.made_dirs: list[str] = []
        self.displaced: list[tuple[str, str]] = []
        self.dist_info: Path | None = None

    # -- where ----------------------------------------------------------------------------------

    def _target(self, scheme: Scheme, path: str) -> str:
        base = self._schemes[scheme]
        if scheme in self._plain and plainly_safe(path):
            # Nothing to normalise, and a folder that holds neither pyvenv.cfg nor the
            # interpreter: the path is the target as it is (most files of most wheels).
            return base + "/" + path
        target = os.path.normpath(os.path.join(base, path))  # noqa: PTH118 - hot loop
        if not target.startswith(base + os.sep) or not target.startswith(self._root_prefix):
            raise ArchiveError(
                f"Wheel `{self._filename}` would write `{path}` outside the environment"
            )
        folded = os.path.normcase(target)
        head, name = os.path.split(folded)
        if folded == self._own_cfg or (head == self._own_scripts and _INTERPRETER.match(name)):
            shown = os.path.relpath(target, self._env.root)
            raise ArchiveError(
                f"Wheel `{self._filename}` would replace the environment's own `{shown}`"
            )
        return target

    def _ready(self, target: str) -> None:
        """Make the parent folder of ``target`` when missing (recording what was made)."""
        parent = os.path.dirname(target)  # noqa: PTH120 - hot loop
        if parent not in self._ready_dirs:
            self._ensure_dir(parent)

    def _ensure_dir(self, folder: str) -> None:
        """Make ``folder`` and its missing parents, top-down with one ``mkdir`` each. A folder
        that was already there (or the environment's root) must have its real path inside the
        environment's: it may be, or sit under, a symlink leading out. Folders made here below
        a checked one cannot."""
        if folder in self._ready_dirs:
            return
        if folder.startswith(self._root_prefix):
            self._ensure_dir(os.path.dirname(folder))  # noqa: PTH120 - hot loop
            try:
                os.mkdir(folder)  # noqa: PTH102 - hot loop
            except FileExistsError:
                self._check_inside(folder)  # there already, or made by a concurrent install
            else:
                self.made_dirs.append(folder)
        else:
            self._check_inside(folder)
        self._ready_dirs.add(folder)

    def _check_inside(self, folder: str) -> None:
        real = os.path.realpath(folder)
        if real != self._real_root and not real.startswith(self._real_root + os.sep):
            raise ArchiveError(
                f"Wheel `{self._filename}` would write into `{folder}`, which leads outside "
                "the environment"
            )

    def _displace(self, target: str) -> None:
        """Move the file (or symlink) in the way of ``target`` aside, to be deleted on commit
        or put back on rollback; a real folder in the way is an error."""
        if os.path.isdir(target) and not os.path.islink(target):  # noqa: PTH112,PTH114
            raise InstallError(f"Cannot install `{target}`: a folder is in the way")
        aside = _aside_name(target)
        os.rename(target, aside)  # noqa: PTH104
        self.displaced.append((target, aside))

    # -- writing --------------------------------------------------------------------------------

    def _write_stream(self, target: str, stream: BinaryIO, executable: bool) -> tuple[str, int]:
        self._ready(target)
        flags, mode = os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777 if executable else 0o666
        try:
            fd = os.open(target, flags, mode)
        except FileExistsError:  # never follows a symlink in the way: it is moved aside
            self._displace(target)
            fd = os.open(target, flags, mode)
        self.written.append(target)
        with os.fdopen(fd, "wb") as out:
            return copyfileobj_with_hashing(stream, out, "sha256")

    def _link_file(self, target: str, file: CachedFile) -> None:
        self.link_files([(target, file)])

    def link_files(self, items: Iterable[tuple[str, CachedFile]]) -> None:
        """Place each cached file at its target (checked by `_target`), in one pass: its
        folder made once, the file linked (or cloned, or copied: `place_file`), whatever was
        in the way moved aside. A mode that cannot work here (no reflinks, another
        filesystem) falls back, and the fallback is kept for the rest of this wheel."""
        ready, written, link, sep = self._ready_dirs, self.written, os.link, os.sep
        mode = self._mode
        try:
            for target, file in items:
                parent = target[: target.rindex(sep)]
                if parent not in ready:
                    self._ensure_dir(parent)
                source = file.tree + sep + file.path
                try:
                    if mode == "hardlink":
                        link(source, target)
                    else:
                        mode = place_file(source, target, mode, executable=file.executable)
                except FileExistsError:
                    self._displace(target)
                    mode = place_file(source, target, mode, executable=file.executable)
                except FileNotFoundError:
                    raise
                except OSError:
                    if mode != "hardlink":
                        raise
                    # No hard links here (another filesystem, say): place_file falls back.
                    mode = place_file(source, target, mode, executable=file.executable)
                written.append(target)
        finally:
            self._mode = mode

    def write_file(
        self,
        scheme: Scheme,
        path: str | os.PathLike[str],
        stream: BinaryIO,
        is_executable: bool,
    ) -> RecordEntry:
        rel = os.fspath(path)
        target = self._target(scheme, rel)
        if isinstance(stream, CachedFile):
            file = stream
            if scheme != "scripts":
                self._link_file(target, file)
                return RecordEntry(rel, Hash.parse(file.hash), file.size)
            with file.source.open("rb") as opened, fix_shebang(opened, str(self._env.python)) as s:
                digest, size = self._write_stream(target, s, is_executable)
        elif scheme == "scripts":
            with fix_shebang(stream, str(self._env.python)) as s:
                digest, size = self._write_stream(target, s, is_executable)
        else:
            digest, size = self._write_stream(target, stream, is_executable)
        return RecordEntry(rel, Hash("sha256", digest), size)

    def write_script(
        self, name: str, module: str, attr: str, section: ScriptSection
    ) -> RecordEntry:
        check_entry_point_name(name, filename=self._filename)
        kind: LauncherKind = self._env.script_kind  # type: ignore[assignment] # validated by Script
        try:
            script_name, data = Script(name, module, attr, section).generate(
                str(self._env.python), kind
            )
        except InvalidScript as exc:
            raise InstallError(f"Cannot make the `{name}` script: {exc}") from exc
        target = self._target(Scheme("scripts"), script_name)
        with io.BytesIO(data) as stream:
            digest, size = self._write_stream(target, stream, executable=True)
        return RecordEntry(script_name, Hash("sha256", digest), size)

    def finalize_installation(
        self,
        scheme: Scheme,
        record_file_path: str,
        records: Iterable[tuple[Scheme, RecordEntry]],
    ) -> None:
        base = self._schemes[scheme]

        def prefix(file_scheme: Scheme) -> str | None:
            if file_scheme == scheme:
                return None
            return os.path.relpath(self._schemes[file_scheme], start=base) + "/"

        with construct_record_file(list(records), prefix) as stream:
            self._write_stream(self._target(scheme, record_file_path), stream, executable=False)
        self.dist_info = Path(self._target(scheme, record_file_path)).parent

    def write_record(
        self, scheme: Scheme, record_file_path: str, rows: list[tuple[Scheme, str, str, str]]
    ) -> None:
        """Write RECORD as `finalize_installation` does (sorted by path, a file of another
        scheme relative to this one), from plain rows: (scheme, path, hash, size)."""
        base = self._schemes[scheme]
        prefixes = {
            name: "" if name == scheme else os.path.relpath(folder, start=base) + "/"
            for name, folder in self._schemes.items()
        }
        out = io.StringIO(newline="")
        writer = csv.writer(out, delimiter=",", quotechar='"', lineterminator="\n")
        rows.sort(key=lambda row: row[1])
        writer.writerows((prefixes[s] + path, hash_, size) for s, path, hash_, size in rows)
        with io.BytesIO(out.getvalue().encode("utf-8")) as stream:
            self._write_stream(self._target(scheme, record_file_path), stream, executable=False)
        self.dist_info = Path(self._target(scheme, record_file_path)).parent

    # -- ending ---------------------------------------------------------------------------------

    def commit(self) -> None:
        for _, aside in self.displaced:
            Path(aside).unlink(missing_ok=True)

    def rollback(self) -> None:
        for path in reversed(self.written):
            Path(path).unlink(missing_ok=True)
        for target, aside in reversed(self.displaced):
            try:
                Path(aside).rename(target)
            except OSError:
                continue
        for folder in reversed(self.made_dirs):
            self._ready_dirs.discard(folder)  # shared: another install must not count on it
            try:
                Path(folder).rmdir()
            except OSError:
                continue


def _install_unpacked(
    unpacked: UnpackedWheel, destination: _EnvDestination, additional: Mapping[str, bytes]
) -> None:
    """`installer.install` for a verified cache entry: the same steps and the same RECORD,
    without re-parsing each file's RECORD row or working out its scheme with
    `posixpath.commonpath` (most of the cost of a wheel with thousands of files).

    Entry-point scripts first, then every file (a ``.data/<scheme>/`` file to that scheme,
    everything else to the root scheme WHEEL names; nothing inside a ``__pycache__``
    folder), then ``additional`` dist-info files, then RECORD. Raises `ArchiveError` for a
    WHEEL or ``.data`` layout `installer` would refuse.
    """
    info = unpacked.info
    source = UnpackedSource(unpacked)
    wheel = parse_metadata_file(source.read_dist_info("WHEEL"))
    version = wheel["Wheel-Version"]
    if not (version and version.startswith("1.")):
        raise ArchiveError(f"Wheel `{info.filename}` has Wheel-Version {version}; 1.x is needed")
    root = Scheme("purelib" if wheel["Root-Is-Purelib"] == "true" else "platlib")
    record_path = f"{info.dist_info}/RECORD"
    records: list[tuple[Scheme, RecordEntry]] = []
    if "entry_points.txt" in source.dist_info_filenames:
        for name, module, attr, section in parse_entrypoints(
            source.read_dist_info("entry_points.txt")
        ):
            record = destination.write_script(name=name, module=module, attr=attr, section=section)
            records.append((Scheme("scripts"), record))
    data_prefix = info.data_dir + "/"
    # Files linked as they are: (target, file), and their RECORD rows (scheme, path, hash,
    # size), gathered in one pass and linked in another (`_EnvDestination.link_files`).
    links: list[tuple[str, CachedFile]] = []
    rows: list[tuple[Scheme, str, str, str]] = []
    target_of = destination._target  # noqa: SLF001 - the destination's own check, per file
    for file in unpacked.files:
        path = file.path
        if path == record_path or ("__pycache__" in path and "__pycache__" in path.split("/")[:-1]):
            continue  # RECORD is written last; bytecode folders are never installed
        scheme, target = root, path
        if path.startswith(data_prefix):
            name, _, rest = path[len(data_prefix) :].partition("/")
            if name not in SCHEME_NAMES or not rest:
                raise ArchiveError(
                    f"Wheel `{info.filename}` has `{path}`, which is not in a valid .data subfolder"
                )
            scheme, target = Scheme(name), rest
            if scheme == "scripts":  # shebangs rewritten: written, not linked
                stream = cast("BinaryIO", file)
                records.append(
                    (scheme, destination.write_file(scheme, target, stream, file.executable))
                )
                continue
        links.append((target_of(scheme, target), file))
        rows.append((scheme, target, file.hash, str(file.size)))
    destination.link_files(links)
    for filename, contents in additional.items():
        with io.BytesIO(contents) as stream:
            record = destination.write_file(
                root, f"{info.dist_info}/{filename}", stream, is_executable=False
            )
        records.append((root, record))
    for scheme, entry in records:
        size = "" if entry.size is None else str(entry.size)
        rows.append((scheme, entry.path, str(entry.hash_ or ""), size))
    rows.append((root, record_path, "", ""))
    destination.write_record(root, record_path, rows)


def install_wheel(
    wheel_path: Path,
    env: Environment,
    *,
    cache: UnpackedCache | None = None,
    sha256: str | None = None,
    requested: bool = False,
    direct_url: Mapping[str, Any] | None = None,
    installer_name: str = "pipfence",
    on_warning: Callable[[str], None] | None = None,
    known_dirs: set[str] | None = None,
) -> InstalledDist:
    """Install the wheel at ``wheel_path`` into ``env``; return the installed distribution.

    The wheel must already be the file the lock allows: this checks that it is a safe, self-
    consistent wheel, not that it is the right one. ``sha256`` is its digest when known (it
    keys the cache). ``requested`` writes REQUESTED (a direct dependency, PEP 376);
    ``direct_url`` is written as ``direct_url.json`` (PEP 610) when given. INSTALLER gets
    ``installer_name``. Files present already (another distribution's) are replaced, and
    ``on_warning`` is told in one line when another installed distribution listed them;
    uninstall an older version of the same distribution first. Bytecode is not compiled.
    ``known_dirs`` is a set of folders of ``env`` already checked, shared by the installs
    into one environment (`install_many`).

    Raises `ArchiveError` for an unsafe or corrupt wheel and `InstallError` when the environment
    cannot be written; either way nothing of this wheel is left in the environment.
    """
    private: Path | None = None
    if cache is None:
        private = env.root / f".pipfence-unpack-{secrets.token_hex(4)}"
        cache = UnpackedCache(private, link_mode="hardlink")
    try:
        unpacked = cache.unpack(wheel_path, sha256=sha256)
        info = unpacked.info
        destination = _EnvDestination(
            env, info.distribution, info.filename, cache.link_mode, known_dirs=known_dirs
        )
        metadata = _added_metadata(installer_name, requested=requested, direct_url=direct_url)
        try:
            _install_unpacked(unpacked, destination, metadata)
        except BaseException as exc:
            destination.rollback()
            mapped = _install_failure(exc, info.filename, env)
            if mapped is None:
                raise
            raise mapped from exc
        destination.commit()
        if destination.displaced and on_warning is not None:
            note = _overwritten(env, info.filename, destination)
            if note is not None:
                on_warning(note)
    finally:
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
    if destination.dist_info is None:  # installer always finalises; this is a bug if hit
        raise InstallError(f"Installing `{info.filename}` wrote no RECORD")
    editable, url = _direct_origin(direct_url)
    return InstalledDist(
        name=info.name,
        version=info.version,
        dist_info=destination.dist_info,
        installer=installer_name,
        editable=editable,
        url=url,
    )


def _added_metadata(
    installer_name: str, *, requested: bool, direct_url: Mapping[str, Any] | None
) -> dict[str, bytes]:
    """The files an install adds to the ``.dist-info`` folder: INSTALLER, REQUESTED (PEP 376)
    for a direct dependency, ``direct_url.json`` (PEP 610) when given."""
    metadata = {"INSTALLER": f"{installer_name}\n".encode()}
    if requested:
        metadata["REQUESTED"] = b""
    if direct_url is not None:
        metadata["direct_url.json"] = json.dumps(dict(direct_url), sort_keys=True).encode()
    return metadata


def _install_failure(exc: BaseException, filename: str, env: Environment) -> PipfenceError | None:
    """The error an install that raised ``exc`` reports: `ArchiveError` for a wheel that
    `installer` refuses, `InstallError` for an environment that cannot be written; None to
    let ``exc`` through as it is (one of ours, an interrupt, a bug)."""
    if isinstance(exc, PipfenceError):
        return None
    if isinstance(exc, (InstallerError, ValueError)):
        return ArchiveError(f"Wheel `{filename}` cannot be installed: {exc}")
    if isinstance(exc, OSError):
        return InstallError(
            f"Could not install `{filename}` into `{env.root}`: {exc}",
            hint="if a cached file went missing, clear pipfence's wheel cache",
        )
    return None


def _direct_origin(direct_url: Mapping[str, Any] | None) -> tuple[bool, str | None]:
    """Whether a ``direct_url.json`` (PEP 610) says editable, and the URL it records."""
    if direct_url is None:
        return False, None
    dir_info = direct_url.get("dir_info")
    url = direct_url.get("url")
    editable = isinstance(dir_info, Mapping) and dir_info.get("editable") is True
    return editable, url if isinstance(url, str) else None


def _overwritten(env: Environment, filename: str, destination: _EnvDestination) -> str | None:
    """One line naming the other installed distributions whose files ``destination``
    replaced; None when no other distribution's RECORD lists any of them."""
    replaced = {os.path.normcase(target) for target, _aside in destination.displaced}
    owners: dict[str, list[str]] = {}
    for dist in env.installed().values():
        if destination.dist_info is not None and dist.dist_info == destination.dist_info:
            continue
        try:
            text = (dist.dist_info / "RECORD").read_text(encoding="utf-8")
        except OSError:
            continue
        for row in csv.reader(text.splitlines()):
            if not row or not row[0]:
                continue
            path = os.path.normcase(os.path.normpath(os.path.join(dist.dist_info.parent, row[0])))  # noqa: PTH118
            if path in replaced:
                owners.setdefault(dist.name, []).append(os.path.relpath(path, env.root))
    if not owners:
        return None
    names = ", ".join(f"`{name}`" for name in sorted(owners))
    count = sum(len(paths) for paths in owners.values())
    example = min(min(paths) for paths in owners.values())
    return (
        f"`{filename}` overwrote {count} file{'s' if count != 1 else ''} installed by {names} "
        f"(e.g. `{example}`)"
    )


def _aside_name(path: str) -> str:
    """Where a file or folder is moved while it is replaced: beside itself (the same folder,
    so the same filesystem), under a hidden name no importer or metadata scan picks up."""
    parent, name = os.path.split(path)
    return os.path.join(parent, f".{name}.{secrets.token_hex(4)}.pipfence-old")  # noqa: PTH118


@dataclass(slots=True)
class SetAside:
    """A distribution whose files were moved aside by `set_aside`: `restore` puts them back,
    `discard` deletes them (the distribution is then uninstalled)."""

    dist: InstalledDist
    env: Environment
    moved: list[tuple[str, str]]
    folders: set[Path]

    def restore(self) -> None:
        """Rename every set-aside path back, the last moved first; `InstallError` naming the
        first path that could not be put back (the others are still tried)."""
        failed: list[str] = []
        for original, aside in reversed(self.moved):
            try:
                Path(aside).replace(original)
            except FileNotFoundError:
                continue
            except OSError as exc:
                failed.append(f"`{original}` ({exc.strerror or exc})")
        self.moved = []
        if failed:
            raise InstallError(
                f"Could not put back {', '.join(failed[:3])} of `{self.dist.name}`",
                hint="remove the environment and sync again",
            )

    def discard(self) -> list[Path]:
        """Delete the set-aside files and prune the folders left empty; return the original
        paths of the files removed. Best effort: the environment is already right, a file
        that cannot be deleted stays behind under its hidden name."""
        removed: list[Path] = []
        for original, aside in self.moved:
            try:
                if os.path.isdir(aside) and not os.path.islink(aside):  # noqa: PTH112,PTH114
                    shutil.rmtree(aside)
                else:
                    os.unlink(aside)  # noqa: PTH108
            except OSError:
                continue
            if original != str(self.dist.dist_info):
                removed.append(Path(original))
        self.moved = []
        _prune(self.folders, self.env)
        return removed


def set_aside(dist: InstalledDist, env: Environment) -> SetAside:
    """Move ``dist``'s files aside, each renamed beside itself: its dist-info folder first (so
    an interrupted move leaves it uninstalled, not half there), then each file its RECORD lists
    inside the environment (entries outside are ignored, never touched) and the bytecode of
    its ``.py`` files. Nothing is deleted; see `SetAside`.

    Raises `InstallError` when the dist-info folder is outside ``env`` or has no RECORD, or when
    a file cannot be moved (what was moved is put back first).
    """
    dist_info = dist.dist_info
    if not env.contains(dist_info) or not dist_info.is_dir():
        raise InstallError(f"`{dist_info}` is not a distribution inside `{env.root}`")
    paths, folders = _recorded_files(dist, env)
    aside = SetAside(dist=dist, env=env, moved=[], folders=folders)
    try:
        for moving in [str(dist_info), *dict.fromkeys(paths)]:
            moved_to = _aside_name(moving)
            try:
                os.rename(moving, moved_to)  # noqa: PTH104
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise InstallError(
                    f"Cannot remove `{moving}` while uninstalling `{dist.name}`: "
                    f"{exc.strerror or exc}"
                ) from exc
            aside.moved.append((moving, moved_to))
    except BaseException:  # a failed move, or an interrupt: put back what was moved
        with contextlib.suppress(InstallError):
            aside.restore()
        raise
    return aside


def _recorded_files(dist: InstalledDist, env: Environment) -> tuple[list[str], set[Path]]:
    """The files ``dist``'s RECORD lists inside ``env`` and outside its dist-info folder (not
    folders; symlinks as themselves), each ``.py`` file's bytecode with it, and the folders
    that hold them. Raises `InstallError` when there is no readable RECORD."""
    dist_info = dist.dist_info
    try:
        text = (dist_info / "RECORD").read_text(encoding="utf-8")
    except OSError as exc:
        raise InstallError(
            f"Cannot uninstall `{dist.name}`: `{dist_info.name}` has no readable RECORD",
            hint="remove the environment and sync again",
        ) from exc
    base = dist_info.parent
    paths: list[str] = []
    folders: set[Path] = set()
    for row in csv.reader(text.splitlines()):
        if not row or not row[0]:
            continue
        path = Path(os.path.abspath(base / row[0]))  # noqa: PTH100 - normalise, keep links
        if not env.contains(path) or path.is_relative_to(dist_info):
            continue
        if path.is_dir() and not path.is_symlink():
            continue
        paths.append(str(path))
        folders.add(path.parent)
        if path.suffix == ".py":
            cache_dir = path.parent / "__pycache__"
            if cache_dir.is_dir():
                paths.extend(str(pyc) for pyc in cache_dir.glob(f"{path.stem}.*.pyc"))
                folders.add(cache_dir)
    return paths, folders


def uninstall(dist: InstalledDist, env: Environment) -> list[Path]:
    """Remove ``dist`` from ``env``; return the files removed.

    Removes each file its RECORD lists that lies inside the environment (entries outside it
    are ignored, never touched), the ``__pycache__`` bytecode of removed ``.py`` files, folders
    left empty (never the environment's scheme folders), then the dist-info folder. Raises
    `InstallError` when the dist-info folder is outside ``env`` or has no RECORD, or a file
    cannot be removed (nothing is removed then).
    """
    return set_aside(dist, env).discard()


def _prune(folders: Iterable[Path], env: Environment) -> None:
    # The folders a new venv has; anything an install made may go once it is empty.
    keep = {env.root, *env.site_dirs, env.scripts, env.data, env.root / "include"}
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        current = folder
        while current not in keep and env.contains(current) and current != env.root:
            try:
                current.rmdir()
            except OSError:
                break
            current = current.parent


def install_many(
    items: Sequence[WheelInstall],
    env: Environment,
    *,
    cache: UnpackedCache | None = None,
    workers: int | None = None,
    installer_name: str = "pipfence",
    on_warning: Callable[[str], None] | None = None,
    on_installed: Callable[[str], None] | None = None,
) -> list[InstalledDist]:
    """Install independent wheels concurrently; return their distributions in input order.
    ``on_installed`` is told each distribution's name as soon as it is in (from any thread).

    Uses a thread pool (``workers``, default half the cores, at most 4: see
    `_INSTALL_WORKERS`). All or nothing: on the
    first failure (or an interrupt) no further installs start, the ones already done are
    uninstalled, and the error of the earliest failed item (in input order) is raised. Two
    items must not install the same distribution or the same files.
    """
    if not items:
        return []
    known_dirs: set[str] = set()

    def one(item: WheelInstall) -> InstalledDist:
        dist = install_wheel(
            item.path,
            env,
            cache=cache,
            sha256=item.sha256,
            requested=item.requested,
            direct_url=item.direct_url,
            installer_name=installer_name,
            on_warning=on_warning,
            known_dirs=known_dirs,
        )
        if on_installed is not None:
            on_installed(dist.name)
        return dist

    workers = workers or _INSTALL_WORKERS
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipfence-install") as pool:
        futures: list[Future[InstalledDist]] = [pool.submit(one, item) for item in items]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException as exc:
            # Interrupted: start nothing more, let the running installs end, undo them all.
            for future in futures:
                future.cancel()
            wait(futures)
            _undo_installs(futures, env, exc)
            raise
        failed = any(f.done() and not f.cancelled() and f.exception() for f in futures)
        if failed:
            for future in futures:
                future.cancel()
        wait(futures)
    errors = [f.exception() for f in futures if not f.cancelled() and f.exception() is not None]
    if not errors:
        return [f.result() for f in futures]
    first = errors[0]
    assert first is not None  # noqa: S101 - errors holds only real exceptions
    _undo_installs(futures, env, first)
    raise first


def _undo_installs(
    futures: Sequence[Future[InstalledDist]], env: Environment, error: BaseException
) -> None:
    """Uninstall the distributions the finished futures installed, the last one first; a
    failure to do so is noted on ``error``."""
    for future in reversed(futures):
        if future.cancelled() or not future.done() or future.exception() is not None:
            continue
        try:
            uninstall(future.result(), env)
        except PipfenceError as exc:
            error.add_note(f"rolling back `{future.result().name}` failed too: {exc}")


class EnvChange:
    """Changes to environments that can still be undone, for a caller that must keep them
    open until something else (writing Pipfile and lock) has succeeded too.

    `set_aside` moves distributions aside, `install` installs wheels (all or nothing); then
    `commit` deletes what was set aside, or `rollback` uninstalls what was installed and puts
    back what was set aside, the last change first. As a context manager it commits when the
    block succeeds and rolls back when it raises (an interrupt included).
    """

    def __init__(self) -> None:
        self._asides: list[SetAside] = []
        self._installed: list[tuple[InstalledDist, Environment]] = []

    def set_aside(self, dist: InstalledDist, env: Environment) -> None:
        self._asides.append(set_aside(dist, env))

    def install(
        self,
        items: Sequence[WheelInstall],
        env: Environment,
        *,
        cache: UnpackedCache | None = None,
        on_warning: Callable[[str], None] | None = None,
        on_installed: Callable[[str], None] | None = None,
    ) -> list[InstalledDist]:
        """`install_many`; what it installed is undone by `rollback`."""
        done = install_many(
            items, env, cache=cache, on_warning=on_warning, on_installed=on_installed
        )
        self._installed.extend((dist, env) for dist in done)
        return done

    def commit(self) -> None:
        asides, self._asides = self._asides, []
        self._installed = []
        for aside in asides:
            aside.discard()

    def rollback(self) -> None:
        """Undo every change; `InstallError` naming what could not be undone (after trying
        everything else)."""
        installed, self._installed = self._installed, []
        asides, self._asides = self._asides, []
        problems: list[str] = []
        for dist, env in reversed(installed):
            try:
                uninstall(dist, env)
            except PipfenceError as exc:
                problems.append(str(exc))
        for aside in reversed(asides):
            try:
                aside.restore()
            except PipfenceError as exc:
                problems.append(str(exc))
        if problems:
            raise InstallError(
                f"Could not undo every change to the environment: {'; '.join(problems)}",
                hint="remove the environment and sync again",
            )

    def undo(self, error: BaseException) -> None:
        """`rollback` on the way out of ``error``: a failure to undo is noted on it."""
        try:
            self.rollback()
        except PipfenceError as failure:
            error.add_note(str(failure))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None:
            self.commit()
        else:
            self.undo(exc)
