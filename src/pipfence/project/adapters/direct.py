"""Direct references: ``path``, ``file`` and ``git`` entries of a Pipfile and of its lock.

    Pipfile entry / lock entry ──► DirectRef ──► DirectFetcher.fetch ──► Fetched (a source tree or
                                                                        an archive on disk)
                                                  ├─ path: the folder (or file) in the project
                                                  ├─ file: a local archive, or a download
                                                  └─ git:  a commit checked out of a cached clone

A lock records them as pipenv writes them: ``{"path": "./libs/x", "editable": true}``,
``{"file": "https://…/x-1.0.tar.gz"}`` (pipfence adds the archive's ``hashes``), and
``{"git": "https://…", "ref": "<full commit hash>"}`` (with ``subdirectory`` / ``editable``
when the Pipfile has them); none has a ``version`` or an ``index``.

git runs as a subprocess with no terminal prompt. An http(s) git URL's user-info (``${VAR}``
expanded) is never given to git in a URL or on a command line: git gets the URL without it, and
a credential helper configured through git's environment answers with it, for that URL's origin
only.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import msgspec

from pipfence.errors import HashMismatch, InstallError, UsageError
from pipfence.installer.cache import file_sha256
from pipfence.models.files import DistFile
from pipfence.models.listing import AllowedHashes
from pipfence.models.references import DirectRef
from pipfence.models.sources import Source
from pipfence.models.urls import expand, redact_text, shown_url, split_userinfo
from pipfence.project.adapters.fenced_source import IndexReader

if TYPE_CHECKING:
    from pipfence.installer.venv import VirtualEnv
    from pipfence.project.project import Project

__all__ = [
    "DirectFetcher",
    "DirectRef",
    "Fetched",
    "editable_checkout",
    "is_remote",
    "project_fetcher",
]

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_GIT_TIMEOUT = 600
_ENV_VAR = re.compile(r"\$\{?[A-Za-z_]")
#: git's credential helper: answers ``get`` from two variables of its own environment, so
#: neither its command line nor git's holds the secret.
_CREDENTIAL_HELPER = (
    "!f() { if test \"$1\" = get; then printf 'username=%s\\npassword=%s\\n' "
    '"$PIPFENCE_GIT_USERNAME" "$PIPFENCE_GIT_PASSWORD"; fi; }; f'
)
_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")


class Fetched(msgspec.Struct, frozen=True, kw_only=True):
    """A direct reference on disk: a source ``tree`` or an ``archive`` (sdist or wheel).

    ``sha256`` is the archive's digest, ``commit`` the git commit; ``cache_key`` keys built
    metadata and wheels (None for a folder in the project, which may change at any time);
    ``direct_url`` is the PEP 610 ``direct_url.json`` an install of it records.
    """

    ref: DirectRef
    tree: Path | None = None
    archive: Path | None = None
    sha256: str | None = None
    commit: str | None = None
    cache_key: str | None = None
    direct_url: Mapping[str, Any]


class DirectFetcher:
    """Fetches direct references for one project.

    ``root`` is the project folder (relative paths are relative to it), ``cache_dir`` pipfence's
    cache (git clones go to ``git/``), ``environ`` the process environment (for ``${VAR}`` in
    URLs and git's PATH/HOME). ``client`` downloads http(s) ``file`` URLs.
    """

    def __init__(
        self,
        root: Path,
        *,
        cache_dir: Path,
        environ: Mapping[str, str],
        client: IndexReader,
    ) -> None:
        self._root = root
        self._git_root = cache_dir / "git"
        self._environ = environ
        self._client = client

    # -- fetching ---------------------------------------------------------------------------

    def fetch(self, ref: DirectRef, tmp: Path, *, checkout_dir: Path | None = None) -> Fetched:
        """Put ``ref`` on disk (downloads go to ``tmp``). A ``file`` archive is checked against
        ``ref.hashes`` when the lock gave any (`HashMismatch`); a git ref that is not a full
        commit hash is resolved to one. An editable git checkout goes to ``checkout_dir``."""
        if ref.kind == "path":
            return self._path(ref)
        if ref.kind == "file":
            return self._file(ref, tmp)
        return self._git(ref, checkout_dir=checkout_dir if ref.editable else None)

    def _local(self, location: str) -> Path:
        if location.startswith("file:"):
            parts = urlsplit(location)
            from urllib.request import url2pathname  # with http.client: 15 ms a lock skips

            path = Path(url2pathname(unquote(parts.path)))
        else:
            path = Path(location).expanduser()
        return path if path.is_absolute() else (self._root / path)

    def _path(self, ref: DirectRef) -> Fetched:
        path = Path(os.path.abspath(self._local(ref.location)))  # noqa: PTH100 - keep links
        if path.is_dir():
            if not any((path / f).is_file() for f in ("pyproject.toml", "setup.py")):
                raise UsageError(
                    f"`{ref.name}` points at `{ref.location}`, which has neither pyproject.toml "
                    "nor setup.py"
                )
            return Fetched(
                ref=ref,
                tree=path,
                direct_url={"url": path.as_uri(), "dir_info": {"editable": True}}
                if ref.editable
                else {"url": path.as_uri(), "dir_info": {}},
            )
        if path.is_file() and path.name.endswith(_ARCHIVES):
            return self._archive(ref, path, path.as_uri())
        raise UsageError(f"`{ref.name}` points at `{ref.location}`, which does not exist")

    def _archive(self, ref: DirectRef, path: Path, url: str) -> Fetched:
        sha = file_sha256(path)
        allowed = AllowedHashes.of(ref.hashes)
        if allowed and sha not in allowed:
            raise HashMismatch(
                f"`{ref.name}` ({shown_url(ref.location)}) has sha256 {sha}, which "
                "Pipfile.lock does not allow",
                hint="if the file was replaced on purpose run `pipfence lock`",
            )
        return Fetched(
            ref=ref,
            archive=path,
            sha256=sha,
            cache_key=sha,
            direct_url={
                "url": url,
                "archive_info": {"hash": f"sha256={sha}", "hashes": {"sha256": sha}},
            },
        )

    def _file(self, ref: DirectRef, tmp: Path) -> Fetched:
        location = ref.location
        if not location.startswith(("http://", "https://")):
            path = self._local(location)
            if path.is_dir():  # pipenv writes `file = "file:///…/dir"` for a folder too
                return self._path(ref)
            if not path.is_file():
                raise UsageError(f"`{ref.name}` points at `{location}`, which does not exist")
            return self._archive(ref, path, Path(os.path.abspath(path)).as_uri())  # noqa: PTH100
        url = expand(location, self._environ, what=f"the URL of `{ref.name}`")
        filename = urlsplit(url).path.rsplit("/", 1)[-1]
        if not filename.endswith(_ARCHIVES):
            raise UsageError(f"`{ref.name}`: `{shown_url(location)}` is not a wheel or an sdist")
        origin = urlsplit(url)
        source = Source(name=ref.name, url=f"{origin.scheme}://{origin.netloc}/")
        file = DistFile(filename=filename, url=url)
        path = self._client.download(source, source.url, file, tmp)
        return self._archive(ref, path, shown_url(location))

    # -- git --------------------------------------------------------------------------------

    def _git_env(self, url: str) -> tuple[str, dict[str, str]]:
        """The URL to give git and git's environment.

        An http(s) URL's user-info (``${VAR}`` expanded) never reaches git's command line nor
        the URL git is given: git gets the URL without it, and a credential helper set in
        git's environment only (`_credential_config`) answers git's question for that origin
        from two variables of that environment.
        """
        keep = (
            *("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP"),
            # The network settings git reads itself: proxies (lower case first, as curl)
            # and the CAs and client certificate it trusts.
            *("http_proxy", "https_proxy", "all_proxy", "no_proxy"),
            *("HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"),
            *("GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_SSL_CERT", "GIT_SSL_KEY"),
            *("SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE"),
            # ssh remotes: the agent holding the user's keys, and their own ssh command.
            *("SSH_AUTH_SOCK", "GIT_SSH", "GIT_SSH_COMMAND"),
        )
        env = {k: v for k, v in self._environ.items() if k in keep}
        env.setdefault("PATH", os.defpath)
        env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""})
        plain = url.removeprefix("git+")
        plain = plain.split("#", 1)[0]
        if _ENV_VAR.search(plain):
            plain = expand(plain, self._environ, what="a git URL")
        clean, userinfo = split_userinfo(plain)
        if userinfo is not None and clean.lower().startswith(("http://", "https://")):
            # `expand` percent-encoded each value into the user-info; `split_userinfo`
            # decodes it, so git's credential helper hands over the secret itself.
            values = (userinfo.username, userinfo.password)
            if any(c in value for value in values for c in "\n\r\0"):
                raise UsageError(
                    "a git URL's user name or password holds a line break or NUL, "
                    "which git cannot be given"
                )
            plain = clean
            env.update(_credential_config(plain, *values))
        return plain, env

    def _run_git(self, args: list[str], env: Mapping[str, str], what: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_GIT_TIMEOUT,
                check=False,
            )
        except FileNotFoundError as exc:
            raise InstallError("git is not installed; it is needed for git entries") from exc
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InstallError(f"Could not {what}: {exc}") from exc
        if done.returncode != 0:
            password = env.get("PIPFENCE_GIT_PASSWORD")
            detail = redact_text(done.stderr.strip(), [password] if password else [])
            detail = detail or f"exit status {done.returncode}"
            raise InstallError(f"Could not {what}: {detail}")
        return done.stdout

    def _database(self, ref: DirectRef, commit: str | None) -> tuple[Path, dict[str, str]]:
        """A bare clone of the repository in the cache, fetched unless it has ``commit``."""
        url, env = self._git_env(ref.location)
        shown = shown_url(url)
        db = self._git_root / "db" / hashlib.sha256(url.encode()).hexdigest()[:24]
        if not (db / "HEAD").is_file():
            staging = db.with_name(f".{db.name}.{secrets.token_hex(4)}")
            staging.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._run_git(
                    ["clone", "--bare", "--quiet", "--", url, str(staging)],
                    env,
                    f"clone `{shown}` for `{ref.name}`",
                )
                try:
                    staging.rename(db)
                except OSError:
                    shutil.rmtree(staging, ignore_errors=True)  # a concurrent clone won
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            return db, env
        if commit is not None and self._has_commit(db, env, commit):
            return db, env
        self._run_git(
            [
                "-C",
                str(db),
                "fetch",
                "--quiet",
                "--prune",
                "--tags",
                "--",
                url,
                "+refs/heads/*:refs/heads/*",
                "+HEAD:refs/pipfence/HEAD",
            ],
            env,
            f"fetch `{shown}` for `{ref.name}`",
        )
        return db, env

    def _has_commit(self, db: Path, env: Mapping[str, str], commit: str) -> bool:
        try:
            self._run_git(["-C", str(db), "cat-file", "-e", f"{commit}^{{commit}}"], env, "look")
        except InstallError:
            return False
        return True

    def resolve_commit(self, ref: DirectRef) -> tuple[str, Path, dict[str, str]]:
        """The full commit hash ``ref.ref`` names (HEAD when None), with the clone."""
        wanted = ref.ref
        exact = wanted is not None and _COMMIT.match(wanted.lower()) is not None
        db, env = self._database(ref, wanted.lower() if exact and wanted else None)
        spec = wanted or "HEAD"
        try:
            out = self._run_git(
                ["-C", str(db), "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"],
                env,
                f"find `{spec}` in `{shown_url(ref.location)}`",
            )
        except InstallError:
            raise UsageError(
                f"git ref `{spec}` of `{ref.name}` was not found in `{shown_url(ref.location)}`",
                hint="check `ref` in the Pipfile",
            ) from None
        return out.strip(), db, env

    def _git(self, ref: DirectRef, *, checkout_dir: Path | None) -> Fetched:
        commit, db, env = self.resolve_commit(ref)
        url = shown_url(ref.location.removeprefix("git+").split("#", 1)[0])
        if checkout_dir is not None:
            target = checkout_dir
            if target.exists():
                shutil.rmtree(target)
        else:
            target = self._git_root / "checkouts" / commit
        if not (target / ".git").exists():
            staging = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
            staging.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._run_git(
                    ["clone", "--quiet", "--no-checkout", "--", str(db), str(staging)],
                    env,
                    f"check out `{ref.name}`",
                )
                self._run_git(
                    ["-C", str(staging), "checkout", "--quiet", "--detach", commit],
                    env,
                    f"check out {commit} of `{ref.name}`",
                )
                try:
                    staging.rename(target)
                except OSError:
                    if not target.exists():
                        raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        tree = target / ref.subdirectory if ref.subdirectory else target
        if not tree.is_dir():
            raise UsageError(
                f"`{ref.name}`: subdirectory `{ref.subdirectory}` does not exist at {commit}"
            )
        sub = hashlib.sha256((ref.subdirectory or "").encode()).hexdigest()[:8]
        direct_url: dict[str, Any]
        if ref.editable:
            direct_url = {"url": tree.as_uri(), "dir_info": {"editable": True}}
        else:
            vcs_info: dict[str, Any] = {"vcs": "git", "commit_id": commit}
            if ref.ref and ref.ref != commit:
                vcs_info["requested_revision"] = ref.ref
            direct_url = {"url": url, "vcs_info": vcs_info}
            if ref.subdirectory:
                direct_url["subdirectory"] = ref.subdirectory
        return Fetched(
            ref=ref,
            tree=tree,
            commit=commit,
            cache_key=f"git-{commit}-{sub}",
            direct_url=direct_url,
        )

    def checkout_head(self, checkout: Path) -> str | None:
        """The commit an editable checkout is at, or None when it is not a git checkout."""
        try:
            out = self._run_git(
                ["-C", str(checkout), "rev-parse", "HEAD"], self._git_env("")[1], "look"
            )
        except InstallError:
            return None
        return out.strip() or None


def _credential_config(url: str, user: str, password: str) -> dict[str, str]:
    """Environment for git that makes `_CREDENTIAL_HELPER` the only credential helper, for
    ``url``'s origin only (git never offers the credentials to another host, a redirect's
    included), with the credentials in two variables of git's own environment."""
    parts = urlsplit(url)
    origin = f"{parts.scheme.lower()}://{parts.netloc}"
    return {
        "GIT_CONFIG_COUNT": "2",
        # An empty value first: no helper from the user's or the system's git config is asked.
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": f"credential.{origin}.helper",
        "GIT_CONFIG_VALUE_1": _CREDENTIAL_HELPER,
        "PIPFENCE_GIT_USERNAME": user,
        "PIPFENCE_GIT_PASSWORD": password,
    }


def is_remote(location: str) -> bool:
    """Whether a direct reference's location is fetched over http(s)."""
    return location.startswith(("http://", "https://"))


def editable_checkout(env: VirtualEnv, ref: DirectRef) -> Path:
    """Where an editable git entry is checked out: ``<env>/src/<name>``, as pipenv does."""
    return env.root / "src" / ref.key


def project_fetcher(project: Project, client: IndexReader) -> DirectFetcher:
    """The `DirectFetcher` of ``project``: its folder, pipfence's cache and its environment."""
    return DirectFetcher(
        project.root,
        cache_dir=project.settings.cache_dir,
        environ=project.settings.environ,
        client=client,
    )
