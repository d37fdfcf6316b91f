"""`pipfence lock` against real local index servers: every package from its one index."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.faultserver import Hang, Respond
from support.project import pipfile_text, read_lock, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def asked_for(index: PypiServer, name: str) -> list[str]:
    return [p for p in index.requested_paths() if f"/{name}" in p]


def test_lock_writes_hashes_versions_and_verifies(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("app", "1.0", requires=["helper>=1"])
    public_index.add_dist("app", "1.1", requires=["helper>=2"])
    public_index.add_sdist("app", "1.1", requires=["helper>=2"])
    public_index.add_dist("helper", "1.5")
    public_index.add_dist("helper", "2.0")
    write_pipfile(
        pipfence_project, pipfile_text([("public", public_index.simple_url)], 'app = "*"\n')
    )

    result = run_pipfence(["lock"])
    assert result.returncode == 0, result.stderr
    lock = read_lock(pipfence_project)
    assert lock["default"]["app"]["version"] == "==1.1"
    assert lock["default"]["app"]["index"] == "public"
    assert len(lock["default"]["app"]["hashes"]) == 2  # the wheel and the sdist
    assert lock["default"]["helper"]["version"] == "==2.0"
    assert "index" not in lock["default"]["helper"]
    assert lock["_meta"]["sources"] == [
        {"name": "public", "url": public_index.simple_url, "verify_ssl": False}
    ]
    assert run_pipfence(["verify"]).returncode == 0


def test_unpinned_package_never_comes_from_the_second_index(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("tool", "1.0")
    private_index.add_dist("tool", "9.0")
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    write_pipfile(
        pipfence_project,
        pipfile_text(sources, 'tool = "*"\n\n[pipenv]\npipfence_confusion_check = false\n'),
    )

    result = run_pipfence(["lock"])
    assert result.returncode == 0, result.stderr
    assert read_lock(pipfence_project)["default"]["tool"]["version"] == "==1.0"
    assert asked_for(private_index, "tool") == []


def test_a_name_the_pipfile_lists_is_asked_of_the_default_alone(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    # Rule 2: listed without `index`, so the default alone may hear it, whatever the
    # other sources serve under the name (the lock used to ask every secondary).
    public_index.add_dist("tool", "99.0")
    private_index.add_dist("tool", "1.0")
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    write_pipfile(pipfence_project, pipfile_text(sources, 'tool = "*"\n'))

    result = run_pipfence(["lock"])
    assert result.returncode == 0, result.stderr
    assert read_lock(pipfence_project)["default"]["tool"]["version"] == "==99.0"
    assert private_index.requested_paths() == []


def test_a_listed_name_missing_from_the_default_shows_the_pin_without_asking_others(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("six", "1.16.0")
    private_index.add_dist("tool", "1.0")
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    write_pipfile(pipfence_project, pipfile_text(sources, 'tool = "*"\n'))

    result = run_pipfence(["lock"])
    assert result.returncode == 1
    assert "`tool` was not found on the default source `public`" in result.stderr
    assert 'tool = {version = "*", index = "private"}' in result.stderr
    assert "Traceback" not in result.stderr
    assert private_index.requested_paths() == []
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_pinned_package_only_from_its_index(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("internal-lib", "99.0")
    private_index.add_dist("internal-lib", "1.0", requires=["six"])
    public_index.add_dist("six", "1.16.0")
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    write_pipfile(
        pipfence_project,
        pipfile_text(sources, 'internal-lib = {version = "*", index = "private"}\n'),
    )

    result = run_pipfence(["lock"])
    assert result.returncode == 0, result.stderr
    default = read_lock(pipfence_project)["default"]
    assert default["internal-lib"]["version"] == "==1.0"
    assert default["internal-lib"]["index"] == "private"
    assert default["six"]["version"] == "==1.16.0"
    assert "index" not in default["six"]
    assert asked_for(public_index, "internal") == []


def test_misspelled_index_name_fails_listing_valid_names(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("public", public_index.simple_url)], 'tool = {version = "*", index = "pubic"}\n'
        ),
    )
    result = run_pipfence(["lock"])
    assert result.returncode == 2
    assert "`pubic`" in result.stderr
    assert "the sources are `public`" in result.stderr
    assert "Pipfile:7:" in result.stderr
    assert public_index.requested_paths() == []


def test_transitive_private_dependency_is_taken_from_its_parents_index(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    private_index.add_dist("internal-app", "1.0", requires=["internal-core"])
    private_index.add_dist("internal-core", "2.0")
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    write_pipfile(
        pipfence_project,
        pipfile_text(sources, 'internal-app = {version = "*", index = "private"}\n'),
    )

    result = run_pipfence(["lock"])
    assert result.returncode == 0, result.stderr
    core = read_lock(pipfence_project)["default"]["internal-core"]
    assert (core["version"], core["index"]) == ("==2.0", "private")


def test_transitive_private_dependency_on_both_indexes_stops_the_lock(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    private_index.add_dist("internal-app", "1.0", requires=["internal-core"])
    private_index.add_dist("internal-core", "2.0")
    public_index.add_dist("internal-core", "99.0")
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    write_pipfile(
        pipfence_project,
        pipfile_text(sources, 'internal-app = {version = "*", index = "private"}\n'),
    )

    result = run_pipfence(["lock"])
    assert result.returncode == 1
    assert "`internal-core`" in result.stderr
    assert "dependency confusion" in result.stderr
    assert 'internal-core = {version = "*", index = "private"}' in result.stderr


def test_transitive_name_only_on_another_source_names_it(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("app", "1.0", requires=["secret-sauce"])
    private_index.add_dist("secret-sauce", "1.0")
    sources = [("public", public_index.simple_url), ("private", private_index.simple_url)]
    write_pipfile(pipfence_project, pipfile_text(sources, 'app = "*"\n'))

    result = run_pipfence(["lock"])
    assert result.returncode == 1
    assert "`secret-sauce` was not found on the default source `public`" in result.stderr
    assert 'secret-sauce = {version = "*", index = "private"}' in result.stderr


def test_alternative_default_without_pypi_never_contacts_pypi(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    private_index: PypiServer,
    fault_server: FaultServer,
) -> None:
    private_index.add_dist("tool", "1.0")
    write_pipfile(
        pipfence_project, pipfile_text([("corp", private_index.simple_url)], 'tool = "*"\n')
    )
    # Anything sent to PyPI would go to the mirror: the mirror must hear nothing.
    env = {**pipfence_env, "PIPENV_PYPI_MIRROR": fault_server.simple_url}
    result = run_pipfence(["lock"], env=env)
    assert result.returncode == 0, result.stderr
    assert fault_server.requests == []
    assert [s["name"] for s in read_lock(pipfence_project)["_meta"]["sources"]] == ["corp"]


def test_mirror_lock_is_byte_identical_and_records_pypi(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    for index in (public_index, private_index):
        index.add_dist("tool", "1.0")
    write_pipfile(pipfence_project, pipfile_text([], 'tool = "*"\n'))
    (pipfence_project / "Pipfile").write_text('[packages]\ntool = "*"\n', encoding="utf-8")

    first = run_pipfence(["lock", "--pypi-mirror", public_index.simple_url])
    assert first.returncode == 0, first.stderr
    via_flag = (pipfence_project / "Pipfile.lock").read_bytes()
    env = {**pipfence_env, "PIPENV_PYPI_MIRROR": private_index.simple_url}
    second = run_pipfence(["lock"], env=env)
    assert second.returncode == 0, second.stderr
    assert (pipfence_project / "Pipfile.lock").read_bytes() == via_flag
    text = via_flag.decode()
    assert "127.0.0.1" not in text
    assert '"url": "https://pypi.org/simple"' in text
    assert asked_for(public_index, "tool")
    assert asked_for(private_index, "tool")


def test_a_package_a_mirror_lacks_is_reported_with_the_mirror_asked(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    # The Pipfile names PyPI, which is never asked: the error must not send the user there.
    public_index.add_dist("other", "1.0")
    private_index.add_dist("tool", "1.0")
    write_pipfile(pipfence_project, pipfile_text([], 'tool = "*"\n'))
    (pipfence_project / "Pipfile").write_text('[packages]\ntool = "*"\n', encoding="utf-8")

    via_flag = run_pipfence(["lock", "--pypi-mirror", public_index.simple_url])
    assert via_flag.returncode == 1, via_flag.stderr
    assert "Package `tool` was not found on the default source `pypi`" in via_flag.stderr
    assert f"asked through the PyPI mirror {public_index.simple_url}" in via_flag.stderr
    env = {**pipfence_env, "PIPFENCE_MIRROR_PYPI": public_index.simple_url.rstrip("/")}
    via_variable = run_pipfence(["lock"], env=env)
    assert via_variable.returncode == 1, via_variable.stderr
    assert "(from PIPFENCE_MIRROR_PYPI)" in via_variable.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()


@pytest.mark.parametrize(
    ("behaviour", "fragment"),
    [
        (Respond(401, "no"), "401"),
        (Respond(403, "no"), "403"),
        (Respond(500, "boom"), "500"),
        (Respond(404, "missing"), "was not found on source `private`"),
    ],
    ids=["401", "403", "500", "404"],
)
def test_failing_pinned_index_fails_without_fallback(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    fault_server: FaultServer,
    behaviour: Respond,
    fragment: str,
) -> None:
    public_index.add_dist("internal-lib", "99.0")
    fault_server.route("/simple/internal-lib/", behaviour)
    fault_server.route("/simple/", Respond(200, "<html><body></body></html>"))  # the index page
    url = fault_server.simple_url.replace("http://", "http://${IDX_USER}:${IDX_TOKEN}@")
    sources = [("public", public_index.simple_url), ("private", url)]
    write_pipfile(
        pipfence_project,
        pipfile_text(sources, 'internal-lib = {version = "*", index = "private"}\n'),
    )
    env = {
        **pipfence_env,
        "IDX_USER": "alice",
        "IDX_TOKEN": "canary-t0k3n",
        "PIPFENCE_RETRIES": "1",
    }

    result = run_pipfence(["lock"], env=env)
    assert result.returncode == 1
    assert fragment in result.stderr
    assert "`private`" in result.stderr
    assert "canary-t0k3n" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert asked_for(public_index, "internal") == []
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_timeout_on_pinned_index_fails_naming_it(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    fault_server: FaultServer,
) -> None:
    fault_server.route("/simple/internal-lib/", Hang(10))
    sources = [("public", public_index.simple_url), ("private", fault_server.simple_url)]
    write_pipfile(
        pipfence_project,
        pipfile_text(sources, 'internal-lib = {version = "*", index = "private"}\n'),
    )
    env = {**pipfence_env, "PIPFENCE_TIMEOUT": "1", "PIPFENCE_RETRIES": "1"}

    result = run_pipfence(["lock"], env=env)
    assert result.returncode == 1
    assert "`private`" in result.stderr
    assert "timed out" in result.stderr.lower()
    assert asked_for(public_index, "internal") == []


def test_files_without_hashes_on_the_index_are_downloaded_and_hashed(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    dist_factory: DistFactory,
    fault_server: FaultServer,
) -> None:
    wheel = dist_factory.wheel("nohash", "1.0")
    sdist = dist_factory.sdist("nohash", "1.0")
    fault_server.add_project("nohash", [wheel, sdist], hashes=False)
    write_pipfile(
        pipfence_project, pipfile_text([("corp", fault_server.simple_url)], 'nohash = "*"\n')
    )

    result = run_pipfence(["lock"])
    assert result.returncode == 0, result.stderr
    expected = sorted(
        f"sha256:{hashlib.sha256(p.read_bytes()).hexdigest()}" for p in (wheel, sdist)
    )
    assert read_lock(pipfence_project)["default"]["nohash"]["hashes"] == expected
    assert "/files/" + sdist.name in fault_server.paths("GET")


def test_a_per_source_mirror_keeps_the_lock_byte_identical(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    private_index: PypiServer,
    fault_server: FaultServer,
) -> None:
    # The Pipfile names a source that does not answer; each machine mirrors it its own way.
    for index in (public_index, private_index):
        index.add_dist("tool", "1.0")
    write_pipfile(
        pipfence_project, pipfile_text([("corp-pypi", fault_server.simple_url)], 'tool = "*"\n')
    )
    fault_server.route("/simple/tool/", Respond(500, "down"))

    first = run_pipfence(
        ["lock"], env={**pipfence_env, "PIPFENCE_MIRROR_CORP_PYPI": public_index.simple_url}
    )
    assert first.returncode == 0, first.stderr
    via_public = (pipfence_project / "Pipfile.lock").read_bytes()
    config = Path(pipfence_env["XDG_CONFIG_HOME"]) / "pipfence" / "mirrors.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[mirrors]\n"corp-pypi" = "{private_index.simple_url}"\n', encoding="utf-8")
    second = run_pipfence(["lock"])
    assert second.returncode == 0, second.stderr
    assert (pipfence_project / "Pipfile.lock").read_bytes() == via_public
    assert fault_server.simple_url in via_public.decode()
    assert public_index.simple_url not in via_public.decode()
    assert asked_for(public_index, "tool")
    assert asked_for(private_index, "tool")
    assert fault_server.requests == []
