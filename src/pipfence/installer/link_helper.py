"""Hard links made by a helper process, a wheel's files at a time (this file as a script).

Standard library only, and no import of the `pipfence` package: `pipfence.installer.bulk_link`
runs this file with ``python -I -S``, one process for each installing thread. A thread that
links thousands of files itself hands the interpreter lock to the other installing thread at
every ``link`` and ``mkdir`` and waits to get it back, so the two threads mostly wait on each
other; a thread that hands the whole list to a helper waits once, without the lock, while the
other thread plans its own wheel.

As a script: the environment's root and that root's real path as arguments. On standard
input, jobs: a line with the byte count of the job, then that many bytes of lines (no line
break in any path): a section's head ``\\0<source folder>\\0<target folder>``, then paths
relative to both, one a line. Each path is plainly safe (no ``..``, no empty part: the
caller's `plainly_safe`), so its target stays inside the target folder, which must be inside
the root. For each job the helper makes each target's missing parent folders (one ``mkdir``
each, top-down), then hard-links the source there, and answers with one line: ``ok``
followed by ``\\0<folder>`` for each folder it made,
or, when anything failed, ``fail\\0<errno>\\0<path>`` after undoing all of that job (the links
it made removed, the folders it made removed): the caller then places the same files itself,
which handles a file in the way, another filesystem and every other case.

A folder that was there already (or that another process made meanwhile) must lead inside
the environment: its real path is checked against the root's, once a run, as the caller's own
`EnvDestination` does. A target outside the root is refused (the caller never sends one).

Ctrl-C and SIGTERM are ignored: the caller waits for the job under way, then undoes the whole
install, so a job is never left half done; the helper ends when its standard input does
(when the caller closes it, or ends).
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["main", "run_job"]


class _Refused(OSError):
    """A target or folder that does not lead inside the environment."""


class _Job:
    """One job's links and folders, to undo when it fails."""

    def __init__(self, root: str, real_root: str, ready: set[str]) -> None:
        self.root_prefix = root + os.sep
        self.real_root = real_root
        self.ready = ready
        self.linked: list[str] = []
        self.made: list[str] = []

    def ensure(self, folder: str) -> None:
        """Make ``folder`` and its missing parents; one that was there must lead inside."""
        if folder in self.ready:
            return
        if folder.startswith(self.root_prefix):
            self.ensure(folder[: folder.rindex(os.sep)])
            try:
                os.mkdir(folder)  # noqa: PTH102 - no pathlib here
            except FileExistsError:
                self.inside(folder)
            else:
                self.made.append(folder)
        else:
            self.inside(folder)
        self.ready.add(folder)

    def inside(self, folder: str) -> None:
        real = os.path.realpath(folder)
        if real != self.real_root and not real.startswith(self.real_root + os.sep):
            raise _Refused(0, "leads outside the environment", folder)

    def run(self, lines: list[str]) -> None:
        ready, ensure, link, linked, sep = self.ready, self.ensure, os.link, self.linked, os.sep
        sources = targets = ""
        for line in lines:
            if not line:
                continue
            if line[0] == "\0":
                _, sources, targets = line.split("\0")
                if not targets.startswith(self.root_prefix):
                    raise _Refused(0, "outside the environment", targets)
                continue
            path = targets + line
            parent = path[: path.rindex(sep)]
            if parent not in ready:
                ensure(parent)
            link(sources + line, path)
            linked.append(path)

    def undo(self) -> None:
        for path in reversed(self.linked):
            try:
                os.unlink(path)  # noqa: PTH108
            except OSError:
                continue
        for folder in reversed(self.made):
            self.ready.discard(folder)
            try:
                os.rmdir(folder)  # noqa: PTH106
            except OSError:
                continue


def run_job(payload: bytes, root: str, real_root: str, ready: set[str]) -> bytes:
    """Do one job (see the module's docstring) and return its answer line. ``ready`` holds
    the folders known to be real folders inside the environment, shared by the jobs of a
    run; a failed job takes back the ones it made."""
    job = _Job(root, real_root, ready)
    try:
        job.run(payload.decode("utf-8", "surrogateescape").split("\n"))
    except (OSError, ValueError) as exc:
        job.undo()
        errno = exc.errno if isinstance(exc, OSError) else 0
        # A failed link names its source first and its target second.
        shown = (exc.filename2 or exc.filename) if isinstance(exc, OSError) else None
        answer = f"fail\0{errno or 0}\0{shown if isinstance(shown, str) else ''}\n"
    else:
        answer = "".join(["ok", *(f"\0{folder}" for folder in job.made), "\n"])
    return answer.encode("utf-8", "surrogateescape")


def main(argv: list[str]) -> int:
    if len(argv) != 3:  # noqa: PLR2004 - the script's name, the root and its real path
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    root, real_root = argv[1], argv[2]
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    ready: set[str] = set()
    while header := stdin.readline():
        size = int(header)
        payload = stdin.read(size)
        if len(payload) != size:
            return 1
        stdout.write(run_job(payload, root, real_root, ready))
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
