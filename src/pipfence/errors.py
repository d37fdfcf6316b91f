"""The single exception tree; the CLI turns these into messages and exit codes.

Every exception raised on purpose by pipfence derives from `PipfenceError`; `str(error)` is a
complete sentence for the user and `error.hint`, when set, is the next step to take. Anything else
escaping to the CLI is a bug.

    PipfenceError                   exit 1 unless a subclass says otherwise
    ├── UsageError                  bad arguments, settings or environment      exit 2
    ├── PipfileError                invalid Pipfile (path, line, key)           exit 2
    ├── LockfileError               missing or unreadable Pipfile.lock          exit 2
    │   ├── LockfileMissing         there is no Pipfile.lock at all             exit 2
    │   └── LockfileOutdated        lock hash does not match the Pipfile        exit 1
    ├── FenceError                  a package would leave the index it is fenced to
    │   └── LockFenceError          a lock takes a package from another index   exit 3
    ├── IndexServerError            network or HTTP failure talking to a source
    │   └── PackageNotFound         no project page on the package's source
    ├── ResolutionError             no set of versions satisfies the requirements
    ├── InstallError                an environment could not be created or changed
    ├── FileWriteError              Pipfile or Pipfile.lock could not be written
    └── IntegrityError              bytes that do not match what was promised   exit 3
        ├── HashMismatch            a file's sha256 is not among the locked hashes
        └── ArchiveError            a wheel or sdist that is malformed or unsafe
"""

from __future__ import annotations

import re

__all__ = [
    "ArchiveError",
    "CommandNotExecutable",
    "CommandNotFound",
    "FenceError",
    "FileWriteError",
    "HashMismatch",
    "IndexServerError",
    "InstallError",
    "IntegrityError",
    "LockFenceError",
    "LockfileError",
    "LockfileMissing",
    "LockfileOutdated",
    "PackageNotFound",
    "PipfenceError",
    "PipfileError",
    "ResolutionError",
    "UsageError",
    "printable",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTEGRITY = 3
EXIT_INTERRUPTED = 130
#: What a shell answers for a command it cannot find; `pipfence run` answers the same.
EXIT_COMMAND_NOT_FOUND = 127
#: What a shell answers for a file it found but cannot execute (no `x` bit, a folder).
EXIT_COMMAND_NOT_EXECUTABLE = 126


#: Terminal escape sequences (CSI, OSC, and the two-byte ones), then single characters a
#: terminal acts on: C0 controls but tab and newline, DEL, C1 controls, and the bidirectional
#: overrides that make text read other than it is stored.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?|\x9b[0-?]*[ -/]*[@-~]?"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` safe to print: escape sequences removed, other control characters shown as
    ``?``. Everything a server (or an archive) says goes through this before it reaches a
    message; every `PipfenceError` applies it to its message and hint as well."""
    if text.isprintable():
        return text
    return _CONTROL.sub("?", _ESCAPE_SEQUENCE.sub("", text))


class PipfenceError(Exception):
    """Base of every error pipfence raises on purpose."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = printable(message)
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else printable(hint)

    def __str__(self) -> str:
        return self.message


class UsageError(PipfenceError):
    """The user asked for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class CommandNotFound(UsageError):
    """`pipfence run` was given a command that neither the environment nor PATH holds."""

    exit_code = EXIT_COMMAND_NOT_FOUND


class CommandNotExecutable(UsageError):
    """`pipfence run` was given a file it cannot execute: one without the `x` bit, a folder."""

    exit_code = EXIT_COMMAND_NOT_EXECUTABLE


class PipfileError(PipfenceError):
    """The Pipfile cannot be read or says something invalid.

    The message is prefixed with ``path:line:`` when the line is known, and names the key.
    """

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        path: str = "Pipfile",
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = path
        self.line = line
        self.key = key


class LockfileError(PipfenceError):
    """Pipfile.lock is missing, unreadable or malformed."""

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        path: str = "Pipfile.lock",
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = path
        self.line = line


class LockfileMissing(LockfileError):
    """There is no Pipfile.lock where the command needs one; worded as pipenv words it
    (``Pipfile.lock not found!``), which scripts written for pipenv look for."""

    def __init__(self, *, path: str = "Pipfile.lock", hint: str | None = None) -> None:
        PipfenceError.__init__(self, f"{path} not found!", hint=hint)
        self.path = path
        self.line = None


class LockfileOutdated(LockfileError):
    """The lock was made from a different Pipfile."""

    exit_code = EXIT_FAILURE


class FenceError(PipfenceError):
    """A package would come from an index the project did not assign it to."""


class LockFenceError(FenceError):
    """A lock takes a package from an index the fence would not give it (an edited or stale
    lock): refused at install before anything is fetched, as an integrity failure."""

    exit_code = EXIT_INTEGRITY


class IndexServerError(PipfenceError):
    """A source could not be used: network failure, HTTP error, unreadable page.

    Messages name the source by name and with its URL redacted.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.source = source
        self.status = status


class PackageNotFound(IndexServerError):
    """The package's source has no project page for it."""


class DamagedCache(PipfenceError):
    """A download-cache entry changed or was damaged while pipfence read it."""


class ResolutionError(PipfenceError):
    """No combination of versions satisfies the requirements."""


class InstallError(PipfenceError):
    """An environment could not be created or changed."""


class FileWriteError(PipfenceError):
    """A project file could not be written (a full disk, a read-only folder, no permission):
    the file's own state, not the user's input, so exit 1 like any failed step."""


class IntegrityError(PipfenceError):
    """Bytes that do not match what the lock or the archive promised."""

    exit_code = EXIT_INTEGRITY


class HashMismatch(IntegrityError):
    """A downloaded file's sha256 is not among the hashes the lock allows."""


class ArchiveError(IntegrityError):
    """A distribution archive is malformed or would write outside its target."""
