"""Editing the Pipfile keeps what the user wrote."""

from __future__ import annotations

from pipfence.models.names import NormalizedName
from pipfence.models.pipfile import Pipfile
from pipfence.models.sources import Source
from pipfence.project.pipfile_edit import PipfileEditor

TEXT = """\
# Our service's dependencies.
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
# web framework, keep below 4
Django = "<4"   # LTS
requests = {version = "*", extras = ["socks"]}

[dev-packages]
pytest = "*"
"""


def test_unchanged_round_trip_is_identical() -> None:
    assert PipfileEditor(TEXT).text() == TEXT


def test_adding_a_package_keeps_comments_and_order() -> None:
    editor = PipfileEditor(TEXT)
    editor.set_package("packages", "flask", {"version": "*", "index": "pypi"})
    text = editor.text()
    assert text.startswith(TEXT.split("[dev-packages]", maxsplit=1)[0].rstrip("\n")[:200])
    assert "# web framework, keep below 4" in text
    assert 'Django = "<4"   # LTS' in text
    assert 'flask = {version = "*", index = "pypi"}' in text
    assert text.index("Django") < text.index("flask") < text.index("[dev-packages]")


def test_replacing_keeps_the_users_spelling_and_place() -> None:
    editor = PipfileEditor(TEXT)
    editor.set_package("packages", "django", ">=4.2")
    text = editor.text()
    assert 'Django = ">=4.2"' in text
    assert "django =" not in text


def test_removing_and_new_tables() -> None:
    editor = PipfileEditor(TEXT)
    assert editor.remove_package("packages", "DJANGO")
    assert not editor.remove_package("packages", "absent")
    editor.set_package("docs", "sphinx", "*")
    parsed = Pipfile.parse(editor.text())
    assert NormalizedName("django") not in parsed.categories["packages"]
    assert NormalizedName("sphinx") in parsed.categories["docs"]
    assert "# web framework, keep below 4" in editor.text()


def test_first_added_source_keeps_pypi_the_default() -> None:
    editor = PipfileEditor('# top comment\n[packages]\nrequests = "*"\n')
    editor.add_source(Source(name="corp", url="https://corp.example/simple"))
    parsed = Pipfile.parse(editor.text())
    assert [s.name for s in parsed.sources] == ["pypi", "corp"]
    assert "# top comment" in editor.text()


def test_added_source_goes_after_existing_ones() -> None:
    editor = PipfileEditor(TEXT)
    editor.add_source(Source(name="corp", url="https://corp.example/simple"))
    parsed = Pipfile.parse(editor.text())
    assert [s.name for s in parsed.sources] == ["pypi", "corp"]


def test_added_source_is_followed_by_a_blank_line() -> None:
    editor = PipfileEditor(TEXT)
    editor.add_source(Source(name="corp", url="https://corp.example/simple"))
    assert 'name = "corp"\n\n[packages]' in editor.text()


APART = """\
[packages]
requests = "*"

[dev-packages]
pytest = "*"  # runner

[packages.acme]
version = "*"
index = "private"  # never from PyPI
"""


def test_a_table_whose_parts_are_apart_is_edited_in_its_parts() -> None:
    editor = PipfileEditor(APART)
    editor.set_package("packages", "flask", "*")
    assert editor.text() == APART.replace('requests = "*"\n', 'requests = "*"\nflask = "*"\n')
    assert editor.remove_package("packages", "ACME")
    assert editor.text() == (
        '[packages]\nrequests = "*"\nflask = "*"\n\n[dev-packages]\npytest = "*"  # runner\n\n'
    )


def test_update_package_edits_a_sub_table_apart_from_its_table() -> None:
    editor = PipfileEditor(APART)
    assert editor.update_package("packages", "Acme", version=">=2", extras=["cli"]) is False
    assert editor.text() == APART.replace(
        'version = "*"\nindex = "private"  # never from PyPI\n',
        'version = ">=2"\nindex = "private"  # never from PyPI\nextras = ["cli"]\n',
    )


def test_update_package_keeps_a_dotted_entry_dotted() -> None:
    text = '[packages]\nacme.version = "*"  # why\nacme.index = "private"\nb = "*"\n'
    editor = PipfileEditor(text)
    assert editor.update_package("packages", "Acme", version="==1.0") is False
    assert editor.update_package("packages", "new", index="private") is True
    assert editor.text() == (
        '[packages]\nacme.version = "==1.0"  # why\nacme.index = "private"\nb = "*"\n'
        'new = {version = "*", index = "private"}\n'
    )


def test_sub_tables_become_inline_and_a_new_entry_goes_after_the_last_one() -> None:
    text = (
        '[packages]\nsix = "*"\n\n# the sub-tables\n[packages.a]\nversion = "*"  # any\n\n'
        '[packages.b]\nversion = "1"\n\n[dev-packages]\nx = "*"\n'
    )
    editor = PipfileEditor(text)
    editor.inline_sub_tables("packages")
    editor.update_package("packages", "mid")
    assert editor.text() == (
        '[packages]\nsix = "*"\na = {version = "*"}  # any\nb = {version = "1"}\nmid = "*"\n\n'
        '# the sub-tables\n[dev-packages]\nx = "*"\n'
    )
    editor.sort_table("packages")  # the document stays consistent after the inserts
    assert editor.text().startswith(
        '[packages]\na = {version = "*"}  # any\nb = {version = "1"}\nmid = "*"\nsix = "*"\n'
    )
