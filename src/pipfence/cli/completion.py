"""Shell completion scripts for bash, zsh and fish, generated from the argument parser."""

from __future__ import annotations

import argparse

from pipfence.errors import UsageError

__all__ = ["SHELLS", "completion_script"]

SHELLS = ("bash", "zsh", "fish")


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    # argparse has no public view of a parser's actions.
    actions = parser._actions  # noqa: SLF001
    return [s for action in actions for s in action.option_strings if s.startswith("--")]


def _words(parser: argparse.ArgumentParser) -> tuple[list[str], dict[str, list[str]]]:
    """The global options, and each command's options."""
    commands: dict[str, list[str]] = {}
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                commands[name] = _long_options(sub)
    return _long_options(parser), commands


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """A script that, sourced by ``shell``, completes pipfence's commands and options."""
    options, commands = _words(parser)
    if shell == "bash":
        cases = "\n".join(
            f'        {name}) opts="{" ".join(opts)}" ;;' for name, opts in commands.items()
        )
        # The command is the first word that names one: an option's value before it
        # (`--python 3.12`, `--pypi-mirror URL`) is not a command.
        return f"""_pipfence() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" command="" opts word
    for word in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
        case "$word" in {"|".join(commands)}) command="$word"; break ;; esac
    done
    if [ -z "$command" ]; then
        opts="{" ".join([*commands, *options])}"
    else
        case "$command" in
{cases}
        *) opts="" ;;
        esac
    fi
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}}
complete -o default -F _pipfence pipfence
"""
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + completion_script(parser, "bash")
    if shell == "fish":
        lines = [f"complete -c pipfence -n __fish_use_subcommand -a {name}" for name in commands]
        lines += [f"complete -c pipfence -n __fish_use_subcommand -l {o[2:]}" for o in options]
        for name, opts in commands.items():
            lines += [
                f"complete -c pipfence -n '__fish_seen_subcommand_from {name}' -l {o[2:]}"
                for o in opts
            ]
        return "\n".join(lines) + "\n"
    raise UsageError(f"no completion for shell `{shell}`; choose one of {', '.join(SHELLS)}")
