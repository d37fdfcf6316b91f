"""read_wheel_metadata's direct central-directory path gives what zipfile gives, or steps aside."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest

from pipfence.index import metadata as metadata_module
from pipfence.index.metadata import RangeFile, read_wheel_metadata
from pipfence.models.names import canonical_name

META = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n" + b"long description " * 500


def _zip(
    members: list[tuple[str, bytes]],
    *,
    method: int = zipfile.ZIP_DEFLATED,
    comment: bytes = b"",
    prefix: bytes = b"",
    zip64: bool = False,
) -> bytes:
    out = io.BytesIO()
    out.write(prefix)
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in members:
            if zip64:
                with archive.open(name, "w", force_zip64=True) as member:
                    member.write(data)
            else:
                archive.writestr(name, data)
        archive.comment = comment
    return out.getvalue()


def _wheel(**options: object) -> bytes:
    files = [(f"demo/mod{i}.py", b"x = %d\n" % i) for i in range(300)]
    return _zip([*files, ("demo-1.0.dist-info/METADATA", META)], **options)  # type: ignore[arg-type]


def _by_zipfile(data: bytes, **kwargs: object) -> bytes | str:
    original = metadata_module._direct_metadata
    metadata_module._direct_metadata = lambda *_a: None
    try:
        return read_wheel_metadata(io.BytesIO(data), **kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        return f"error: {exc}"
    finally:
        metadata_module._direct_metadata = original


def _read(data: bytes, **kwargs: object) -> bytes | str:
    try:
        return read_wheel_metadata(io.BytesIO(data), **kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        return f"error: {exc}"


def _corrupt_crc(data: bytes) -> bytes:
    at = data.index(b"long description")
    return data[:at] + b"L" + data[at + 1 :]


CASES: dict[str, Callable[[], bytes]] = {
    "deflated": _wheel,
    "stored": lambda: _wheel(method=zipfile.ZIP_STORED),
    "zip comment": lambda: _wheel(comment=b"made by hand"),
    "bytes before the zip": lambda: _wheel(prefix=b"#!/bin/sh\n" * 10),
    "zip64 member": lambda: _wheel(zip64=True),
    "two dist-infos": lambda: _zip(
        [("other-2.0.dist-info/METADATA", b"Name: other\n"), ("demo-1.0.dist-info/METADATA", META)]
    ),
    "no METADATA": lambda: _zip([("demo/__init__.py", b"")]),
    "nested METADATA only": lambda: _zip([("demo/x.dist-info/METADATA", META)]),
    "bad crc": lambda: _corrupt_crc(_wheel(method=zipfile.ZIP_STORED)),
    "truncated": lambda: _wheel()[:-30],
    "not a zip": lambda: b"hello" * 100,
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("name", [None, "demo", "other"])
def test_direct_path_answers_as_zipfile_does(case: str, name: str | None) -> None:
    data = CASES[case]()
    kwargs = {"name": canonical_name(name) if name else None}
    assert _read(data, **kwargs) == _by_zipfile(data, **kwargs)


@pytest.mark.parametrize("limit", [10, len(META) - 1, len(META)])
def test_the_size_limit_holds_on_both_paths(limit: int) -> None:
    data = _wheel()
    assert _read(data, limit=limit) == _by_zipfile(data, limit=limit)


def test_a_plain_wheel_is_read_without_zipfile(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_zipfile(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("zipfile used")

    deflated, stored = _wheel(), _wheel(method=zipfile.ZIP_STORED)
    monkeypatch.setattr(zipfile, "ZipFile", no_zipfile)
    assert read_wheel_metadata(io.BytesIO(deflated)) == META
    assert read_wheel_metadata(io.BytesIO(stored)) == META


def test_over_ranges_it_fetches_no_more_than_zipfile() -> None:
    data = _wheel()
    tail = 16 * 1024

    def fetched(direct: bool) -> int:
        wheel = RangeFile(
            len(data),
            lambda start, end: data[start:end],
            known=[(len(data) - tail, data[-tail:])],
            min_fetch=4096,
        )
        if direct:
            assert read_wheel_metadata(io.BufferedReader(wheel)) == META
        else:
            original = metadata_module._direct_metadata
            metadata_module._direct_metadata = lambda *_a: None
            try:
                assert read_wheel_metadata(io.BufferedReader(wheel)) == META
            finally:
                metadata_module._direct_metadata = original
        return wheel.fetches

    assert fetched(direct=True) <= fetched(direct=False)
