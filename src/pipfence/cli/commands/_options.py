"""Options several commands share, with pipenv's names."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pipfence.project.settings import env_flag

if TYPE_CHECKING:
    from pipfence.project.workflows import EnvTarget

__all__ = [
    "DEFAULT_CATEGORIES_VAR",
    "add_category_options",
    "add_env_options",
    "add_index_options",
    "add_python_option",
    "env_target_from_args",
    "tables_from_args",
]


#: pipenv's variable naming the categories a command works on when neither ``--dev`` nor
#: ``--categories`` is given.
DEFAULT_CATEGORIES_VAR = "PIPENV_DEFAULT_CATEGORIES"


def add_category_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--dev", action="store_true", help="include [dev-packages]")
    parser.add_argument(
        "--categories", default=None, help="only these Pipfile tables (comma or space separated)"
    )


def add_index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pypi-mirror", metavar="URL", help="send PyPI's requests to this mirror")
    parser.add_argument("--pre", action="store_true", help="allow pre-releases")


def add_python_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python",
        dest="sub_python",
        metavar="VERSION",
        default=None,
        help="Python to create the environment with",
    )


def tables_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> list[str] | None:
    """The Pipfile tables chosen by ``--dev-only`` / ``--categories``, else (unless ``--dev``
    was given) by ``PIPENV_DEFAULT_CATEGORIES`` in ``environ`` (the process environment by
    default), as pipenv reads it; None: the command's own default. Names are separated by
    commas or spaces and kept in the order given, without repeats."""
    if getattr(args, "dev_only", False):
        return ["dev-packages"]
    categories = getattr(args, "categories", None)
    if not categories and not getattr(args, "dev", False):
        categories = (os.environ if environ is None else environ).get(DEFAULT_CATEGORIES_VAR)
    if categories:
        names = [c for c in categories.replace(",", " ").split() if c]
        aliases = {"default": "packages", "develop": "dev-packages"}
        return list(dict.fromkeys(aliases.get(n, n) for n in names)) or None
    return None


def python_from_args(args: argparse.Namespace) -> str | None:
    return getattr(args, "sub_python", None) or getattr(args, "python", None)


def add_site_packages_options(parser: argparse.ArgumentParser, *, dest: str) -> None:
    """pipenv's ``--site-packages`` / ``--no-site-packages`` (None when neither is given)."""
    parser.add_argument(
        "--site-packages",
        dest=dest,
        action="store_true",
        default=None,
        help="let the environment see the base Python's site-packages",
    )
    parser.add_argument(
        "--no-site-packages",
        dest=dest,
        action="store_false",
        help="keep the base Python's site-packages out of the environment (the default)",
    )


def add_env_options(parser: argparse.ArgumentParser) -> None:
    """Where a command installs: ``--system`` and the site-packages switches."""
    parser.add_argument(
        "--system",
        action="store_true",
        help="install into the Python on PATH (python3, else python) instead of the "
        "project's environment, as pipenv does (Docker images)",
    )
    add_site_packages_options(parser, dest="sub_site_packages")


def site_packages_from_args(args: argparse.Namespace) -> bool | None:
    sub = getattr(args, "sub_site_packages", None)
    return sub if sub is not None else getattr(args, "site_packages", None)


def env_target_from_args(args: argparse.Namespace) -> EnvTarget:
    from pipfence.project.workflows import EnvTarget

    system = bool(getattr(args, "system", False)) or env_flag(os.environ, "USE_SYSTEM") is True
    return EnvTarget(system=system, site_packages=site_packages_from_args(args))
