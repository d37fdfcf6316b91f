"""A sync's answer kept in the environment, so that the next `sync` of the same lock into the
same, unchanged environment answers at once (a no-op sync is run before every test run, in
every CI job and editor hook).

After a sync succeeds, ``.pipfence-synced.json`` in the environment holds a key and the
environment's `site_fingerprint`. The key digests everything else the sync's answer depends
on: the Pipfile's and the lock's bytes, the categories and options asked for, the variables
that pick them, the environment's ``pyvenv.cfg`` and place, and the interpreter and machine
pipfence runs on (the markers' values). A later `sync` with the same key whose environment
has the same fingerprint would install and remove nothing: it prints what the full check
would print and stops, having read four small files and stat-ed a few hundred.

Kept only where the answer depends on nothing else: no mirror (whose URL may name a
variable), no source URL naming a variable or skipping TLS verification (a warning each
run), only packages from indexes in the lock (a local folder's contents are not in the
key). Never a secret: nothing is kept for a source URL holding credentials or naming a
variable, and no variable is expanded to make the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pipfence import __version__
from pipfence.installer.site_state import site_fingerprint

if TYPE_CHECKING:
    from pipfence.models.lockfile import Lockfile
    from pipfence.models.sources import Source
    from pipfence.project.project import Project
    from pipfence.project.sync import SyncReport

__all__ = [
    "STAMP_FILE",
    "NoopAnswer",
    "noop_answer",
    "remember_noop",
    "remember_sync",
    "stamp_key",
]

STAMP_FILE = ".pipfence-synced.json"
_FORMAT = 1
#: Answers kept for one state of an environment (categories and options asked for in turn).
_ANSWERS = 8


class NoopAnswer(NamedTuple):
    """What the full check of an unchanged environment would say: how many packages it kept,
    and the warnings it would print first (the Pipfile's)."""

    kept: int
    warnings: tuple[str, ...]


def stamp_key(project: Project, choice: Sequence[object]) -> str | None:
    """The key of a sync of ``project`` with ``choice`` (the command's options that pick
    categories and what is removed), from its files as they are now, the environment aside
    (a first sync makes it); None when a file cannot be read or a mirror is set."""
    settings = project.settings
    if settings.pypi_mirror or settings.mirrors:
        return None
    try:
        files = [
            _digest(project.pipfile_path.read_bytes()),
            _digest(project.lock_path.read_bytes()),
        ]
    except OSError:
        return None
    machine = os.uname()
    parts = [
        _FORMAT,
        __version__,
        sys.version,
        sys.executable,
        [machine.sysname, machine.release, machine.machine],
        files,
        [str(item) for item in choice],
        [settings.default_categories, settings.python, settings.default_python],
    ]
    return _digest(json.dumps(parts).encode("utf-8", "surrogateescape"))


def _env_key(key: str | None, env_root: Path) -> str | None:
    """``key`` for the environment at ``env_root``, as its ``pyvenv.cfg`` describes it."""
    if key is None:
        return None
    try:
        config = _digest((env_root / "pyvenv.cfg").read_bytes())
    except OSError:
        return None
    return _digest(json.dumps([key, str(env_root), config]).encode("utf-8", "surrogateescape"))


class _Stamp(NamedTuple):
    site_dirs: list[str]
    fingerprint: str
    answers: dict[str, NoopAnswer]


def noop_answer(project: Project, choice: Sequence[object]) -> NoopAnswer | None:
    """The answer a sync kept for this key, when the environment has not changed since;
    None otherwise (then the full check runs)."""
    env_root = project.venv_path()
    stamp = _read(env_root / STAMP_FILE)
    if stamp is None:
        return None
    key = _env_key(stamp_key(project, choice), env_root)
    answer = stamp.answers.get(key) if key is not None else None
    if answer is None or site_fingerprint(stamp.site_dirs) != stamp.fingerprint:
        return None
    return answer


def remember_noop(
    project: Project,
    choice: Sequence[object],
    *,
    key: str | None,
    lockfile: Lockfile,
    report: SyncReport,
) -> None:
    """After a sync into the project's environment succeeded: keep what the next one would
    answer, unless that answer depends on more than the key holds (see the module's
    docstring)."""
    sources = (*project.pipfile.effective_sources, *lockfile.meta.sources)
    if (
        report.warnings
        or not all(_plain(source) for source in sources)
        or not all(package.is_named for _, package in lockfile.packages())
    ):
        return
    answer = NoopAnswer(
        kept=report.kept + len(report.installed), warnings=project.pipfile_warnings()
    )
    remember_sync(
        project,
        choice,
        key=key,
        env_root=report.env.root,
        site_dirs=report.env.site_dirs,
        answer=answer,
    )


def _plain(source: Source) -> bool:
    """A source whose URL names no variable and no credentials, and that is not warned about
    for skipping TLS verification (``verify_ssl = false`` on https) on every run."""
    scheme, _, rest = source.url.partition("://")
    authority = rest.partition("/")[0]
    unchecked = not source.verify_ssl and scheme.lower() == "https"
    return not unchecked and "$" not in source.url and "@" not in authority


def remember_sync(
    project: Project,
    choice: Sequence[object],
    *,
    key: str | None,
    env_root: Path,
    site_dirs: Sequence[Path],
    answer: NoopAnswer,
) -> None:
    """Keep ``answer`` for the next sync, when ``key`` (taken before the sync read the
    Pipfile and the lock) is still the files' key: a file changed meanwhile must not be
    taken as synced. The answers kept for other keys (`sync` and `sync --dev` in turn) stay
    while the environment is the same, up to a few. Best effort: an environment that cannot
    be written to is only slower to check next time."""
    if key is None or stamp_key(project, choice) != key:
        return
    key = _env_key(key, env_root)
    if key is None:
        return
    folders = [str(folder) for folder in site_dirs]
    fingerprint = site_fingerprint(folders)
    path = env_root / STAMP_FILE
    answers: dict[str, NoopAnswer] = {}
    kept = _read(path)
    if kept is not None and (kept.site_dirs, kept.fingerprint) == (folders, fingerprint):
        answers = {k: v for k, v in kept.answers.items() if k != key}
        answers = dict(list(answers.items())[-(_ANSWERS - 1) :])
    answers[key] = answer
    stamp = {
        "format": _FORMAT,
        "site_dirs": folders,
        "fingerprint": fingerprint,
        "answers": {k: {"kept": v.kept, "warnings": list(v.warnings)} for k, v in answers.items()},
    }
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(json.dumps(stamp), encoding="utf-8")
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def _read(path: Path) -> _Stamp | None:
    """The stamp at ``path``; None when there is none or it is not one (then it is only
    replaced)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return None
    site_dirs, fingerprint, raw = (
        data.get("site_dirs"),
        data.get("fingerprint"),
        data.get("answers"),
    )
    if (
        not isinstance(site_dirs, list)
        or not all(isinstance(d, str) for d in site_dirs)
        or not isinstance(fingerprint, str)
        or not isinstance(raw, dict)
    ):
        return None
    answers: dict[str, NoopAnswer] = {}
    for key, value in raw.items():
        kept = value.get("kept") if isinstance(value, dict) else None
        warnings = value.get("warnings") if isinstance(value, dict) else None
        if type(kept) is not int or not isinstance(warnings, list):
            return None
        if not all(isinstance(w, str) for w in warnings):
            return None
        answers[key] = NoopAnswer(kept=kept, warnings=tuple(warnings))
    return _Stamp(site_dirs, fingerprint, answers)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
