"""`pipfence install`, `sync`, `uninstall`, `update`, `upgrade` and `clean` end to end.

Every test runs the real command against real local pypiserver indexes, with the environment
inside the project (`PIPENV_VENV_IN_PROJECT=1`) so its site-packages can be read directly. Each
test checks the exit code, the message, the bytes of Pipfile and Pipfile.lock and what the
environment holds afterwards.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.project import (
    dist_infos,
    installed,
    out,
    read_lock,
    site_packages,
    source_table,
    write_pipfile,
)

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


# -- helpers -------------------------------------------------------------------------------


def read_pipfile(project: Path) -> dict[str, Any]:
    return tomllib.loads((project / "Pipfile").read_text(encoding="utf-8"))


def snapshot(project: Path) -> tuple[bytes | None, bytes | None, list[str]]:
    """The Pipfile and lock bytes and the environment's dist-info folders."""

    def read(name: str) -> bytes | None:
        path = project / name
        return path.read_bytes() if path.exists() else None

    return read("Pipfile"), read("Pipfile.lock"), dist_infos(project)


def locked_versions(project: Path, category: str) -> dict[str, str]:
    return {name: e["version"] for name, e in read_lock(project)[category].items()}


# -- 1. round trips ------------------------------------------------------------------------


def test_install_without_lock_locks_creates_env_and_then_sync_is_a_silent_noop(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0", requires=["beta>=2"])
    public_index.add_dist("beta", "1.0")
    public_index.add_dist("beta", "2.0")
    public_index.add_dist("devtool", "3.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + '[packages]\nalpha = "*"\n\n[dev-packages]\ndevtool = "*"\n',
    )

    result = cli(["install"])
    assert result.returncode == 0, out(result)
    assert "Locked 3 packages" in result.stderr
    assert "Created the environment at" in result.stderr
    assert "Installed 2 packages" in result.stderr
    assert locked_versions(pipfence_project, "default") == {"alpha": "==1.0", "beta": "==2.0"}
    assert locked_versions(pipfence_project, "develop") == {"devtool": "==3.0"}
    assert installed(pipfence_project) == {"alpha": "1.0", "beta": "2.0"}  # no dev without -d
    assert "pip" in installed(pipfence_project, seed=True)

    where = cli(["--venv"])
    assert where.returncode == 0, out(where)
    assert Path(where.stdout.strip()) == pipfence_project / ".venv"
    imported = cli(["run", "python", "-c", "import alpha, beta; print(alpha.__file__)"])
    assert imported.returncode == 0, out(imported)
    assert str(pipfence_project / ".venv") in imported.stdout

    lock_bytes = (pipfence_project / "Pipfile.lock").read_bytes()
    public_index.clear_log()
    again = cli(["sync"])
    assert again.returncode == 0, out(again)
    assert "already matches the lock (2 packages)" in again.stderr
    assert public_index.requested_paths() == []
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock_bytes

    with_dev = cli(["sync", "--dev"])
    assert with_dev.returncode == 0, out(with_dev)
    assert installed(pipfence_project) == {"alpha": "1.0", "beta": "2.0", "devtool": "3.0"}


def test_install_uninstall_packages_keep_comments_and_update_lock_and_env(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("gamma", "1.0")
    public_index.add_dist("gamma", "1.2", requires=["delta"])
    public_index.add_dist("delta", "0.5")
    public_index.add_dist("devtool", "3.0")
    write_pipfile(
        pipfence_project,
        "# the project's indexes\n"
        + source_table("public", public_index.simple_url)
        + "[packages]\n"
        + 'alpha = "*"  # keep me\n'
        + "# trailing comment of packages\n\n"
        + "[dev-packages]\n",
    )
    assert cli(["install"]).returncode == 0

    added = cli(["install", "gamma"])
    assert added.returncode == 0, out(added)
    text = (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    assert "# the project's indexes\n" in text
    assert 'alpha = "*"  # keep me\n' in text
    assert "# trailing comment of packages\n" in text
    assert read_pipfile(pipfence_project)["packages"] == {"alpha": "*", "gamma": "*"}
    assert locked_versions(pipfence_project, "default") == {
        "alpha": "==1.0",
        "delta": "==0.5",
        "gamma": "==1.2",
    }
    assert installed(pipfence_project) == {"alpha": "1.0", "gamma": "1.2", "delta": "0.5"}
    assert run_verify(cli)

    dev = cli(["install", "devtool", "--dev"])
    assert dev.returncode == 0, out(dev)
    pipfile = read_pipfile(pipfence_project)
    assert pipfile["dev-packages"] == {"devtool": "*"}
    assert "devtool" not in pipfile["packages"]
    assert locked_versions(pipfence_project, "develop") == {"devtool": "==3.0"}
    assert "devtool" not in read_lock(pipfence_project)["default"]
    assert installed(pipfence_project)["devtool"] == "3.0"

    removed = cli(["uninstall", "gamma[extra]"])  # the name alone counts, as in pipenv
    assert removed.returncode == 0, out(removed)
    assert "Removed gamma from the Pipfile" in removed.stderr
    text = (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    assert "gamma" not in text
    assert 'alpha = "*"  # keep me\n' in text
    assert "# the project's indexes\n" in text
    assert set(read_lock(pipfence_project)["default"]) == {"alpha"}
    assert "gamma" not in installed(pipfence_project)
    assert installed(pipfence_project)["alpha"] == "1.0"
    assert run_verify(cli)

    removed_dev = cli(["uninstall", "devtool", "--dev"])
    assert removed_dev.returncode == 0, out(removed_dev)
    assert read_pipfile(pipfence_project)["dev-packages"] == {}
    assert read_lock(pipfence_project)["develop"] == {}
    assert "devtool" not in installed(pipfence_project)


def test_uninstall_of_a_name_the_pipfile_does_not_list_takes_it_from_the_environment_alone(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    """pipenv's `uninstall` of something installed by hand (not in the Pipfile) removes it
    from the environment and exits 0; pipfence does too, but refuses (nothing changed) a
    name the lock needs, a dev package named without `--dev`, and a name that is nowhere."""
    public_index.add_dist("alpha", "1.0", requires=["beta"])
    public_index.add_dist("beta", "1.0")
    public_index.add_dist("devtool", "3.0")
    handmade = public_index.add_dist("handmade", "2.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + '[packages]\nalpha = "*"\n\n[dev-packages]\ndevtool = "*"\n',
    )
    assert cli(["install", "--dev"]).returncode == 0
    by_hand = cli(["run", "pip", "install", "-q", "--no-deps", "--no-index", str(handmade)])
    assert by_hand.returncode == 0, out(by_hand)
    assert installed(pipfence_project)["handmade"] == "2.0"
    pipfile, lock, _ = snapshot(pipfence_project)

    removed = cli(["uninstall", "handmade==2.0"])  # a requirement's name, as pipenv takes it
    assert removed.returncode == 0, out(removed)
    assert "- handmade==2.0" in removed.stdout + removed.stderr
    assert snapshot(pipfence_project) == (
        pipfile,
        lock,
        [d for d in dist_infos(pipfence_project) if "handmade" not in d],
    )
    assert installed(pipfence_project) == {"alpha": "1.0", "beta": "1.0", "devtool": "3.0"}

    before = snapshot(pipfence_project)
    for name, message in [
        ("beta", "`beta` is not in [packages] of the Pipfile and Pipfile.lock needs it"),
        ("devtool", "`devtool` is in [dev-packages] of the Pipfile, not in [packages]"),
        ("nosuch", "`nosuch` is not in [packages] of the Pipfile nor installed"),
    ]:
        refused = cli(["uninstall", name])
        assert refused.returncode == 2, out(refused)
        assert message in refused.stderr
        assert "Traceback" not in refused.stderr
        assert snapshot(pipfence_project) == before
    assert "--dev" in cli(["uninstall", "devtool"]).stderr


def run_verify(cli: RunPipfence) -> bool:
    result = cli(["verify"])
    return result.returncode == 0


def _published_update_setup(
    cli: RunPipfence, project: Path, index: PypiServer
) -> tuple[bytes, bytes]:
    index.add_dist("alpha", "1.0")
    pipfile = write_pipfile(
        project, source_table("public", index.simple_url) + '[packages]\nalpha = "*"\n'
    )
    first = cli(["install"])
    assert first.returncode == 0, out(first)
    assert installed(project) == {"alpha": "1.0"}
    index.add_dist("alpha", "1.1")
    return pipfile, (project / "Pipfile.lock").read_bytes()


def test_update_picks_up_a_newly_published_version_with_page_max_age_zero(
    cli: RunPipfence, env: dict[str, str], pipfence_project: Path, public_index: PypiServer
) -> None:
    pipfile, _lock = _published_update_setup(cli, pipfence_project, public_index)
    public_index.clear_log()

    result = cli(["update"], env={**env, "PIPFENCE_PAGE_MAX_AGE": "0"})
    assert result.returncode == 0, out(result)
    assert "/simple/alpha/" in public_index.requested_paths()
    assert locked_versions(pipfence_project, "default") == {"alpha": "==1.1"}
    assert installed(pipfence_project) == {"alpha": "1.1"}
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile


def test_update_with_clear_picks_up_a_newly_published_version(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    _published_update_setup(cli, pipfence_project, public_index)
    result = cli(["update", "--clear"])
    assert result.returncode == 0, out(result)
    assert locked_versions(pipfence_project, "default") == {"alpha": "==1.1"}
    assert installed(pipfence_project) == {"alpha": "1.1"}


def test_update_picks_up_a_newly_published_version_by_default(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    _published_update_setup(cli, pipfence_project, public_index)
    result = cli(["update"])
    assert result.returncode == 0, out(result)
    assert locked_versions(pipfence_project, "default") == {"alpha": "==1.1"}
    assert installed(pipfence_project) == {"alpha": "1.1"}


def test_upgrade_writes_the_lock_but_installs_nothing(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    pipfile, lock = _published_update_setup(cli, pipfence_project, public_index)
    before = dist_infos(pipfence_project)

    result = cli(["upgrade", "--clear"])
    assert result.returncode == 0, out(result)
    assert (pipfence_project / "Pipfile.lock").read_bytes() != lock
    assert locked_versions(pipfence_project, "default") == {"alpha": "==1.1"}
    assert "Installed" not in result.stderr
    assert dist_infos(pipfence_project) == before
    assert installed(pipfence_project) == {"alpha": "1.0"}
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile

    # The next sync brings the environment to the lock upgrade wrote.
    synced = cli(["sync"])
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"alpha": "1.1"}


def test_clean_removes_a_package_installed_by_hand_and_keeps_pip(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, dist_factory: DistFactory
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url) + '[packages]\nalpha = "*"\n',
    )
    assert cli(["install"]).returncode == 0
    before = installed(pipfence_project, seed=True)
    dist_factory.wheel("stray", "0.1")

    by_hand = cli(
        ["run", "pip", "install", "--no-index", "--find-links", dist_factory.root, "stray"]
    )
    assert by_hand.returncode == 0, out(by_hand)
    assert installed(pipfence_project)["stray"] == "0.1"

    dry = cli(["clean", "--dry-run"])
    assert dry.returncode == 0, out(dry)
    assert dry.stdout.split() == ["stray"]
    assert installed(pipfence_project)["stray"] == "0.1"

    cleaned = cli(["clean"])
    assert cleaned.returncode == 0, out(cleaned)
    assert "Removed 1 package" in cleaned.stderr
    assert cleaned.stdout == "- stray==0.1\n"  # what went, as pipenv's clean names it
    assert installed(pipfence_project, seed=True) == before
    assert "pip" in before
    assert not list(site_packages(pipfence_project).glob("stray*"))


# -- 2. --index ----------------------------------------------------------------------------


def test_install_with_index_url_adds_one_source_and_reuses_it(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("alpha", "1.0")
    private_index.add_dist("internal-one", "1.0")
    private_index.add_dist("internal-two", "2.0")
    private_index.add_dist("internal-three", "3.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url) + '[packages]\nalpha = "*"\n',
    )
    assert cli(["install"]).returncode == 0

    first = cli(["install", "internal-one", f"--index={private_index.simple_url}"])
    assert first.returncode == 0, out(first)
    sources = read_pipfile(pipfence_project)["source"]
    assert len(sources) == 2
    assert sources[0]["name"] == "public"
    added = sources[1]
    assert added["url"] == private_index.simple_url
    name = added["name"]
    assert name != "public"
    assert f"Added source `{name}`" in first.stderr
    assert read_pipfile(pipfence_project)["packages"]["internal-one"] == {
        "version": "*",
        "index": name,
    }
    lock = read_lock(pipfence_project)
    assert lock["default"]["internal-one"]["index"] == name
    assert [s["name"] for s in lock["_meta"]["sources"]] == ["public", name]
    assert installed(pipfence_project) == {"alpha": "1.0", "internal-one": "1.0"}

    # The same URL, the URL without its trailing slash, the source's name: no new [[source]].
    second = cli(["install", "internal-two", f"--index={private_index.simple_url}"])
    assert second.returncode == 0, out(second)
    third = cli(["install", "internal-three", "--index", private_index.simple_url.rstrip("/")])
    assert third.returncode == 0, out(third)
    by_name = cli(["install", "internal-one==1.0", f"--index={name}"])
    assert by_name.returncode == 0, out(by_name)
    assert "Added source" not in second.stderr + third.stderr + by_name.stderr
    pipfile = read_pipfile(pipfence_project)
    assert pipfile["source"] == sources
    assert pipfile["packages"] == {
        "alpha": "*",
        "internal-one": {"version": "==1.0", "index": name},
        "internal-two": {"version": "*", "index": name},
        "internal-three": {"version": "*", "index": name},
    }
    lock = read_lock(pipfence_project)
    assert [s["name"] for s in lock["_meta"]["sources"]] == ["public", name]
    for package in ("internal-one", "internal-two", "internal-three"):
        assert lock["default"][package]["index"] == name
    assert installed(pipfence_project) == {
        "alpha": "1.0",
        "internal-one": "1.0",
        "internal-two": "2.0",
        "internal-three": "3.0",
    }
    assert not [p for p in public_index.requested_paths() if "internal" in p]
    assert run_verify(cli)


def test_install_with_an_unknown_index_name_fails_listing_sources_and_changes_nothing(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + source_table("corp", private_index.simple_url)
        + '[packages]\nalpha = "*"\n',
    )
    assert cli(["install"]).returncode == 0
    before = snapshot(pipfence_project)
    public_index.clear_log()

    result = cli(["install", "alpha", "--index=nosuch"])
    assert result.returncode == 2, out(result)
    assert "`nosuch`" in result.stderr
    assert "`public`" in result.stderr
    assert "`corp`" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(pipfence_project) == before
    assert public_index.requested_paths() == []


# -- 3. credentials in --index -------------------------------------------------------------


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    ]


def _no_secret_anywhere(secret: str, roots: list[Path], outputs: list[str]) -> None:
    """No file under ``roots`` (the project, and the test's home, caches and virtualenvs)
    and no output holds ``secret``."""
    for root in roots:
        assert _files_containing(root, secret.encode()) == [], root
    for text in outputs:
        assert secret not in text


def test_templated_source_installs_with_its_variables_set_and_never_stores_them(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    authenticated_index: PypiServer,
) -> None:
    assert authenticated_index.auth is not None
    user, secret = authenticated_index.auth
    public_index.add_dist("alpha", "1.0")
    authenticated_index.add_dist("secretpkg", "1.0")
    url = authenticated_index.simple_url.replace("http://", "http://${CORP_USER}:${CORP_PASS}@")
    pipfile = write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + source_table("corp", url)
        + '[packages]\nalpha = "*"\nsecretpkg = {version = "*", index = "corp"}\n',
    )

    missing = cli(["install"])
    assert missing.returncode == 2, out(missing)
    assert "`CORP_USER`" in missing.stderr
    assert "`corp`" in missing.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()

    with_vars = {**env, "CORP_USER": user, "CORP_PASS": secret}
    result = cli(["install"], env=with_vars)
    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"alpha": "1.0", "secretpkg": "1.0"}
    assert read_lock(pipfence_project)["_meta"]["sources"][1]["url"] == url
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile
    synced = cli(["sync"], env=with_vars)
    assert synced.returncode == 0, out(synced)

    _no_secret_anywhere(
        secret,
        [pipfence_project, Path(env["PIPFENCE_CACHE_DIR"]).parent],
        [
            missing.stdout,
            missing.stderr,
            result.stdout,
            result.stderr,
            synced.stdout,
            synced.stderr,
        ],
    )


def test_install_with_credentials_in_index_url_writes_a_template_and_names_the_variables(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    authenticated_index: PypiServer,
) -> None:
    assert authenticated_index.auth is not None
    user, secret = authenticated_index.auth
    public_index.add_dist("alpha", "1.0")
    authenticated_index.add_dist("secretpkg", "1.0")
    authenticated_index.add_dist("secondpkg", "2.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url) + '[packages]\nalpha = "*"\n',
    )
    assert cli(["install"]).returncode == 0

    added = cli(
        ["install", "secretpkg", f"--index={authenticated_index.authenticated_simple_url()}"]
    )
    assert added.returncode == 0, out(added)
    assert "Traceback" not in added.stderr
    source = read_pipfile(pipfence_project)["source"][1]
    variables = re.findall(r"\$\{(\w+)\}", source["url"])
    assert len(variables) == 2
    for variable in variables:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable), variable
        assert f"`{variable}`" in added.stderr
    assert read_pipfile(pipfence_project)["packages"]["secretpkg"] == {
        "version": "*",
        "index": source["name"],
    }
    assert installed(pipfence_project) == {"alpha": "1.0", "secretpkg": "1.0"}

    # A later run has only the environment to take the credentials from.
    with_vars = {**env, variables[0]: user, variables[1]: secret}
    shutil.rmtree(pipfence_project / ".venv")
    again = cli(["install", "secondpkg", f"--index={source['name']}"], env=with_vars)
    assert again.returncode == 0, out(again)
    assert installed(pipfence_project) == {"alpha": "1.0", "secretpkg": "1.0", "secondpkg": "2.0"}
    _no_secret_anywhere(
        secret,
        [pipfence_project, Path(env["PIPFENCE_CACHE_DIR"]).parent],
        [added.stdout, added.stderr, again.stdout, again.stderr],
    )


# -- 6. --deploy ---------------------------------------------------------------------------


def test_install_deploy_with_a_stale_lock_fails_naming_the_change_and_writes_nothing(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("gamma", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url) + '[packages]\nalpha = "*"\n',
    )
    assert cli(["install"]).returncode == 0
    with (pipfence_project / "Pipfile").open("a", encoding="utf-8") as handle:
        handle.write('gamma = "*"\n')
    before = snapshot(pipfence_project)
    public_index.clear_log()

    result = cli(["install", "--deploy"])
    assert result.returncode == 1, out(result)
    assert "out of date" in result.stderr
    assert "`gamma`" in result.stderr
    assert snapshot(pipfence_project) == before
    assert public_index.requested_paths() == []


def test_install_deploy_with_a_stale_lock_creates_no_environment(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url) + '[packages]\nalpha = "*"\n',
    )
    assert cli(["lock"]).returncode == 0
    text = (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    write_pipfile(pipfence_project, text.replace('alpha = "*"', 'alpha = ">=1.0"'))
    before = snapshot(pipfence_project)

    result = cli(["install", "--deploy"])
    assert result.returncode == 1, out(result)
    assert "out of date" in result.stderr
    assert snapshot(pipfence_project) == before
    assert not (pipfence_project / ".venv").exists()


# -- 8. a failing install changes nothing --------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "missing"),
    [("nosuchpkg", "nosuchpkg"), ("needsmissing", "notpublished")],
    ids=["unknown-package", "unknown-dependency"],
)
def test_failing_install_leaves_pipfile_lock_and_env_exactly_as_they_were(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    argument: str,
    missing: str,
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("needsmissing", "1.0", requires=["notpublished"])
    write_pipfile(
        pipfence_project,
        "# comment\n"
        + source_table("public", public_index.simple_url)
        + '[packages]\nalpha = "*"\n',
    )
    assert cli(["install"]).returncode == 0
    before = snapshot(pipfence_project)
    assert before[2]

    result = cli(["install", argument])
    assert result.returncode == 1, out(result)
    assert f"`{missing}`" in result.stderr
    assert "`public`" in result.stderr
    assert public_index.simple_url in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(pipfence_project) == before


def test_failing_first_install_in_an_empty_folder_writes_no_pipfile(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    result = cli(["install", "nosuchpkg", "--pypi-mirror", public_index.simple_url])
    assert result.returncode == 1, out(result)
    assert "`nosuchpkg`" in result.stderr
    assert sorted(p.name for p in pipfence_project.iterdir()) == []
    # The page of the package, and the index page (no package name) that tells a missing
    # package from a wrong URL.
    assert set(public_index.requested_paths()) == {"/simple/nosuchpkg/", "/simple/"}
