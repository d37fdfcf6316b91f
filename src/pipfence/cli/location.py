"""The global switches about places: ``--where``, ``--venv``, ``--py``, ``--envs``, ``--rm``;
``--python`` / ``--site-packages`` without a command (make the environment now), and
``--support``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipfence.cli.context import project_from_args, settings_from_args
from pipfence.cli.ui import UI
from pipfence.errors import PipfenceError, UsageError

if TYPE_CHECKING:
    from pipfence.project.project import Project

__all__ = [
    "create",
    "creating_message",
    "project_or_new",
    "run",
    "support",
]


def run(args: argparse.Namespace, ui: UI) -> int:
    if args.envs:
        from pipfence.project.settings import ENVIRONMENT_VARIABLES

        for name, meaning in ENVIRONMENT_VARIABLES.items():
            ui.result(f"{name:<26} {meaning}")
        return 0
    try:
        project = project_from_args(args)
    except UsageError as exc:
        if args.rm:
            raise
        # pipenv's words and exit status, which scripts test for.
        raise PipfenceError(
            f"No Pipfile present at project home. ({exc})",
            hint="run `pipfence install` to start one",
        ) from exc
    if args.where:
        ui.result(str(project.root))
        return 0
    if args.rm:
        from pipfence.project.environment import remove_environment

        ui.warning("`--rm` is deprecated, as in pipenv; use `pipfence remove`")
        ui.result(f"Removed the environment at {remove_environment(project)}")
        return 0
    # The whole Pipfile is checked (the place needs only its [pipenv] table): a broken file
    # is reported here too, before anyone relies on it.
    _ = project.pipfile
    venv = project.venv_path()
    if not (venv / "pyvenv.cfg").is_file():
        raise PipfenceError(
            f"No virtualenv has been created for this project {project.root} yet! "
            f"(it would be `{venv}`)",
            hint="run `pipfence install` to create it",
        )
    ui.result(str(venv / "bin" / "python") if args.py else str(venv))
    return 0


def creating_message(project: Project, ui: UI, *, site_packages: bool | None) -> None:
    """pipenv's lines before an environment is made (scripts and people look for them)."""
    venv = project.venv_path()
    if not (venv / "pyvenv.cfg").is_file():
        ui.info(f"Creating a virtualenv for this project at {venv}")
    if site_packages:
        ui.info("Making site-packages available...")


def project_or_new(args: argparse.Namespace) -> tuple[Project, bool]:
    """The project, and whether it is new: in a folder with no Pipfile here or above, the
    Pipfile pipenv would write (not written yet), as ``pipenv --python X`` and ``pipenv run``
    start one."""
    try:
        return project_from_args(args), False
    except UsageError:
        from pipfence.project.bootstrap import new_project

        settings = settings_from_args(args)
        if settings.pipfile is not None:
            raise
        return new_project(settings, python=getattr(args, "python", None)), True


def create(args: argparse.Namespace, ui: UI) -> int:
    """``pipfence --python X`` / ``--site-packages`` alone: make the project's environment
    (and, in a folder without a Pipfile, a new Pipfile), installing nothing, as pipenv does."""
    from pipfence.project.environment import ensure_env
    from pipfence.project.serial import project_lock

    project, new = project_or_new(args)
    with project_lock(project):
        creating_message(project, ui, site_packages=args.site_packages)
        env, created, replaced = ensure_env(
            project, python=args.python, site_packages=args.site_packages
        )
        if new:
            project.write_pipfile(project.pending_pipfile_text or "")
            ui.info(f"Created a Pipfile at {project.pipfile_path}")
    if replaced is not None:
        ui.warning(
            f"replaced the environment's Python {replaced} with Python {env.python_version}; "
            "it is empty now: run `pipfence sync` to install the lock into it"
        )
    verb = "Created" if created else "Using"
    ui.success(f"{verb} the environment with Python {env.python_version}")
    ui.info(f"Virtualenv location: {env.root}")
    return 0


def support(args: argparse.Namespace, ui: UI) -> int:
    """``pipfence --support``: the Markdown report for a bug (credentials hidden)."""
    from pipfence.project.support import support_report

    settings = settings_from_args(args)
    try:
        project: Project | None = project_from_args(args)
    except UsageError:
        project = None
    ui.result(support_report(settings, project).rstrip("\n"))
    return 0
