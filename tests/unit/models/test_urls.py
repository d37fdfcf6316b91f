"""Index URLs as data cases: expansion per component, origin kept, display, PyPI spellings,
routes."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pipfence.errors import UsageError
from pipfence.models.sources import PYPI_SIMPLE_URL, PYPI_SOURCE, Source
from pipfence.models.urls import (
    PYPI_SIMPLE_URLS,
    Origin,
    Routes,
    expand,
    is_pypi_url,
    mirror_variable,
    placeholders,
    redact_text,
    same_url,
    shown_url,
    split_userinfo,
    split_vcs_ref,
    without_secrets,
)

#: A secret holding every character that means something in a URL.
NASTY = "p#a/s?s@w:o%41rd &=+;$ é"

ENV = {
    "USER": "alice",
    "TOKEN": NASTY,
    "HOST": "nexus.corp.example:8443",
    "REPO": "team repo/py",
    "WHOLE": "https://aws:tok%2Fen@d-1.codeartifact.example/pypi/r/simple/",
    "NOTURL": "d-1.codeartifact.example/pypi/r/simple/",
    "BADHOST": "evil.example/x?",
    "LOCALUSER": "localhost",
    "PORTSECRET": "8080/SECRET",
}


@pytest.mark.parametrize(
    ("template", "expanded"),
    [
        ("https://h.example/simple", "https://h.example/simple"),
        ("https://$USER@h.example/simple", "https://alice@h.example/simple"),
        (
            "https://${USER}:${TOKEN}@h.example/simple",
            "https://alice:p%23a%2Fs%3Fs%40w%3Ao%2541rd%20%26%3D%2B%3B%24%20%C3%A9@h.example/simple",
        ),
        (
            "https://${HOST}/repository/pypi/simple",
            "https://nexus.corp.example:8443/repository/pypi/simple",
        ),
        ("https://h.example/${REPO}/simple", "https://h.example/team%20repo/py/simple"),
        (
            "https://h.example/simple?token=${TOKEN}",
            "https://h.example/simple?token=p%23a/s?s@w:o%2541rd%20%26%3D%2B;$%20%C3%A9",
        ),
        ("${WHOLE}", ENV["WHOLE"]),
        ("${WHOLE}sub/${REPO}", ENV["WHOLE"] + "sub/team%20repo/py"),
        ("file:///srv/${REPO}/simple", "file:///srv/team%20repo/py/simple"),
    ],
)
def test_expansion_encodes_each_value_for_its_component(template: str, expanded: str) -> None:
    assert expand(template, ENV, what="the URL of source `x`") == expanded


@pytest.mark.parametrize(
    "template",
    [
        "https://${USER}:${TOKEN}@h.example/simple",
        "https://${TOKEN}@h.example/simple",
        "http://${LOCALUSER}:${PORTSECRET}@h.example/simple",
    ],
)
def test_credentials_survive_expansion_unchanged_and_keep_the_origin(template: str) -> None:
    url = expand(template, ENV, what="w")
    clean, userinfo = split_userinfo(url)
    assert urlsplit(clean).hostname == "h.example"
    assert urlsplit(clean).port is None
    assert userinfo is not None
    names = placeholders(urlsplit(template).netloc.rpartition("@")[0])
    assert [userinfo.username, userinfo.password][: len(names)] == [ENV[n] for n in names]


@pytest.mark.parametrize(
    ("template", "variable", "message"),
    [
        ("https://${MISSING}@h.example/simple", "MISSING", "is not set"),
        ("${NOTURL}", "NOTURL", "must hold a URL"),
        ("https://${BADHOST}/simple", "BADHOST", "stands for a host name"),
        ("https://${TOKEN}/simple", "TOKEN", "stands for a host name"),
    ],
)
def test_bad_values_are_refused_naming_the_variable_never_the_value(
    template: str, variable: str, message: str
) -> None:
    with pytest.raises(UsageError) as info:
        expand(template, ENV, what="the URL of source `corp`")
    text = f"{info.value} {info.value.hint}"
    assert f"`{variable}`" in str(info.value)
    assert message in str(info.value)
    assert "source `corp`" in str(info.value)
    for secret in (NASTY, ENV["BADHOST"], "alice"):
        assert secret not in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:t0k3n@h.example/simple", "https://***@h.example/simple"),
        ("https://t0k3n@h.example:8443/simple", "https://***@h.example:8443/simple"),
        ("https://h.example/simple", "https://h.example/simple"),
        ("https://${U}:${T}@h.example/simple", "https://***@h.example/simple"),
        ("${WHOLE}", "${WHOLE}"),
        ("http://[::1", "<unparseable URL>"),
        (
            "https://h.example/simple?access_token=t0k3n&page=2",
            "https://h.example/simple?access_token=***&page=2",
        ),
        (
            "https://files.example/a.whl?X-Amz-Signature=abc123&X-Amz-Credential=AKIA/x#sha256=1",
            "https://files.example/a.whl?X-Amz-Signature=***&X-Amz-Credential=***#sha256=1",
        ),
        (
            "https://h.example/simple?apikey=${API_KEY}",
            "https://h.example/simple?apikey=${API_KEY}",
        ),
        ("https://u:p@h.example/simple?token=x", "https://***@h.example/simple?token=***"),
        ("https://h.example/simple?q=1", "https://h.example/simple?q=1"),
    ],
)
def test_shown_url_hides_user_info(url: str, shown: str) -> None:
    assert shown_url(url) == shown


@pytest.mark.parametrize(
    ("url", "written", "dropped"),
    [
        ("https://u:secret@m.example/simple", "https://m.example/simple", True),
        ("https://secret@m.example/simple", "https://m.example/simple", True),
        ("https://${U}:${P}@m.example/simple", "https://${U}:${P}@m.example/simple", False),
        ("https://$U@m.example/simple", "https://$U@m.example/simple", False),
        ("https://m.example/simple", "https://m.example/simple", False),
    ],
)
def test_without_secrets_keeps_placeholders_only(url: str, written: str, dropped: bool) -> None:
    assert without_secrets(url) == (written, dropped)


@pytest.mark.parametrize(
    ("url", "pypi"),
    [
        (PYPI_SIMPLE_URL, True),
        (PYPI_SIMPLE_URL + "/", True),
        (PYPI_SIMPLE_URL.replace("https:", "http:"), True),
        (PYPI_SIMPLE_URL.upper().replace("/SIMPLE", "/simple"), True),
        *((spelling, True) for spelling in PYPI_SIMPLE_URLS),
        *((spelling + "/", True) for spelling in PYPI_SIMPLE_URLS),
        (PYPI_SIMPLE_URL + "x", False),
        (PYPI_SIMPLE_URL + "/requests/", False),
        (PYPI_SIMPLE_URL + "?x=1", False),
        ("https://corp.example/simple", False),
        ("ftp://" + PYPI_SIMPLE_URL.partition("://")[2], False),
    ],
)
def test_every_spelling_of_pypi_counts_as_pypi(url: str, pypi: bool) -> None:
    assert is_pypi_url(url) is pypi


def test_pypi_spellings_include_the_legacy_host() -> None:
    hosts = {urlsplit(u).hostname for u in PYPI_SIMPLE_URLS}
    assert len(hosts) == 2
    assert PYPI_SIMPLE_URLS[0] == PYPI_SIMPLE_URL


def test_same_url_ignores_trailing_slash_and_host_case() -> None:
    assert same_url("https://Idx.Example/simple/", "https://idx.example/simple")
    assert not same_url("https://idx.example/simple", "https://idx.example/other")


def test_origin_binds_scheme_host_and_port() -> None:
    assert Origin.of("https://H.example/simple") == Origin("https", "h.example", 443)
    assert Origin.of("http://127.0.0.1:8080/x").is_loopback
    assert not Origin.of("https://h.example:8443/").is_loopback
    with pytest.raises(ValueError, match="http"):
        Origin.of("file:///srv/simple")


# --- routes --------------------------------------------------------------------------------

CORP = Source(name="corp-pypi", url="https://${USER}:${TOKEN}@corp.example/simple")
LEGACY = Source(name="pypi", url=PYPI_SIMPLE_URLS[1] + "/")
MIRROR = "https://mirror.example/simple"


@pytest.mark.parametrize(
    ("source", "pypi_mirror", "mirrors", "template", "via"),
    [
        (PYPI_SOURCE, None, {}, PYPI_SIMPLE_URL, "its own URL"),
        (PYPI_SOURCE, MIRROR, {}, MIRROR, "the PyPI mirror"),
        (LEGACY, MIRROR, {}, MIRROR, "the PyPI mirror"),
        (CORP, MIRROR, {}, CORP.url, "its own URL"),
        (
            CORP,
            MIRROR,
            {"PIPFENCE_MIRROR_CORP_PYPI": "https://near.example/corp"},
            "https://near.example/corp",
            "PIPFENCE_MIRROR_CORP_PYPI",
        ),
        (
            PYPI_SOURCE,
            MIRROR,
            {"PIPFENCE_MIRROR_PYPI": "https://near.example/pypi"},
            "https://near.example/pypi",
            "PIPFENCE_MIRROR_PYPI",
        ),
    ],
)
def test_routes_pick_per_source_mirror_then_pypi_mirror_then_own_url(
    source: Source, pypi_mirror: str | None, mirrors: dict[str, str], template: str, via: str
) -> None:
    route = Routes(ENV, pypi_mirror=pypi_mirror, mirrors=mirrors).route(source)
    assert (route.template, route.via) == (template, via)
    assert route.mirrored is (template != source.url)


def test_routes_expand_only_at_use_and_show_no_secret() -> None:
    routes = Routes(ENV)
    assert "${TOKEN}" in CORP.url
    url = routes.url(CORP)
    assert split_userinfo(url)[1] is not None
    assert NASTY not in routes.shown(CORP)
    assert routes.shown(CORP) == "https://***@corp.example/simple"


def test_a_mirror_with_an_unset_variable_names_the_mirror() -> None:
    routes = Routes({}, mirrors={mirror_variable("corp-pypi"): "https://${MTOKEN}@m.example/"})
    with pytest.raises(UsageError, match=r"`MTOKEN`.*mirror URL of source `corp-pypi`"):
        routes.url(CORP)


def test_mirror_variable_names() -> None:
    assert mirror_variable("corp-pypi") == "PIPFENCE_MIRROR_CORP_PYPI"
    assert mirror_variable("a.b c") == "PIPFENCE_MIRROR_A_B_C"


@pytest.mark.parametrize(
    ("text", "secrets", "shown"),
    [
        (
            "fatal: unable to access 'https://bob:s3cr%23t@git.example/r.git/'",
            [],
            "fatal: unable to access 'https://***@git.example/r.git/'",
        ),
        (
            "Looking in https://t0k@idx.example/simple",
            [],
            "Looking in https://***@idx.example/simple",
        ),
        ("auth failed for s3cr#t and s3cr%23t", ["s3cr#t"], "auth failed for *** and ***"),
        (
            "GET https://idx.example/simple/x/?private_token=abc failed",
            [],
            "GET https://idx.example/simple/x/?private_token=*** failed",
        ),
        (
            "nothing to hide at https://idx.example/simple",
            ["x" * 0],
            "nothing to hide at https://idx.example/simple",
        ),
    ],
)
def test_redact_text(text: str, secrets: list[str], shown: str) -> None:
    assert redact_text(text, secrets) == shown


@pytest.mark.parametrize(
    ("url", "split"),
    [
        ("file:///srv/repo@883caaf", ("file:///srv/repo", "883caaf")),
        ("git+https://host/a/b.git@v1.0#egg=b", ("git+https://host/a/b.git#egg=b", "v1.0")),
        ("https://user:pw@host/r.git@feature/x", ("https://user:pw@host/r.git", "feature/x")),
        ("git@github.com:a/b.git@v2", ("git@github.com:a/b.git", "v2")),
        # The user-info's `@` is no revision.
        ("ssh://git@github.com/a/b.git", ("ssh://git@github.com/a/b.git", None)),
        ("git@github.com:a/b.git", ("git@github.com:a/b.git", None)),
        ("https://user:pw@host/r.git", ("https://user:pw@host/r.git", None)),
        ("https://host/r.git@", ("https://host/r.git@", None)),
        ("https://host", ("https://host", None)),
    ],
)
def test_split_vcs_ref_takes_the_revision_after_the_path(
    url: str, split: tuple[str, str | None]
) -> None:
    assert split_vcs_ref(url) == split
