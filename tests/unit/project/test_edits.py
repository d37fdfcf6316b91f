"""Pipfile changes for `install PKG` / `uninstall PKG`, computed without writing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipfence.errors import PipfileError, UsageError
from pipfence.models.names import NormalizedName
from pipfence.models.pipfile import Pipfile
from pipfence.project.edits import add_packages, remove_packages

BASE = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[[source]]
url = "https://corp.example/simple/"
verify_ssl = true
name = "corp"

[packages]
requests = "*"  # keep this comment
"""


def add(arguments: list[str], *, index: str | None = None, table: str = "packages") -> Pipfile:
    change = add_packages(BASE, Pipfile.parse(BASE), arguments, table=table, index=index)
    assert "# keep this comment" in change.text
    return Pipfile.parse(change.text)


def test_plain_and_complex_requirements() -> None:
    pipfile = add(["flask>=3", "httpx[http2]", "colorama; sys_platform == 'win32'"])
    packages = pipfile.categories["packages"]
    assert packages[NormalizedName("flask")].version == ">=3"
    assert packages[NormalizedName("httpx")].extras == ("http2",)
    assert packages[NormalizedName("colorama")].markers == 'sys_platform == "win32"'


def test_index_by_name_and_by_existing_url() -> None:
    by_name = add(["internal"], index="corp")
    assert by_name.categories["packages"][NormalizedName("internal")].index == "corp"
    by_url = add(["internal"], index="https://corp.example/simple")
    assert [s.name for s in by_url.sources] == ["pypi", "corp"]
    assert by_url.categories["packages"][NormalizedName("internal")].index == "corp"


def test_new_url_adds_a_generated_source() -> None:
    pipfile = add(["torch"], index="https://download.pytorch.org/whl/cpu")
    assert [s.name for s in pipfile.sources] == ["pypi", "corp", "downloadpytorch"]
    assert pipfile.categories["packages"][NormalizedName("torch")].index == "downloadpytorch"


def test_credentials_in_a_new_url_become_placeholders() -> None:
    change = add_packages(
        BASE,
        Pipfile.parse(BASE),
        ["secret-lib"],
        table="packages",
        index="https://alice:canary-pw@private.example.com/simple",
    )
    assert "canary-pw" not in change.text
    assert "alice" not in change.text
    assert (
        "${PRIVATEEXAMPLE_USERNAME}:${PRIVATEEXAMPLE_PASSWORD}@private.example.com" in change.text
    )
    assert any("PRIVATEEXAMPLE_PASSWORD" in note for note in change.notes)
    assert not any("canary-pw" in note for note in change.notes)


def test_unknown_index_name_lists_valid_names() -> None:
    with pytest.raises((UsageError, PipfileError), match="`pypi`, `corp`"):
        add(["x"], index="nosuch")


def test_invalid_requirement_and_direct_url() -> None:
    with pytest.raises(UsageError, match="not a valid requirement"):
        add(["bad name!"])
    with pytest.raises(UsageError, match="direct URL"):
        add(["pkg @ https://example.com/pkg.whl"])


def test_remove_packages() -> None:
    change = remove_packages(BASE, Pipfile.parse(BASE), ["Requests"], tables=["packages"])
    assert NormalizedName("requests") not in Pipfile.parse(change.text).categories["packages"]
    with pytest.raises(UsageError, match="`absent` not found"):
        remove_packages(BASE, Pipfile.parse(BASE), ["absent"], tables=["packages"])


# -- an edit keeps every key of an existing entry that the command does not change --------------

SOURCES = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[[source]]
url = "https://private.example/simple/"
verify_ssl = true
name = "private"

"""


@dataclass(frozen=True)
class Edit:
    """`install ARGUMENTS [--index INDEX]` into `table` turns `before` into `after`; both are
    the Pipfile after its `[[source]]` tables."""

    before: str
    arguments: list[str]
    index: str | None
    after: str
    table: str = "packages"


KEEP_KEYS = {
    "inline-index-kept-without-specifier": Edit(
        '[packages]\nacme = {version = "*", index = "private"}\n',
        ["acme"],
        None,
        '[packages]\nacme = {version = "*", index = "private"}\n',
    ),
    "inline-index-kept-specifier-replaces-version": Edit(
        '[packages]\nacme = {version = "*", index = "private"}\n',
        ["acme>=1"],
        None,
        '[packages]\nacme = {version = ">=1", index = "private"}\n',
    ),
    "string-becomes-a-table-in-pipenvs-key-order": Edit(
        '[packages]\nacme = "==1.0"\nother = "*"\n',
        ["acme[socks]"],
        None,
        '[packages]\nacme = {extras = ["socks"], version = "==1.0"}\nother = "*"\n',
    ),
    "string-version-kept-without-specifier": Edit(
        '[packages]\nacme = "==1.0"  # tested with 1.0 only\nother = "*"\n',
        ["acme"],
        None,
        '[packages]\nacme = "==1.0"  # tested with 1.0 only\nother = "*"\n',
    ),
    "inline-version-kept-without-specifier": Edit(
        '[packages]\nacme = {version = "<3", index = "private"}\n',
        ["acme"],
        None,
        '[packages]\nacme = {version = "<3", index = "private"}\n',
    ),
    "markers-kept": Edit(
        '[packages]\nacme = {version = "*", markers = "sys_platform == \'linux\'"}\n',
        ["acme>=2"],
        None,
        '[packages]\nacme = {version = ">=2", markers = "sys_platform == \'linux\'"}\n',
    ),
    "marker-given-replaces-markers-keeps-index": Edit(
        '[packages]\nacme = {version = ">=1", index = "private", markers = "os_name == \'nt\'"}\n',
        ["acme; sys_platform == 'linux'"],
        None,
        '[packages]\nacme = {version = ">=1", index = "private", '
        'markers = "sys_platform == \\"linux\\""}\n',
    ),
    "marker-given-replaces-marker-shorthand": Edit(
        '[packages]\nacme = {version = "*", sys_platform = "== \'win32\'", index = "private"}\n',
        ["acme; os_name == 'nt'"],
        None,
        '[packages]\nacme = {version = "*", index = "private", markers = "os_name == \\"nt\\""}\n',
    ),
    # The extras named replace the entry's, as pipenv replaces them.
    "extras-given-replace-the-entrys": Edit(
        '[packages]\nacme = {version = "*", extras = ["socks"], index = "private"}\n',
        ["acme[use_chardet_on_py3]"],
        None,
        '[packages]\nacme = {version = "*", extras = ["use_chardet_on_py3"], index = "private"}\n',
    ),
    "extras-given-with-the-old-ones": Edit(
        '[packages]\nacme = {version = "*", extras = ["socks"], index = "private"}\n',
        ["acme[http2,socks]"],
        None,
        '[packages]\nacme = {version = "*", extras = ["http2", "socks"], index = "private"}\n',
    ),
    "extras-already-there-change-nothing": Edit(
        '[packages]\nacme = {version = "*", extras = ["Socks"], index = "private"}\n',
        ["acme[socks]"],
        None,
        '[packages]\nacme = {version = "*", extras = ["Socks"], index = "private"}\n',
    ),
    "extras-as-one-string-become-a-list": Edit(
        '[packages]\nacme = {version = "*", extras = "socks", index = "private"}\n',
        ["acme[http2]"],
        None,
        '[packages]\nacme = {version = "*", extras = ["http2"], index = "private"}\n',
    ),
    "editable-path-kept": Edit(
        '[packages]\nacme = {path = "./acme", editable = true}\n',
        ["acme"],
        None,
        '[packages]\nacme = {path = "./acme", editable = true}\n',
    ),
    "git-ref-subdirectory-kept": Edit(
        "[packages]\n"
        'acme = {git = "https://git.example/acme.git", ref = "v1.2", subdirectory = "py"}\n',
        ["acme"],
        None,
        "[packages]\n"
        'acme = {git = "https://git.example/acme.git", ref = "v1.2", subdirectory = "py"}\n',
    ),
    "other-keys-kept": Edit(
        '[packages]\nacme = {version = "*", index = "private", os_name = "!= \'nt\'", '
        "no_binary = true}\n",
        ["acme==1.0"],
        None,
        '[packages]\nacme = {version = "==1.0", index = "private", os_name = "!= \'nt\'", '
        "no_binary = true}\n",
    ),
    "inline-without-version-gets-one": Edit(
        '[packages]\nacme = {index = "private"}\n',
        ["acme~=1.0"],
        None,
        '[packages]\nacme = {index = "private", version = "~=1.0"}\n',
    ),
    "index-option-replaces-index-keeps-the-rest": Edit(
        '[packages]\nacme = {version = ">=1", index = "pypi", markers = "os_name == \'nt\'"}\n',
        ["acme"],
        "private",
        '[packages]\nacme = {version = ">=1", index = "private", markers = "os_name == \'nt\'"}\n',
    ),
    "index-option-by-url-on-a-string-entry-keeps-its-version-and-comment": Edit(
        '[packages]\n# the vendor build\nacme = "<2"  # 2.0 drops py3.11\nother = "*"\n',
        ["acme"],
        "https://private.example/simple",
        '[packages]\n# the vendor build\nacme = {version = "<2", index = "private"}  '
        '# 2.0 drops py3.11\nother = "*"\n',
    ),
    "name-matched-normalised-spelling-kept": Edit(
        '[packages]\nfoo-bar = {version = "*", index = "private"}\n',
        ["Foo_Bar>=2"],
        None,
        '[packages]\nfoo-bar = {version = ">=2", index = "private"}\n',
    ),
    "comments-around-inline-entry-survive": Edit(
        "[packages]\n"
        "# internal, never from PyPI\n"
        'acme = {version = "*", index = "private"}  # see SECURITY.md\n'
        "# end of the internal ones\n"
        'requests = "*"\n',
        ["acme[cli]"],
        None,
        "[packages]\n"
        "# internal, never from PyPI\n"
        'acme = {version = "*", index = "private", extras = ["cli"]}  # see SECURITY.md\n'
        "# end of the internal ones\n"
        'requests = "*"\n',
    ),
    # A sub-table of the table edited becomes an inline entry, as pipenv writes it; its keys,
    # values and comments are kept.
    "sub-table-becomes-inline": Edit(
        "[packages]\n"
        'requests = "*"\n\n'
        "# the internal client\n"
        "[packages.acme]\n"
        'version = "*"\n'
        'index = "private"  # never from PyPI\n'
        "editable = false\n\n"
        "[dev-packages]\n"
        'pytest = "*"\n',
        ["acme>=2"],
        None,
        "[packages]\n"
        'requests = "*"\n'
        'acme = {version = ">=2", index = "private", editable = false}  # never from PyPI\n\n'
        "# the internal client\n"
        "[dev-packages]\n"
        'pytest = "*"\n',
    ),
    "sub-table-gets-new-keys-at-its-end": Edit(
        '[packages.acme]\nversion = "*"\nindex = "private"\n\n[dev-packages]\n',
        ["acme[cli]; python_version >= '3.11'"],
        None,
        "[packages]\n"
        'acme = {version = "*", index = "private", extras = ["cli"], '
        'markers = "python_version >= \\"3.11\\""}\n\n'
        "[dev-packages]\n",
    ),
    "sub-table-apart-from-its-table": Edit(
        '[packages]\nrequests = "*"\n\n[dev-packages]\npytest = "*"\n\n'
        '[packages.acme]\nversion = "*"\nindex = "private"\n',
        ["acme==1.0", "new"],
        None,
        '[packages]\nrequests = "*"\nacme = {version = "==1.0", index = "private"}\nnew = "*"\n\n'
        '[dev-packages]\npytest = "*"\n',
    ),
    "other-table-takes-the-pin": Edit(
        '[packages]\nacme = {version = "*", index = "private"}\n\n[dev-packages]\npytest = "*"\n',
        ["acme[test]"],
        None,
        '[packages]\nacme = {version = "*", index = "private"}\n\n[dev-packages]\npytest = "*"\n'
        'acme = {extras = ["test"], version = "*", index = "private"}\n',
        table="dev-packages",
    ),
    "other-table-takes-the-pin-of-a-sub-table": Edit(
        '[dev-packages]\npytest = "*"\n\n[packages.acme]\nversion = "*"\nindex = "private"\n',
        ["acme"],
        None,
        '[dev-packages]\npytest = "*"\nacme = {version = "*", index = "private"}\n\n'
        '[packages.acme]\nversion = "*"\nindex = "private"\n',
        table="dev-packages",
    ),
}


@pytest.mark.parametrize("edit", KEEP_KEYS.values(), ids=KEEP_KEYS.keys())
def test_install_keeps_the_keys_it_does_not_change(edit: Edit) -> None:
    before = SOURCES + edit.before
    change = add_packages(
        before, Pipfile.parse(before), edit.arguments, table=edit.table, index=edit.index
    )
    assert change.text == SOURCES + edit.after
    Pipfile.parse(change.text).fence()  # still one valid Pipfile, one index per name


def test_two_tables_other_than_packages_may_pin_a_name_to_two_sources() -> None:
    text = SOURCES + '[packages]\n\n[cpu]\ntorch = {version = "*", index = "private"}\n'
    change = add_packages(text, Pipfile.parse(text), ["torch"], table="gpu", index="pypi")
    assert change.text.endswith('[gpu]\ntorch = {version = "*", index = "pypi"}\n')
    with pytest.raises(UsageError, match="pinned to index `private` in \\[cpu\\]"):
        add_packages(text, Pipfile.parse(text), ["torch"], table="packages", index="pypi")


def test_install_refuses_a_second_index_for_a_pinned_name() -> None:
    text = SOURCES + '[packages]\nacme = {version = "*", index = "private"}\n\n[dev-packages]\n'
    with pytest.raises(UsageError, match="pinned to index `private` in \\[packages\\]"):
        add_packages(text, Pipfile.parse(text), ["acme"], table="dev-packages", index="pypi")


@dataclass(frozen=True)
class Removal:
    """`uninstall NAMES` from `tables` turns `before` into `after` (after the sources)."""

    before: str
    names: list[str]
    tables: list[str]
    after: str


REMOVALS = {
    "pin-moves-to-the-entry-left-in-another-table": Removal(
        '[packages]\nacme = {version = "*", index = "private"}\nother = "*"\n\n'
        '[dev-packages]\nacme = ">=1"  # the test extra\n',
        ["acme"],
        ["packages"],
        '[packages]\nother = "*"\n\n'
        '[dev-packages]\nacme = {version = ">=1", index = "private"}  # the test extra\n',
    ),
    "pin-moves-into-a-sub-table-left-which-becomes-inline": Removal(
        '[packages]\nacme = {version = "*", index = "private"}\n\n'
        '[dev-packages.acme]\nversion = "*"\nmarkers = "os_name == \'posix\'"\n',
        ["ACME"],
        ["packages"],
        "[packages]\n\n"
        "[dev-packages]\n"
        'acme = {version = "*", markers = "os_name == \'posix\'", index = "private"}\n',
    ),
    "sub-table-apart-from-its-table-is-removed": Removal(
        '[packages]\nrequests = "*"\n\n[dev-packages]\npytest = "*"  # runner\n\n'
        '[packages.acme]\nversion = "*"\nindex = "private"\n',
        ["acme"],
        ["packages"],
        '[packages]\nrequests = "*"\n\n[dev-packages]\npytest = "*"  # runner\n\n',
    ),
}


@pytest.mark.parametrize("removal", REMOVALS.values(), ids=REMOVALS.keys())
def test_uninstall_keeps_the_pin_and_the_other_entries(removal: Removal) -> None:
    before = SOURCES + removal.before
    change = remove_packages(before, Pipfile.parse(before), removal.names, tables=removal.tables)
    assert change.text == SOURCES + removal.after
    Pipfile.parse(change.text).fence()
