"""`install` arguments: requirement or direct reference, as pip tells them apart."""

from __future__ import annotations

import pytest
from packaging.requirements import InvalidRequirement, Requirement

from pipfence.errors import UsageError
from pipfence.models.references import Reference, parse_install_argument, relative_location


@pytest.mark.parametrize(
    ("argument", "editable", "expected"),
    [
        (".", False, Reference(kind="path", location=".")),
        (".[dev]", True, Reference(kind="path", location=".", extras=("dev",), editable=True)),
        ("./a b/pkg", False, Reference(kind="path", location="./a b/pkg")),
        ("/x/pkg[a, b]", False, Reference(kind="path", location="/x/pkg", extras=("a", "b"))),
        ("pkg", True, Reference(kind="path", location="pkg", editable=True)),
        ("six-1.0.tar.gz", False, Reference(kind="path", location="six-1.0.tar.gz")),
        ("../six-1.0-py3-none-any.whl", False,
         Reference(kind="path", location="../six-1.0-py3-none-any.whl")),
        ("file:///t/a%20b/six-1.0-py3-none-any.whl", False,
         Reference(kind="file", location="file:///t/a b/six-1.0-py3-none-any.whl")),
        ("https://h/p/x-1.0.tar.gz#egg=x&subdirectory=s", False,
         Reference(kind="file", location="https://h/p/x-1.0.tar.gz", name="x")),
        ("fastapi[standard]@https://h/fastapi-0.1-py3-none-any.whl", False,
         Reference(kind="file", location="https://h/fastapi-0.1-py3-none-any.whl",
                   name="fastapi", extras=("standard",))),
        ("six @ file:///t/six-1.0.tar.gz", False,
         Reference(kind="file", location="file:///t/six-1.0.tar.gz", name="six")),
    ],
)  # fmt: skip
def test_references(argument: str, editable: bool, expected: Reference) -> None:
    assert parse_install_argument(argument, editable=editable) == expected


@pytest.mark.parametrize("argument", ["requests", "requests[socks]>=2", "simple_package", "a.b"])
def test_requirements_stay_requirements(argument: str) -> None:
    parsed = parse_install_argument(argument)
    assert isinstance(parsed, Requirement)
    assert str(parsed) == str(Requirement(argument))


@pytest.mark.parametrize(
    ("argument", "editable", "message"),
    [
        ("git+https://h/r.git#egg=r", False, "version-control URL"),
        ("r @ git+https://h/r.git", False, "version-control URL"),
        ("https://h/x-1.0.tar.gz", True, "`-e` installs a folder"),
        ("x @ https://h/x-1.0.whl ; os_name == 'nt'", False, "marker"),
        ("./pkg[bad extra]", False, "not valid"),
        ("", False, "empty"),
    ],
)
def test_refused(argument: str, editable: bool, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_install_argument(argument, editable=editable)


def test_neither_is_the_requirement_error() -> None:
    with pytest.raises(InvalidRequirement):
        parse_install_argument("=>2")


@pytest.mark.parametrize(
    ("target", "base", "expected"),
    [
        ("/p", "/p", "."),
        ("/p/libs/x", "/p", "./libs/x"),
        ("/q/x.whl", "/p", "../q/x.whl"),
        ("/x", "/a/b", "../../x"),
    ],
)
def test_relative_location(target: str, base: str, expected: str) -> None:
    assert relative_location(target, base) == expected


def test_filename() -> None:
    assert Reference(kind="file", location="https://h/x-1.0.whl?a=1").filename == "x-1.0.whl"
    assert Reference(kind="path", location="./src").filename is None
