"""``pipfence --man``: a manual page (roff, section 1) generated from the argument parser, so
it lists exactly the commands and options this pipfence has."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipfence import __version__

__all__ = ["manual_page", "show_manual"]


def _roff(text: str) -> str:
    """``text`` safe inside a roff line: backslashes doubled, a leading dot or quote escaped,
    and ``-`` as the minus sign that options need."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def _options(parser: argparse.ArgumentParser) -> list[str]:
    lines: list[str] = []
    for action in parser._actions:  # noqa: SLF001  # argparse has no public view
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        flags = ", ".join(action.option_strings)
        if action.nargs != 0:  # the option takes a value
            flags += f" {action.metavar or action.dest.upper()}"
        lines += [".TP", f"\\fB{_roff(flags)}\\fR", _roff(action.help or "")]
    return lines


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def manual_page(parser: argparse.ArgumentParser) -> str:
    """The manual page for ``parser`` (pipfence's own), as roff text."""
    from pipfence.project.settings import source_date_epoch

    epoch = source_date_epoch()
    when = (
        dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
        if epoch is not None
        else dt.datetime.now(tz=dt.UTC)
    )
    lines = [
        f'.TH PIPFENCE 1 "{when:%Y-%m-%d}" "pipfence {__version__}" "User Commands"',
        ".SH NAME",
        "pipfence \\- Pipfile dependency management, every package fenced to one index",
        ".SH SYNOPSIS",
        "\\fBpipfence\\fR [\\fIOPTIONS\\fR] [\\fICOMMAND\\fR [\\fIARGS\\fR]...]",
        ".SH DESCRIPTION",
        _roff(parser.description or ""),
        ".PP",
        _roff(
            "pipfence reads and writes the same Pipfile and Pipfile.lock as pipenv and puts "
            "the environment where pipenv puts it; `pipfence COMMAND --help` shows each "
            "command's options."
        ),
        ".SH OPTIONS",
        *_options(parser),
        ".SH COMMANDS",
    ]
    for name, sub in _commands(parser).items():
        lines += [".SS", f"\\fBpipfence {_roff(name)}\\fR", _roff(sub.description or "")]
        options = _options(sub)
        if options:
            lines += [".RS", *options, ".RE"]
    lines += [
        ".SH EXIT STATUS",
        _roff(
            "0 done; 1 failed (network, resolution, install); 2 bad input or usage; "
            "3 integrity (a hash or archive that does not match); 130 interrupted."
        ),
        ".SH ENVIRONMENT",
        _roff("`pipfence --envs` lists the variables pipfence reads (pipenv's names)."),
        ".SH SEE ALSO",
        "\\fBpipenv\\fR(1), \\fBpip\\fR(1)",
    ]
    return "\n".join(lines) + "\n"


def show_manual(parser: argparse.ArgumentParser) -> int:
    """Show the page with ``man`` when a person is reading a terminal; otherwise (a pipe, a
    file, a test) print the roff text, which ``man -l -`` renders."""
    page = manual_page(parser)
    viewer = shutil.which("man")
    if viewer is None or not sys.stdout.isatty():
        sys.stdout.write(page)
        return 0
    with tempfile.TemporaryDirectory(prefix="pipfence-man-") as folder:
        path = Path(folder) / "pipfence.1"
        path.write_text(page, encoding="utf-8")
        return subprocess.run([viewer, "-l", str(path)], check=False).returncode
