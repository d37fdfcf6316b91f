"""Builds the settings and project a command works on, from its arguments."""

from __future__ import annotations

import argparse

from pipfence.project.project import Project
from pipfence.project.settings import Settings

__all__ = ["project_from_args", "settings_from_args"]


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings.from_environ(
        pypi_mirror=getattr(args, "pypi_mirror", None),
        verbose=bool(getattr(args, "verbose", False)),
        quiet=bool(getattr(args, "quiet", False)),
    )


def project_from_args(args: argparse.Namespace) -> Project:
    return Project.find(settings_from_args(args))
