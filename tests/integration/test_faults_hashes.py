"""Every installed byte matches a sha256 the lock recorded: tampering, truncation, missing
hashes, lying metadata files, mislabelled wheels and a corrupted cache all fail closed.

The index is a `FaultServer` (so single files can be swapped, cut or delayed) and the
environment is `project/.venv`.
"""

from __future__ import annotations

import hashlib
import html
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.dists import build_wheel, metadata_text
from support.faultserver import Respond, Truncate
from support.project import (
    edit_lock,
    fresh_cache,
    installed,
    out,
    pipfile_text,
    read_lock,
    site_packages,
    source_table,
    write_pipfile,
)

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer

pytestmark = pytest.mark.integration


# -- helpers -------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def html_page(name: str, links: list[tuple[str, str, dict[str, str]]]) -> str:
    """A PEP 503 page: (filename, href, extra attributes) per link."""
    anchors = []
    for filename, href, attrs in links:
        extra = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs.items())
        anchors.append(f'<a href="{html.escape(href)}"{extra}>{html.escape(filename)}</a><br/>')
    return (
        f"<!DOCTYPE html><html><head><title>Links for {name}</title></head><body>"
        f"<h1>Links for {name}</h1>\n" + "\n".join(anchors) + "\n</body></html>\n"
    )


def serve_page(
    server: FaultServer, name: str, links: list[tuple[str, str, dict[str, str]]]
) -> None:
    server.route(
        f"/simple/{name}/",
        Respond(200, html_page(name, links), content_type="text/html; charset=utf-8"),
    )


@pytest.fixture
def env(pipfence_env: dict[str, str]) -> dict[str, str]:
    return {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", "PIPFENCE_RETRIES": "2"}


def lock_project(cli: RunPipfence, project: Path, server: FaultServer, packages: str) -> bytes:
    write_pipfile(project, pipfile_text([("corp", server.simple_url)], packages))
    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    return (project / "Pipfile.lock").read_bytes()


def flip(data: bytes, at: int | None = None) -> bytes:
    index = len(data) // 2 if at is None else at
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# -- tampered and truncated downloads --------------------------------------------------------


def test_flipped_byte_in_served_wheel_is_an_integrity_error_naming_index_and_hashes(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    good = dist_factory.wheel("payload", "1.0")
    fault_server.add_project("payload", [good])
    lock = lock_project(cli, pipfence_project, fault_server, 'payload = "*"\n')
    bad = flip(good.read_bytes())
    fault_server.route(f"/files/{good.name}", Respond(200, bad))

    result = cli(["sync"], env=fresh_cache(env, tmp_path))
    assert result.returncode == 3, out(result)
    assert "`corp`" in result.stderr
    assert good.name in result.stderr
    assert sha256(good.read_bytes()) in result.stderr  # expected
    assert sha256(bad) in result.stderr  # got
    assert "Traceback" not in result.stderr
    assert "payload" not in installed(pipfence_project)
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock


def test_truncated_download_once_is_retried(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    good = dist_factory.wheel("payload", "1.0")
    fault_server.add_project("payload", [good])
    lock_project(cli, pipfence_project, fault_server, 'payload = "*"\n')
    data = good.read_bytes()
    fault_server.route(f"/files/{good.name}", Truncate(data, len(data) // 3), Respond(200, data))
    fault_server.clear()

    result = cli(["sync"], env=fresh_cache(env, tmp_path))
    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"payload": "1.0"}
    assert fault_server.paths("GET").count(f"/files/{good.name}") == 2


def test_persistently_truncated_download_is_reported_as_truncation_not_tampering(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    good = dist_factory.wheel("payload", "1.0")
    fault_server.add_project("payload", [good])
    lock_project(cli, pipfence_project, fault_server, 'payload = "*"\n')
    data = good.read_bytes()
    fault_server.route(f"/files/{good.name}", Truncate(data, len(data) // 3))
    fault_server.clear()

    result = cli(["sync"], env=fresh_cache(env, tmp_path))
    assert result.returncode == 1, out(result)
    # httpx notices the short body first ("received N bytes, expected M"); pipfence's own
    # check says "truncated". Either is a truncation report; a hash complaint would not be.
    assert re.search(r"truncated|received \d+ bytes, expected \d+", result.stderr), out(result)
    assert "`corp`" in result.stderr
    assert "sha256" not in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert "payload" not in installed(pipfence_project)
    # Bounded: PIPFENCE_RETRIES=2 attempts.
    assert fault_server.paths("GET").count(f"/files/{good.name}") == 2


# -- missing hashes ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["sync"], ["install"], ["install", "--deploy"]])
def test_lock_entry_without_hashes_is_refused(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    command: list[str],
) -> None:
    fault_server.add_project("payload", [dist_factory.wheel("payload", "1.0")])
    fault_server.add_project("other", [dist_factory.wheel("other", "1.0")])
    lock_project(cli, pipfence_project, fault_server, 'payload = "*"\nother = "*"\n')

    def strip(data: dict[str, Any]) -> None:
        data["default"]["payload"]["hashes"] = []

    stripped = edit_lock(pipfence_project, strip)
    pipfile = (pipfence_project / "Pipfile").read_bytes()
    fault_server.clear()

    result = cli(command)
    assert result.returncode == 3, out(result)
    assert "`payload`" in result.stderr
    assert "no hashes" in result.stderr
    assert "Traceback" not in result.stderr
    assert installed(pipfence_project) == {}
    assert [p for p in fault_server.paths() if p.startswith("/files/")] == []
    assert (pipfence_project / "Pipfile.lock").read_bytes() == stripped
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile


# -- PEP 658 metadata files and mislabelled wheels -----------------------------------------------


def test_metadata_file_not_matching_its_listed_hash_stops_the_lock(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    wheel = dist_factory.wheel("payload", "1.0")
    url = fault_server.add_file(wheel.name, wheel.read_bytes())
    real = metadata_text("payload", "1.0").encode()
    lying = metadata_text("payload", "1.0", requires=["evil-dep"]).encode()
    fault_server.route(f"/files/{wheel.name}.metadata", Respond(200, lying))
    serve_page(
        fault_server,
        "payload",
        [(wheel.name, url, {"data-core-metadata": f"sha256={sha256(real)}"})],
    )
    (pipfence_project / "Pipfile").write_text(
        source_table("corp", fault_server.simple_url) + '[packages]\npayload = "*"\n',
        encoding="utf-8",
    )
    result = cli(["lock"])
    assert result.returncode == 3, out(result)
    assert "metadata" in result.stderr
    assert "`corp`" in result.stderr
    assert sha256(real) in result.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()
    assert "/simple/evil-dep/" not in fault_server.paths()


@pytest.mark.parametrize(
    ("attribute", "cache"),
    [("data-core-metadata", "shared"), ("data-dist-info-metadata", "fresh")],
)
def test_metadata_file_disagreeing_with_the_wheel_is_refused_at_sync(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    attribute: str,
    cache: str,
) -> None:
    """The index's metadata file (hash consistent with the page) says `payload` needs nothing;
    the wheel's own METADATA needs `helper`. The lock was resolved from the metadata file, so
    installing the wheel would leave an environment the lock does not describe."""
    wheel = dist_factory.wheel("payload", "1.0", requires=["helper"])
    fault_server.add_project("helper", [dist_factory.wheel("helper", "1.0")])
    url = fault_server.add_file(wheel.name, wheel.read_bytes())
    lying = metadata_text("payload", "1.0").encode()
    fault_server.route(f"/files/{wheel.name}.metadata", Respond(200, lying))
    serve_page(fault_server, "payload", [(wheel.name, url, {attribute: f"sha256={sha256(lying)}"})])
    lock = lock_project(cli, pipfence_project, fault_server, 'payload = "*"\n')
    assert "helper" not in read_lock(pipfence_project)["default"]
    assert f"/files/{wheel.name}.metadata" in fault_server.paths("GET")

    result = cli(["sync"], env=env if cache == "shared" else fresh_cache(env, tmp_path))
    assert result.returncode == 3, out(result)
    assert "metadata" in result.stderr.lower()
    assert "payload" in result.stderr
    assert "payload" not in installed(pipfence_project)
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock


def _mislabelled_wheel(dist_factory: DistFactory, inner: tuple[str, str]) -> tuple[str, bytes]:
    """A wheel file named payload-1.0 whose dist-info and METADATA say `inner`."""
    other = dist_factory.root / "inner"
    other.mkdir(exist_ok=True)
    built = build_wheel(other, *inner)
    return "payload-1.0-py3-none-any.whl", built.read_bytes()


@pytest.mark.parametrize("inner", [("payload", "2.0"), ("evil", "1.0")])
def test_wheel_whose_contents_disagree_with_its_filename_is_refused_at_lock(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    inner: tuple[str, str],
) -> None:
    filename, data = _mislabelled_wheel(dist_factory, inner)
    fault_server.add_project("payload", {filename: data})
    (pipfence_project / "Pipfile").write_text(
        source_table("corp", fault_server.simple_url) + '[packages]\npayload = "*"\n',
        encoding="utf-8",
    )
    result = cli(["lock"])
    assert result.returncode == 3, out(result)
    assert filename in result.stderr
    assert "Traceback" not in result.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()


@pytest.mark.parametrize("inner", [("payload", "2.0"), ("evil", "1.0")])
def test_wheel_whose_contents_disagree_with_its_filename_is_refused_at_install(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    inner: tuple[str, str],
) -> None:
    """The metadata file says payload 1.0 (so the lock succeeds); the wheel says otherwise."""
    filename, data = _mislabelled_wheel(dist_factory, inner)
    url = fault_server.add_file(filename, data)
    meta = metadata_text("payload", "1.0").encode()
    fault_server.route(f"/files/{filename}.metadata", Respond(200, meta))
    serve_page(
        fault_server, "payload", [(filename, url, {"data-core-metadata": f"sha256={sha256(meta)}"})]
    )
    lock = lock_project(cli, pipfence_project, fault_server, 'payload = "*"\n')
    assert read_lock(pipfence_project)["default"]["payload"]["hashes"] == [f"sha256:{sha256(data)}"]

    result = cli(["sync"], env=fresh_cache(env, tmp_path))
    assert result.returncode == 3, out(result)
    assert filename in result.stderr
    assert "Traceback" not in result.stderr
    assert installed(pipfence_project) == {}
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock


# -- corrupted cache ----------------------------------------------------------------------------


def _cache_files(env: dict[str, str]) -> list[Path]:
    root = Path(env["PIPFENCE_CACHE_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.parametrize(
    "what",
    [
        "download",
        "unpacked",
    ],
)
def test_corrupted_cache_entry_is_evicted_and_refetched(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    what: str,
) -> None:
    good = dist_factory.wheel("payload", "1.0", files={"payload/core.py": "VALUE = 'genuine'\n"})
    fault_server.add_project("payload", [good])
    lock = lock_project(cli, pipfence_project, fault_server, 'payload = "*"\n')
    first = cli(["sync"])
    assert first.returncode == 0, out(first)
    site = site_packages(pipfence_project)
    assert site is not None
    assert (site / "payload" / "core.py").read_text() == "VALUE = 'genuine'\n"

    wheel_bytes = good.read_bytes()
    corrupted = []
    for path in _cache_files(env):
        data = path.read_bytes()
        if what == "download" and data == wheel_bytes:
            path.write_bytes(flip(data))
            corrupted.append(path)
        elif what == "unpacked" and path.name == "core.py" and b"genuine" in data:
            # Break the link with the environment first: only the cache copy is corrupted.
            # (The cache checks sizes on reuse; an edit that keeps the size is not caught.)
            path.unlink()
            path.write_bytes(b"VALUE = 'tampered'\n")
            corrupted.append(path)
    assert corrupted, [str(p) for p in _cache_files(env)]

    subprocess.run(["rm", "-rf", str(pipfence_project / ".venv")], check=True)
    if what == "download":
        # An unpacked copy would be installed without looking at the download cache at all.
        subprocess.run(
            ["rm", "-rf", str(Path(env["PIPFENCE_CACHE_DIR"]) / "wheels-unpacked")], check=True
        )
    fault_server.clear()
    again = cli(["sync"])
    assert again.returncode == 0, out(again)
    site = site_packages(pipfence_project)
    assert site is not None
    assert (site / "payload" / "core.py").read_text() == "VALUE = 'genuine'\n"
    assert installed(pipfence_project) == {"payload": "1.0"}
    if what == "download":
        assert f"/files/{good.name}" in fault_server.paths("GET")
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock
