"""The command line: argument parsing, dispatch, and the one error boundary."""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipfence import __version__

if TYPE_CHECKING:
    import argparse

    from pipfence.cli.ui import UI

__all__ = ["entry", "main"]

#: Each command, in pipenv's order of use, with its one-line help. A module
#: `pipfence.cli.commands.<name>` provides `add_arguments(parser)` and `run(args, ui) -> int`.
COMMANDS: dict[str, str] = {
    "install": "Add packages to the Pipfile, lock, and install; or install the lock",
    "sync": "Install exactly what Pipfile.lock lists",
    "lock": "Resolve the Pipfile into Pipfile.lock, each package from its one index",
    "update": "Re-lock and sync, optionally for some packages only",
    "upgrade": "Re-lock some packages to newer versions without installing",
    "uninstall": "Remove packages from the environment and the Pipfile",
    "clean": "Remove packages that the lock does not list",
    "remove": "Remove the project's environment",
    "run": "Run a command or [scripts] entry inside the environment",
    "shell": "Start a shell inside the environment",
    "activate": "Print the command that activates the environment in your shell",
    "graph": "Show the dependency graph of the installed packages",
    "requirements": "Write the lock as a requirements file",
    "pylock": "Write, check or show a PEP 751 pylock.toml",
    "verify": "Check that Pipfile.lock is up to date with the Pipfile",
    "check": "Check the lock for known vulnerabilities",
    "audit": "Audit the lock with pip-audit, in pip-audit's output formats",
    "scripts": "List the Pipfile's [scripts]",
    "open": "Show a package's source folder in your editor",
    "why": "Explain why a package is in the lock and which index it comes from",
    "sources": "List the Pipfile's sources and check that each one answers",
}


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    import argparse

    default: object = argparse.SUPPRESS if suppress else False
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="show detail, and tracebacks on errors",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="print only results and errors"
    )


#: The options before a command that take a value (`pipfence --python 3.12 install`).
TOP_VALUE_OPTIONS = frozenset({"--python", "--pypi-mirror", "--completion"})


def command_of(arguments: Sequence[str]) -> str | None:
    """The command ``arguments`` run (the first word that is not an option before it or an
    option's value), or None when there is none or it is not one of `COMMANDS`."""
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--":
            return None
        elif argument.startswith("-"):
            skip = argument in TOP_VALUE_OPTIONS
        else:
            return argument if argument in COMMANDS else None
    return None


#: What the parser makes of `pipfence run PROGRAM ARGS…` when no option comes before PROGRAM
#: (a test holds the two equal): a launcher started many times a day need not build it.
_PLAIN_RUN = {
    "command": "run",
    "completion": None,
    "envs": False,
    "man": False,
    "py": False,
    "python": None,
    "quiet": False,
    "rm": False,
    "site_packages": None,
    "support": False,
    "top_bare": False,
    "top_clear": False,
    "top_pypi_mirror": None,
    "venv": False,
    "verbose": False,
    "where": False,
}


def plain_run(arguments: Sequence[str]) -> argparse.Namespace | None:
    """The parsed arguments of `pipfence run PROGRAM ARGS…` with no option before PROGRAM
    (everything after it is the command's own), or None for any other command line."""
    if len(arguments) < 2 or arguments[0] != "run" or arguments[1].startswith("-"):  # noqa: PLR2004
        return None
    import argparse

    return argparse.Namespace(**_PLAIN_RUN, run_command=list(arguments[1:]))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """pipfence's parser; with ``only``, that command's options are the only ones read in
    (every command's module is imported otherwise, which a one-command run need not pay
    for: `pipfence run` is started often)."""
    import argparse

    from pipfence.cli.commands._options import accept_pipenv_only, add_site_packages_options

    # No abbreviations: `lock --dev` must never be taken as `--dev-only` (argparse's default
    # accepts any unambiguous prefix of an option).
    parser = argparse.ArgumentParser(
        prog="pipfence",
        allow_abbrev=False,
        description=(
            "pipfence manages a Pipfile project's dependencies like pipenv does, with every "
            "package fenced to the one index the project chose."
        ),
    )
    parser.add_argument("--version", action="version", version=f"pipfence, version {__version__}")
    parser.add_argument("--where", action="store_true", help="print the project's folder")
    parser.add_argument("--venv", action="store_true", help="print the environment's folder")
    parser.add_argument("--py", action="store_true", help="print the environment's Python")
    parser.add_argument(
        "--envs", action="store_true", help="list the environment variables pipfence reads"
    )
    parser.add_argument(
        "--rm", action="store_true", help="remove the project's environment (deprecated: `remove`)"
    )
    parser.add_argument(
        "--python",
        metavar="VERSION",
        help="Python to create the environment with; alone, creates the environment now",
    )
    add_site_packages_options(parser, dest="site_packages")
    parser.add_argument(
        "--support",
        action="store_true",
        help="print versions, paths, variables (credentials hidden), the Pipfile and the lock, "
        "as Markdown for a bug report",
    )
    parser.add_argument("--man", action="store_true", help="show the manual page")
    parser.add_argument(
        "--completion",
        metavar="SHELL",
        choices=("bash", "zsh", "fish"),
        help='print a completion script (bash, zsh, fish): eval "$(pipfence --completion bash)"',
    )
    parser.add_argument(
        "--clear",
        dest="top_clear",
        action="store_true",
        help="empty pipfence's download cache (with a command: that command's --clear)",
    )
    parser.add_argument(
        "--pypi-mirror",
        dest="top_pypi_mirror",
        metavar="URL",
        help="send PyPI's requests to this mirror (for the command that follows)",
    )
    parser.add_argument(
        "--bare", dest="top_bare", action="store_true", help="print only results and errors"
    )
    _common(parser, suppress=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, summary in COMMANDS.items():
        sub = subparsers.add_parser(name, help=summary, description=summary, allow_abbrev=False)
        _common(sub, suppress=True)
        module = _command_module(name) if only in (None, name) else None
        if module is not None:
            module.add_arguments(sub)
            accept_pipenv_only(sub, name)
        else:
            sub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _command_module(name: str) -> Any:  # the command's module, or None when not built
    try:
        return importlib.import_module(f"pipfence.cli.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"pipfence.cli.commands.{name}":
            raise
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run pipfence with ``argv`` (default: the process's arguments); return the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments == ["--version"]:
        # Answered before the parser imports every command: scripts call this a lot.
        print(f"pipfence, version {__version__}")
        return 0
    _fewer_collections()
    # Here, not at the top: `pipfence --version` above is asked often and needs none of it.
    from pipfence._signals import Terminated, restored_signals, terminate_as_interrupt
    from pipfence.errors import EXIT_FAILURE, EXIT_INTERRUPTED, PipfenceError

    parser: argparse.ArgumentParser | None = None
    args = plain_run(arguments)
    if args is None:
        parser = build_parser(command_of(arguments))
        args = _parse(parser, arguments)
    ui = _ui_for(args)
    try:
        with restored_signals():
            terminate_as_interrupt()  # SIGTERM undoes a change as Ctrl-C does
            return _dispatch(parser, args, ui) if parser is not None else _run_command(args, ui)
    except PipfenceError as error:
        ui.error(error)
        return error.exit_code
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        ui.info("terminated" if terminated else "interrupted")
        code = _EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
        import threading  # here: only an interrupt asks, and a launcher's start-up is short

        if threading.active_count() > 1:
            # Every write has been undone or finished while the stack unwound; what is left
            # are worker threads blocked on the network, which the interpreter would join.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code
    except BrokenPipeError:
        return EXIT_FAILURE
    except Exception as error:  # noqa: BLE001  # the boundary: anything else is a bug
        ui.bug(error)
        return EXIT_FAILURE


#: The exit status of a command ended by SIGTERM (128 + 15, what a shell reports for it).
_EXIT_TERMINATED = 143


def _parse(parser: argparse.ArgumentParser, arguments: list[str]) -> argparse.Namespace:
    args, unknown = parser.parse_known_args(arguments)
    if unknown:
        if args.command != "shell":
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        # `pipfence shell -c "cmd"`: options the shell itself takes (argparse sees `-c` as
        # an unknown option of ours, and the command after it as the remainder).
        args.shell_args = [*unknown, *args.shell_args]
    if args.top_clear and args.command is not None:
        if not hasattr(args, "clear"):
            parser.error(f"--clear: `pipfence {args.command}` has no cache to clear")
        args.clear = True
    return args


#: The youngest generation's collection threshold for a command's process (Python's default
#: is 700). A command imports 300 modules and makes its objects in bursts that live until it
#: ends; at 700 the collector re-scanned them about 20 times during the imports alone (8 % of
#: a warm sync's import time, measured). Cycles still get collected, a little later.
_GC_YOUNGEST = 20_000


def _fewer_collections() -> None:
    """Collect cyclic garbage less often for the rest of the process (see `_GC_YOUNGEST`)."""
    import gc  # built in: nothing to load

    youngest, middle, oldest = gc.get_threshold()
    if 0 < youngest < _GC_YOUNGEST:  # 0: collection switched off by the embedding program
        gc.set_threshold(_GC_YOUNGEST, middle, oldest)


def entry() -> None:
    """The console script (and ``python -m pipfence``): `main`, its output flushed, then the
    process ends at once. By then every file is written and every worker pool closed, so the
    interpreter's own shutdown (freeing each object, a last garbage collection) would only
    cost time: a tenth of a short command's."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 1  # the reader went away; the exit code says the output was lost
    except (OSError, ValueError):
        pass  # a closed stream: nothing left to write to
    os._exit(code)


def _ui_for(args: argparse.Namespace) -> UI:
    """The output the parsed arguments ask for, with the notes the parser left (options
    accepted that change nothing) already shown."""
    from pipfence.cli.commands._options import NOTES
    from pipfence.cli.ui import UI

    # `--bare` is pipenv's "minimal output"; `graph --bare` keeps its own meaning.
    bare = args.top_bare or (getattr(args, "bare", False) and args.command != "graph")
    ui = UI(verbose=args.verbose, quiet=args.quiet or bare)
    if args.verbose:
        _show_detail_logs(ui)
    for note in getattr(args, NOTES, None) or ():
        ui.info(f"note: {note}")
    return ui


def _show_detail_logs(ui: UI) -> None:
    """With ``--verbose``, what pipfence's layers log as detail (a build backend's output,
    say) is shown on stderr; without it only their warnings are."""
    import logging  # here: only --verbose needs it, and it costs every start

    handler = logging.StreamHandler(ui.err)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("pipfence")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _clear_cache(args: argparse.Namespace, ui: UI) -> int:
    """`pipfence --clear`: empty the download cache (pages, metadata, files), as `lock
    --clear` does; built wheels and environments stay."""
    from pipfence.cli.context import settings_from_args
    from pipfence.index.client import IndexClient
    from pipfence.project.files import require_cache_dir
    from pipfence.project.index_settings import client_settings

    settings = settings_from_args(args)
    require_cache_dir(settings.cache_dir)
    client = IndexClient(client_settings(settings), clock=time.time)
    try:
        client.clear_cache()
    finally:
        client.close()
    ui.success(f"Cleared the cache at {settings.cache_dir}")
    return 0


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, ui: UI) -> int:
    from pipfence.cli import location

    if args.completion:
        from pipfence.cli.completion import completion_script

        print(completion_script(parser, args.completion), end="")
        return 0
    if args.man:
        from pipfence.cli.manpage import show_manual

        return show_manual(parser)
    if args.support:
        return location.support(args, ui)
    if args.where or args.venv or args.py or args.envs or args.rm:
        _load_dotenv(args, ui)
        return location.run(args, ui)
    if args.top_clear and args.command is None:
        return _clear_cache(args, ui)
    if args.command is None and (args.python or args.site_packages is not None):
        # pipenv's `pipenv --python 3.12` / `--site-packages`: make the environment now.
        return location.create(args, ui)
    if args.command is None:
        parser.print_help()
        return 0
    return _run_command(args, ui)


def _run_command(args: argparse.Namespace, ui: UI) -> int:
    module = _command_module(args.command)
    if module is None:
        from pipfence.errors import PipfenceError

        raise PipfenceError(
            f"`pipfence {args.command}` is not available in this version of pipfence yet",
            hint="use pipenv for this command meanwhile; the Pipfile and lock are shared",
        )
    _load_dotenv(args, ui)
    if args.command in _PYTHON_CHECKED:
        _check_python(args)
    code: int = module.run(args, ui)
    return code


#: Commands that change the project but make no environment: a `--python` they are given
#: changes nothing for them, but one that names no usable Python is still an error, as it is
#: for `install` (pipenv's `lock --python 3.99` fails too), not a typo passed over.
_PYTHON_CHECKED = frozenset({"lock", "uninstall", "upgrade", "clean"})


def _check_python(args: argparse.Namespace) -> None:
    from pipfence.cli.commands._options import python_from_args
    from pipfence.cli.context import settings_from_args
    from pipfence.project.pythons import find_python

    python = getattr(args, "accepted_python", None) or python_from_args(args)
    if python:
        find_python(python, settings_from_args(args), asked_by="--python")


def _load_dotenv(args: argparse.Namespace, ui: UI) -> None:
    """The project's ``.env`` into this process's environment, as pipenv loads it before a
    command: every setting and child process after this sees it."""
    from pipfence.cli.context import settings_from_args
    from pipfence.project.dotenv import load_dotenv

    load_dotenv(settings_from_args(args), os.environ, ui.warning)


if __name__ == "__main__":
    sys.exit(main())
