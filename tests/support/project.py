"""Read and write a test project's files: Pipfile, Pipfile.lock and the environment in `.venv`.

The environment helpers expect the virtualenv inside the project (`PIPENV_VENV_IN_PROJECT=1`,
which the integration `env` fixture sets), so its site-packages can be read directly.
"""

from __future__ import annotations

import importlib.metadata
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Collection, Iterable
    from pathlib import Path

__all__ = [
    "SEED_PACKAGES",
    "assert_refused",
    "dist_infos",
    "edit_lock",
    "file_bytes",
    "fresh_cache",
    "installed",
    "one_source_pipfile",
    "out",
    "pipfile_text",
    "read_lock",
    "site_packages",
    "source_table",
    "write_pipfile",
]

SEED_PACKAGES = frozenset({"pip", "setuptools", "wheel"})
"""What a new virtualenv holds before anything is installed into it."""


def out(result: subprocess.CompletedProcess[str]) -> str:
    """Exit code, stdout and stderr of a finished command, as an assertion message."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def assert_refused(result: subprocess.CompletedProcess[str], filename: str) -> None:
    """The command stopped as bad input (exit 2) with one `error:` line naming `filename`,
    nothing else but `hint:` lines, and no traceback."""
    assert result.returncode == 2, out(result)
    assert "Traceback" not in result.stderr
    assert "this is a bug" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, out(result)
    assert all(line.startswith(("error:", "hint:")) for line in lines), out(result)
    assert filename in errors[0], out(result)


def file_bytes(root: Path, *, skip: Collection[str] = ()) -> dict[str, bytes]:
    """Every file under root (by relative path) with its bytes, leaving out any file below a
    folder named in `skip` (such as `.venv`): to compare a project before and after a command."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part in skip for part in p.relative_to(root).parts)
    }


# -- Pipfile -----------------------------------------------------------------------------------


def source_table(name: str, url: str) -> str:
    """A `[[source]]` table (verify_ssl off) followed by a blank line."""
    return f'[[source]]\nurl = "{url}"\nverify_ssl = false\nname = "{name}"\n\n'


def pipfile_text(sources: Iterable[tuple[str, str]], packages: str) -> str:
    """A `source_table` for each (name, url), then `[packages]` with `packages` as written."""
    return "".join(source_table(name, url) for name, url in sources) + "[packages]\n" + packages


def one_source_pipfile(url: str, packages: str = 'payload = "*"\n', *, name: str = "corp") -> str:
    """`pipfile_text` with the one source `name` at url."""
    return pipfile_text([(name, url)], packages)


def write_pipfile(project: Path, text: str) -> bytes:
    """Write `text` as project/Pipfile; return its bytes, to compare with after a command."""
    (project / "Pipfile").write_text(text, encoding="utf-8")
    return (project / "Pipfile").read_bytes()


# -- Pipfile.lock ------------------------------------------------------------------------------


def read_lock(project: Path) -> dict[str, Any]:
    """project/Pipfile.lock, parsed."""
    data: dict[str, Any] = json.loads((project / "Pipfile.lock").read_text(encoding="utf-8"))
    return data


def edit_lock(project: Path, change: Callable[[dict[str, Any]], None]) -> bytes:
    """Apply `change` to the parsed lock in place, write it back, return the new bytes."""
    data = read_lock(project)
    change(data)
    (project / "Pipfile.lock").write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
    return (project / "Pipfile.lock").read_bytes()


# -- the environment in project/.venv ----------------------------------------------------------


def site_packages(project: Path) -> Path:
    """The site-packages folder of project/.venv; asserts there is exactly one."""
    found = sorted((project / ".venv").glob("lib/python*/site-packages"))
    assert len(found) == 1, found
    return found[0]


def dist_infos(project: Path) -> list[str]:
    """The sorted `*.dist-info` folder names in the environment; [] while there is no .venv."""
    if not (project / ".venv").exists():
        return []
    return sorted(p.name for p in site_packages(project).glob("*.dist-info"))


def installed(project: Path, *, seed: bool = False) -> dict[str, str]:
    """Lower-cased name -> version of every distribution in the environment; {} while there is
    no .venv. The `SEED_PACKAGES` are left out unless `seed`."""
    if not (project / ".venv").exists():
        return {}
    dists = importlib.metadata.distributions(path=[str(site_packages(project))])
    found = {d.metadata["Name"].lower(): d.version for d in dists}
    return found if seed else {k: v for k, v in found.items() if k not in SEED_PACKAGES}


# -- the CLI's environment ---------------------------------------------------------------------


def fresh_cache(env: dict[str, str], tmp_path: Path, name: str = "other-cache") -> dict[str, str]:
    """`env` with an empty pipfence cache at tmp_path/name, as on another machine that syncs
    the same lock."""
    cache = tmp_path / name
    cache.mkdir(exist_ok=True)
    return {**env, "PIPFENCE_CACHE_DIR": str(cache)}
