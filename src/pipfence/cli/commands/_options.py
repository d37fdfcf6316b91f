"""Options several commands share, with pipenv's names."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipfence.project.categories import CategoryOptions
    from pipfence.project.settings import Settings
    from pipfence.project.sync_lock import EnvTarget

__all__ = [
    "NOTES",
    "AcceptedFlag",
    "accept",
    "accept_pipenv_only",
    "add_category_options",
    "add_env_options",
    "add_extra_categories",
    "add_index_options",
    "add_mirror_option",
    "add_pip_only_options",
    "add_python_option",
    "add_reference_options",
    "category_options",
    "env_target_from_args",
    "python_from_args",
    "tables_from_args",
]


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
        values: object,  # a value given to such a flag is dropped with it (but --python's)
        option_string: str | None = None,
    ) -> None:
        if "--python" in self.option_strings and isinstance(values, str):
            namespace.accepted_python = values  # still checked to exist (cli.main)
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
    "shell": (
        (("--python",), _EXISTING_ENV, "VERSION"),
        (("--pypi-mirror",), "a shell sends nothing to an index", "URL"),
    ),
    "open": (
        (("--python",), _EXISTING_ENV, "VERSION"),
        (("--pypi-mirror",), "open shows a folder; it asks no index", "URL"),
    ),
    "clean": ((("--python",), _EXISTING_ENV, "VERSION"),),
    "scripts": (
        (("--python",), "scripts reads the Pipfile only", "VERSION"),
        (("--pypi-mirror",), "scripts lists the Pipfile's [scripts]; it asks no index", "URL"),
    ),
    "check": (
        (("--python",), _READS_LOCK, "VERSION"),
        (("--system",), _READS_LOCK, None),
        (("--pypi-mirror",), "check asks the vulnerability service, never an index", "URL"),
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


def add_category_options(
    parser: argparse.ArgumentParser,
    *,
    dev_help: str = "include [dev-packages]",
    dev_only_help: str | None = None,
    categories_help: str = "only these Pipfile tables (comma or space separated)",
) -> None:
    """pipenv's ``-d/--dev``, ``--dev-only`` (with its help) and ``--categories``."""
    parser.add_argument("-d", "--dev", action="store_true", help=dev_help)
    if dev_only_help is not None:
        parser.add_argument("--dev-only", action="store_true", help=dev_only_help)
    parser.add_argument("--categories", default=None, help=categories_help)


def add_mirror_option(
    parser: argparse.ArgumentParser,
    *,
    dest: str = "pypi_mirror",
    help: str = "send PyPI's requests to this mirror",  # noqa: A002  # argparse's word
) -> None:
    """pipenv's ``--pypi-mirror URL`` (`PIPENV_PYPI_MIRROR` on the command line)."""
    parser.add_argument("--pypi-mirror", dest=dest, metavar="URL", help=help)


def add_index_options(parser: argparse.ArgumentParser) -> None:
    add_mirror_option(parser)
    parser.add_argument("--pre", action="store_true", help="allow pre-releases")


def add_python_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python",
        dest="sub_python",
        metavar="VERSION",
        default=None,
        help="Python to create the environment with",
    )


def category_options(args: argparse.Namespace) -> CategoryOptions:
    """What ``args`` say about categories (options a command lacks count as not given)."""
    from pipfence.project.categories import CategoryOptions

    return CategoryOptions(
        dev=bool(getattr(args, "dev", False)),
        dev_only=bool(getattr(args, "dev_only", False)),
        categories=getattr(args, "categories", None),
        extras=getattr(args, "extras", None),
        every=bool(getattr(args, "all_categories", False)),
    )


def tables_from_args(
    args: argparse.Namespace,
    settings: Settings | None,
    pipfile: Mapping[str, object] | None = None,
) -> list[str] | None:
    """The Pipfile tables ``args`` choose (`chosen_tables`), ``PIPENV_DEFAULT_CATEGORIES``
    from ``settings`` standing in when neither ``--dev``, ``--categories`` nor ``--extras`` is
    given (None: a command that does not read it); ``pipfile`` is the Pipfile's data, for
    ``--all``. None: the command's own default."""
    from pipfence.project.categories import chosen_tables

    return chosen_tables(
        category_options(args),
        pipfile=pipfile,
        default_categories=settings.default_categories if settings is not None else None,
    )


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


def env_target_from_args(args: argparse.Namespace, settings: Settings) -> EnvTarget:
    """Where ``args`` install: ``--system`` (or ``PIPENV_USE_SYSTEM``) and site-packages."""
    from pipfence.project.sync_lock import EnvTarget

    system = bool(getattr(args, "system", False)) or settings.use_system
    return EnvTarget(system=system, site_packages=site_packages_from_args(args))
