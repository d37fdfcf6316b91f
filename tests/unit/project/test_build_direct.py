"""project.direct: path, file and git references from Pipfile and lock entries, offline."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipfence.errors import HashMismatch, UsageError
from pipfence.models.files import DistFile
from pipfence.models.lockfile import LockedPackage
from pipfence.models.package_spec import PackageSpec
from pipfence.models.references import DirectRef
from pipfence.models.sources import Source
from pipfence.project.adapters.direct import DirectFetcher
from support.dists import build_sdist, write_source_tree


class NoDownloads:
    def download(self, source: Source, request_url: str, file: DistFile, dest_dir: Path) -> Path:
        raise AssertionError("no download expected")

    def project_page(self, *args: Any) -> None:
        raise AssertionError

    def metadata(self, *args: Any) -> None:
        raise AssertionError


def fetcher(root: Path, environ: dict[str, str] | None = None) -> DirectFetcher:
    return DirectFetcher(
        root,
        cache_dir=root / "cache",
        environ=environ or {"PATH": "/usr/bin:/bin"},
        client=NoDownloads(),
    )


def test_refs_from_pipfile_entries() -> None:
    path = DirectRef.from_spec(
        PackageSpec.from_entry("MyLib", {"path": "./libs/x", "editable": True})
    )
    assert (path.kind, path.location, path.editable, path.key) == (
        "path",
        "./libs/x",
        True,
        "mylib",
    )
    git = DirectRef.from_spec(
        PackageSpec.from_entry("g", {"git": "https://h/r.git", "ref": "v1", "subdirectory": "s"})
    )
    assert (git.kind, git.ref, git.subdirectory) == ("git", "v1", "s")
    with pytest.raises(UsageError, match="git checkouts only"):
        DirectRef.from_spec(PackageSpec.from_entry("h", {"hg": "https://h/r"}))


def test_ref_from_lock_entry_keeps_hashes_and_markers() -> None:
    ref = DirectRef.from_locked(
        LockedPackage(
            name="f",
            data={
                "file": "https://h/f-1.0.tar.gz",
                "hashes": ["sha256:ab"],
                "markers": "os_name == 'nt'",
            },
        )
    )
    assert (ref.kind, ref.hashes, ref.markers) == ("file", ("sha256:ab",), "os_name == 'nt'")


def test_path_and_file_fetches(tmp_path: Path) -> None:
    write_source_tree(tmp_path / "libs", "pkg", "1.0")
    sdist = build_sdist(tmp_path / "dist", "arch", "2.0")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    fetch = fetcher(tmp_path)

    tree = fetch.fetch(DirectRef(name="pkg", kind="path", location="libs/pkg-1.0"), tmp_path / "t")
    assert tree.tree == tmp_path / "libs" / "pkg-1.0"
    assert tree.cache_key is None
    assert tree.direct_url == {"url": tree.tree.as_uri(), "dir_info": {}}

    ref = DirectRef(name="arch", kind="file", location="./dist/arch-2.0.tar.gz")
    got = fetch.fetch(ref, tmp_path / "t")
    assert (got.sha256, got.cache_key) == (digest, digest)
    assert ref.lock_data(got) == {"file": "./dist/arch-2.0.tar.gz", "hashes": [f"sha256:{digest}"]}
    wrong = DirectRef(
        name="arch", kind="file", location="./dist/arch-2.0.tar.gz", hashes=("sha256:" + "0" * 64,)
    )
    with pytest.raises(HashMismatch):
        fetch.fetch(wrong, tmp_path / "t")
    with pytest.raises(UsageError, match="does not exist"):
        fetch.fetch(DirectRef(name="x", kind="path", location="nowhere"), tmp_path / "t")


def test_a_file_entry_naming_a_folder_is_the_folder(tmp_path: Path) -> None:
    """pipenv's `install -r` writes `-e ./x` as `x = {file = "file:///…/x", editable = true}`
    and locks it as `"file": "x"`: both are the folder, as a `path` entry would be."""
    write_source_tree(tmp_path / "libs", "pkg", "1.0")
    folder = tmp_path / "libs" / "pkg-1.0"
    fetch = fetcher(tmp_path)
    for location in (folder.as_uri(), "libs/pkg-1.0"):
        ref = DirectRef(name="pkg", kind="file", location=location, editable=True)
        got = fetch.fetch(ref, tmp_path / "t")
        assert got.tree == folder
        assert got.direct_url == {"url": folder.as_uri(), "dir_info": {"editable": True}}
        assert ref.lock_data(got) == {"editable": True, "file": location}
    with pytest.raises(UsageError, match="does not exist"):
        fetch.fetch(DirectRef(name="x", kind="file", location="libs/nowhere"), tmp_path / "t")


@pytest.mark.fast_io
def test_git_ref_resolves_to_the_full_commit(tmp_path: Path) -> None:
    repo = write_source_tree(tmp_path, "g", "1.0")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    subprocess.run([*git, "tag", "v1"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    fetch = fetcher(tmp_path)
    for wanted in (None, "main", "v1", head):
        ref = DirectRef(name="g", kind="git", location=repo.as_uri(), ref=wanted)
        got = fetch.fetch(ref, tmp_path / "t")
        assert got.commit == head
        assert got.tree is not None
        assert (got.tree / "pyproject.toml").is_file()
        assert ref.lock_data(got) == {"git": repo.as_uri(), "ref": head}
    with pytest.raises(UsageError, match="was not found"):
        fetch.fetch(DirectRef(name="g", kind="git", location=repo.as_uri(), ref="nope"), tmp_path)


def test_git_credentials_stay_off_the_command_line(tmp_path: Path) -> None:
    fetch = fetcher(tmp_path, {"PATH": "/bin", "TOKEN": "s3cr3t"})
    url, env = fetch._git_env("git+https://${TOKEN}@example.invalid/r.git#egg=r")
    assert url == "https://example.invalid/r.git"
    # The credentials are only in two variables a helper bound to the origin reads.
    assert [k for k, v in env.items() if "s3cr3t" in v] == ["PIPFENCE_GIT_USERNAME"]
    assert env["PIPFENCE_GIT_PASSWORD"] == ""
    assert env["GIT_CONFIG_COUNT"] == "2"
    assert (env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"]) == ("credential.helper", "")
    assert env["GIT_CONFIG_KEY_1"] == "credential.https://example.invalid.helper"
    assert "$PIPFENCE_GIT_PASSWORD" in env["GIT_CONFIG_VALUE_1"]
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "TOKEN" not in env


def test_git_credentials_are_decoded_from_the_template_not_the_expanded_url(
    tmp_path: Path,
) -> None:
    token = "a/b#c?d@e:f%41"
    fetch = fetcher(tmp_path, {"PATH": "/bin", "TOKEN": token, "HOST": "git.example.invalid"})
    url, env = fetch._git_env("https://me%40corp:${TOKEN}@${HOST}/r.git")
    assert url == "https://git.example.invalid/r.git"
    assert env["PIPFENCE_GIT_USERNAME"] == "me@corp"
    assert env["PIPFENCE_GIT_PASSWORD"] == token


def test_git_url_without_credentials_gets_no_helper(tmp_path: Path) -> None:
    url, env = fetcher(tmp_path, {"PATH": "/bin"})._git_env("https://example.invalid/r.git")
    assert url == "https://example.invalid/r.git"
    assert "GIT_CONFIG_COUNT" not in env
