"""The user guide's examples: every `$ pipfence …` line parses, and the runnable ones run.

In docs/*.md, a ```console block preceded by `<!-- runnable -->` is run line by line against
the local index servers, in order, in a fresh project per page; a ```toml block preceded by
`<!-- file: NAME -->` is written to the project first. PyPI's URL (as a user copies it) and
`https://private.example/simple` stand for the public and private index fixtures.
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipfence.cli.main import build_parser
from pipfence.models.urls import PYPI_SIMPLE_URLS

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs"
PUBLIC = PYPI_SIMPLE_URLS[0]
PRIVATE = "https://private.example/simple"
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARK = re.compile(r"^<!--\s*(runnable|file:\s*(\S+))\s*-->\s*$")


@dataclass
class Page:
    path: Path
    files: dict[str, str] = field(default_factory=dict)
    examples: list[tuple[int, str]] = field(default_factory=list)
    runnable: list[tuple[int, str]] = field(default_factory=list)


def read_page(path: Path) -> Page:
    page = Page(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    mark: re.Match[str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence is None:
            if line.strip():
                mark = _MARK.match(line)
            index += 1
            continue
        body: list[tuple[int, str]] = []
        index += 1
        while index < len(lines) and not lines[index].startswith("```"):
            body.append((index + 1, lines[index]))
            index += 1
        index += 1
        if fence.group(1) == "console":
            commands = [(n, text[2:]) for n, text in body if text.startswith("$ ")]
            page.examples.extend(commands)
            if mark is not None and mark.group(1) == "runnable":
                page.runnable.extend(commands)
        elif mark is not None and mark.group(2):
            page.files[mark.group(2)] = "\n".join(text for _n, text in body) + "\n"
        mark = None
    return page


PAGES = sorted(DOCS.glob("*.md"))


def pipfence_argv(command: str) -> list[str] | None:
    """The arguments after `pipfence` (env assignments and redirections dropped), or None for
    a command that is not pipfence's."""
    words = shlex.split(command)
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words.pop(0)
    if not words or words[0] != "pipfence":
        return None
    args = words[1:]
    return args[: args.index(">")] if ">" in args else args


def test_the_guide_has_its_pages() -> None:
    names = {p.name for p in PAGES}
    assert {
        "getting-started.md",
        "indexes-and-the-fence.md",
        "private-indexes-and-credentials.md",
        "mirrors.md",
        "moving-from-pipenv.md",
        "ci-recipes.md",
    } <= names
    for path in PAGES:
        for target in re.findall(r"\]\(([^)#]+\.md)\)", path.read_text(encoding="utf-8")):
            assert (DOCS / target).is_file(), f"{path.name} links to missing {target}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_example_parses(path: Path) -> None:
    parser = build_parser()
    page = read_page(path)
    assert page.examples, f"{path.name} has no `$ pipfence` example"
    for line, command in page.examples:
        argv = pipfence_argv(command)
        if argv is None:
            continue
        try:
            parser.parse_args(argv)
        except SystemExit as exc:  # argparse's way of rejecting arguments
            pytest.fail(f"{path.name}:{line}: `{command}` does not parse ({exc})")


def substitute(text: str, public: PypiServer, private: PypiServer) -> str:
    return text.replace(PUBLIC, public.simple_url.rstrip("/")).replace(
        PRIVATE, private.simple_url.rstrip("/")
    )


RUNNABLE = [p for p in PAGES if read_page(p).runnable]


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_runnable_examples_run(
    path: Path,
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("requests", "2.32.0", requires=["urllib3>=1.21"])
    public_index.add_dist("urllib3", "2.2.0")
    public_index.add_dist("pytest", "8.3.0")
    private_index.add_dist("acme-internal", "1.4.0", requires=["acme-utils"])
    private_index.add_dist("acme-utils", "0.3.0")
    page = read_page(path)
    for name, text in page.files.items():
        (pipfence_project / name).write_text(
            substitute(text, public_index, private_index), encoding="utf-8"
        )
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", "EDITOR": "echo"}
    for line, command in page.runnable:
        argv = pipfence_argv(substitute(command, public_index, private_index))
        assert argv is not None, f"{path.name}:{line}: runnable lines must run pipfence"
        result = run_pipfence(argv, env=env)
        assert result.returncode == 0, f"{path.name}:{line}: `{command}`\n{result.stderr}"


# -- the command table (docs/commands.md) ---------------------------------------------------------

COMMAND_PAGE = DOCS / "commands.md"
STATUSES = {"supported", "accepted", "different", "missing", "pipfence only"}
_SECTION = re.compile(r"^### `pipfence(?: (\S+))?`\s*$")
_ROW = re.compile(r"^\|(.+?)\|\s*([a-z ]+?)\s*\|")

#: pipenv 2026.10.3's flags, command by command (`pipenv [CMD] --help`, `-h/--help` left out;
#: "" holds the options before any command). Facts the table must cover, every one of them.
PIPENV_FLAGS: dict[str, set[str]] = {
    "": {"--version", "--where", "--venv", "--py", "--envs", "--rm", "--bare", "--man",
         "--support", "--pypi-mirror", "-v", "--verbose", "-q", "--quiet", "--clear",
         "--python", "--site-packages", "--no-site-packages"},
    "install": {"--system", "--deploy", "--site-packages", "--no-site-packages", "--pypi-mirror",
                "-v", "--verbose", "-q", "--quiet", "--clear", "--python", "--pre",
                "--extra-pip-args", "--resolver", "-d", "--dev", "--categories", "--extras",
                "--all", "-i", "--index", "-r", "--requirements", "--ignore-pipfile", "-e",
                "--editable", "--skip-lock"},
    "remove": set(),
    "upgrade": {"--system", "--site-packages", "--no-site-packages", "--pypi-mirror", "-v",
                "--verbose", "-q", "--quiet", "--clear", "--python", "--pre", "--extra-pip-args",
                "--resolver", "-d", "--dev", "--categories", "--extras", "--all", "-i", "--index",
                "-r", "--requirements", "--ignore-pipfile", "-e", "--editable", "--skip-lock",
                "--lock-only"},
    "uninstall": {"--all-dev", "--all", "--pypi-mirror", "-v", "--verbose", "-q", "--quiet",
                  "--clear", "--python", "--pre", "--extra-pip-args", "--resolver",
                  "--categories", "--extras", "-d", "--dev", "-e", "--editable", "--skip-lock"},
    "lock": {"--pypi-mirror", "-v", "--verbose", "-q", "--quiet", "--clear", "--python", "--pre",
             "--extra-pip-args", "--resolver", "-d", "--dev", "--dev-only", "--categories"},
    "shell": {"--fancy", "--anyway", "-q", "--quiet", "--pypi-mirror", "--python"},
    "activate": {"--pypi-mirror", "--python"},
    "run": {"--system"},
    "check": {"--db", "-i", "--ignore", "--output", "--key", "--policy-file", "--exit-code",
              "--continue-on-error", "--audit-and-monitor", "--disable-audit-and-monitor",
              "--project", "--save-json", "--use-installed", "--categories", "--auto-install",
              "--scan", "--pypi-mirror", "-v", "--verbose", "-q", "--quiet", "--clear",
              "--python", "--system"},
    "audit": {"-f", "--output", "-s", "--vulnerability-service", "-i", "--ignore", "--fix",
              "--dry-run", "--strict", "--skip-editable", "--no-deps", "--local", "--desc",
              "--aliases", "-o", "--output-file", "--locked", "--pypi-mirror", "-v", "--verbose",
              "-q", "--quiet", "--clear", "--python", "--system"},
    "update": {"--bare", "--outdated", "--dry-run", "--system", "--pypi-mirror", "-v",
               "--verbose", "-q", "--quiet", "--clear", "--python", "--pre", "--extra-pip-args",
               "--resolver", "-d", "--dev", "--categories", "--extras", "--all", "-i", "--index",
               "-r", "--requirements", "--ignore-pipfile", "-e", "--editable", "--skip-lock",
               "--lock-only"},
    "graph": {"--bare", "--json", "--json-tree", "--reverse"},
    "open": {"--pypi-mirror", "-v", "--verbose", "-q", "--quiet", "--clear", "--python"},
    "sync": {"--system", "--bare", "--pypi-mirror", "-v", "--verbose", "-q", "--quiet", "--clear",
             "--python", "--pre", "--extra-pip-args", "--resolver", "-d", "--dev", "--categories",
             "--extras", "--all", "--site-packages", "--no-site-packages"},
    "clean": {"--bare", "--dry-run", "-v", "--verbose", "--python"},
    "scripts": {"--pypi-mirror", "-v", "--verbose", "-q", "--quiet", "--clear", "--python"},
    "verify": set(),
    "requirements": {"--dev", "-d", "--dev-only", "--hash", "--exclude-markers",
                     "--exclude-index", "--categories", "--from-pipfile", "--no-lock"},
    "pylock": {"--generate", "--from-pyproject", "--validate", "-o", "--output", "--dev-groups",
               "--pypi-mirror", "-v", "--verbose", "-q", "--quiet", "--clear", "--python"},
}  # fmt: skip

#: Commands and flags the table lists as they will be once the work adding them lands, and
#: that pipfence's parsers do not have yet. When one lands, take it out of here: the test
#: then holds the table to it.
PENDING_COMMANDS: set[str] = set()


@dataclass
class Row:
    flags: tuple[str, ...]
    status: str
    line: int


def command_table() -> dict[str, list[Row]]:
    """docs/commands.md's flag tables: command ("" before any) -> its rows."""
    tables: dict[str, list[Row]] = {}
    section: str | None = None
    for number, line in enumerate(COMMAND_PAGE.read_text(encoding="utf-8").splitlines(), 1):
        heading = _SECTION.match(line)
        if heading is not None:
            section = heading.group(1) or ""
            tables[section] = []
            continue
        row = _ROW.match(line)
        if section is None or row is None or row.group(2) == "status":
            continue
        flags = tuple(re.findall(r"`(-[^`]+)`", row.group(1)))
        tables[section].append(Row(flags, row.group(2), number))
    return tables


def parser_flags() -> dict[str, dict[str, argparse.Action]]:
    """pipfence's visible options, command by command ("" before any), `-h/--help` left out."""

    def visible(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
        return {
            flag: action
            for action in parser._actions
            if action.option_strings and action.help != argparse.SUPPRESS
            for flag in action.option_strings
            if flag not in {"-h", "--help"}
        }

    top = build_parser()
    found = {"": visible(top)}
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = visible(sub)
    return found


def test_the_table_covers_every_pipenv_command_and_flag() -> None:
    table = command_table()
    for command, flags in PIPENV_FLAGS.items():
        assert command in table, f"commands.md has no section for `pipenv {command}`"
        listed = {f: row for row in table[command] for f in row.flags}
        for flag in sorted(flags):
            assert flag in listed, f"commands.md: `pipenv {command} {flag}` is not listed"
            assert listed[flag].status != "pipfence only", (
                f"commands.md:{listed[flag].line}: pipenv has `{command} {flag}`"
            )
        for row in table[command]:
            assert row.status in STATUSES, f"commands.md:{row.line}: status `{row.status}`"
            if row.status == "pipfence only":
                assert not set(row.flags) & flags, f"commands.md:{row.line}: pipenv has it"


def test_the_table_matches_pipfences_parsers() -> None:
    """Every flag of the table is in pipfence's parser and every parser flag is in the table;
    `accepted` rows are exactly the flags accepted with a note."""
    from pipfence.cli.commands._options import AcceptedFlag

    table = command_table()
    parsers = parser_flags()
    assert set(parsers) == set(table) - PENDING_COMMANDS, (
        "commands.md's sections differ from pipfence's commands"
    )
    for command in PENDING_COMMANDS & set(parsers):
        pytest.fail(f"`pipfence {command}` exists now: take it out of PENDING_COMMANDS")
    for command, actions in parsers.items():
        listed = {f: row for row in table[command] for f in row.flags}
        missing = sorted(set(actions) - set(listed))
        assert not missing, f"commands.md lists no row for `pipfence {command}` {missing}"
        for flag, row in listed.items():
            missing_here = row.status == "missing"
            if flag not in actions:
                assert missing_here, f"commands.md:{row.line}: `pipfence {command}` has no `{flag}`"
                continue
            assert not missing_here, (
                f"commands.md:{row.line}: `pipfence {command} {flag}` exists now, not missing"
            )
            accepted = isinstance(actions[flag], AcceptedFlag)
            assert accepted == (row.status == "accepted"), (
                f"commands.md:{row.line}: `{command} {flag}` is "
                f"{'accepted with a note' if accepted else 'acted on'} but listed as {row.status}"
            )


def test_the_readme_and_the_table_list_every_command() -> None:
    text = COMMAND_PAGE.read_text(encoding="utf-8")
    commands = set(parser_flags()) - {""}
    listed = set(re.findall(r"^\| `([a-z]+)` \|", text, flags=re.MULTILINE))
    listed |= set(re.findall(r"^\| — \| pipfence only \| `([a-z]+)", text, flags=re.MULTILINE))
    assert commands | (set(PIPENV_FLAGS) - {""}) <= listed | {"sources"}
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert "docs/commands.md" in readme
    for command in commands | (set(PIPENV_FLAGS) - {""}):
        assert f"`{command}`" in readme, f"README.md does not name `{command}`"


def test_an_accepted_flag_says_why_it_changes_nothing(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{public_index.simple_url}"\nverify_ssl = false\nname = "pypi"\n\n'
        "[packages]\n",
        encoding="utf-8",
    )
    result = run_pipfence(["lock", "--extra-pip-args=--no-deps", "--resolver", "pip"])
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    pip_args = (
        "note: --extra-pip-args changes nothing here: pipfence does not run pip; its own "
        "settings are PIPFENCE_* variables (`pipfence --envs`)"
    )
    resolver = (
        "note: --resolver changes nothing here: pipfence has one resolver, which keeps every "
        "package to its index"
    )
    assert notes == [pip_args, resolver]
    assert run_pipfence(["lock", "-q", "--resolver", "pip"]).stderr == ""
