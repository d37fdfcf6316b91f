"""Placing one unpacked wheel's files into an environment: the `Environment` an install needs
and `EnvDestination` (the checked, undoable writes; the steps that call it are
`pipfence.installer.unpacked_install`'s).

Each file is placed as the cache's link mode says (a clone, a copy or a hard link; see
`pipfence.installer.cache.LinkMode`), ``#!python`` shebangs are rewritten, entry point scripts
generated and RECORD written for the installed layout.

The destination never writes outside the environment, nor over the environment's own
interpreter (``python``, ``python3``, ``python3.X`` in the scripts folder) or ``pyvenv.cfg``:
every target is checked against its scheme folder (``..`` cannot climb out), the real path of
the nearest folder that existed before against the environment's real path (a symlinked folder
cannot lead out), and an existing file is moved aside rather than written through (a symlink
cannot redirect a write). `EnvDestination.rollback` removes everything it wrote, prunes the
folders it made and puts back the files it displaced.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from installer.destinations import WheelDestination
from installer.records import Hash, RecordEntry
from installer.scripts import InvalidScript, Script
from installer.utils import (
    Scheme,
    construct_record_file,
    copyfileobj_with_hashing,
    fix_shebang,
)

from pipfence.errors import ArchiveError, InstallError
from pipfence.installer.archive import check_entry_point_name, plainly_safe
from pipfence.installer.bulk_link import BULK_MIN, BulkLinker
from pipfence.installer.cache import CachedFile, LinkMode, place_file
from pipfence.installer.satisfies import InstalledDist

if TYPE_CHECKING:
    from installer.scripts import LauncherKind, ScriptSection

    from pipfence.models.names import NormalizedName

__all__ = ["EnvDestination", "Environment", "aside_name"]


#: The start of a script whose first line `installer` rewrites to the environment's interpreter
#: (``fix_shebang``); a script that starts otherwise is installed as it is.
_REWRITTEN = b"#!python"

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


class EnvDestination(WheelDestination):
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
        tree: Path | None = None,
        linker: BulkLinker | None = None,
    ) -> None:
        self._env = env
        self._linker = linker
        # The cache entry's folder that `CachedFile` paths are under, with a separator.
        self._tree = "" if tree is None else str(tree) + os.sep
        self._filename = filename
        self._schemes = {k: str(v) for k, v in env.scheme_dict(name).items()}
        self._root_prefix = str(env.root) + os.sep
        self._own_cfg = os.path.normcase(os.path.join(env.root, "pyvenv.cfg"))  # noqa: PTH118
        self._own_scripts = os.path.normcase(self._schemes["scripts"])
        self._real_root = ""  # the root's real path, found when first needed
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
        if not self._real_root:
            self._real_root = os.path.realpath(self._env.root)
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
        aside = aside_name(target)
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

    def plain_base(self, scheme: Scheme) -> str | None:
        """The folder of ``scheme`` when a plainly safe path needs no check there (see
        `_target`): `link_under` may place files into it."""
        return self._schemes[scheme] if scheme in self._plain else None

    def link_under(self, scheme: Scheme, files: Sequence[CachedFile]) -> None:
        """Place ``files``, whose paths are all plainly safe, at those paths under the folder
        of ``scheme``, which `plain_base` gives: the most files of most wheels, with no check
        a file. With a `BulkLinker`, a wheel of many files placed by hard links (the mode the
        first file settles) has the rest linked by a helper process; what the helper cannot
        do (a file in the way, say) it undoes, and they are placed here."""
        base = self._schemes[scheme] + os.sep
        linker = self._linker
        if linker is not None and len(files) >= BULK_MIN:
            first, files = files[0], files[1:]
            self.link_files([(base + first.path, first)])
            if self._mode == "hardlink":
                paths = [file.path for file in files]
                made = linker.link(self._tree, base, paths)
                if made is not None:
                    self.made_dirs.extend(made)
                    self._ready_dirs.update(made)
                    self.written.extend([base + path for path in paths])
                    return
        self.link_files([(base + file.path, file) for file in files])

    def link_files(self, items: Iterable[tuple[str, CachedFile]]) -> None:
        """Place each cached file at its target (checked by `_target`), in one pass: its
        folder made once, the file linked (or cloned, or copied: `place_file`), whatever was
        in the way moved aside. A mode that cannot work here (no reflinks, another
        filesystem) falls back, and the fallback is kept for the rest of this wheel."""
        ready, written, link, sep = self._ready_dirs, self.written, os.link, os.sep
        tree, mode = self._tree, self._mode
        try:
            for target, file in items:
                parent = target[: target.rindex(sep)]
                if parent not in ready:
                    self._ensure_dir(parent)
                source = tree + file.path
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
            source = self._tree + file.path
            with open(source, "rb") as opened:  # noqa: PTH123
                if opened.read(len(_REWRITTEN)) != _REWRITTEN:
                    # Nothing to rewrite (a compiled program, most often, of megabytes):
                    # placed as every other file is, with the wheel's own RECORD row.
                    self._link_file(target, file)
                    return RecordEntry(rel, Hash.parse(file.hash), file.size)
                with fix_shebang(opened, str(self._env.python)) as s:
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
            name: "" if name == scheme else _relative(folder, base) + "/"
            for name, folder in self._schemes.items()
        }
        rows.sort(key=itemgetter(1))
        text = _record_text([(prefixes[s] + path, hash_, size) for s, path, hash_, size in rows])
        with io.BytesIO(text.encode("utf-8")) as stream:
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


@functools.lru_cache(maxsize=64)
def _relative(folder: str, base: str) -> str:
    """``folder`` relative to ``base`` (the same few scheme folders for every wheel)."""
    return os.path.relpath(folder, start=base)


def _record_text(lines: list[tuple[str, str, str]]) -> str:
    """RECORD's text for ``lines`` (path, hash, size), byte for byte what `csv.writer` makes
    (``lineterminator="\\n"``, minimal quoting). Plain joined lines when no field holds a comma,
    a quote or a line break (hashes and sizes never do, and paths almost never): the csv module
    costs several times more on a wheel of thousands of files."""
    text = "".join([f"{path},{hash_},{size}\n" for path, hash_, size in lines])
    if (
        text.count(",") == 2 * len(lines)
        and text.count("\n") == len(lines)
        and '"' not in text
        and "\r" not in text
    ):
        return text
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=",", quotechar='"', lineterminator="\n").writerows(lines)
    return out.getvalue()


def aside_name(path: str) -> str:
    """Where a file or folder is moved while it is replaced: beside itself (the same folder,
    so the same filesystem), under a hidden name no importer or metadata scan picks up."""
    parent, name = os.path.split(path)
    return os.path.join(parent, f".{name}.{secrets.token_hex(4)}.pipfence-old")  # noqa: PTH118
