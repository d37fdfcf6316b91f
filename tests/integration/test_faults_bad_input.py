"""Bad input fails with exit 2, one error line naming the file, no traceback, nothing written
and nothing asked of the index: malformed Pipfiles, corrupt locks, invalid package names, unknown
index names and an impossible Python version, through lock, install and sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.project import (
    assert_refused,
    file_bytes,
    one_source_pipfile,
    out,
    read_lock,
    source_table,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer

pytestmark = pytest.mark.integration


@pytest.fixture
def env(pipfence_env: dict[str, str]) -> dict[str, str]:
    return {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", "PIPFENCE_RETRIES": "1"}


BAD_PIPFILES: dict[str, str] = {
    "invalid-toml": '{src}[packages\npayload = "*"\n',
    "unclosed-string": '{src}[packages]\npayload = "*\n',
    "duplicate-key": '{src}[packages]\npayload = "*"\npayload = "==1.0"\n',
    "packages-not-a-table": "packages = 3\n{src}",
    "entry-wrong-type": "{src}[packages]\npayload = true\n",
    "entry-list": '{src}[packages]\npayload = ["*"]\n',
    "bad-specifier": '{src}[packages]\npayload = ">>1"\n',
    "bad-version-key": '{src}[packages]\npayload = {{version = "latest please"}}\n',
    "bad-marker": '{src}[packages]\npayload = {{version = "*", markers = "python_version >>> 3"}}\n',
    "index-not-a-string": '{src}[packages]\npayload = {{version = "*", index = 1}}\n',
    "unknown-index": '{src}[packages]\npayload = {{version = "*", index = "nosuch"}}\n',
    "source-without-url": '[[source]]\nname = "corp"\nverify_ssl = false\n\n[packages]\npayload = "*"\n',
    "source-not-http": '[[source]]\nurl = "ftp://127.0.0.1/simple"\nverify_ssl = false\n'
    'name = "corp"\n\n[packages]\npayload = "*"\n',
    "duplicate-source-names": '{src}{src}[packages]\npayload = "*"\n',
    "invalid-package-name": '{src}[packages]\n"../evil" = "*"\n',
    # Names that case-insensitive Unicode matching took for ASCII (LONG S as `s`, KELVIN SIGN as
    # `k`) and a key whose trailing newline `$` let through: valid to the old check, rejected
    # later by the requirement parser as "a bug".
    "name-long-s": '{src}[packages]\n"\u017fecret" = "*"\n',
    "name-kelvin-sign": '{src}[packages]\n"\u212aelvin" = "*"\n',
    "name-trailing-newline": '{src}[packages]\n"payload\\n" = "*"\n',
    "extra-not-a-name": '{src}[packages]\npayload = {{version = "*", extras = ["a b"]}}\n',
    "specifier-empty-clause": '{src}[packages]\npayload = ">=1,,"\n',
    "specifier-200000-commas": '{src}[packages]\npayload = ">=1' + "," * 200_000 + '"\n',
    "nested-100000-deep": "{src}[packages]\npayload = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "requires-not-a-table": 'requires = "3.11"\n{src}[packages]\npayload = "*"\n',
    "python-version-garbage": '{src}[requires]\npython_version = "three"\n[packages]\npayload = "*"\n',
    "not-utf8": "BINARY",
}


def _write_bad_pipfile(project: Path, case: str, url: str) -> bytes:
    if case == "not-utf8":
        data = b'[packages]\npayload = "\xff\xfe\x00*"\n'
    else:
        data = BAD_PIPFILES[case].format(src=source_table("corp", url), url=url).encode()
    (project / "Pipfile").write_bytes(data)
    return data


@pytest.mark.parametrize("command", [["lock"], ["install"], ["sync"], ["install", "payload"]])
@pytest.mark.parametrize("case", sorted(BAD_PIPFILES))
def test_malformed_pipfile_is_refused_with_nothing_written(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    case: str,
    command: list[str],
) -> None:
    fault_server.add_project("payload", [dist_factory.wheel("payload", "1.0")])
    if command == ["sync"]:  # sync needs a lock: a good one, made before the Pipfile broke
        (pipfence_project / "Pipfile").write_text(
            one_source_pipfile(fault_server.simple_url), encoding="utf-8"
        )
        assert cli(["lock"]).returncode == 0
        fault_server.clear()
    _write_bad_pipfile(pipfence_project, case, fault_server.simple_url)
    before = file_bytes(pipfence_project)
    result = cli(command)
    assert_refused(result, "Pipfile")
    assert "Pipfile.lock: does not exist" not in result.stderr
    assert file_bytes(pipfence_project) == before
    assert not (pipfence_project / ".venv").exists()
    assert fault_server.requests == []


@pytest.mark.parametrize(
    "command",
    [
        ["lock"],
        ["install"],
    ],
)
def test_python_version_that_cannot_exist_is_a_clear_error(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    command: list[str],
) -> None:
    fault_server.add_project("payload", [dist_factory.wheel("payload", "1.0")])
    (pipfence_project / "Pipfile").write_text(
        source_table("corp", fault_server.simple_url)
        + '[requires]\npython_version = "2.5"\n\n[packages]\npayload = "*"\n',
        encoding="utf-8",
    )
    before = file_bytes(pipfence_project)
    result = cli(command)
    assert_refused(result, "2.5")
    assert file_bytes(pipfence_project) == before
    assert not (pipfence_project / ".venv").exists()


# -- corrupt locks ------------------------------------------------------------------------------


def _good_lock(cli: RunPipfence, project: Path, server: FaultServer, factory: DistFactory) -> Any:
    server.add_project("payload", [factory.wheel("payload", "1.0")])
    (project / "Pipfile").write_text(one_source_pipfile(server.simple_url), encoding="utf-8")
    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    return read_lock(project)


#: Corrupt locks that are not JSON objects, made from the good lock's text.
_NOT_A_LOCK: dict[str, Callable[[str], bytes]] = {
    "empty": lambda _text: b"",
    "truncated": lambda text: text[: len(text) // 2].encode(),
    "not-json": lambda _text: b"this is not a lock\n",
    "not-utf8": lambda _text: b"\xff\xfe{\x00",
    "json-list": lambda _text: b"[]\n",
    "nested-100000-deep": lambda _text: (
        b'{"_meta": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}\n"
    ),
}
#: Corrupt locks made by setting one value of the good lock: the keys down to it, its value.
_ONE_VALUE: dict[str, tuple[tuple[str, ...], Any]] = {
    "default-not-a-table": (("default",), ["payload==1.0"]),
    "hashes-not-a-list": (("default", "payload", "hashes"), "sha256:abc"),
    "hash-not-sha256": (
        ("default", "payload", "hashes"),
        ["md5:d41d8cd98f00b204e9800998ecf8427e"],
    ),
    "version-not-pinned": (("default", "payload", "version"), ">=1.0"),
    "version-garbage": (("default", "payload", "version"), "==not a version"),
    "entry-not-a-table": (("default", "payload"), "==1.0"),
    "sources-not-a-list": (("_meta", "sources"), {"name": "corp"}),
    "bad-marker": (("default", "payload", "markers"), "python_version >>> '3'"),
}
#: Corrupt locks made by renaming the good lock's package.
_RENAMED = {"bad-package-name": "../evil", "non-ascii-name": "\u017fecret"}


def _corrupt(case: str, good: Any) -> bytes:
    text = json.dumps(good, indent=4) + "\n"
    if case in _NOT_A_LOCK:
        return _NOT_A_LOCK[case](text)
    data = json.loads(text)
    if case == "no-meta":
        del data["_meta"]
    elif case in _RENAMED:
        data["default"][_RENAMED[case]] = data["default"].pop("payload")
    else:
        keys, value = _ONE_VALUE[case]
        holder = data
        for key in keys[:-1]:
            holder = holder[key]
        holder[keys[-1]] = value
    return (json.dumps(data, indent=4) + "\n").encode()


CORRUPT_LOCKS = [
    "empty",
    "truncated",
    "not-json",
    "not-utf8",
    "json-list",
    "no-meta",
    "default-not-a-table",
    "hashes-not-a-list",
    "hash-not-sha256",
    "version-not-pinned",
    "version-garbage",
    "entry-not-a-table",
    "bad-package-name",
    "sources-not-a-list",
    "bad-marker",
    "non-ascii-name",
    "nested-100000-deep",
]


@pytest.mark.parametrize("command", [["sync"], ["install", "--deploy"]])
@pytest.mark.parametrize("case", list(CORRUPT_LOCKS))
def test_corrupt_lock_is_refused_with_nothing_written(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    case: str,
    command: list[str],
) -> None:
    good = _good_lock(cli, pipfence_project, fault_server, dist_factory)
    (pipfence_project / "Pipfile.lock").write_bytes(_corrupt(case, good))
    before = file_bytes(pipfence_project)
    fault_server.clear()
    result = cli(command)
    assert_refused(result, "Pipfile.lock")
    assert file_bytes(pipfence_project) == before
    assert not list((pipfence_project / ".venv").glob("lib/python*/site-packages/payload*"))
    assert [p for p in fault_server.paths() if p.startswith("/files/")] == []


@pytest.mark.parametrize(
    "command", [["install", "extra"], ["uninstall", "payload"], ["update", "payload"]]
)
@pytest.mark.parametrize("case", ["not-json", "default-not-a-table"])
def test_an_edit_refuses_a_corrupt_lock_instead_of_relocking_everything(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    case: str,
    command: list[str],
) -> None:
    """A merge conflict left in Pipfile.lock, then `install NEW`: the lock's other pins must
    not silently move to their newest versions."""
    good = _good_lock(cli, pipfence_project, fault_server, dist_factory)
    fault_server.add_project("extra", [dist_factory.wheel("extra", "1.0")])
    (pipfence_project / "Pipfile.lock").write_bytes(_corrupt(case, good))
    before = file_bytes(pipfence_project)
    result = cli(command)
    assert_refused(result, "Pipfile.lock")
    assert file_bytes(pipfence_project) == before


@pytest.mark.parametrize("case", CORRUPT_LOCKS)
def test_lock_replaces_a_corrupt_lock_with_a_whole_new_one(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    case: str,
) -> None:
    """`lock` does not need the old lock: it writes a fresh, valid one (as pipenv does)."""
    good = _good_lock(cli, pipfence_project, fault_server, dist_factory)
    expected = (pipfence_project / "Pipfile.lock").read_bytes()
    (pipfence_project / "Pipfile.lock").write_bytes(_corrupt(case, good))
    result = cli(["lock"])
    assert result.returncode == 0, out(result)
    assert (pipfence_project / "Pipfile.lock").read_bytes() == expected


# -- names on the command line --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a b",
        "x/../../y",
        "/abs/path/name",
        "foo;rm -rf",
        "-",
        "pay load==1.0",
        "ä-pkg",
        "\u017fecret",
        "\u212aelvin",
        "payload>=1,,",
        "payload[a b]",
        "payload>=1" + "," * 5000,
    ],
)
def test_invalid_package_names_in_install_are_refused(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    name: str,
) -> None:
    fault_server.add_project("payload", [dist_factory.wheel("payload", "1.0")])
    (pipfence_project / "Pipfile").write_text(
        one_source_pipfile(fault_server.simple_url), encoding="utf-8"
    )
    before = file_bytes(pipfence_project)
    result = cli(["install", name])
    assert_refused(result, "")
    assert file_bytes(pipfence_project) == before
    assert fault_server.requests == []


@pytest.mark.parametrize("command", [["install", "payload", "--index=nosuch"], ["lock"]])
def test_unknown_index_name_lists_the_valid_ones(
    cli: RunPipfence,
    pipfence_project: Path,
    fault_server: FaultServer,
    command: list[str],
) -> None:
    packages = '[packages]\nother = {version = "*", index = "nosuch"}\n'
    if command[0] == "install":
        packages = "[packages]\n"
    (pipfence_project / "Pipfile").write_text(
        source_table("corp", fault_server.simple_url) + packages, encoding="utf-8"
    )
    before = file_bytes(pipfence_project)
    result = cli(command)
    assert result.returncode == 2, out(result)
    assert "`nosuch`" in result.stderr
    assert "`corp`" in result.stderr
    assert "Traceback" not in result.stderr
    assert file_bytes(pipfence_project) == before
    assert fault_server.requests == []
