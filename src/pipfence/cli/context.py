"""Builds the settings and project a command works on, from its arguments."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipfence.errors import PipfileError
from pipfence.project.project import Project
from pipfence.project.settings import Settings

if TYPE_CHECKING:
    from pipfence.cli.ui import UI

__all__ = ["project_from_args", "settings_from_args", "warn_about_pipfile"]


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings.from_environ(
        pypi_mirror=getattr(args, "pypi_mirror", None) or getattr(args, "top_pypi_mirror", None),
        verbose=bool(getattr(args, "verbose", False)),
        quiet=bool(getattr(args, "quiet", False)),
    )


def project_from_args(args: argparse.Namespace) -> Project:
    return Project.find(settings_from_args(args))


def warn_about_pipfile(project: Project, ui: UI) -> None:
    """Print what the Pipfile holds that nobody reads (a misspelled key, a pipenv setting
    pipfence does not act on). Silent when there is no Pipfile or it does not parse: the
    command reports that itself."""
    if not project.pipfile_path.is_file():
        return
    try:
        warnings = project.pipfile_warnings()
    except PipfileError:
        return
    for warning in warnings:
        ui.warning(warning)
