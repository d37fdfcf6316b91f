"""``[pipenv] cool-down-period = "Nd"``: `lock` and `update` take no file an index says was
uploaded less than N days ago, as pipenv does (it hands pip ``--uploaded-prior-to``).

The upload time comes from the index: ``upload-time`` in a PEP 691 JSON page (PEP 700), or a
``data-upload-time`` attribute on an HTML link. A file without one is taken, as pip takes it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.faultserver import Respond
from support.project import out, read_lock, source_table, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)


def ago(days: float) -> str:
    return (NOW - dt.timedelta(days=days)).isoformat().replace("+00:00", "Z")


def serve_json(server: FaultServer, name: str, files: dict[Path, str | None]) -> None:
    """A PEP 691 page for ``name``; each file's ``upload-time`` as given (None: left out)."""
    entries = []
    for path, uploaded in files.items():
        url = server.add_file(path.name, path.read_bytes())
        href, _, digest = url.partition("#sha256=")
        entry: dict[str, object] = {
            "filename": path.name,
            "url": href,
            "hashes": {"sha256": digest},
        }
        if uploaded is not None:
            entry["upload-time"] = uploaded
        entries.append(entry)
    page = {"meta": {"api-version": "1.1"}, "name": name, "files": entries}
    server.route(
        f"/simple/{name}/",
        Respond(200, json.dumps(page), content_type="application/vnd.pypi.simple.v1+json"),
    )


def serve_html(server: FaultServer, name: str, files: dict[Path, str]) -> None:
    """A PEP 503 page for ``name`` whose links carry ``data-upload-time``."""
    links = [
        f'<a href="{html.escape(server.add_file(path.name, path.read_bytes()))}" '
        f'data-upload-time="{uploaded}">{path.name}</a><br/>'
        for path, uploaded in files.items()
    ]
    page = f"<!DOCTYPE html><html><body>{''.join(links)}</body></html>"
    server.route(f"/simple/{name}/", Respond(200, page, content_type="text/html"))


@pytest.fixture
def index(fault_server: FaultServer, dist_factory: DistFactory) -> FaultServer:
    """``app`` 1.0 (a year old), 1.1 (20 days), 1.2 (2 days, wheel only) and 1.3 (no upload
    time) on a JSON page; ``app`` 1.0-1.2 need ``dep``, whose HTML page has 2.0 (a year old)
    and 2.1 (yesterday)."""
    serve_json(
        fault_server,
        "app",
        {
            dist_factory.wheel("app", "1.0", requires=["dep"]): ago(365),
            dist_factory.wheel("app", "1.1", requires=["dep"]): ago(20),
            dist_factory.wheel("app", "1.2", requires=["dep"]): ago(2),
        },
    )
    serve_html(
        fault_server,
        "dep",
        {dist_factory.wheel("dep", "2.0"): ago(365), dist_factory.wheel("dep", "2.1"): ago(1)},
    )
    return fault_server


def pipfile(server: FaultServer, setting: str) -> str:
    return (
        source_table("corp", server.simple_url)
        + (f"[pipenv]\ncool-down-period = {setting}\n\n" if setting else "")
        + '[packages]\napp = "*"\n'
    )


@pytest.mark.parametrize(
    ("setting", "app", "dep"),
    [
        pytest.param("", "1.2", "2.1", id="no-cool-down"),
        pytest.param('"7d"', "1.1", "2.0", id="7-days"),
        pytest.param('"30d"', "1.0", "2.0", id="30-days"),
        pytest.param('"0d"', "1.2", "2.1", id="zero-days"),
    ],
)
def test_lock_takes_no_file_uploaded_within_the_cool_down(
    cli: RunPipfence, pipfence_project: Path, index: FaultServer, setting: str, app: str, dep: str
) -> None:
    write_pipfile(pipfence_project, pipfile(index, setting))

    result = cli(["lock"])

    assert result.returncode == 0, out(result)
    lock = read_lock(pipfence_project)["default"]
    assert lock["app"]["version"] == f"=={app}"
    assert lock["dep"]["version"] == f"=={dep}"


def test_a_file_without_an_upload_time_is_taken(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    serve_json(
        fault_server,
        "app",
        {dist_factory.wheel("app", "1.0"): ago(365), dist_factory.wheel("app", "1.3"): None},
    )
    write_pipfile(pipfence_project, pipfile(fault_server, '"30d"'))

    result = cli(["lock"])

    assert result.returncode == 0, out(result)
    assert read_lock(pipfence_project)["default"]["app"]["version"] == "==1.3"


def test_update_keeps_the_cool_down(
    cli: RunPipfence, pipfence_project: Path, index: FaultServer
) -> None:
    write_pipfile(pipfence_project, pipfile(index, '"7d"'))

    result = cli(["update"])

    assert result.returncode == 0, out(result)
    assert read_lock(pipfence_project)["default"]["app"]["version"] == "==1.1"


def test_nothing_old_enough_fails_naming_the_setting(
    cli: RunPipfence, pipfence_project: Path, index: FaultServer
) -> None:
    before = write_pipfile(
        pipfence_project,
        pipfile(index, '"7d"').replace('app = "*"', 'app = ">=1.2"'),
    )

    result = cli(["lock"])

    assert result.returncode == 1, out(result)
    assert "cool-down-period" in result.stderr
    assert "Traceback" not in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == before
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_a_cool_down_in_another_form_is_refused(
    cli: RunPipfence, pipfence_project: Path, index: FaultServer
) -> None:
    write_pipfile(pipfence_project, pipfile(index, '"2w"'))

    result = cli(["lock"])

    assert result.returncode == 2, out(result)
    assert 'cool-down-period must be a number of days such as "30d"' in result.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()
    assert index.requests == []


def test_outdated_reports_only_releases_past_the_cool_down(
    cli: RunPipfence, pipfence_project: Path, index: FaultServer
) -> None:
    write_pipfile(
        pipfence_project,
        pipfile(index, '"7d"').replace('app = "*"', 'app = "==1.0"'),
    )
    assert cli(["install"]).returncode == 0

    result = cli(["update", "--outdated"])

    assert result.returncode == 0, out(result)
    assert "Package 'app' out-of-date: '1.0' installed, '1.1' available." in result.stdout
