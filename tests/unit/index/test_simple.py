"""Project-page parsing: PEP 691 JSON and PEP 503 HTML."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipfence.index.releases import Urls
from pipfence.index.simple import parse_project_page
from pipfence.models.files import parse_filename
from pipfence.models.names import NormalizedName

JSON = "application/vnd.pypi.simple.v1+json"
PAGE = "https://index.example/simple/foo/"


def _json_page(files: list[object], **extra: object) -> bytes:
    data: dict[str, object] = {"meta": {"api-version": "1.1"}, "name": "foo", "files": files}
    data.update(extra)
    return json.dumps(data).encode()


class TestJson:
    def test_full_entry(self) -> None:
        body = _json_page(
            [
                {
                    "filename": "foo-1.0-py3-none-any.whl",
                    "url": "../../files/foo-1.0-py3-none-any.whl",
                    "hashes": {"sha256": "AB12"},
                    "requires-python": ">=3.8",
                    "core-metadata": {"sha256": "cd34"},
                    "dist-info-metadata": True,
                    "yanked": "broken",
                    "size": 1234,
                }
            ],
            versions=["1.0"],
        )
        page = parse_project_page(body, JSON, PAGE)
        assert page.name == "foo"
        assert page.versions == ("1.0",)
        (f,) = page.files
        assert f.url == "https://index.example/files/foo-1.0-py3-none-any.whl"
        assert f.sha256 == "ab12"
        assert f.requires_python == ">=3.8"
        assert f.metadata == {"sha256": "cd34"}
        assert f.yanked == "broken"
        assert f.size == 1234

    def test_pep714_prefers_core_metadata(self) -> None:
        body = _json_page(
            [
                {
                    "filename": "foo-1.0.tar.gz",
                    "url": "foo-1.0.tar.gz",
                    "hashes": {},
                    "core-metadata": False,
                    "dist-info-metadata": {"sha256": "x"},
                },
                {
                    "filename": "foo-2.0.tar.gz",
                    "url": "foo-2.0.tar.gz",
                    "hashes": {},
                    "dist-info-metadata": {"sha256": "x"},
                },
            ]
        )
        a, b = parse_project_page(body, JSON, PAGE).files
        assert a.metadata is False
        assert b.metadata == {"sha256": "x"}

    def test_fragment_hash_used_and_stripped(self) -> None:
        body = _json_page(
            [{"filename": "foo-1.0.tar.gz", "url": "foo-1.0.tar.gz#sha256=beef", "hashes": {}}]
        )
        (f,) = parse_project_page(body, JSON, PAGE).files
        assert f.url == "https://index.example/simple/foo/foo-1.0.tar.gz"
        assert f.hashes == {"sha256": "beef"}

    def test_skips_foreign_bad_and_duplicate_files(self) -> None:
        body = _json_page(
            [
                {"filename": "bar-1.0.tar.gz", "url": "bar-1.0.tar.gz", "hashes": {}},
                {"filename": "foo-1.0.exe", "url": "foo-1.0.exe", "hashes": {}},
                {"filename": "foo-1.0.tar.gz", "url": "file:///etc/passwd", "hashes": {}},
                {"filename": "foo-1.0.tar.gz", "url": "a/foo-1.0.tar.gz", "hashes": {}},
                {"filename": "foo-1.0.tar.gz", "url": "b/foo-1.0.tar.gz", "hashes": {}},
                {"filename": "Foo_Bar-1.0.tar.gz", "url": "x", "hashes": {}},
                "junk",
            ]
        )
        (f,) = parse_project_page(body, JSON, PAGE).files
        assert f.url.endswith("/a/foo-1.0.tar.gz")

    def test_credentials_never_stored(self) -> None:
        body = _json_page(
            [{"filename": "foo-1.0.tar.gz", "url": "https://u:secret@h/foo-1.0.tar.gz"}]
        )
        (f,) = parse_project_page(body, JSON, PAGE).files
        assert f.url == "https://h/foo-1.0.tar.gz"

    def test_project_argument_overrides_json_name(self) -> None:
        body = _json_page([{"filename": "foo-1.0.tar.gz", "url": "x/foo-1.0.tar.gz"}])
        page = parse_project_page(body, JSON, PAGE, project="other")
        assert page.name == "other"
        assert page.files == ()

    @pytest.mark.parametrize(
        "body",
        [b"not json", b"[]", b'{"name": "foo"}', b'{"files": {}}', b"[" * 100_000],
    )
    def test_not_pep691_shape(self, body: bytes) -> None:
        with pytest.raises(ValueError):
            parse_project_page(body, JSON, PAGE)

    def test_major_version_two_refused(self) -> None:
        body = json.dumps({"meta": {"api-version": "2.0"}, "files": []}).encode()
        with pytest.raises(ValueError, match=r"version 2\.0"):
            parse_project_page(body, JSON, PAGE)

    def test_plain_json_accepted_when_shaped(self) -> None:
        body = _json_page([{"filename": "foo-1.0.tar.gz", "url": "foo-1.0.tar.gz"}])
        assert len(parse_project_page(body, "application/json", PAGE).files) == 1


class TestHtml:
    def test_attributes(self) -> None:
        body = b"""<!DOCTYPE html><html><head>
        <meta name="pypi:repository-version" content="1.1"><base href="/files/"></head><body>
        <!-- <a href="foo-9.0.tar.gz">hidden</a> -->
        <a href="foo-1.0-py3-none-any.whl#sha256=ABC" data-requires-python="&gt;=3.8"
           data-core-metadata="sha256=def" data-dist-info-metadata="sha256=old">w</a><br/>
        <A HREF='https://u:p@h.example/foo-1.0.tar.gz' data-yanked="">s</A>
        <a href=foo-2.0.tar.gz data-requires-python=">=3.9,<4" data-yanked="bad"
           data-dist-info-metadata="true">s</a>
        <a href="foo-3.0.tar.gz" data-core-metadata="false">s</a>
        <a href="bar-1.0.tar.gz">other project</a>
        <a>no href</a>
        </body></html>"""
        page = parse_project_page(body, "text/html; charset=utf-8", PAGE)
        a, b, c, d = page.files
        assert a.url == "https://index.example/files/foo-1.0-py3-none-any.whl"
        assert a.hashes == {"sha256": "abc"}
        assert a.requires_python == ">=3.8"
        assert a.metadata == {"sha256": "def"}
        assert a.yanked is False
        assert b.url == "https://h.example/foo-1.0.tar.gz"
        assert b.yanked is True
        assert c.requires_python == ">=3.9,<4"
        assert c.yanked == "bad"
        assert c.metadata is True
        assert d.metadata is False

    def test_page_without_links_is_empty(self) -> None:
        page = parse_project_page(b"<html><form>login</form></html>", "text/html", PAGE)
        assert page.name == "foo"
        assert page.files == ()

    @pytest.mark.parametrize(
        "ctype", ["application/vnd.pypi.simple.v1+html", "TEXT/HTML ; charset=latin-1"]
    )
    def test_html_types(self, ctype: str) -> None:
        page = parse_project_page(b'<a href="foo-1.0.zip">x</a>', ctype, PAGE)
        assert [f.filename for f in page.files] == ["foo-1.0.zip"]

    def test_unclosed_quote_ends_document(self) -> None:
        body = b'<a href="foo-1.0.zip">x</a><a href="foo-2.0.zip><a href="foo-3.0.zip">'
        page = parse_project_page(body, "text/html", PAGE)
        assert [f.filename for f in page.files] == ["foo-1.0.zip"]

    def test_percent_encoded_filename(self) -> None:
        page = parse_project_page(b'<a href="foo-1.0%2Blocal.zip">x</a>', "text/html", PAGE)
        assert [f.filename for f in page.files] == ["foo-1.0+local.zip"]

    def test_major_version_two_refused(self) -> None:
        body = b'<meta name="pypi:repository-version" content="2.0">'
        with pytest.raises(ValueError):
            parse_project_page(body, "text/html", PAGE)


@pytest.mark.parametrize(
    ("project", "filenames", "versions"),
    [
        # The version of an sdist may hold a `-` (pip reads `0.3.1-1` as 0.3.1.post1): the
        # name is split where the project asked for ends, not at the last `-`.
        (
            "ibm-db-sa-py3",
            ["ibm-db-sa-py3-0.3.0.tar.gz", "ibm-db-sa-py3-0.3.1-1.tar.gz"],
            {"0.3.0": ["ibm-db-sa-py3-0.3.0.tar.gz"], "0.3.1-1": ["ibm-db-sa-py3-0.3.1-1.tar.gz"]},
        ),
        (
            "foo-bar",
            ["foo_bar-2.0-1.zip", "foo-bar-2.0.tar.gz"],
            {"2.0-1": ["foo_bar-2.0-1.zip"], "2.0": ["foo-bar-2.0.tar.gz"]},
        ),
        # A name that is another project's stays out.
        ("foo", ["foo-bar-1.0.tar.gz", "foo-1.0-1.tar.gz"], {"1.0-1": ["foo-1.0-1.tar.gz"]}),
    ],
)
def test_sdist_names_are_split_knowing_the_project(
    project: str, filenames: list[str], versions: dict[str, list[str]]
) -> None:
    body = "".join(f'<a href="{name}">x</a>' for name in filenames).encode()
    page = parse_project_page(body, "text/html", f"https://index.example/simple/{project}/")
    grouped = {text: [f.filename for f in files] for text, files in page.releases.items()}
    assert grouped == versions


@pytest.mark.parametrize(
    ("filename", "project", "parsed"),
    [
        ("ibm-db-sa-py3-0.3.1-1.tar.gz", "ibm-db-sa-py3", ("ibm-db-sa-py3", "0.3.1.post1")),
        ("ibm-db-sa-py3-0.3.1-1.tar.gz", None, ("ibm-db-sa-py3-0-3-1", "1")),
        ("foo-1.0.tar.gz", "foo", ("foo", "1.0")),
        ("foo-1.0.tar.gz", "bar", ("foo", "1.0")),
    ],
)
def test_parse_filename_splits_an_sdist_knowing_the_project(
    filename: str, project: str | None, parsed: tuple[str, str]
) -> None:
    found = parse_filename(filename, NormalizedName(project) if project else None)
    assert found is not None
    assert (found[0], str(found[1])) == parsed
    assert found[2] is None


@pytest.mark.parametrize("ctype", ["text/plain", "", "application/octet-stream"])
def test_other_content_types_refused(ctype: str) -> None:
    with pytest.raises(ValueError, match="not a simple-API project page"):
        parse_project_page(b'<a href="foo-1.0.zip">', ctype, PAGE)


def test_large_pages_parse_every_file_the_same_in_both_forms() -> None:
    """8,000 files in one page, HTML and JSON: every file kept, both forms equal. (How fast
    this is belongs to the benchmark, not to a test.)"""
    n = 8000
    links = "".join(
        f'<a href="../../f/{i}/foo-1.{i}-py3-none-any.whl#sha256={i:064x}" '
        f'data-requires-python="&gt;=3.8" data-core-metadata="sha256={i:064x}">'
        f"foo-1.{i}-py3-none-any.whl</a><br>\n"
        for i in range(n)
    )
    html_body = f"<html><body>{links}</body></html>".encode()
    json_body = _json_page(
        [
            {
                "filename": f"foo-1.{i}-py3-none-any.whl",
                "url": f"../../f/{i}/foo-1.{i}-py3-none-any.whl",
                "hashes": {"sha256": f"{i:064x}"},
                "requires-python": ">=3.8",
                "core-metadata": {"sha256": f"{i:064x}"},
            }
            for i in range(n)
        ]
    )
    html_page = parse_project_page(html_body, "text/html", PAGE)
    json_page = parse_project_page(json_body, JSON, PAGE)
    assert len(html_page.files) == len(json_page.files) == n
    assert html_page.files == json_page.files


_CONTENT_TYPES = st.sampled_from(
    [JSON, "application/json", "text/html", "text/html; charset=bogus", "text/plain", ""]
)
_URLS = st.one_of(st.just(PAGE), st.text(max_size=40))


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=2000), ctype=_CONTENT_TYPES, url=_URLS)
def test_arbitrary_bytes_only_raise_value_error(body: bytes, ctype: str, url: str) -> None:
    with contextlib.suppress(ValueError):
        parse_project_page(body, ctype, url)


_HTML_PIECES = st.sampled_from(
    [
        "<a ",
        "<A\n",
        "<base ",
        "<meta ",
        "<!--",
        "-->",
        'href="',
        "href='",
        "href=",
        "foo-1.0.tar.gz",
        "foo-1.0-py3-none-any.whl",
        "#sha256=",
        "#md5=ab",
        "data-yanked",
        "data-core-metadata=",
        "data-dist-info-metadata=",
        "data-requires-python=",
        "&gt;",
        "&#x",
        '"',
        "'",
        ">",
        "=",
        "/",
        " ",
        "http://[",
        "https://u:p@h/",
        "../",
        "%",
        "\x00",
    ]
)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(_HTML_PIECES | st.text(max_size=5), max_size=40))
def test_html_soup_only_raises_value_error(pieces: list[str]) -> None:
    try:
        page = parse_project_page("".join(pieces).encode(), "text/html", PAGE)
    except ValueError:
        return
    for f in page.files:
        assert "@" not in f.url.split("/")[2]
        assert "#" not in f.url


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
_FILE_ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "filename": st.sampled_from(["foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl", "x"])
        | _JSON_VALUES,
        "url": st.sampled_from(["foo-1.0.tar.gz#sha256=aa", "http://[", "//h/x"]) | _JSON_VALUES,
        "hashes": _JSON_VALUES,
        "requires-python": _JSON_VALUES,
        "core-metadata": _JSON_VALUES,
        "dist-info-metadata": _JSON_VALUES,
        "yanked": _JSON_VALUES,
        "size": _JSON_VALUES,
    },
)


@settings(max_examples=300, deadline=None)
@given(
    files=st.lists(_FILE_ENTRY | _JSON_VALUES, max_size=5),
    meta=_JSON_VALUES,
    name=_JSON_VALUES,
    versions=_JSON_VALUES,
)
def test_json_shapes_only_raise_value_error(
    files: list[object], meta: object, name: object, versions: object
) -> None:
    body = json.dumps({"meta": meta, "name": name, "files": files, "versions": versions})
    with contextlib.suppress(ValueError):
        parse_project_page(body.encode(), JSON, PAGE)


_URL_STARTS = ["http://", "https://", "h", "u:p@", "[", "]", "/", "..", ".", "a", "%20", " "]
_URL_PIECES = st.sampled_from(
    [*_URL_STARTS, "?", "#", "sha256=ab", "\\", "é", "//", ":8080", "foo-1.0.tar.gz"]
)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(_URL_PIECES, min_size=1, max_size=12))
def test_json_file_urls_are_cleaned_as_the_general_resolver_cleans_them(
    pieces: list[str],
) -> None:
    # The JSON parser takes plain absolute http(s) URLs as they are and sends the rest
    # through `Urls.resolve`: both ways must give the same file URL (or drop the file).
    url = "".join(pieces)
    body = _json_page([{"filename": "foo-1.0.tar.gz", "url": url, "hashes": {}}])
    files = parse_project_page(body, JSON, PAGE).files
    expected = Urls(PAGE).resolve(url)
    if expected is None:
        assert files == ()
    else:
        assert [f.url for f in files] == [expected[0]]
