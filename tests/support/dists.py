"""Write real, byte-reproducible wheels, sdists and source trees for tests, without build tools."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict, Unpack

from packaging.requirements import Requirement
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "Dist",
    "DistFactory",
    "DistOptions",
    "WheelOptions",
    "build_many",
    "build_sdist",
    "build_wheel",
    "dist_filename_stem",
    "metadata_text",
    "pack_sdist",
    "record_line",
    "write_source_tree",
]

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_TAR_MTIME = 315532800

BACKEND_SOURCE = '''\
"""In-tree PEP 517 backend: packs this source tree into a py3-none-any wheel, offline."""

import base64
import hashlib
import os
import re
import tarfile
import zipfile

_ROOT = os.path.dirname(os.path.abspath(__file__))
_CONTROL = {"PKG-INFO", "pyproject.toml", "_backend.py", "setup.cfg"}
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _metadata():
    with open(os.path.join(_ROOT, "PKG-INFO"), encoding="utf-8") as fh:
        text = fh.read()
    fields = dict(re.findall(r"^(Name|Version): (.*)$", text, re.MULTILINE))
    return text, fields["Name"], fields["Version"]


def _stem(name, version):
    return re.sub(r"[-_.]+", "_", name).lower() + "-" + version.replace("-", "_")


def _sources():
    for base, dirs, files in os.walk(_ROOT):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.endswith(".dist-info"))
        for fname in sorted(files):
            rel = os.path.relpath(os.path.join(base, fname), _ROOT).replace(os.sep, "/")
            if rel not in _CONTROL and not fname.endswith(".pyc"):
                yield rel


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _dist_info(name, version, metadata):
    return {
        "METADATA": metadata.encode(),
        "WHEEL": (
            "Wheel-Version: 1.0\\nGenerator: pipfence-tests-backend\\n"
            "Root-Is-Purelib: true\\nTag: py3-none-any\\n"
        ).encode(),
    }


def _write_wheel(wheel_directory, entries):
    metadata, name, version = _metadata()
    stem = _stem(name, version)
    info = stem + ".dist-info"
    entries = dict(entries)
    for fname, data in _dist_info(name, version, metadata).items():
        entries[f"{info}/{fname}"] = data
    record = [_record_line(path, data) for path, data in entries.items()]
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    filename = stem + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for path, data in entries.items():
            zinfo = zipfile.ZipInfo(path, _ZIP_EPOCH)
            zinfo.external_attr = 0o644 << 16
            zf.writestr(zinfo, data, zipfile.ZIP_DEFLATED)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    metadata, name, version = _metadata()
    info = _stem(name, version) + ".dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    for fname, data in _dist_info(name, version, metadata).items():
        with open(os.path.join(metadata_directory, info, fname), "wb") as fh:
            fh.write(data)
    return info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    entries = {}
    for rel in _sources():
        with open(os.path.join(_ROOT, rel), "rb") as fh:
            entries[rel] = fh.read()
    return _write_wheel(wheel_directory, entries)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _, name, _ = _metadata()
    pth = "__editable__." + re.sub(r"[-_.]+", "_", name).lower() + ".pth"
    return _write_wheel(wheel_directory, {pth: (_ROOT + "\\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    _, name, version = _metadata()
    stem = _stem(name, version)
    filename = stem + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tf:
        for rel in sorted([*_CONTROL & set(os.listdir(_ROOT)), *_sources()]):
            tf.add(os.path.join(_ROOT, rel), arcname=f"{stem}/{rel}", recursive=False)
    return filename
'''


def _escape(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _normal_version(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version.replace("-", "_")


def dist_filename_stem(name: str, version: str) -> str:
    """`{name}-{version}` escaped as wheel and sdist filenames require."""
    return f"{_escape(name)}-{_normal_version(version)}"


def _import_name(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def _extra_requirement(requirement: str, extra: str) -> str:
    req = Requirement(requirement)
    marker = f'extra == "{extra}"'
    if req.marker is not None:
        marker = f"({req.marker}) and {marker}"
    req.marker = None
    return f"{req}; {marker}"


def metadata_text(
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    extras: Mapping[str, Sequence[str]] | None = None,
    requires_python: str | None = None,
    summary: str | None = None,
) -> str:
    """Core metadata (version 2.1) with Requires-Dist, Provides-Extra and Requires-Python."""
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary if summary is not None else f'{name} test distribution'}",
    ]
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Requires-Dist: {Requirement(req)}" for req in requires)
    for extra, extra_requires in (extras or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines.extend(f"Requires-Dist: {_extra_requirement(req, extra)}" for req in extra_requires)
    return "\n".join(lines) + "\n"


def record_line(path: str, data: bytes) -> str:
    """One RECORD row: path, `sha256=` urlsafe-base64 digest without padding, size."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _wheel_text(tag: str) -> str:
    purelib = "true" if tag.endswith("-none-any") else "false"
    lines = ["Wheel-Version: 1.0", "Generator: pipfence-tests", f"Root-Is-Purelib: {purelib}"]
    lines.extend(f"Tag: {t}" for t in sorted(str(t) for t in parse_tag(tag)))
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def pack_sdist(tree: Path, dest_dir: Path | str) -> Path:
    """Pack every file under `tree` into dest_dir/{tree.name}.tar.gz, below a `{tree.name}/`
    folder, and return its path; the bytes depend only on the files' paths and contents."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{tree.name}.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(f"{tree.name}/{path.relative_to(tree).as_posix()}")
            data = path.read_bytes()
            info.size = len(data)
            info.mtime = _TAR_MTIME
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    target.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return target


class DistOptions(TypedDict, total=False):
    """What the builders below take besides a name and a version; all optional."""

    requires: Sequence[str]
    """Requirement strings (Requires-Dist)."""
    extras: Mapping[str, Sequence[str]] | None
    """Extra name -> its requirements (Provides-Extra and marked Requires-Dist)."""
    requires_python: str | None
    files: Mapping[str, str | bytes] | None
    """Path -> content of more package files; may replace `{import_name}/__init__.py`."""
    summary: str | None


class WheelOptions(DistOptions, total=False):
    tag: str
    """The wheel's compatibility tag, `py3-none-any` by default."""


@dataclass(frozen=True)
class Dist:
    """A distribution to build: `kind` picks wheel, sdist or both."""

    name: str
    version: str
    requires: Sequence[str] = ()
    extras: Mapping[str, Sequence[str]] | None = None
    requires_python: str | None = None
    files: Mapping[str, str | bytes] | None = None
    kind: Literal["wheel", "sdist", "both"] = "wheel"
    tag: str = "py3-none-any"
    summary: str | None = field(default=None, compare=False)

    @property
    def stem(self) -> str:
        return dist_filename_stem(self.name, self.version)

    def metadata(self) -> str:
        """Core metadata: METADATA in the wheel, PKG-INFO in the source tree."""
        return metadata_text(
            self.name,
            self.version,
            requires=self.requires,
            extras=self.extras,
            requires_python=self.requires_python,
            summary=self.summary,
        )

    def package_files(self) -> dict[str, bytes]:
        """`{import_name}/__init__.py` setting `__version__`, then `files`."""
        entries = {
            f"{_import_name(self.name)}/__init__.py": f'__version__ = "{self.version}"\n'.encode()
        }
        for path, content in (self.files or {}).items():
            entries[path] = content.encode() if isinstance(content, str) else content
        return entries

    def pyproject(self) -> str:
        """pyproject.toml: the in-tree backend, no build requirements, static `[project]`."""
        lines = [
            "[build-system]",
            "requires = []",
            'build-backend = "_backend"',
            'backend-path = ["."]',
            "",
            "[project]",
            f"name = {_toml_string(self.name)}",
            f"version = {_toml_string(self.version)}",
            f"dependencies = {_toml_list(self.requires)}",
        ]
        if self.requires_python is not None:
            lines.append(f"requires-python = {_toml_string(self.requires_python)}")
        if self.extras:
            lines.extend(["", "[project.optional-dependencies]"])
            lines.extend(f"{_toml_string(k)} = {_toml_list(v)}" for k, v in self.extras.items())
        return "\n".join(lines) + "\n"

    def wheel(self, dest_dir: Path | str) -> Path:
        """`build_wheel` for this spec."""
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        info = f"{self.stem}.dist-info"
        entries = self.package_files()
        entries[f"{info}/METADATA"] = self.metadata().encode()
        entries[f"{info}/WHEEL"] = _wheel_text(self.tag).encode()
        record = [record_line(path, data) for path, data in entries.items()]
        record.append(f"{info}/RECORD,,")
        entries[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
        target = dest / f"{self.stem}-{self.tag}.whl"
        with zipfile.ZipFile(target, "w") as zf:
            for path, data in entries.items():
                zinfo = zipfile.ZipInfo(path, _ZIP_EPOCH)
                zinfo.external_attr = 0o644 << 16
                zf.writestr(zinfo, data, zipfile.ZIP_DEFLATED)
        return target

    def source_tree(self, dest_dir: Path | str) -> Path:
        """`write_source_tree` for this spec."""
        root = Path(dest_dir) / f"{self.name}-{self.version}"
        root.mkdir(parents=True, exist_ok=True)
        texts = {
            "PKG-INFO": self.metadata(),
            "pyproject.toml": self.pyproject(),
            "_backend.py": BACKEND_SOURCE,
        }
        for rel, text in texts.items():
            (root / rel).write_text(text, encoding="utf-8")
        for rel, data in self.package_files().items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return root

    def sdist(self, dest_dir: Path | str) -> Path:
        """`build_sdist` for this spec."""
        with tempfile.TemporaryDirectory() as scratch:
            root = self.source_tree(scratch)
            return pack_sdist(root.rename(root.with_name(self.stem)), dest_dir)

    def build(self, dest_dir: Path | str) -> list[Path]:
        built: list[Path] = []
        if self.kind in {"wheel", "both"}:
            built.append(self.wheel(dest_dir))
        if self.kind in {"sdist", "both"}:
            built.append(self.sdist(dest_dir))
        return built


def build_wheel(
    dest_dir: Path | str, name: str, version: str, **options: Unpack[WheelOptions]
) -> Path:
    """Write `{name}-{version}-{tag}.whl` into dest_dir and return its path.

    The wheel holds `{import_name}/__init__.py` (plus `files`, which may override it) and a
    dist-info directory with METADATA, WHEEL and a RECORD whose hashes and sizes are correct.
    The bytes depend only on the arguments, so equal specs give equal sha256 digests.
    """
    return Dist(name, version, **options).wheel(dest_dir)


def write_source_tree(
    dest_dir: Path | str, name: str, version: str, **options: Unpack[DistOptions]
) -> Path:
    """Write an unpacked project into dest_dir/{name}-{version} and return that directory.

    It has PKG-INFO, a pyproject.toml with static `[project]` metadata and an in-tree backend
    (`_backend.py`, `backend-path = ["."]`, no build requirements), so pip, `build` or
    `pyproject_hooks` can build, sdist or install it editable with no network access.
    """
    return Dist(name, version, **options).source_tree(dest_dir)


def build_sdist(
    dest_dir: Path | str, name: str, version: str, **options: Unpack[DistOptions]
) -> Path:
    """Write `{name}-{version}.tar.gz` (a `write_source_tree` project) and return its path."""
    return Dist(name, version, kind="sdist", **options).sdist(dest_dir)


def build_many(dest_dir: Path | str, specs: Iterable[Dist]) -> list[Path]:
    """Build every spec into dest_dir; return the written files in order."""
    return [path for spec in specs for path in spec.build(dest_dir)]


class DistFactory:
    """Builds distributions into one directory (the `dist_factory` fixture)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def wheel(self, name: str, version: str, **options: Unpack[WheelOptions]) -> Path:
        return build_wheel(self.root, name, version, **options)

    def sdist(self, name: str, version: str, **options: Unpack[DistOptions]) -> Path:
        return build_sdist(self.root, name, version, **options)

    def source_tree(self, name: str, version: str, **options: Unpack[DistOptions]) -> Path:
        return write_source_tree(self.root / "src", name, version, **options)

    def many(self, specs: Iterable[Dist]) -> list[Path]:
        return build_many(self.root, specs)
