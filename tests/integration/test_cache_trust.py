"""What the shared cache may hand out: metadata only to the source (and credentials) that served
it, a private package only to the credentials that fetched it, and a wheel installed only when its
own METADATA agrees with the lock.

Two projects share one `PIPFENCE_CACHE_DIR` (the `pipfence_env` default), as on a developer's
machine. Hostile indexes and mirrors are `FaultServer`s serving a real wheel's sha256 next to a
forged PEP 658 metadata file.
"""

from __future__ import annotations

import hashlib
import html
import shutil
from typing import TYPE_CHECKING, Any

import pytest

from support.dists import metadata_text
from support.faultserver import Respond
from support.project import (
    edit_lock,
    installed,
    one_source_pipfile,
    out,
    pipfile_text,
    read_lock,
    write_pipfile,
)

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

FORGED = ["evilpkg", "urllib3==1.0"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def env(pipfence_env: dict[str, str]) -> dict[str, str]:
    return {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", "PIPFENCE_RETRIES": "1"}


def serve_wheel_with_metadata(
    server: FaultServer, wheel: Path, metadata: bytes, *, listed_metadata: bytes | None = None
) -> None:
    """A PEP 503 page for the wheel's project listing `wheel` (its real sha256) and a PEP 658
    metadata file `metadata`, whose sha256 the page gives (of `listed_metadata` when given)."""
    name = wheel.name.split("-", 1)[0]
    url = server.add_file(wheel.name, wheel.read_bytes())
    server.route(f"/files/{wheel.name}.metadata", Respond(200, metadata))
    listed = sha256(metadata if listed_metadata is None else listed_metadata)
    anchor = (
        f'<a href="{html.escape(url)}" data-core-metadata="sha256={listed}">'
        f"{html.escape(wheel.name)}</a>"
    )
    page = f"<!DOCTYPE html><html><body>\n{anchor}\n</body></html>\n"
    server.route(f"/simple/{name}/", Respond(200, page, content_type="text/html; charset=utf-8"))


def hostile_index(server: FaultServer, dist_factory: DistFactory, wheel: Path) -> None:
    """`server` lists the real `wheel` (its true sha256) with forged metadata requiring
    `FORGED`, and serves those packages too, so a lock through it succeeds."""
    forged = metadata_text("payload", "1.0", requires=FORGED).encode()
    serve_wheel_with_metadata(server, wheel, forged)
    server.add_project("evilpkg", [dist_factory.wheel("evilpkg", "1.0")])
    server.add_project("urllib3", [dist_factory.wheel("urllib3", "1.0")])


def project_dir(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


# -- 1. metadata is never taken from another source's (or a mirror's) answer --------------------


def test_forged_metadata_from_one_index_does_not_reach_another_projects_lock(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    public_index: PypiServer,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    """Project A uses hostile index E, which lists the real `payload` wheel's sha256 with a
    forged metadata file. Project B, on the honest index, shares the cache: its lock and
    environment hold only what the real wheel requires."""
    wheel = dist_factory.wheel("payload", "1.0")
    public_index.add(wheel)
    public_index.add_dist("evilpkg", "1.0")  # the attacker published it on the public index
    public_index.add_dist("urllib3", "1.0")
    hostile_index(fault_server, dist_factory, wheel)

    first = project_dir(tmp_path, "first")
    write_pipfile(first, one_source_pipfile(fault_server.simple_url, name="e"))
    result = run_pipfence(["lock"], cwd=first, env=env)
    assert result.returncode == 0, out(result)
    assert "evilpkg" in read_lock(first)["default"]  # E's own answer, for E's project

    second = project_dir(tmp_path, "second")
    write_pipfile(second, one_source_pipfile(public_index.simple_url, name="pypi"))
    result = run_pipfence(["install"], cwd=second, env=env)
    assert result.returncode == 0, out(result)
    assert sorted(read_lock(second)["default"]) == ["payload"]
    assert installed(second) == {"payload": "1.0"}
    assert "/simple/evilpkg/" not in public_index.requested_paths()


def test_forged_metadata_from_a_source_mirror_is_not_used_without_the_mirror(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    """One lock goes through a per-source mirror that forges metadata; the next lock of the
    same source, without the mirror, resolves from what the source itself serves."""
    wheel = dist_factory.wheel("payload", "1.0")
    public_index.add(wheel)
    public_index.add_dist("evilpkg", "1.0")
    public_index.add_dist("urllib3", "1.0")
    hostile_index(fault_server, dist_factory, wheel)
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, name="corp"))

    mirrored = run_pipfence(["lock"], env={**env, "PIPFENCE_MIRROR_CORP": fault_server.simple_url})
    assert mirrored.returncode == 0, out(mirrored)
    assert "evilpkg" in read_lock(pipfence_project)["default"]

    (pipfence_project / "Pipfile.lock").unlink()
    public_index.clear_log()
    result = run_pipfence(["lock"], env=env)
    assert result.returncode == 0, out(result)
    assert sorted(read_lock(pipfence_project)["default"]) == ["payload"]
    assert "/simple/evilpkg/" not in public_index.requested_paths()


def test_cached_metadata_that_no_longer_matches_the_listed_hash_is_fetched_again(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    """The page now lists another sha256 for the metadata file (say, a corrected upload):
    the cached copy is not used, the file is fetched again and checked (exit 3 here, since
    the index still serves the old bytes)."""
    wheel = dist_factory.wheel("payload", "1.0")
    old = metadata_text("payload", "1.0").encode()
    serve_wheel_with_metadata(fault_server, wheel, old)
    write_pipfile(pipfence_project, one_source_pipfile(fault_server.simple_url))
    first = run_pipfence(["lock"], env=env)
    assert first.returncode == 0, out(first)

    new = metadata_text("payload", "1.0", requires=["helper"]).encode()
    serve_wheel_with_metadata(fault_server, wheel, old, listed_metadata=new)
    (pipfence_project / "Pipfile.lock").unlink()
    fault_server.clear()
    result = run_pipfence(["lock"], env={**env, "PIPFENCE_PAGE_MAX_AGE": "0"})
    assert result.returncode == 3, out(result)
    assert f"/files/{wheel.name}.metadata" in fault_server.paths("GET")
    assert sha256(new) in result.stderr
    assert "`corp`" in result.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()


# -- 2. at sync, each wheel's own METADATA must agree with the lock ----------------------------


def test_wheel_requiring_a_version_the_lock_does_not_pin_is_refused_at_sync(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    """The metadata file says `dep<2`, so the lock pins dep 1.0; the wheel itself needs
    `dep>=2`. Installing it beside dep 1.0 would break it: refused, nothing installed."""
    wheel = dist_factory.wheel("payload", "1.0", requires=["dep>=2"])
    lying = metadata_text("payload", "1.0", requires=["dep<2"]).encode()
    serve_wheel_with_metadata(fault_server, wheel, lying)
    fault_server.add_project(
        "dep", [dist_factory.wheel("dep", "1.0"), dist_factory.wheel("dep", "2.0")]
    )
    write_pipfile(pipfence_project, one_source_pipfile(fault_server.simple_url))
    locked = run_pipfence(["lock"], env=env)
    assert locked.returncode == 0, out(locked)
    assert read_lock(pipfence_project)["default"]["dep"]["version"] == "==1.0"
    lock = (pipfence_project / "Pipfile.lock").read_bytes()

    result = run_pipfence(["sync"], env=env)
    assert result.returncode == 3, out(result)
    assert wheel.name in result.stderr
    assert "`corp`" in result.stderr
    assert "dep>=2" in result.stderr
    assert "1.0" in result.stderr
    assert "Traceback" not in result.stderr
    assert installed(pipfence_project) == {}
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock


def test_wheel_whose_requested_extra_needs_an_unlocked_package_is_refused_at_sync(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    """The Pipfile asks for `payload[fast]`; the metadata file declares the extra but leaves
    out its dependency `helper`, so the lock has no `helper`. The wheel's own METADATA needs
    it for that extra: refused, rather than an environment silently missing `helper`."""
    wheel = dist_factory.wheel("payload", "1.0", extras={"fast": ["helper"]})
    lying = metadata_text("payload", "1.0", extras={"fast": []}).encode()
    serve_wheel_with_metadata(fault_server, wheel, lying)
    fault_server.add_project("helper", [dist_factory.wheel("helper", "1.0")])
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("corp", fault_server.simple_url)],
            'payload = {version = "*", extras = ["fast"]}\n',
        ),
    )
    locked = run_pipfence(["lock"], env=env)
    assert locked.returncode == 0, out(locked)
    assert sorted(read_lock(pipfence_project)["default"]) == ["payload"]

    result = run_pipfence(["sync"], env=env)
    assert result.returncode == 3, out(result)
    assert wheel.name in result.stderr
    assert "`corp`" in result.stderr
    assert "helper" in result.stderr
    assert installed(pipfence_project) == {}


def test_wheel_whose_requirements_the_lock_meets_installs(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    """Versions inside the specifiers, an extra's dependencies locked, a marker that does not
    hold on this target ignored: the check lets an honest lock through."""
    public_index.add_dist(
        "payload",
        "1.0",
        requires=["dep>=1,<3", "never>=9; python_version < '3'"],
        extras={"fast": ["helper (>=1)"], "unused": ["absent>=5"]},
    )
    public_index.add_dist("dep", "2.0")
    public_index.add_dist("helper", "1.0")
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("pypi", public_index.simple_url)],
            'payload = {version = "*", extras = ["fast"]}\n',
        ),
    )
    result = run_pipfence(["install"], env=env)
    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"payload": "1.0", "dep": "2.0", "helper": "1.0"}


# -- 3. what one set of credentials fetched is not served to another ---------------------------


def templated(simple_url: str) -> str:
    return simple_url.replace("http://", "http://${IDX_USER}:${IDX_PASS}@", 1)


def install_private_and_prepare_other(
    cli: RunPipfence, env: dict[str, str], tmp_path: Path, index: PypiServer, password: str | None
) -> tuple[Path, Path, dict[str, str]]:
    """Project A installs private `payload` with the index's credentials (filling the shared
    cache); project B has the same Pipfile but no credentials (or a wrong password).
    Returns A's and B's folders and B's environment."""
    assert index.auth is not None
    user, right = index.auth
    index.add_dist("payload", "1.0")
    url = templated(index.simple_url)
    first = project_dir(tmp_path, "first")
    write_pipfile(first, one_source_pipfile(url))
    allowed = cli(["install"], cwd=first, env={**env, "IDX_USER": user, "IDX_PASS": right})
    assert allowed.returncode == 0, out(allowed)
    assert installed(first) == {"payload": "1.0"}
    second = project_dir(tmp_path, "second")
    if password is None:
        write_pipfile(second, one_source_pipfile(index.simple_url))
        other_env = env
    else:
        write_pipfile(second, one_source_pipfile(url))
        other_env = {**env, "IDX_USER": user, "IDX_PASS": password}
    index.clear_log()
    return first, second, other_env


CREDENTIALS = pytest.mark.parametrize(
    "password", [None, "wrong"], ids=["no-credentials", "wrong-password"]
)


@CREDENTIALS
def test_private_package_is_not_locked_from_the_cache_without_its_credentials(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    authenticated_index: PypiServer,
    password: str | None,
) -> None:
    """B's lock asks the index (pages and metadata are not served from A's cache), which
    refuses it."""
    _first, second, other_env = install_private_and_prepare_other(
        run_pipfence, env, tmp_path, authenticated_index, password
    )
    result = run_pipfence(["lock"], cwd=second, env=other_env)
    assert result.returncode == 1, out(result)
    assert "401" in result.stderr or "403" in result.stderr
    assert "`corp`" in result.stderr
    assert not (second / "Pipfile.lock").exists()
    assert authenticated_index.requests(), "the index was not asked"


@CREDENTIALS
def test_private_package_is_not_installed_from_the_cache_without_its_credentials(
    run_pipfence: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    authenticated_index: PypiServer,
    password: str | None,
) -> None:
    """B syncs A's lock: the wheel A downloaded and unpacked verifies against the lock's hash,
    yet B gets it only if the index gives it to B — and the index refuses."""
    first, second, other_env = install_private_and_prepare_other(
        run_pipfence, env, tmp_path, authenticated_index, password
    )
    shutil.copy(first / "Pipfile.lock", second / "Pipfile.lock")
    if password is None:  # the same lock, its source written without credentials

        def plain(lock: dict[str, Any]) -> None:
            lock["_meta"]["sources"][0]["url"] = authenticated_index.simple_url

        edit_lock(second, plain)
    result = run_pipfence(["sync"], cwd=second, env=other_env)
    assert result.returncode == 1, out(result)
    assert "401" in result.stderr or "403" in result.stderr
    assert "`corp`" in result.stderr
    assert installed(second) == {}
    assert authenticated_index.requests(), "the index was not asked"
