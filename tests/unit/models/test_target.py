"""Target: marker evaluation, requires-python, tag ranking, and retargeting the running Python."""

from __future__ import annotations

import sys

import pytest
from packaging.markers import InvalidMarker, Marker
from packaging.tags import Tag, parse_tag
from packaging.version import Version

from pipfence.models.target import Target

RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def make(python: str = "3.11.7", **environment: str) -> Target:
    env = {
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        **environment,
    }
    tags = (
        Tag("cp311", "cp311", "manylinux_2_17_x86_64"),
        Tag("cp311", "abi3", "manylinux_2_17_x86_64"),
        Tag("py3", "none", "any"),
    )
    return Target(environment=env, python_version=Version(python), tags=tags)


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        (None, True),
        ("", True),
        ("sys_platform == 'linux'", True),
        ("sys_platform == 'win32'", False),
        ("python_version >= '3.11' and os_name == 'posix'", True),
        ("python_full_version < '3.11.7'", False),
        ("platform_machine == 'x86_64' or platform_system == 'Windows'", True),
        ("extra == 'socks'", False),
    ],
)
def test_evaluate(marker: str | None, expected: bool) -> None:
    assert make().evaluate(marker) is expected


def test_evaluate_uses_only_the_target_values() -> None:
    windows = make(sys_platform="win32", platform_system="Windows", os_name="nt")
    assert windows.evaluate("sys_platform == 'win32' and os_name == 'nt'")
    assert make("3.8.10").evaluate("python_version < '3.9'")


def test_evaluate_with_extras() -> None:
    target = make()
    assert target.evaluate("extra == 'socks'", ["socks"])
    assert target.evaluate('extra == "Socks_Proxy"', ["socks-proxy"])  # PEP 685 normalisation
    assert target.evaluate("extra == 'b'", ["a", "b"])
    assert not target.evaluate("extra == 'b' and sys_platform == 'win32'", ["b"])
    assert target.evaluate(Marker("extra == 'a'"), ("a",))


def test_evaluate_rejects_bad_markers() -> None:
    with pytest.raises(InvalidMarker):
        make().evaluate("sys_platform ==")


@pytest.mark.parametrize(
    ("requires_python", "expected"),
    [
        (None, True),
        ("", True),
        (">=3.8", True),
        (">=3.12", False),
        ("<3.11.7", False),
        ("~=3.11.0", True),
        ("not a specifier", True),  # pip ignores what it cannot parse
    ],
)
def test_allows_python(requires_python: str | None, expected: bool) -> None:
    assert make().allows_python(requires_python) is expected


def test_a_prerelease_python_is_admitted() -> None:
    assert make("3.13.0rc1").allows_python(">=3.13")


def test_tag_rank() -> None:
    target = make()
    assert target.tag_rank(parse_tag("py3-none-any")) == 2
    assert target.tag_rank(parse_tag("cp311-abi3-manylinux_2_17_x86_64")) == 1
    assert target.tag_rank(parse_tag("py2.py3-none-any")) == 2
    assert target.tag_rank(parse_tag("cp311-cp311-win_amd64")) is None
    assert target.tag_rank(parse_tag("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")) == 0


def test_target_is_frozen() -> None:
    target = make()
    with pytest.raises(AttributeError):
        target.python_version = Version("3.12")  # type: ignore[misc]
    with pytest.raises(TypeError):
        target.environment["sys_platform"] = "win32"  # type: ignore[index]


def test_current_describes_the_running_interpreter() -> None:
    target = Target.current()
    assert target.environment["python_version"] == RUNNING
    assert target.python_version == Version(target.environment["python_full_version"])
    assert target.environment["sys_platform"] == sys.platform
    assert target.tags
    assert target.tag_rank(parse_tag("py3-none-any")) is not None


def test_current_retargets_another_minor_version() -> None:
    target = Target.current(python_version="3.9")
    assert target.environment["python_version"] == "3.9"
    assert target.environment["python_full_version"] == "3.9.0"
    assert target.python_version == Version("3.9.0")
    assert target.environment["sys_platform"] == sys.platform  # the platform stays current
    interpreters = {tag.interpreter for tag in target.tags}
    assert f"cp{sys.version_info.major}{sys.version_info.minor}" not in interpreters
    assert "py39" in interpreters
    assert target.tag_rank(parse_tag("py3-none-any")) is not None
    if sys.implementation.name == "cpython":
        assert target.tags[0].interpreter == "cp39"
        assert (
            target.tag_rank(parse_tag("cp39-abi3-manylinux_2_17_x86_64")) is not None
            or sys.platform != "linux"
        )


def test_current_uses_the_running_full_version_for_the_same_minor() -> None:
    target = Target.current(python_version=RUNNING)
    assert target.python_version == Version(".".join(map(str, sys.version_info[:3])))


def test_current_with_a_full_version() -> None:
    target = Target.current(python_full_version="3.12.4")
    assert target.environment["python_version"] == "3.12"
    assert target.environment["python_full_version"] == "3.12.4"
    assert target.python_version == Version("3.12.4")
    both = Target.current(python_version="3.12", python_full_version="3.12.4")
    assert both.python_version == Version("3.12.4")


def test_current_takes_a_full_version_written_as_python_version() -> None:
    target = Target.current(python_version="3.10.2")
    assert target.environment["python_version"] == "3.10"
    assert target.python_version == Version("3.10.2")


@pytest.mark.parametrize(
    ("python_version", "python_full_version"),
    [("three", None), (None, "3.x")],
)
def test_current_rejects_bad_versions(
    python_version: str | None, python_full_version: str | None
) -> None:
    with pytest.raises(ValueError, match="python"):
        Target.current(python_version=python_version, python_full_version=python_full_version)


def test_python_full_version_wins_over_a_disagreeing_python_version() -> None:
    target = Target.current(python_version="3.11", python_full_version="3.12.1")
    assert target.python_version == Version("3.12.1")
    assert target.environment["python_version"] == "3.12"


@pytest.mark.parametrize(
    ("interpreter", "full"),
    [("3.9.18", "3.9.18"), ("3.10.2", "3.9.0"), (None, "3.9.0"), ("junk", "3.9.0")],
)
def test_a_minor_version_resolves_for_the_interpreter_that_will_be_used(
    interpreter: str | None, full: str
) -> None:
    target = Target.current(python_version="3.9", interpreter=interpreter)
    assert target.python_version == Version(full)


@pytest.mark.parametrize(
    ("interpreter", "full"),
    [
        ("3.12.4", "3.12.4"),  # the environment's Python, when it is a Python 3
        (None, ".".join(map(str, sys.version_info[:3]))),  # else this one
        ("2.7.18", ".".join(map(str, sys.version_info[:3]))),
    ],
)
def test_a_major_version_alone_means_any_python_of_it(interpreter: str | None, full: str) -> None:
    # `python_version = "3"` is any Python 3 (pipenv finds one), never Python 3.0.
    target = Target.current(python_version="3", interpreter=interpreter)
    assert target.python_version == Version(full)
    assert target.environment["python_version"] == ".".join(full.split(".")[:2])
