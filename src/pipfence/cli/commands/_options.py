"""Options several commands share, with pipenv's names."""

from __future__ import annotations

import argparse

__all__ = ["add_category_options", "add_index_options", "add_python_option", "tables_from_args"]


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


def tables_from_args(args: argparse.Namespace) -> list[str] | None:
    """The Pipfile tables chosen by ``--dev-only`` / ``--categories`` (None: the default)."""
    if getattr(args, "dev_only", False):
        return ["dev-packages"]
    categories = getattr(args, "categories", None)
    if categories:
        names = [c for c in categories.replace(",", " ").split() if c]
        aliases = {"default": "packages", "develop": "dev-packages"}
        return [aliases.get(n, n) for n in names]
    return None


def python_from_args(args: argparse.Namespace) -> str | None:
    return getattr(args, "sub_python", None) or getattr(args, "python", None)
