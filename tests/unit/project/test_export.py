"""Requirements lines as pipenv writes them, and the PEP 751 pylock document."""

from __future__ import annotations

import tomllib

import pytest

from pipfence.errors import PackageNotFound, UsageError
from pipfence.formats.pylock import pylock_document, pylock_toml
from pipfence.formats.requirements import index_lines, requirement_line
from pipfence.models.files import DistFile, ProjectPage
from pipfence.models.lockfile import LockedPackage, Lockfile, Meta
from pipfence.models.names import canonical_name
from pipfence.models.sources import Source
from pipfence.project.categories import CategoryOptions, categories_of, chosen_tables
from pipfence.project.export import routing_lost, selected_packages


def lock_categories_for(
    *, dev: bool = False, dev_only: bool = False, categories: str | None = None
) -> list[str]:
    """The lock categories `requirements` and `check` work on, in the order an export merges
    them."""
    options = CategoryOptions(dev=dev, dev_only=dev_only, categories=categories)
    return categories_of(chosen_tables(options), dev=dev, default_last=True)


PUBLIC = Source(name="public", url="https://pypi.example/simple", verify_ssl=True)
PRIVATE = Source(
    name="private", url="https://$USER:${TOKEN}@private.example/simple/", verify_ssl=True
)


def lock(**categories: dict[str, dict[str, object]]) -> Lockfile:
    return Lockfile(
        meta=Meta(hash="x", sources=(PUBLIC, PRIVATE), requires={"python_version": "3.11"}),
        categories={
            c: {n: LockedPackage(name=n, data=d) for n, d in p.items()}
            for c, p in categories.items()
        },
    )


SAMPLE = lock(
    default={
        "app": {"version": "==1.0", "hashes": ["sha256:aa", "sha256:bb"], "index": "public"},
        "internal": {"version": "==2.0", "hashes": ["sha256:cc"], "index": "private"},
        "helper": {"version": "==3.0", "markers": "python_version >= '3.8'", "extras": ["x"]},
    },
    develop={"pytest": {"version": "==8.0"}, "app": {"version": "==0.9"}},
)


def test_categories_follow_pipenvs_flags() -> None:
    assert lock_categories_for() == ["default"]
    assert lock_categories_for(dev=True) == ["develop", "default"]
    assert lock_categories_for(dev_only=True) == ["develop"]
    assert lock_categories_for(categories="packages, docs") == ["default", "docs"]
    merged = selected_packages(SAMPLE, ["develop", "default"])
    assert list(merged) == ["pytest", "app", "internal", "helper"]
    assert merged["app"].version == "1.0"


def test_index_lines_keep_placeholders_braced() -> None:
    assert index_lines(SAMPLE) == [
        "-i https://pypi.example/simple",
        "--extra-index-url https://${USER}:${TOKEN}@private.example/simple/",
    ]


def test_requirement_lines() -> None:
    default = SAMPLE.categories["default"]
    assert requirement_line("app", default["app"], hashes=True) == (
        "app==1.0 --hash=sha256:aa --hash=sha256:bb"
    )
    assert requirement_line("helper", default["helper"]) == (
        "helper[x]==3.0; python_version >= '3.8'"
    )
    assert requirement_line("helper", default["helper"], markers=False) == "helper[x]==3.0"
    vcs = LockedPackage(name="lib", data={"git": "https://git.example/lib.git", "ref": "abc"})
    assert requirement_line("lib", vcs) == "lib @ git+https://git.example/lib.git@abc"
    local = LockedPackage(name="loc", data={"path": ".", "editable": True})
    assert requirement_line("loc", local) == "-e ."


def test_routing_lost_names_packages_off_the_first_source() -> None:
    assert routing_lost(SAMPLE, SAMPLE.categories["default"]) == {"internal": "private"}


def page(name: str, *files: tuple[str, str]) -> ProjectPage:
    return ProjectPage.of_files(
        canonical_name(name),
        (
            DistFile(filename=f, url=f"https://files.example/{f}", hashes={"sha256": h})
            for f, h in files
        ),
    )


def test_pylock_records_index_and_matched_files() -> None:
    packages = selected_packages(SAMPLE, ["default"])
    pages = {
        "app": page(
            "app",
            ("app-1.0-py3-none-any.whl", "aa"),
            ("app-1.0.tar.gz", "bb"),
            ("app-1.1-py3-none-any.whl", "zz"),
        ),
        "internal": ProjectPage.of_files(
            canonical_name("internal"),
            (
                DistFile(
                    filename="internal-2.0-py3-none-any.whl",
                    url="https://private.example/s3cr3t/files/internal-2.0-py3-none-any.whl",
                    hashes={"sha256": "cc"},
                ),
            ),
        ),
        "helper": page("helper", ("helper-3.0-py3-none-any.whl", "dd")),
    }
    packages["helper"] = LockedPackage(
        name="helper", data={"version": "==3.0", "hashes": ["sha256:dd"]}
    )
    url_for = {"private": ("https://private.example/s3cr3t", "https://private.example/${TOKEN}")}
    export = pylock_document(SAMPLE, packages, pages, url_for=url_for)  # type: ignore[arg-type]
    data = tomllib.loads(pylock_toml(export.document))
    assert data["lock-version"] == "1.0"
    assert data["requires-python"] == "==3.11.*"
    by_name = {p["name"]: p for p in data["packages"]}
    app = by_name["app"]
    assert app["index"] == "https://pypi.example/simple"
    assert [w["name"] for w in app["wheels"]] == ["app-1.0-py3-none-any.whl"]
    assert app["sdist"]["hashes"] == {"sha256": "bb"}
    internal = by_name["internal"]
    assert internal["index"] == PRIVATE.url
    assert internal["wheels"][0]["url"] == (
        "https://private.example/${TOKEN}/files/internal-2.0-py3-none-any.whl"
    )
    assert "s3cr3t" not in pylock_toml(export.document)
    assert internal["tool"]["pipfence"]["source"] == "private"


def test_pylock_refuses_unmatched_and_vcs_entries() -> None:
    packages = {"app": SAMPLE.categories["default"]["app"]}
    with pytest.raises(PackageNotFound, match="no file of `app`"):
        pylock_document(SAMPLE, packages, {canonical_name("app"): page("app")})
    vcs = {"lib": LockedPackage(name="lib", data={"git": "https://git.example/lib.git"})}
    with pytest.raises(UsageError, match="index packages only"):
        pylock_document(SAMPLE, vcs, {})
