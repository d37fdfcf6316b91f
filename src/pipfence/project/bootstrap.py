"""A project started by `pipfence install` (or `pipfence --python X`) in a folder with no
Pipfile: the Pipfile pipenv creates, held in memory until the command succeeds."""

from __future__ import annotations

from pathlib import Path

from pipfence.models.sources import PYPI_SOURCE
from pipfence.project.environment import new_environment_python
from pipfence.project.project import Project
from pipfence.project.settings import Settings

__all__ = ["new_project"]


def new_project(settings: Settings, *, python: str | None = None) -> Project:
    """A project whose Pipfile is ``PIPENV_PIPFILE`` or ``Pipfile`` in the working folder,
    with pipenv's new Pipfile: PyPI as its one source, empty ``[packages]`` and
    ``[dev-packages]``, and ``[requires] python_version`` of the environment's Python (its
    ``python_full_version`` too when one was asked for with ``--python`` or ``PIPENV_PYTHON``,
    as pipenv writes it). Nothing is written; `UsageError` when that Python is not found.

    pip's configured index URLs are not copied in (pipenv copies them): pip's configuration
    never chooses a project's sources."""
    path = settings.pipfile if settings.pipfile is not None else settings.cwd / "Pipfile"
    if Path(path).is_file():  # never a new Pipfile over one that is there
        return Project(Path(path), settings)
    bare = Project.new(Path(path), settings)
    version = new_environment_python(bare, python=python)
    requires = {"python_version": ".".join(version.split(".")[:2])}
    if python or settings.python:
        requires["python_full_version"] = version
    return Project.new(Path(path), settings, source=PYPI_SOURCE, requires=requires)
