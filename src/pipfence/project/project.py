"""The project on disk: finding it, and the only code that reads and writes Pipfile and lock."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pipfence.errors import (
    LockfileError,
    LockfileMissing,
    LockfileOutdated,
    PipfileError,
    UsageError,
)
from pipfence.models.names import canonical_name
from pipfence.models.pipfile_text import LineFinder, decode_pipfile, table_of
from pipfence.project.env_location import venv_location
from pipfence.project.settings import Settings

# The Pipfile's model (`pipfence.models.pipfile`, with the fence and the source rules) is
# imported where it is first needed: `pipfence run` and the environment's place read a table
# or two of the file, and a launcher should not pay for the rest.
if TYPE_CHECKING:
    from pipfence.models.lockfile import Lockfile
    from pipfence.models.pipfile import Pipfile
    from pipfence.models.sources import Source
    from pipfence.project.files import FileSet

__all__ = ["PIPFILE", "PYLOCK", "LockState", "Project"]

PIPFILE = "Pipfile"
#: The PEP 751 lock beside the Pipfile (``pylock.NAME.toml`` with ``[pipenv] pylock_name``).
PYLOCK = "pylock.toml"


class LockState(NamedTuple):
    """How the lock relates to the Pipfile: current or not, and what differs when not."""

    current: bool
    expected_hash: str
    lock_hash: str
    changes: tuple[str, ...] = ()


class Project:
    """A folder with a Pipfile. Reads are cached; writes are atomic (`FileSet`), through a
    symlinked Pipfile or lock to its target."""

    def __init__(self, pipfile_path: Path, settings: Settings) -> None:
        self.pipfile_path = pipfile_path
        self.settings = settings
        self._pipfile: Pipfile | None = None
        self._pending_text: str | None = None

    @classmethod
    def new(
        cls,
        pipfile_path: Path,
        settings: Settings,
        *,
        source: Source | None = None,
        requires: Mapping[str, str] | None = None,
    ) -> Project:
        """A project that has no Pipfile yet, laid out as pipenv lays a new one: ``source``
        as its one source, empty ``[packages]`` and ``[dev-packages]``, then ``requires``;
        nothing written until `write_pipfile` or `stage_files`."""
        from pipfence.models.sources import PYPI_SOURCE
        from pipfence.project.pipfile_edit import PipfileEditor

        text = "[packages]\n\n[dev-packages]\n"
        if requires:
            text += "\n[requires]\n" + "".join(f'{k} = "{v}"\n' for k, v in requires.items())
        doc = PipfileEditor(text)
        doc.add_source(source or PYPI_SOURCE, keep_pypi_default=False)
        return cls(pipfile_path, settings).with_pipfile_text(doc.text())

    @property
    def is_new(self) -> bool:
        """Whether the Pipfile is still to be written (the project was started by `new`)."""
        return self._pending_text is not None and not self.pipfile_path.exists()

    @classmethod
    def find(cls, settings: Settings) -> Project:
        """The project whose Pipfile is ``PIPENV_PIPFILE``, or the nearest Pipfile at or above
        the working directory (``PIPENV_MAX_DEPTH`` folders searched, the working directory
        first and always, as pipenv counts them)."""
        if settings.pipfile is not None:
            if not settings.pipfile.is_file():
                raise UsageError(f"PIPENV_PIPFILE names `{settings.pipfile}`, which does not exist")
            return cls(settings.pipfile, settings)
        folder = settings.cwd.absolute()
        # The working directory always counts (pipenv falls back to its Pipfile): a depth of
        # 0 must not pass over it, or a command would start a new project over it.
        for _ in range(max(1, settings.max_depth)):
            candidate = folder / PIPFILE
            if candidate.is_file():
                return cls(candidate, settings)
            if folder.parent == folder:
                break
            folder = folder.parent
        where = "" if settings.max_depth <= 1 else " or its parent folders"
        raise UsageError(
            f"no Pipfile in `{settings.cwd}`{where}",
            hint="run pipfence in a project folder, or `pipfence install PKG` to start one",
        )

    @property
    def root(self) -> Path:
        return self.pipfile_path.parent

    @property
    def lock_path(self) -> Path:
        """``Pipfile.lock`` beside the Pipfile, or ``<name>.lock`` for a Pipfile of another name
        (``PIPENV_PIPFILE=Pipfile.ci``: ``Pipfile.ci.lock``), as pipenv names it."""
        return self.pipfile_path.with_name(f"{self.pipfile_path.name}.lock")

    def _display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.settings.cwd))
        except ValueError:
            return str(path)

    def pipfile_warnings(self) -> tuple[str, ...]:
        """What the Pipfile holds that nobody reads, from the file as it is now. Parsed apart
        from `pipfile`, which a command reads only once it holds the project lock (a Pipfile
        read earlier could be stale by then). `PipfileError` when it does not parse."""
        return _parsed(self.pipfile_text(), self._display(self.pipfile_path)).warnings

    def pipfile_text(self) -> str:
        if self._pending_text is not None:
            return self._pending_text
        try:
            return self.pipfile_path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise PipfileError("not UTF-8 text", path=self._display(self.pipfile_path)) from None

    @property
    def pipfile(self) -> Pipfile:
        """The parsed Pipfile; `PipfileError` (with file, line and key) when invalid."""
        if self._pipfile is None:
            self._pipfile = _parsed(self.pipfile_text(), self._display(self.pipfile_path))
        return self._pipfile

    def raw_table(self, name: str) -> Mapping[str, Any]:
        """Table ``name`` of the Pipfile (empty when absent), from the parsed model when the
        project has one, else from the TOML alone, the rest of the file unchecked (as pipenv
        reads ``[scripts]`` for `run`); `PipfileError` when the file is not TOML or the
        table is not a table."""
        path = self._display(self.pipfile_path)
        if self._pipfile is not None:
            text, data = self._pending_text or "", self._pipfile.data
        else:
            text = self.pipfile_text()
            data = _decoded(text, path)
        return table_of(data, name, path, LineFinder(text))

    def with_pipfile_text(
        self, text: str, *, extra_environ: Mapping[str, str] | None = None
    ) -> Project:
        """This project as it would be with ``text`` as its Pipfile, nothing written.

        Lets a command lock and install an edited Pipfile first and write it only when the
        whole step has succeeded. ``extra_environ`` adds variables for this run only (values
        for credential placeholders the edit wrote), without overriding the real ones."""
        settings = self.settings
        if extra_environ:
            settings = settings._replace(environ={**extra_environ, **settings.environ})
        edited = Project(self.pipfile_path, settings)
        edited._pipfile = _parsed(text, self._display(self.pipfile_path))
        edited._pending_text = text
        return edited

    @property
    def pending_pipfile_text(self) -> str | None:
        """The Pipfile text given to `with_pipfile_text`, not yet written."""
        return self._pending_text

    def write_pipfile(self, text: str) -> None:
        """Replace the Pipfile with ``text`` after checking it parses."""
        parsed = _parsed(text, self._display(self.pipfile_path))
        self.stage_files(pipfile_text=text).commit()
        self._pipfile = parsed

    def stage_files(
        self, *, pipfile_text: str | None = None, lock: Lockfile | None = None
    ) -> FileSet:
        """The new Pipfile and/or lock written beside the current ones, to be swapped in
        together by `FileSet.commit` (or dropped by `FileSet.discard`); `FileWriteError`,
        with nothing changed, when they cannot be written."""
        from pipfence.project.files import FileSet

        files = FileSet()
        if pipfile_text is not None:
            _parsed(pipfile_text, self._display(self.pipfile_path))
            if _uses_crlf(self.pipfile_path):
                # Read with universal newlines; written back in the file's own line endings.
                pipfile_text = pipfile_text.replace("\r\n", "\n").replace("\n", "\r\n")
        try:
            if pipfile_text is not None:
                files.add(
                    self.pipfile_path,
                    pipfile_text.encode("utf-8"),
                    display=self._display(self.pipfile_path),
                )
            if lock is not None:
                files.add(
                    self.lock_path,
                    lock.to_json().encode("utf-8"),
                    display=self._display(self.lock_path),
                )
        except BaseException:  # the second failed, or an interrupt: the first goes too
            files.discard()
            raise
        return files

    def read_lock(self) -> Lockfile | None:
        """The lock, or None when there is none (or it is an empty ``{}``); `LockfileError`
        when it is unreadable."""
        path = self.lock_path
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise LockfileError("not UTF-8 text", path=self._display(path)) from None
        if re.fullmatch(r"\s*\{\s*\}\s*", text):
            return None  # `{}`: an empty lock, which pipenv re-locks as if there were none
        from pipfence.models.lockfile import Lockfile

        return Lockfile.parse(text, path=self._display(path))

    def write_lock(self, lock: Lockfile) -> None:
        """Replace the lock with ``lock``; `FileWriteError`, nothing changed, when it cannot."""
        self.stage_files(lock=lock).commit()

    def lock_state(self, lock: Lockfile) -> LockState:
        """Whether ``lock`` was made from this Pipfile.

        A lock carrying pipenv's older raw-name hash counts as current too.
        """
        from pipfence.models.pipfile import pipfile_hash

        data = self.pipfile.data
        expected = pipfile_hash(data)
        current = lock.meta.hash in (expected, pipfile_hash(data, canonical=False))
        changes = () if current else tuple(self._changes(lock))
        return LockState(current, expected, lock.meta.hash, changes)

    def require_lock(self, *, hint: str = "run `pipfence lock` first") -> Lockfile:
        """The lock, which must exist: `LockfileMissing` (in pipenv's words, with ``hint``)
        when there is none."""
        lock = self.read_lock()
        if lock is None:
            raise LockfileMissing(path=self._display(self.lock_path), hint=hint)
        return lock

    def require_current_lock(self) -> Lockfile:
        """The lock, which must exist and match the Pipfile (`pipfence install --deploy`)."""
        lock = self.require_lock(hint="run `pipfence lock`")
        state = self.lock_state(lock)
        if not state.current:
            raise LockfileOutdated(
                f"out of date: {'; '.join(state.changes)}",
                path=self._display(self.lock_path),
                hint="run `pipfence lock` to bring it up to date",
            )
        return lock

    def _changes(self, lock: Lockfile) -> list[str]:
        from pipfence.models.pipfile import lock_category

        pipfile = self.pipfile
        changes: list[str] = []
        wanted_sources = [s.to_dict() for s in pipfile.effective_sources]
        if [s.to_dict() for s in lock.meta.sources] != wanted_sources:
            changes.append("[[source]] tables changed")
        if dict(lock.meta.requires) != dict(pipfile.requires):
            changes.append("[requires] changed")
        for table, specs in pipfile.categories.items():
            category = lock_category(table)
            locked = {canonical_name(n) for n in lock.categories.get(category, {})}
            added = sorted(spec.name for key, spec in specs.items() if key not in locked)
            if added:
                changes.append(
                    f"[{table}] has {', '.join(f'`{n}`' for n in added)} not in the lock"
                )
        if not changes:
            changes.append("package entries changed (versions, extras, markers or indexes)")
        return changes

    def venv_path(self) -> Path:
        """Where this project's environment is (or will be created)."""
        setting = self.raw_table("pipenv").get("venv_in_project")
        return venv_location(
            self.pipfile_path,
            self.settings,
            pipfile_in_project=None if setting is None else bool(setting),
        )


def _uses_crlf(path: Path) -> bool:
    """Whether the file at ``path`` ends its first line with CRLF (False when it is missing)."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(64 * 1024)
    except OSError:
        return False
    return first.endswith(b"\r\n")


@functools.lru_cache(maxsize=4)
def _parsed(text: str, path: str) -> Pipfile:
    """`Pipfile.parse`, once per text: a command reads the same Pipfile for its warnings and
    again under the project lock, and a parse of hundreds of packages is not free. The parsed
    Pipfile is only read, never changed."""
    from pipfence.models.pipfile import Pipfile

    return Pipfile.parse(text, path=path)


@functools.lru_cache(maxsize=4)
def _decoded(text: str, path: str) -> dict[str, Any]:
    """The Pipfile's TOML alone, once per text (only read, never changed)."""
    return decode_pipfile(text, path=path)
