"""Size bounds on the source (issue #18): no module of `pipfence` over 500 lines unless it is
listed below with a reason, and no function in `pipfence.project` over 60 lines unless it is
listed below as known. A listed entry that no longer needs its place fails too, so the lists
only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pipfence

SRC = Path(pipfence.__file__).parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60

#: Modules allowed over `MAX_MODULE_LINES`, path relative to the package → the reason.
#: A parser whose grammar would be scattered by a split may stay here; nothing else should.
LONG_MODULES: dict[str, str] = {}

#: Functions of `pipfence.project` known to be over `MAX_FUNCTION_LINES`, as
#: ``module path:qualified name``.
LONG_PROJECT_FUNCTIONS: frozenset[str] = frozenset()


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, int]]:
    """(qualified name, lines from ``def`` to the last line) of every function and method,
    nested ones included."""
    found: list[tuple[str, int]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = prefix + node.name
            end = node.end_lineno if node.end_lineno is not None else node.lineno
            found.append((name, end - node.lineno + 1))
            found.extend(_functions(node, name + "."))
        elif isinstance(node, ast.ClassDef):
            found.extend(_functions(node, prefix + node.name + "."))
        else:
            found.extend(_functions(node, prefix))
    return found


def _long_project_functions() -> dict[str, int]:
    long: dict[str, int] = {}
    for path in sorted((SRC / "project").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, lines in _functions(tree):
            if lines > MAX_FUNCTION_LINES:
                long[f"{_relative(path)}:{name}"] = lines
    return long


def test_no_module_is_over_the_bound_unless_listed_with_a_reason() -> None:
    over = {
        _relative(path): count
        for path in _modules()
        if (count := _line_count(path)) > MAX_MODULE_LINES
    }
    unlisted = {path: count for path, count in over.items() if path not in LONG_MODULES}
    assert not unlisted, (
        f"modules over {MAX_MODULE_LINES} lines: {unlisted}; split them by role, or list a "
        "parser in LONG_MODULES with its reason"
    )


def test_every_long_module_listed_is_still_long() -> None:
    stale = [
        path
        for path in LONG_MODULES
        if not (SRC / path).is_file() or _line_count(SRC / path) <= MAX_MODULE_LINES
    ]
    assert not stale, f"remove {stale} from LONG_MODULES: no longer over {MAX_MODULE_LINES}"


@pytest.mark.parametrize("reason", LONG_MODULES.values())
def test_a_long_module_has_a_reason(reason: str) -> None:
    assert reason.strip()


def test_no_project_function_is_over_the_bound_unless_known() -> None:
    unknown = {
        name: lines
        for name, lines in _long_project_functions().items()
        if name not in LONG_PROJECT_FUNCTIONS
    }
    assert not unknown, (
        f"functions in project/ over {MAX_FUNCTION_LINES} lines: {unknown}; name their parts"
    )


def test_every_known_long_function_is_still_long() -> None:
    stale = sorted(LONG_PROJECT_FUNCTIONS - _long_project_functions().keys())
    assert not stale, (
        f"remove {stale} from LONG_PROJECT_FUNCTIONS: no longer over {MAX_FUNCTION_LINES} lines"
    )


def test_the_function_measure_counts_from_def_to_the_last_line() -> None:
    tree = ast.parse("class A:\n    def f(self):\n        x = 1\n\n        return x\n")
    assert _functions(tree) == [("A.f", 4)]
