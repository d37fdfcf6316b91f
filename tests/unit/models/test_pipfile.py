"""The Pipfile model: every entry form, the fence it declares, and errors with lines."""

from __future__ import annotations

import pytest

from pipfence.errors import PipfileError
from pipfence.models.names import NormalizedName
from pipfence.models.pipfile import Pipfile, pipfile_hash
from pipfence.models.sources import PYPI_SOURCE
from support import CASES_DIR

CORPUS = CASES_DIR / "pipfiles"


def parse(text: str) -> Pipfile:
    return Pipfile.parse(text, path="Pipfile")


def test_entry_forms() -> None:
    pipfile = Pipfile.parse((CORPUS / "markers_extras.toml").read_text(encoding="utf-8"))
    packages = pipfile.categories["packages"]
    requests = packages[NormalizedName("requests")]
    assert requests.version == ">=2.28"
    assert requests.extras == ("socks", "security")
    assert packages[NormalizedName("colorama")].markers == "sys_platform == 'win32'"
    uvloop = packages[NormalizedName("uvloop")].markers
    assert uvloop == "(sys_platform != 'win32') and (platform_python_implementation == 'CPython')"
    assert NormalizedName("zope-interface") in packages
    assert pipfile.requires == {"python_full_version": "3.11.7"}


def test_vcs_path_file_entries() -> None:
    pipfile = Pipfile.parse((CORPUS / "vcs_path_file.toml").read_text(encoding="utf-8"))
    packages = pipfile.categories["packages"]
    mylib = packages[NormalizedName("mylib")]
    assert (mylib.path, mylib.editable, mylib.is_named) == ("./libs/mylib", True, False)
    sub = packages[NormalizedName("sub")]
    assert (sub.vcs, sub.ref, sub.subdirectory) == ("git", "main", "pkgs/sub")
    assert packages[NormalizedName("archive")].file == "https://example.com/archive-1.0.tar.gz"
    assert pipfile.categories["dev-packages"][NormalizedName("black")].version == "==24.1.0"


def test_categories_and_settings() -> None:
    pipfile = Pipfile.parse((CORPUS / "categories.toml").read_text(encoding="utf-8"))
    assert list(pipfile.categories) == ["packages", "dev-packages", "docs", "tests"]
    settings = Pipfile.parse((CORPUS / "scripts_settings.toml").read_text(encoding="utf-8"))
    assert settings.setting("allow_prereleases") is True
    assert settings.setting("install_search_all_sources") is False
    assert settings.scripts["test"] == "pytest -q"
    assert settings.sources[0].verify_ssl is True


@pytest.mark.parametrize(
    ("entry", "version"),
    [
        ('"2.0.1"', "==2.0.1"),
        ('"1.*"', "==1.*"),
        ('"3.*"', "==3.*"),
        ("1.11", "==1.11"),
        ("2", "==2"),
        ('{version = 1.5, extras = ["x"]}', "==1.5"),
        ('{version = "2.*"}', "==2.*"),
        ('">=1,<2"', ">=1,<2"),
        ('"*"', "*"),
    ],
)
def test_bare_versions_numbers_and_wildcards_are_exact_pins(entry: str, version: str) -> None:
    pipfile = parse(f"[packages]\nflask = {entry}\n")
    assert pipfile.categories["packages"][NormalizedName("flask")].version == version


@pytest.mark.parametrize("entry", ['"1.*.1"', "true", '"abc"', "{version = true}", '"=>2"', '"v1"'])
def test_a_version_that_is_none_is_refused(entry: str) -> None:
    with pytest.raises(PipfileError, match="flask"):
        parse(f"[packages]\nflask = {entry}\n")


def test_default_source_is_pypi_when_none_declared() -> None:
    pipfile = parse('[packages]\nrequests = "*"\n')
    assert pipfile.effective_sources == (PYPI_SOURCE,)
    assert pipfile.fence().default == PYPI_SOURCE


def test_fence_from_pins() -> None:
    pipfile = Pipfile.parse((CORPUS / "pinned_indexes.toml").read_text(encoding="utf-8"))
    fence = pipfile.fence()
    assert fence.source_for(NormalizedName("torch")).name == "pytorch"
    assert fence.source_for(NormalizedName("numpy")).name == "pypi"


def test_misspelled_index_names_line_and_valid_names() -> None:
    text = (CORPUS / "pinned_indexes.toml").read_text(encoding="utf-8")
    pipfile = parse(text.replace('index="pytorch"', 'index="pytoch"'))
    with pytest.raises(PipfileError) as info:
        pipfile.fence()
    message = str(info.value)
    assert message.startswith("Pipfile:14:")
    assert "`pytoch`" in message
    assert "`pypi`, `pytorch`" in message


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('[packages]\nrequests = "*"\n[packages\n', 3, "invalid TOML"),
        ('[packages]\nrequests = "*"\nrequests = "*"\n', 3, "invalid TOML"),
        ("[packages]\na = 1\n[packages]\n", 3, "invalid TOML"),
        (
            (
                '[[source]]\nurl = "https://a/simple"\nname = "x"\n\n'
                '[[source]]\nurl = "https://b/simple"\nname = "x"\n'
            ),
            5,
            "two [[source]] tables are named `x`",
        ),
        ('[packages]\nrequests = ">=2..0"\n', 2, "`>=2..0` is not a valid version specifier"),
        ('[packages]\n"../x" = "*"\n', 2, "`../x` is not a valid package name"),
        ('[packages]\n"my pkg" = "*"\n', 2, "`my pkg` is not a valid package name"),
        ('[packages]\nRequests = "*"\nrequests = "*"\n', 3, "`requests` appears twice"),
        (
            '[packages]\nx = {version = "*", markers = "os_nme == 1"}\n',
            2,
            "not a valid environment marker",
        ),
        ("[packages]\nx = true\n", 2, "must be a string or an inline table"),
        ('[[source]]\nname = "x"\n', 1, "a [[source]] needs a `url`"),
        ("[requires]\npython_version = 3.11\n", 2, "python_version must be a version string"),
        ('packages = "x"\n', None, "[packages] must be a table"),
        ('[packages]\n"\u017fecret" = "*"\n', 2, "`\\u017fecret` is not a valid package name"),
        ('[packages]\n"\u212aelvin" = "*"\n', 2, "`\\u212aelvin` is not a valid package name"),
        ('[packages]\n"x\\n" = "*"\n', None, "`x\\n` is not a valid package name"),
        ('[packages]\nx = ">=1,,"\n', 2, "`>=1,,` is not a valid version specifier"),
        ('[packages]\nx = ">=1,,<2"\n', 2, "`>=1,,<2` is not a valid version specifier"),
        ('[packages]\nx = ",>=1"\n', 2, "`,>=1` is not a valid version specifier"),
        ('[packages]\nx = ">=1' + "," * 200_000 + '"\n', 2, "200003 characters long"),
        ('[packages]\nx = {extras = ["a b"]}\n', 2, "`a b` in `extras` of `x`"),
        ('[packages]\nx = {extras = ["\u017f"]}\n', 2, "`\\u017f` in `extras` of `x`"),
        ("[packages]\nx = " + "[" * 100_000 + "]" * 100_000 + "\n", None, "nested too deeply"),
        ("[packages]\nx = " + "{a=" * 100_000 + "1" + "}" * 100_000 + "\n", None, "too deeply"),
    ],
)
def test_bad_pipfiles_fail_with_file_line_and_key(
    text: str, line: int | None, fragment: str
) -> None:
    with pytest.raises(PipfileError) as info:
        Pipfile.parse(text, path="proj/Pipfile")
    message = str(info.value)
    assert message.startswith(f"proj/Pipfile:{line}:" if line else "proj/Pipfile:")
    assert fragment in message
    assert "\n" not in message


def test_every_accepted_entry_parses_as_a_requirement() -> None:
    pipfile = parse(
        '[packages]\nA = ">=1,<2"\n"b.c_d" = {version = "==1.*", extras = ["x-y"], '
        "markers = \"os_name == 'posix'\", sys_platform = \"!= 'win32'\"}\n"
    )
    for _table, spec in pipfile.iter_specs():
        assert spec.requirement().name == spec.name


def test_a_long_comma_run_is_refused_by_its_length() -> None:
    """Refused for its length, before any specifier parsing could backtrack over it."""
    with pytest.raises(PipfileError, match="characters long"):
        parse('[packages]\nx = "' + "," * 200_000 + '"\n')


def test_hash_ignores_scripts_comments_and_pipenv_settings() -> None:
    base = '[packages]\nrequests = "*"\n'
    same = [
        base + "# a comment\n",
        base + '[scripts]\ntest = "pytest"\n',
        base + "[pipenv]\nallow_prereleases = true\n",
        '[packages]\nRequests = "*"\n',
    ]
    digest = pipfile_hash(parse(base).data)
    for text in same:
        assert pipfile_hash(parse(text).data) == digest, text
    different = [
        '[packages]\nrequests = ">=2"\n',
        base + '[dev-packages]\npytest = "*"\n',
        base + '[requires]\npython_version = "3.12"\n',
        '[[source]]\nurl = "https://x.example/simple"\nname = "x"\n' + base,
    ]
    for text in different:
        assert pipfile_hash(parse(text).data) != digest, text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[packages]\nrequests = {versoin = "==2.0"}\n',
            [
                (
                    "Pipfile:2: `versoin` in the entry for `requests` in [packages] is not "
                    "read by pipenv or pipfence (did you mean `version`?)"
                )
            ],
        ),
        (
            '[dev-packages]\nx = {version = "*", markres = "os_name == \'nt\'"}\n',
            ["did you mean `markers`?"],
        ),
        ('[packages]\nx = {version = "*", colour = "blue"}\n', ["`colour`"]),
        ("[pipenv]\nsort_pipfile = true\n", []),
        ("[pipenv]\nskip_resolver = true\n", ["[pipenv] skip_resolver is not acted on"]),
        ('[pipenv]\ncool-down-period = "7d"\n', []),
        ("[pipenv]\nallow_prerelease = true\n", ["did you mean `allow_prereleases`?"]),
        ("[pipenv]\nallow_prereleases = true\npipfence_confusion_check = false\n", []),
        ('[packages]\nx = {version = "*", index = "pypi", sys_platform = "== \'linux\'"}\n', []),
        ('[packages]\nx = {git = "https://g.example/x.git", ref = "v1", editable = true}\n', []),
    ],
)
def test_what_nobody_reads_is_warned_about(text: str, expected: list[str]) -> None:
    warnings = parse(text).warnings
    assert len(warnings) == len(expected)
    for warning, wanted in zip(warnings, expected, strict=True):
        assert wanted in warning


@pytest.mark.parametrize(
    ("value", "days"),
    [('"30d"', 30), ('" 7d "', 7), ('"0d"', None), (None, None)],
)
def test_cool_down_period_is_a_number_of_days(value: str | None, days: int | None) -> None:
    text = "[packages]\n" + (f"[pipenv]\ncool-down-period = {value}\n" if value else "")
    cool_down = parse(text).cool_down
    assert (cool_down.days if cool_down is not None else None) == days


@pytest.mark.parametrize("value", ['"30"', '"2w"', '"P30D"', "30", '"-1d"'])
def test_a_cool_down_period_in_another_form_is_refused(value: str) -> None:
    with pytest.raises(PipfileError, match="cool-down-period must be a number of days"):
        parse(f"[pipenv]\ncool-down-period = {value}\n")


CATEGORY_PINS = """\
[[source]]
url = "https://pypi.org/simple"
name = "pypi"

[[source]]
url = "https://download.example/whl"
name = "pytorch"

[packages]
numpy = {version = "*", index = "pypi"}

[cpu]
torch = {version = "*", index = "pytorch"}

[docs]
sphinx = "*"

[gpu]
torch = {version = "*", index = "pypi"}
"""


def test_each_table_has_the_fence_of_its_own_pins_and_those_of_packages() -> None:
    pipfile = parse(CATEGORY_PINS)
    assert dict(pipfile.fence(["cpu"]).pins) == {"numpy": "pypi", "torch": "pytorch"}
    assert dict(pipfile.fence(["gpu"]).pins) == {"numpy": "pypi", "torch": "pypi"}
    assert dict(pipfile.fence(["docs"]).pins) == {"numpy": "pypi"}
    assert "torch" in pipfile.fence(["docs"]).named
    with pytest.raises(PipfileError, match="`torch` is pinned to both `pytorch` and `pypi`"):
        pipfile.fence()
    assert pipfile.fence_groups() == [["packages", "cpu", "docs"], ["gpu"]]
    assert pipfile.fence_groups(["gpu", "docs"]) == [["gpu", "docs"]]


def test_a_pin_in_packages_clashing_with_another_table_is_refused() -> None:
    pipfile = parse(
        CATEGORY_PINS.replace(
            'numpy = {version = "*", index = "pypi"}', 'torch = {version = "*", index = "pypi"}'
        )
    )
    with pytest.raises(PipfileError, match="pinned to both"):
        pipfile.fence_groups()
