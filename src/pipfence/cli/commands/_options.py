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
    "NOTES",
    "AcceptedFlag",
    "accept",
    "accept_pipenv_only",
    "add_category_options",
    "add_env_options",
    "add_extra_categories",
    "add_index_options",
    "add_pip_only_options",
    "add_python_option",
    "add_reference_options",
    "all_tables",
    "env_target_from_args",
    "python_from_args",
    "tables_from_args",
]


#: pipenv's variable naming the categories a command works on when neither ``--dev`` nor
#: ``--categories`` is given.
DEFAULT_CATEGORIES_VAR = "PIPENV_DEFAULT_CATEGORIES"


#: Where the notes of accepted flags are gathered (a list of lines, absent when none given).
NOTES = "accepted_notes"


class AcceptedFlag(argparse.Action):
    """A pipenv flag with no meaning for pipfence: accepted, so that a script written for
    pipenv keeps working, and noted (one line on stderr) with the reason it changes nothing."""

    def __init__(
        self, option_strings: list[str], dest: str, *, reason: str, **kwargs: object
    ) -> None:
        self.reason = reason
        super().__init__(option_strings, dest, **kwargs)  # type: ignore[arg-type]  # argparse's own keywords

    def __call__(
        self,
        parser: argparse.ArgumentParser,  # noqa: ARG002  # argparse's signature
        namespace: argparse.Namespace,
        values: object,  # noqa: ARG002  # a value given to such a flag is dropped with it
        option_string: str | None = None,
    ) -> None:
        notes: list[str] = getattr(namespace, NOTES, None) or []
        note = f"{option_string or self.option_strings[0]} changes nothing here: {self.reason}"
        if note not in notes:
            notes.append(note)
        setattr(namespace, NOTES, notes)


def accept(
    parser: argparse.ArgumentParser, *flags: str, reason: str, metavar: str | None = None
) -> None:
    """Accept pipenv's ``flags`` (taking a value when ``metavar`` is given) and explain them."""
    parser.add_argument(
        *flags,
        action=AcceptedFlag,
        reason=reason,
        dest=NOTES,
        default=argparse.SUPPRESS,
        nargs=None if metavar else 0,
        metavar=metavar,
        help=f"accepted for pipenv's sake, changes nothing: {reason}",
    )


def add_pip_only_options(parser: argparse.ArgumentParser) -> None:
    """pipenv's options for the pip it runs: pipfence runs no pip and has one resolver."""
    accept(
        parser,
        "--extra-pip-args",
        metavar="ARGS",
        reason="pipfence does not run pip; its own settings are PIPFENCE_* variables "
        "(`pipfence --envs`)",
    )
    accept(
        parser,
        "--resolver",
        metavar="NAME",
        reason="pipfence has one resolver, which keeps every package to its index",
    )


def add_extra_categories(parser: argparse.ArgumentParser, *, all_flag: bool = True) -> None:
    """pipenv's ``--extras`` (categories besides the default one) and ``--all`` (every
    category of the Pipfile)."""
    parser.add_argument(
        "--extras",
        default=None,
        metavar="CATEGORIES",
        help="these categories as well as [packages] (comma or space separated)",
    )
    if all_flag:
        parser.add_argument(
            "--all",
            dest="all_categories",
            action="store_true",
            help="every package category of the Pipfile",
        )


_EXISTING_ENV = (
    "this command uses the project's environment as it is; `pipfence --python X` (or "
    "`install --python X`) chooses its Python"
)
_READS_LOCK = "this command reads the lock, not an environment"
_RELOCKS = "pipfence re-locks, so that the lock keeps matching the Pipfile"
_NO_ENV = "this command writes the lock only and makes no environment"

#: pipenv's flags that mean nothing for a command here, with why: (flags, reason, metavar).
PIPENV_ONLY: dict[str, tuple[tuple[tuple[str, ...], str, str | None], ...]] = {
    "update": (
        (("--system",), ("update installs into the project's environment; "
         "`pipfence install --system --deploy` installs a lock into the Python on PATH"), None),
        (("--skip-lock",), _RELOCKS, None),
    ),
    "upgrade": (
        (("--system",), _NO_ENV, None),
        (("--site-packages",), _NO_ENV, None),
        (("--no-site-packages",), _NO_ENV, None),
        (("--skip-lock",), "upgrade only writes the lock", None),
    ),
    "uninstall": (
        (("--python",), _EXISTING_ENV, "VERSION"),
        (("--skip-lock",), _RELOCKS, None),
    ),
    "lock": (
        (("--python",), "a lock is made for the Pipfile's [requires] python_version", "VERSION"),
    ),
    "shell": ((("--python",), _EXISTING_ENV, "VERSION"),),
    "open": ((("--python",), _EXISTING_ENV, "VERSION"),),
    "clean": ((("--python",), _EXISTING_ENV, "VERSION"),),
    "scripts": ((("--python",), "scripts reads the Pipfile only", "VERSION"),),
    "check": (
        (("--python",), _READS_LOCK, "VERSION"),
        (("--system",), _READS_LOCK, None),
    ),
    "run": (
        (("--system",), ("run uses the project's environment, or the Python on PATH after "
         "`install --system`"), None),
    ),
    "activate": (
        (("--pypi-mirror",), "activating asks no index", "URL"),
        (("--python",), _EXISTING_ENV, "VERSION"),
    ),
    "audit": (
        (("--python",), _READS_LOCK, "VERSION"),
        (("--system",), _READS_LOCK, None),
        (("--pypi-mirror",), "audit asks the vulnerability service, never an index", "URL"),
        (("--clear",), "pip-audit revalidates its own cache", None),
    ),
    "pylock": (
        (("--python",), "pylock reads the lock or pyproject.toml", "VERSION"),
        (("--clear",), "pylock --generate asks the index for each file's URL afresh", None),
    ),
}  # fmt: skip


def accept_pipenv_only(parser: argparse.ArgumentParser, command: str) -> None:
    """Accept, with a note, the pipenv flags of ``command`` that mean nothing for it here
    (`PIPENV_ONLY`), unless the command defines them itself."""
    have = {flag for action in parser._actions for flag in action.option_strings}  # noqa: SLF001
    for flags, reason, metavar in PIPENV_ONLY.get(command, ()):
        if not have & set(flags):
            accept(parser, *flags, reason=reason, metavar=metavar)


def add_reference_options(
    parser: argparse.ArgumentParser, *, editable_help: str, requirements_help: str | None = None
) -> None:
    """pipenv's ``-e/--editable PATH`` (repeatable) and, with its help, ``-r/--requirements
    FILE``."""
    parser.add_argument(
        "-e", "--editable", action="append", default=[], metavar="PATH", help=editable_help
    )
    if requirements_help is not None:
        parser.add_argument("-r", "--requirements", metavar="FILE", help=requirements_help)


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
    """The Pipfile tables chosen by ``--dev-only`` / ``--categories`` / ``--extras``, else
    (unless ``--dev`` was given) by ``PIPENV_DEFAULT_CATEGORIES`` in ``environ`` (the process
    environment by default), as pipenv reads it; None: the command's own default. Names are
    separated by commas or spaces and kept in the order given, without repeats."""
    if getattr(args, "dev_only", False):
        return ["dev-packages"]
    aliases = {"default": "packages", "develop": "dev-packages"}
    categories = getattr(args, "categories", None)
    if not categories and not getattr(args, "extras", None) and not getattr(args, "dev", False):
        categories = (os.environ if environ is None else environ).get(DEFAULT_CATEGORIES_VAR)
    if categories:
        names = [c for c in categories.replace(",", " ").split() if c]
        return list(dict.fromkeys(aliases.get(n, n) for n in names)) or None
    extras = getattr(args, "extras", None)
    if extras:
        names = [aliases.get(c, c) for c in extras.replace(",", " ").split() if c]
        base = ["packages", "dev-packages"] if getattr(args, "dev", False) else ["packages"]
        return [*base, *(n for n in names if n not in base)]
    return None


def all_tables(args: argparse.Namespace, data: Mapping[str, object]) -> list[str] | None:
    """With ``--all``: every package table of the Pipfile (``data``), in file order."""
    if not getattr(args, "all_categories", False):
        return None
    from pipfence.models.pipfile import RESERVED_TABLES

    tables = ["packages", "dev-packages"]
    tables += [t for t in data if t not in RESERVED_TABLES and t not in tables]
    return [t for t in tables if t in data]


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
