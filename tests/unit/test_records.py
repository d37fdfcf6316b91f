"""How `pipfence` declares its records (docs/code-map.md, "Records"): a `msgspec.Struct`
(frozen, keyword-only where it was), and a dataclass only where a field must stay out of
``__init__``, ``repr`` or equality, which a Struct cannot say field by field.

Why it is held by a test: a dataclass costs about 1 ms to create on Python 3.11 (its methods
are compiled from source, one ``exec`` each) and a Struct a few microseconds; every command
creates those of every module it imports, so a record added the slower way goes unnoticed
until a start-up is measured again.
"""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
import pytest

import pipfence

SRC = Path(pipfence.__file__).parent

#: What a dataclass field may need that a Struct field cannot give.
FIELD_OPTIONS_A_STRUCT_LACKS = frozenset({"init", "repr", "compare", "hash"})


def _dataclasses() -> list[tuple[str, ast.ClassDef]]:
    found: list[tuple[str, ast.ClassDef]] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found.extend(
            (path.relative_to(SRC).as_posix(), node)
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any("dataclass" in ast.unparse(decorator) for decorator in node.decorator_list)
        )
    return found


def _needs_a_dataclass(node: ast.ClassDef) -> bool:
    """Whether one of the class's fields uses an option a Struct has no equivalent for."""
    for statement in node.body:
        value = statement.value if isinstance(statement, ast.AnnAssign) else None
        if (
            isinstance(value, ast.Call)
            and ast.unparse(value.func).endswith("field")
            and {keyword.arg for keyword in value.keywords} & FIELD_OPTIONS_A_STRUCT_LACKS
        ):
            return True
    return False


@pytest.mark.parametrize(
    ("module", "node"), _dataclasses(), ids=lambda value: getattr(value, "name", value)
)
def test_a_dataclass_is_used_only_where_a_struct_cannot_say_the_same(
    module: str, node: ast.ClassDef
) -> None:
    assert _needs_a_dataclass(node), (
        f"{module}: `{node.name}` is a dataclass whose fields a msgspec.Struct can hold as they "
        "are: declare it `class Name(msgspec.Struct, frozen=True, kw_only=True)`"
    )


def test_the_check_tells_the_two_kinds_apart() -> None:
    plain, guarded = ast.parse(
        "@dataclass(frozen=True)\nclass A:\n    x: int = field(default_factory=int)\n"
        "@dataclass(frozen=True)\nclass B:\n    secret: str = field(repr=False)\n"
    ).body
    assert isinstance(plain, ast.ClassDef)
    assert isinstance(guarded, ast.ClassDef)
    assert not _needs_a_dataclass(plain)
    assert _needs_a_dataclass(guarded)


def test_records_compare_hash_and_refuse_changes_as_the_dataclasses_did() -> None:
    from pipfence.models.decision import Parent
    from pipfence.models.sources import Source

    source = Source(name="corp", url="https://corp.example/simple", verify_ssl=True)
    again = Source(name="corp", url="https://corp.example/simple", verify_ssl=True)
    assert source == again
    assert hash(source) == hash(again)
    assert source != msgspec.structs.replace(source, name="other")
    with pytest.raises(AttributeError):
        source.name = "other"  # type: ignore[misc]  # frozen: what the test is about
    assert isinstance(source, msgspec.Struct)
    assert issubclass(Parent, msgspec.Struct)
