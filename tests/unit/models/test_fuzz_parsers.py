"""Property fuzzing of the parsers that read untrusted input: each raises only its one
documented error type, whatever the bytes.

`make test` runs a small number of examples per test; `make fuzz` (PIPFENCE_FUZZ=1) runs many
more. Any crash hypothesis finds is pinned below as an `@example`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.markers import InvalidMarker

from pipfence.errors import LockfileError, PipfileError, UsageError
from pipfence.index.simple import parse_project_page
from pipfence.models.files import CoreMetadata, parse_filename
from pipfence.models.lockfile import Lockfile
from pipfence.models.names import canonical_name, is_valid_name
from pipfence.models.pipfile import Pipfile
from pipfence.models.target import Target
from pipfence.project.settings import MAX_SECONDS, parse_count, parse_seconds

_FUZZ = os.environ.get("PIPFENCE_FUZZ") == "1"
settings.register_profile(
    "pipfence-fuzz",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "pipfence-quick",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("pipfence-fuzz" if _FUZZ else "pipfence-quick")
fuzz = settings(PROFILE)

# -- strategies ------------------------------------------------------------------------------

# Seeds for bad input the CLI once answered with "this is a bug": names that Unicode case
# folding took for ASCII (LONG S, KELVIN SIGN), a key with a trailing newline, specifiers with
# empty clauses and a 200,000-comma one, and JSON / TOML nested 100,000 levels deep.
LONG_S = "\u017fecret"
KELVIN = "\u212aelvin"
COMMAS = ">=1" + "," * 200_000
DEEP_TOML = "[" * 100_000 + "]" * 100_000
DEEP_JSON = '{"a": ' * 100_000 + "1" + "}" * 100_000

NAMES = st.sampled_from(
    ["payload", "Pay_Load", "a", "../x", "a b", "", "é", "x" * 300, "requests", "-x-",
     LONG_S, KELVIN, "payload\n", "\u0130x"]
)  # fmt: skip
SPEC = st.sampled_from(
    ["*", "==1.0", ">=1,<2", "===>1", ">>1", "", "~=1", "==1.*", "latest", "1.0", "!=", "@",
     ">=1,,", ",", ",>=1", ">=1,,<2", COMMAS]
)  # fmt: skip
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    SPEC,
)
TOML_VALUE = st.one_of(
    st.sampled_from(['"*"', "1", "true", '""', "[]", "{}", '"==1.0"', '">>1"', "3.5", "inf"]),
    st.builds(json.dumps, st.text(max_size=15)),
    st.builds(
        lambda keys, vals: "{" + ", ".join(f"{k} = {v}" for k, v in zip(keys, vals, strict=False)) + "}",
        st.lists(
            st.sampled_from(
                ["version", "index", "extras", "markers", "git", "ref", "path", "file",
                 "editable", "subdirectory", "os_name", "sys_platform", "hashes"]
            ),
            max_size=4,
        ),
        st.lists(
            st.sampled_from(
                ['"*"', "1", "true", '["a"]', '"nosuch"', '"python_version >>> 3"', '"."',
                 '"https://x/y.whl"', '"os_name == \'nt\'"', "[1]", "{}"]
            ),
            max_size=4,
        ),
    ),
)  # fmt: skip
TOML_LINE = st.one_of(
    st.sampled_from(
        [
            "[packages]",
            "[dev-packages]",
            "[[source]]",
            "[source]",
            "[requires]",
            "[pipenv]",
            "[scripts]",
            "[custom-cat]",
            'url = "http://127.0.0.1/simple"',
            'url = "ftp://x"',
            'url = "https://${VAR}@x/simple"',
            'name = "corp"',
            "verify_ssl = true",
            'python_version = "3.11"',
            'python_version = "three"',
            'python_full_version = "3.11.7"',
            "allow_prereleases = true",
            "packages = 3",
        ]
    ),
    st.builds(lambda k, v: f"{json.dumps(k)} = {v}", st.text(max_size=12), TOML_VALUE),
    st.builds(lambda k, v: f"{json.dumps(k)} = {v}", NAMES, TOML_VALUE),
    st.builds(lambda k, v: f"{k} = {json.dumps(v)}", NAMES.filter(str.isidentifier), SPEC),
    st.builds(lambda k, v: f"{k} = {v}", NAMES.filter(lambda n: n.isidentifier()), TOML_VALUE),
    st.text(max_size=30),
)
PIPFILE_TEXT = st.one_of(st.text(max_size=400), st.lists(TOML_LINE, max_size=25).map("\n".join))

JSON_VALUE = st.recursive(
    SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    ["_meta", "default", "develop", "hash", "sha256", "pipfile-spec", "requires",
                     "sources", "name", "url", "verify_ssl", "hashes", "version", "index",
                     "markers", "extras", "git", "ref", "path", "file", "editable",
                     "python_version", "payload", "../evil", LONG_S, KELVIN, "payload\n"]
                ),
                st.text(max_size=8),
            ),
            children,
            max_size=6,
        ),
    ),
    max_leaves=30,
)  # fmt: skip


def _lock_like(meta: object, default: object, develop: object, extra: object) -> str:
    return json.dumps(
        {"_meta": meta, "default": default, "develop": develop, "custom": extra}, indent=4
    )


LOCK_TEXT = st.one_of(
    st.text(max_size=300),
    JSON_VALUE.map(json.dumps),
    st.builds(_lock_like, JSON_VALUE, JSON_VALUE, JSON_VALUE, JSON_VALUE),
    st.builds(
        lambda version, hashes, markers, index: _lock_like(
            {
                "hash": {"sha256": "0" * 64},
                "pipfile-spec": 6,
                "requires": {},
                "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}],
            },
            {"payload": {"version": version, "hashes": hashes, "markers": markers, "index": index}},
            {},
            {},
        ),
        SCALAR,
        st.one_of(SCALAR, st.lists(st.one_of(SCALAR, st.just("sha256:" + "a" * 64)), max_size=3)),
        SCALAR,
        SCALAR,
    ),
)

CONTENT_TYPES = st.sampled_from(
    [
        "text/html",
        "text/html; charset=utf-8",
        "text/html; charset=bogus-charset",
        "application/vnd.pypi.simple.v1+json",
        "application/vnd.pypi.simple.v1+html",
        "application/vnd.pypi.simple.latest+json",
        "text/plain",
        "",
        "application/json",
        ";;;",
    ]
)
ATTR = st.sampled_from(
    ['href="payload-1.0-py3-none-any.whl#sha256=' + "a" * 64 + '"',
     'href="../payload-1.0.tar.gz#md5=zz"', 'href="http://[::1/x.whl"',
     'href="javascript:alert(1)"', "href=", 'href="', 'data-requires-python="&gt;=3"',
     'data-requires-python="&bogus;"', "data-yanked", 'data-yanked=""',
     'data-core-metadata="sha256=zz"', 'data-dist-info-metadata="true"',
     'data-core-metadata="false"', 'href="payload-1.0-py3-none-any.whl#"',
     'href="https://u:p@h/payload-1.0.zip"', 'href="%zz.whl"']
)  # fmt: skip
HTML_TAG = st.one_of(
    st.builds(lambda attrs, text: f"<a {' '.join(attrs)}>{text}</a>", st.lists(ATTR, max_size=4), st.text(max_size=10)),
    st.builds(lambda href: f'<base href="{href}">', st.text(max_size=20)),
    st.sampled_from(
        ['<meta name="pypi:repository-version" content="1.0">',
         '<meta name="pypi:repository-version" content="2.0">',
         '<meta name="pypi:repository-version" content="x">', "<a", "<!--", "<a href='x", "&#0;",
         "&#x110000;", "<A HREF=payload-2.0.tar.gz>"]
    ),
    st.text(max_size=20),
)  # fmt: skip
HTML_BODY = st.lists(HTML_TAG, max_size=12).map("".join)
JSON_FILE = st.fixed_dictionaries(
    {},
    optional={
        "filename": st.one_of(st.sampled_from(["payload-1.0-py3-none-any.whl", "payload-1.0.tar.gz"]), SCALAR),
        "url": st.one_of(st.sampled_from(["payload-1.0.tar.gz", "https://h/p.whl", "ftp://x"]), SCALAR),
        "hashes": st.one_of(st.dictionaries(st.sampled_from(["sha256", "md5", "bogus"]), SCALAR), SCALAR),
        "requires-python": SCALAR,
        "yanked": SCALAR,
        "core-metadata": st.one_of(SCALAR, st.dictionaries(st.text(max_size=6), SCALAR)),
        "dist-info-metadata": SCALAR,
    },
)  # fmt: skip
JSON_PAGE = st.builds(
    lambda meta, name, files: json.dumps({"meta": meta, "name": name, "files": files}),
    st.one_of(st.fixed_dictionaries({"api-version": st.sampled_from(["1.0", "1.1", "2.0", "x", ""])}), JSON_VALUE),
    st.one_of(NAMES, SCALAR),
    st.one_of(st.lists(st.one_of(JSON_FILE, JSON_VALUE), max_size=4), JSON_VALUE),
)  # fmt: skip
PAGE_BODY = st.one_of(
    st.binary(max_size=300),
    HTML_BODY.map(lambda t: t.encode("utf-8", "surrogatepass")),
    JSON_PAGE.map(str.encode),
    JSON_VALUE.map(lambda v: json.dumps(v).encode()),
)

# -- properties -----------------------------------------------------------------------------


@fuzz
@given(PIPFILE_TEXT)
@example('[requires]\npython_version = "three"\n')
@example('[packages]\npayload = {version = "*", index = 1}\n')
@example(f'[packages]\n"{LONG_S}" = "*"\n')
@example(f'[packages]\n"{KELVIN}" = "*"\n')
@example('[packages]\n"payload\\n" = "*"\n')
@example('[packages]\npayload = ">=1,,"\n')
@example(f'[packages]\npayload = "{COMMAS}"\n')
@example('[packages]\npayload = {version = "*", extras = ["a b"]}\n')
@example(f"[packages]\npayload = {DEEP_TOML}\n")
@example("[packages]\npayload = " + "{a=" * 100_000 + "1" + "}" * 100_000 + "\n")
def test_fuzz_pipfile_parse_raises_only_pipfile_error(text: str) -> None:
    try:
        pipfile = Pipfile.parse(text)
    except PipfileError:
        return
    # What the Pipfile accepts, the resolver's requirement parser accepts too.
    for _table, spec in pipfile.iter_specs():
        assert is_valid_name(spec.name)
        assert spec.requirement().name == spec.name


@fuzz
@given(LOCK_TEXT)
@example('{"_meta": {}, "default": {"payload": {"version": "==1.0", "hashes": "sha256:abc"}}}')
@example('{"_meta": {}, "default": {"payload": {"version": "==1.0", "hashes": ["md5:0"]}}}')
@example('{"_meta": {}, "default": {"\\u017fecret": {"version": "==1.0"}}}')
@example('{"_meta": {}, "default": {"caf\\u00e9": {"version": "==1.0"}}}')
@example('{"_meta": {}, "default": {"payload\\n": {"version": "==1.0"}}}')
@example(DEEP_JSON)
@example('{"_meta": ' + DEEP_JSON + "}")
@example("[" * 100_000 + "]" * 100_000)
def test_fuzz_lockfile_parse_raises_only_lockfile_error(text: str) -> None:
    try:
        lock = Lockfile.parse(text)
    except LockfileError:
        return
    for _category, package in lock.packages():
        assert is_valid_name(package.name)


NUMBER_TEXT = st.one_of(
    st.sampled_from(
        ["nan", "NaN", "-nan", "inf", "-inf", "infinity", "1e400", "-1", "0", "-0", "0.0", "1",
         "2.5", "86400", "86401", "1e300", "1_000", " 3 ", "", "\u0663", "0x10", "ten"]
    ),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(2**70), 2**70).map(str),
)  # fmt: skip


@fuzz
@given(NUMBER_TEXT, st.booleans())
@example("nan", False)
@example("inf", True)
@example("-1", False)
def test_fuzz_seconds_setting_is_finite_and_in_range(text: str, zero: bool) -> None:
    try:
        seconds = parse_seconds(text, "PIPFENCE_TIMEOUT", zero=zero)
    except UsageError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert "PIPFENCE_TIMEOUT" in message
        assert "\n" not in message
        return
    assert math.isfinite(seconds)
    assert seconds <= MAX_SECONDS
    assert seconds >= 0 if zero else seconds > 0


@fuzz
@given(NUMBER_TEXT)
@example("nan")
@example("-1")
@example("1e400")
def test_fuzz_count_setting_is_a_whole_number_in_range(text: str) -> None:
    try:
        count = parse_count(text, "PIPFENCE_RETRIES", minimum=1, maximum=100)
    except UsageError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert "PIPFENCE_RETRIES" in message
        assert "\n" not in message
        return
    assert 1 <= count <= 100


@fuzz
@given(PAGE_BODY, CONTENT_TYPES, st.sampled_from(["https://h/simple/payload/", "http://[::1]:8/s/payload/", "https://h/"]), st.sampled_from([None, "payload", "", "../x"]))  # fmt: skip
def test_fuzz_project_page_raises_only_value_error(
    body: bytes, content_type: str, url: str, project: str | None
) -> None:
    try:
        page = parse_project_page(body, content_type, url, project=project)
    except ValueError:
        return
    for file in page.files:
        assert "#" not in file.url
        assert "@" not in file.url.split("/")[2]
        assert file.url.startswith(("http://", "https://"))


@fuzz
@given(st.one_of(st.text(max_size=80), st.builds(lambda n, v, t: f"{n}-{v}-{t}.whl", NAMES, st.text(max_size=8), st.text(max_size=12))))  # fmt: skip
@example("payload-1.0-py3-none-any.whl")
@example("-1.0-py3-none-any.whl")
@example("payload-1.0.tar.gz")
def test_fuzz_parse_filename_never_raises(filename: str) -> None:
    parsed = parse_filename(filename)
    if parsed is not None:
        name, _version, _tags = parsed
        assert is_valid_name(name)
        assert canonical_name(name) == name


@fuzz
@given(st.one_of(st.binary(max_size=300), st.lists(st.sampled_from(["Name: payload", "Version: 1.0", "Version: x", "Name: ", "Requires-Dist: a (>", "Requires-Python: >=3", "Provides-Extra: ", "\udcff", "Metadata-Version: 9"]), max_size=8).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogateescape"))))  # fmt: skip
def test_fuzz_core_metadata_raises_only_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        CoreMetadata.parse(data)


_TARGET = Target.current()


@fuzz
@given(
    st.one_of(
        st.text(max_size=60),
        st.builds(
            lambda var, op, value: f'{var} {op} "{value}"',
            st.sampled_from(["python_version", "python_full_version", "os_name", "sys_platform",
                             "platform_release", "implementation_version", "extra", "bogus"]),
            st.sampled_from(["==", "!=", "<", ">=", "~=", "===", "in", "not in", ">>"]),
            st.text(max_size=10).filter(lambda v: '"' not in v and "\\" not in v),
        ),
    ),
    st.lists(st.text(max_size=6), max_size=2),
)  # fmt: skip
@example('python_version < "x"', [])
@example('extra == "a b"', ["A B"])
def test_fuzz_marker_evaluation_raises_only_invalid_marker(marker: str, extras: list[str]) -> None:
    try:
        result = _TARGET.evaluate(marker, extras)
    except InvalidMarker:
        return
    assert isinstance(result, bool)


@pytest.mark.parametrize("marker", ['python_version~=""', 'python_full_version ~= "x"'])
def test_marker_with_an_undefined_comparison_is_an_invalid_marker(marker: str) -> None:
    with pytest.raises(InvalidMarker):
        _TARGET.evaluate(marker)


def test_fuzz_profile_follows_the_environment() -> None:
    expected = 2000 if _FUZZ else 40
    assert PROFILE.max_examples == expected
    assert PROFILE.deadline is None
