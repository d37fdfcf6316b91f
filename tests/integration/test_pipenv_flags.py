"""pipenv's flags that mean something for pipfence, through the CLI: `install --ignore-pipfile`,
`--extras`, `--all`, `update --dry-run` / `--lock-only`, `shell --anyway`, `requirements
--no-lock`, and the options before a command (`--clear`, `--pypi-mirror`, `--bare`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from support.project import installed, one_source_pipfile, out, read_lock, write_pipfile

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


@pytest.fixture
def categories(cli: RunPipfence, pipfence_project: Path, public_index: PypiServer) -> Path:
    """A locked project with [packages], [dev-packages] and [docs], nothing installed yet."""
    for name in ("alpha", "devtool", "sphinxish"):
        public_index.add_dist(name, "1.0")
    text = one_source_pipfile(public_index.simple_url, 'alpha = "*"\n')
    text += '\n[dev-packages]\ndevtool = "*"\n\n[docs]\nsphinxish = "*"\n'
    write_pipfile(pipfence_project, text)
    assert cli(["lock"]).returncode == 0
    return pipfence_project


def test_install_extras_adds_categories_to_packages(cli: RunPipfence, categories: Path) -> None:
    result = cli(["install", "--extras", "docs"])
    assert result.returncode == 0, out(result)
    assert installed(categories) == {"alpha": "1.0", "sphinxish": "1.0"}


def test_install_all_installs_every_category(cli: RunPipfence, categories: Path) -> None:
    result = cli(["install", "--all"])
    assert result.returncode == 0, out(result)
    assert installed(categories) == {"alpha": "1.0", "devtool": "1.0", "sphinxish": "1.0"}


def test_sync_all_and_extras(cli: RunPipfence, categories: Path) -> None:
    assert cli(["sync", "--extras", "docs"]).returncode == 0
    assert installed(categories) == {"alpha": "1.0", "sphinxish": "1.0"}
    assert cli(["sync", "--all"]).returncode == 0
    assert installed(categories) == {"alpha": "1.0", "devtool": "1.0", "sphinxish": "1.0"}


def test_install_ignore_pipfile_installs_the_lock_as_it_is(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("beta", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))
    assert cli(["lock"]).returncode == 0
    lock = (pipfence_project / "Pipfile.lock").read_bytes()
    # The Pipfile moves on; --ignore-pipfile still installs what the lock says, re-locks nothing.
    write_pipfile(
        pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\nbeta = "*"\n')
    )
    result = cli(["install", "--ignore-pipfile"])
    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"alpha": "1.0"}
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock
    assert "Locked" not in result.stderr

    refused = cli(["install", "--ignore-pipfile", "beta"])
    assert refused.returncode == 2, out(refused)


def test_update_dry_run_and_lock_only(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))
    assert cli(["install"]).returncode == 0
    public_index.add_dist("alpha", "2.0")
    lock = (pipfence_project / "Pipfile.lock").read_bytes()

    dry = cli(["update", "--dry-run"])  # pipenv's other name for --outdated: exit 1, a move
    assert dry.returncode == 1, out(dry)
    assert dry.stdout.splitlines() == [
        "Package 'alpha' out-of-date: '1.0' installed, '2.0' available."
    ]
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock

    written = cli(["update", "--lock-only"])
    assert written.returncode == 0, out(written)
    assert read_lock(pipfence_project)["default"]["alpha"]["version"] == "==2.0"
    assert installed(pipfence_project) == {"alpha": "1.0"}


def test_shell_anyway_starts_a_shell_inside_another(
    cli: RunPipfence, env: dict[str, str], pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))
    assert cli(["install"]).returncode == 0
    shell = pipfence_project.parent / "fake-shell"
    shell.write_text("#!/bin/sh\necho in-the-shell\n", encoding="utf-8")
    shell.chmod(0o755)
    inside = {**env, "PIPENV_ACTIVE": "1", "SHELL": str(shell)}
    refused = cli(["shell"], env=inside)
    assert refused.returncode == 2, out(refused)
    assert "hint: or start one inside it with `pipfence shell --anyway`" in refused.stderr
    started = cli(["shell", "--anyway"], env=inside)
    assert started.returncode == 0, out(started)
    assert started.stdout.strip() == "in-the-shell"


def test_requirements_no_lock_writes_the_pipfiles_own_lines(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    """The lines as the Pipfile writes them, as pipenv prints them: the range's order and the
    marker's quotes kept (packaging printed `gamma[socks]<3,>=2` and `sys_platform == "linux"`)."""
    packages = (
        'alpha = ">=1.0"\nbeta = {version = "*", markers = "sys_platform == \'linux\'"}\n'
        'gamma = {version = ">=2,<3", extras = ["socks"]}\n'
    )
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    result = cli(["requirements", "--no-lock"])
    assert result.returncode == 0, out(result)
    assert result.stdout.splitlines() == [
        f"-i {public_index.simple_url}",
        "alpha>=1.0",
        "beta; sys_platform == 'linux'",
        "gamma[socks]>=2,<3",
    ]
    assert not (pipfence_project / "Pipfile.lock").exists()
    bare = cli(["requirements", "--no-lock", "--exclude-index", "--exclude-markers"])
    assert bare.stdout.splitlines() == ["alpha>=1.0", "beta", "gamma[socks]>=2,<3"]


def test_options_before_the_command(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(
        pipfence_project,
        one_source_pipfile("https://pypi.org/simple", 'alpha = "*"\n', name="pypi"),
    )
    # --pypi-mirror before the command sends PyPI's requests to the mirror, as after it.
    mirrored = cli(["--pypi-mirror", public_index.simple_url, "lock"])
    assert mirrored.returncode == 0, out(mirrored)
    assert read_lock(pipfence_project)["_meta"]["sources"][0]["url"] == "https://pypi.org/simple"

    cache = pipfence_project.parent / "env" / "pipfence-cache"
    assert any(cache.rglob("*")), "the lock filled the cache"
    cleared = cli(["--clear"])
    assert cleared.returncode == 0, out(cleared)
    assert f"Cleared the cache at {cache}" in cleared.stderr
    assert not [p for p in cache.rglob("*") if p.is_file() and "pages" in p.parts]

    bare = cli(["--bare", "--pypi-mirror", public_index.simple_url, "install"])
    assert bare.returncode == 0, out(bare)
    assert bare.stderr == ""
    assert json.loads((pipfence_project / "Pipfile.lock").read_text())["default"]["alpha"]
