"""A hostile index: bodies that never end, and words meant for the terminal rather than the user.

A download stops at the size the project page lists (PEP 700 ``size``) and is refused (exit 3);
nothing a server says reaches the terminal with its escape sequences or control characters.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.dists import build_wheel
from support.faultserver import Endless, Respond
from support.project import dist_infos, one_source_pipfile, out, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.faultserver import FaultServer

pytestmark = pytest.mark.integration

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
NAME = "payload"


@pytest.fixture
def env(pipfence_env: dict[str, str]) -> dict[str, str]:
    return {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", "PIPFENCE_RETRIES": "1"}


def _json_page(server: FaultServer, filename: str, data: bytes) -> str:
    return json.dumps(
        {
            "meta": {"api-version": "1.1"},
            "name": NAME,
            "versions": ["1.0"],
            "files": [
                {
                    "filename": filename,
                    "url": server.url(f"/files/{filename}"),
                    "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                    "size": len(data),
                }
            ],
        }
    )


def test_an_endless_body_stops_at_the_size_the_page_lists(
    cli: RunPipfence, tmp_path: Path, pipfence_project: Path, fault_server: FaultServer
) -> None:
    wheel = build_wheel(tmp_path / "dists", NAME, "1.0")
    data = wheel.read_bytes()
    page = _json_page(fault_server, wheel.name, data)
    fault_server.route(f"/simple/{NAME}/", Respond(200, page, content_type=JSON_TYPE))
    fault_server.route(f"/files/{wheel.name}", Respond(200, data))
    write_pipfile(pipfence_project, one_source_pipfile(fault_server.simple_url))
    result = cli(["lock"])
    assert result.returncode == 0, out(result)

    endless = Endless(prefix=data)
    fault_server.route(f"/files/{wheel.name}", endless)
    # The lock read the whole wheel (this server ignores range requests) and kept it: the
    # sync must download it again to meet the hostile answer.
    result = cli(["sync", "--clear"])
    assert result.returncode == 3, out(result)
    assert wheel.name in result.stderr
    assert f"more than the {len(data)} bytes the project page lists" in result.stderr
    assert "Traceback" not in result.stderr
    # Stopped near the listed size: what the transport had in flight, not hundreds of MiB.
    assert endless.sent < 64 * 1024 * 1024, endless.sent
    assert not any(n.startswith(f"{NAME}-") for n in dist_infos(pipfence_project))
    assert not list(tmp_path.rglob("*.part"))


def test_a_content_length_over_the_listed_size_is_refused_unread(
    cli: RunPipfence, tmp_path: Path, pipfence_project: Path, fault_server: FaultServer
) -> None:
    wheel = build_wheel(tmp_path / "dists", NAME, "1.0")
    data = wheel.read_bytes()
    page = _json_page(fault_server, wheel.name, data)
    fault_server.route(f"/simple/{NAME}/", Respond(200, page, content_type=JSON_TYPE))
    fault_server.route(f"/files/{wheel.name}", Respond(200, data))
    write_pipfile(pipfence_project, one_source_pipfile(fault_server.simple_url))
    assert cli(["lock"]).returncode == 0
    fault_server.route(f"/files/{wheel.name}", Respond(200, data + bytes(1 << 20)))
    # The lock read the whole wheel (this server ignores range requests) and kept it: the
    # sync must download it again to meet the hostile answer.
    result = cli(["sync", "--clear"])
    assert result.returncode == 3, out(result)
    assert f"announced as {len(data) + (1 << 20)} bytes" in result.stderr


ESCAPES = "\x1b[2J\x1b[31mINJECTED\x1b]0;owned\x07\x9b1m\x07\x08"


def _assert_clean(text: str) -> None:
    for bad in ("\x1b", "\x07", "\x08", "\x9b"):
        assert bad not in text, repr(text)


def test_a_reason_phrase_with_escape_sequences_is_printed_without_them(
    cli: RunPipfence, pipfence_project: Path, fault_server: FaultServer
) -> None:
    fault_server.route(f"/simple/{NAME}/", Respond(403, "no", reason=f"Forbidden {ESCAPES}"))
    write_pipfile(pipfence_project, one_source_pipfile(fault_server.simple_url))
    result = cli(["lock"])
    assert result.returncode == 1, out(result)
    assert "HTTP 403 Forbidden" in result.stderr
    assert "INJECTED" in result.stderr  # the words stay; only what a terminal acts on goes
    _assert_clean(result.stderr)
    _assert_clean(result.stdout)


def test_a_content_type_with_escape_sequences_is_printed_without_them(
    cli: RunPipfence, pipfence_project: Path, fault_server: FaultServer
) -> None:
    fault_server.route(
        f"/simple/{NAME}/", Respond(200, "<html></html>", content_type=f"text/evil{ESCAPES}")
    )
    write_pipfile(pipfence_project, one_source_pipfile(fault_server.simple_url))
    result = cli(["lock"])
    assert result.returncode == 1, out(result)
    assert "text/evil" in result.stderr
    _assert_clean(result.stderr)
    _assert_clean(result.stdout)
