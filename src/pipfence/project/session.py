"""`Session`: what every use case that writes works with, opened once by the command: the
project, read and written with its lock held (`project_lock`), and one index client opened
with the project's settings. The routes each source's requests take come from the project's
settings, so a session on an edited project (`with_project`) routes its new credentials too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import msgspec
from msgspec.structs import replace

from pipfence.index.client import IndexClient
from pipfence.models.urls import Routes
from pipfence.project.index_settings import open_client
from pipfence.project.project import Project
from pipfence.project.serial import project_lock

__all__ = ["Session", "open_session"]


class Session(msgspec.Struct, frozen=True):
    """The project a use case works on and the index client it asks."""

    project: Project
    client: IndexClient

    @property
    def routes(self) -> Routes:
        """Where each source's requests go (mirror substituted, credentials expanded)."""
        return self.project.settings.routes

    def with_project(self, project: Project) -> Session:
        """This session on ``project`` (an edited Pipfile of the same project), same client."""
        return replace(self, project=project)


@contextlib.contextmanager
def open_session(
    project: Project,
    *,
    clear: bool = False,
    fresh: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Iterator[Session]:
    """Hold ``project``'s lock and open its index client (see `open_client` for ``clear``,
    ``fresh`` and ``warn``) for the block. Read the Pipfile and the lock only inside it."""
    with (
        project_lock(project),
        open_client(
            project.settings, project.pipfile, clear=clear, fresh=fresh, warn=warn
        ) as client,
    ):
        yield Session(project, client)
