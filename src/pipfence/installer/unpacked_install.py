"""The steps of `installer.install` for a verified cache entry (`install_unpacked`), over the
entry as an `installer` source (`UnpackedSource`) and into an `EnvDestination`."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from typing import BinaryIO, cast

from installer.records import RecordEntry
from installer.sources import WheelSource
from installer.utils import SCHEME_NAMES, Scheme, parse_entrypoints, parse_metadata_file

from pipfence.errors import ArchiveError
from pipfence.installer.cache import CachedFile, UnpackedWheel
from pipfence.installer.destination import EnvDestination

__all__ = ["UnpackedSource", "install_unpacked"]


class UnpackedSource(WheelSource):
    """`installer.sources.WheelSource` over a cache entry.

    ``get_contents`` yields `CachedFile` objects in place of streams: `EnvDestination` links
    them (or opens them when it must rewrite a shebang). The
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


def install_unpacked(
    unpacked: UnpackedWheel, destination: EnvDestination, additional: Mapping[str, bytes]
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
    version, purelib = _wheel_fields(source.read_dist_info("WHEEL"))
    if not (version and version.startswith("1.")):
        raise ArchiveError(f"Wheel `{info.filename}` has Wheel-Version {version}; 1.x is needed")
    root = Scheme("purelib" if purelib == "true" else "platlib")
    record_path = f"{info.dist_info}/RECORD"
    records: list[tuple[Scheme, RecordEntry]] = []
    try:
        # The entry's tree holds exactly the wheel's files: no listing to search.
        entry_points = source.read_dist_info("entry_points.txt")
    except FileNotFoundError:
        entry_points = ""
    for name, module, attr, section in parse_entrypoints(entry_points):
        record = destination.write_script(name=name, module=module, attr=attr, section=section)
        records.append((Scheme("scripts"), record))
    data_prefix = info.data_dir + "/"
    files: Sequence[CachedFile] = unpacked.files
    rows: list[tuple[Scheme, str, str, str]] = []
    if unpacked.plain and destination.plain_base(root) is not None:
        # Most wheels: every file goes as it is into the root scheme's folder.
        bulk, files = _straight(files, data_prefix)
        destination.link_under(root, bulk)
        rows.extend([(root, file.path, file.hash, str(file.size)) for file in bulk])
    # The other files, linked as they are: (target, file), and their RECORD rows (scheme,
    # path, hash, size), gathered in one pass and linked in another.
    links: list[tuple[str, CachedFile]] = []
    target_of = destination._target  # noqa: SLF001 - the destination's own check, per file
    for file in files:
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


def _wheel_fields(text: str) -> tuple[str | None, str | None]:
    """``Wheel-Version`` and ``Root-Is-Purelib`` of a WHEEL file, as `parse_metadata_file`
    reads them (the first of each, names in any case), from its lines when they are plain
    ``Name: value`` lines: the email parser costs more than the rest of a small wheel's
    install."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if not line or line[0] in " \t" or not colon or " " in name:
            # A folded or odd line: the full parser decides.
            wheel = parse_metadata_file(text)
            return wheel["Wheel-Version"], wheel["Root-Is-Purelib"]
        fields.setdefault(name.lower(), value.lstrip(" \t"))
    return fields.get("wheel-version"), fields.get("root-is-purelib")


def _straight(
    files: Sequence[CachedFile], data_prefix: str
) -> tuple[Sequence[CachedFile], Sequence[CachedFile]]:
    """``files`` split into those placed as they are into the root scheme's folder and the
    others (a ``.data`` file, or one under ``__pycache__``), found by two searches over all
    the paths when there are no others (most wheels)."""
    joined = "\n" + "\n".join([file.path for file in files])
    if "__pycache__" not in joined and "\n" + data_prefix not in joined:
        return files, ()
    straight: list[CachedFile] = []
    others: list[CachedFile] = []
    for file in files:
        path = file.path
        if path.startswith(data_prefix) or "__pycache__" in path:
            others.append(file)
        else:
            straight.append(file)
    return straight, others
