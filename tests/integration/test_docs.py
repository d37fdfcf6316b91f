"""The user guide's examples: every `$ pipfence …` line parses, and the runnable ones run.

In docs/*.md, a ```console block preceded by `<!-- runnable -->` is run line by line against
the local index servers, in order, in a fresh project per page; a ```toml block preceded by
`<!-- file: NAME -->` is written to the project first. `https://pypi.example/simple` and
`https://private.example/simple` stand for the public and private index fixtures.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipfence.cli.main import build_parser

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs"
PUBLIC = "https://pypi.example/simple"
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
