"""A real git smart-HTTP server on loopback: `git http-backend` behind a small threaded WSGI server
that asks for HTTP basic auth, with an access log the tests read.

    git (client) ──HTTP──► wsgiref (this module: basic auth, access log) ──CGI──► git http-backend
                                                                                  (GIT_PROJECT_ROOT)

`GitHttpServer(root, auth=(user, password))` serves every bare repository under ``root`` at
``http://127.0.0.1:PORT/<name>.git``; every request without the right ``Authorization`` header
is answered 401 with a ``WWW-Authenticate: Basic`` challenge, as hosted git services do, so a
client must send credentials. ``delay`` holds each answer back that many seconds (so the git
processes of a clone live long enough for a test to look at them). ``requests()`` gives
`GitRequest(method, path, status, user)` rows, ``user`` being the user name the request
authenticated as (None when it sent no or wrong credentials).

`bare_repository(root, name, tree)` commits a source tree into a new bare repository there and
returns the commit.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, NamedTuple, Self
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from support import TESTS_DIR, isolated_environ
from support.processes import Service, stop_process

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["GitHttpServer", "GitRequest", "bare_repository"]

_GIT = [
    "git",
    "-c",
    "user.name=t",
    "-c",
    "user.email=t@example.invalid",
    "-c",
    "init.defaultBranch=main",
]


class GitRequest(NamedTuple):
    method: str
    path: str
    status: int
    user: str | None


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        [*_GIT, *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def bare_repository(root: Path, name: str, tree: Path) -> str:
    """Commit everything in ``tree`` to branch ``main`` of a new bare repository
    ``root/<name>.git``; returns the commit hash."""
    work = root / f".{name}-work"
    shutil.copytree(tree, work)
    _git("init", "--quiet", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "--quiet", "-m", "initial", cwd=work)
    commit = _git("rev-parse", "HEAD", cwd=work)
    _git("clone", "--quiet", "--bare", str(work), str(root / f"{name}.git"), cwd=root)
    shutil.rmtree(work)
    return commit


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Backend:
    """The WSGI app run in the server process: basic auth, then `git http-backend` as CGI."""

    def __init__(self, root: Path, auth: tuple[str, str], delay: float, log: Path) -> None:
        self.root = root
        self.auth = auth
        self.delay = delay
        self.log = log
        self._lock = threading.Lock()

    def _user(self, environ: dict[str, Any]) -> str | None:
        scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return user if (user, password) == self.auth else None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        method = environ["REQUEST_METHOD"]
        user = self._user(environ)
        if self.delay:
            time.sleep(self.delay)
        if user is None:
            self._record(method, path, query, 401, None)
            start_response(
                "401 Unauthorized",
                [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Length", "0")],
            )
            return [b""]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi_env = {
            key: value
            for key, value in environ.items()
            if isinstance(value, str) and key.isupper() and key != "HTTP_AUTHORIZATION"
        }
        cgi_env.update(
            {
                "GIT_PROJECT_ROOT": str(self.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": user,
                "CONTENT_LENGTH": str(len(body)),
            }
        )
        if "HTTP_GIT_PROTOCOL" in cgi_env:
            cgi_env["GIT_PROTOCOL"] = cgi_env["HTTP_GIT_PROTOCOL"]
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=cgi_env, capture_output=True, check=False
        )
        head, sep, payload = done.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = done.stdout.partition(b"\n\n")
        status = "200 OK"
        headers = []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = value.strip()
            elif key:
                headers.append((key.strip(), value.strip()))
        self._record(method, path, query, int(status.split()[0]), user)
        start_response(status, headers)
        return [payload]

    def _record(self, method: str, path: str, query: str, status: int, user: str | None) -> None:
        line = json.dumps([method, f"{path}?{query}" if query else path, status, user])
        with self._lock, self.log.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def _serve() -> None:
    """Server process: ``python -m support.gitserver ROOT LOG DELAY``, the account in `GITSERVER_AUTH`
    (``user:password``, kept off the command line); prints the port once listening."""
    root, log, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    user, _, password = os.environ.pop("GITSERVER_AUTH").partition(":")
    app = _Backend(Path(root), (user, password), delay, Path(log))
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_QuietHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class GitHttpServer(Service):
    """`git http-backend` for the bare repositories under ``root``, behind basic auth, in its
    own process (so a test's busy threads never slow it down)."""

    def __init__(self, root: Path, *, auth: tuple[str, str], delay: float = 0.0) -> None:
        self.root = root
        self.auth = auth
        self.delay = delay
        self.log = root.with_name(root.name + "-git-access.jsonl")
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[GitRequest]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [GitRequest(*json.loads(line)) for line in lines if line]

    def start(self) -> Self:
        env = {
            **isolated_environ(),
            "GITSERVER_AUTH": ":".join(self.auth),
            "PYTHONPATH": str(TESTS_DIR),
        }
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "support.gitserver",
                str(self.root),
                str(self.log),
                str(self.delay),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("the git HTTP server did not start")
        self.port = int(line)
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        stop_process(process)
        if process.stdout is not None:
            process.stdout.close()


if __name__ == "__main__":
    _serve()
