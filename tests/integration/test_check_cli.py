"""`pipfence check` through pip-audit against a loopback OSV-compatible service.

The project's default source is PyPI, served by the public index fixture as a PyPI mirror, so
the lock records PyPI packages exactly as a real project would; a second package comes from a
private source. `OsvServer` answers OSV's `POST /v1/query` from canned advisories and records
every query, so the tests can see what left the machine: never a private package's name, and
never the service URL's credentials in any output.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import pytest

from support.project import out

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        __import__("importlib.util").util.find_spec("pip_audit") is None,
        reason="pip-audit is not installed (it is in the test extra)",
    ),
]

ADVISORY = {
    "id": "PYSEC-2099-17",
    "schema_version": "1.6.0",
    "aliases": ["GHSA-pf9x-7x3h-2q4r"],
    "summary": "helper 2.0 runs code from a crafted header",
    "published": "2099-01-02T03:04:05Z",
    "affected": [
        {
            "package": {"name": "helper", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.1"}]}],
            "versions": ["2.0"],
        }
    ],
}
AUDIT_USER = "auditor"
AUDIT_TOKEN = "osv-T0ken-c4n4ry-91d2"


@dataclass(frozen=True)
class Query:
    method: str
    path: str
    body: bytes
    authorization: str | None

    @property
    def package(self) -> tuple[str, str]:
        data = json.loads(self.body)
        assert data["package"]["ecosystem"] == "PyPI"
        return data["package"]["name"], data["version"]


@dataclass
class OsvServer:
    """A loopback OSV API: `advisories` maps (name, version) to OSV records; `status` set to
    an error code makes every answer that error. Every request is kept in `queries`."""

    advisories: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    status: int | None = None
    queries: list[Query] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                query = Query(
                    self.command,
                    self.path,
                    self.rfile.read(length) if length else b"",
                    self.headers.get("Authorization"),
                )
                owner.queries.append(query)
                status, body = owner.answer(query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, query: Query) -> tuple[int, dict[str, Any]]:
        if self.status is not None:
            return self.status, {"message": "internal error"}
        if query.method != "POST" or query.path != "/v1/query":
            return 404, {"message": "not found"}
        found = self.advisories.get(query.package, [])
        return 200, {"vulns": found} if found else {}

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def credentials_url(self) -> str:
        return f"http://{AUDIT_USER}:{AUDIT_TOKEN}@127.0.0.1:{self.base_url.rsplit(':', 1)[1]}"

    def asked(self) -> list[tuple[str, str]]:
        return sorted(q.package for q in self.queries)


@pytest.fixture
def osv() -> Iterator[OsvServer]:
    with OsvServer(advisories={("helper", "2.0"): [ADVISORY]}) as server:
        yield server


@pytest.fixture
def env(pipfence_env: dict[str, str], public_index: PypiServer) -> dict[str, str]:
    """The public index stands in for PyPI, so the lock records PyPI as the packages' source."""
    return {**pipfence_env, "PIPENV_PYPI_MIRROR": public_index.simple_url}


@pytest.fixture
def project(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    env: dict[str, str],
    public_index: PypiServer,
    private_index: PypiServer,
) -> Path:
    public_index.add_dist("app", "1.0", requires=["helper>=2"])
    public_index.add_dist("helper", "2.0")
    public_index.add_dist("devtool", "3.0")
    private_index.add_dist("internal-secret-tool", "1.0")
    (pipfence_project / "Pipfile").write_text(
        '[[source]]\nurl = "https://pypi.org/simple"\nverify_ssl = true\nname = "pypi"\n\n'
        f'[[source]]\nurl = "{private_index.simple_url}"\nverify_ssl = false\nname = "private"\n\n'
        '[packages]\napp = "*"\ninternal-secret-tool = {version = "*", index = "private"}\n\n'
        '[dev-packages]\ndevtool = "*"\n',
        encoding="utf-8",
    )
    locked = run_pipfence(["lock"], env=env)
    assert locked.returncode == 0, locked.stderr
    return pipfence_project


def with_url(env: dict[str, str], url: str) -> dict[str, str]:
    return {**env, "PIPFENCE_AUDIT_URL": url}


def test_check_reports_the_advisory_and_keeps_private_names_in(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], osv: OsvServer
) -> None:
    result = run_pipfence(["check", "-v"], env=with_url(env, osv.base_url))
    assert result.returncode == 1, out(result)
    assert result.stdout.splitlines() == [
        "helper 2.0: PYSEC-2099-17 (GHSA-pf9x-7x3h-2q4r); fixed in 2.1"
    ]
    assert "skipped internal-secret-tool: from source `private`, not PyPI" in result.stderr
    assert "1 package not looked up" in result.stderr
    assert f"1 known vulnerability in 2 packages (OSV at {osv.base_url}/v1/query)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    # Only the default packages from PyPI were asked about; the private name never left.
    assert osv.asked() == [("app", "1.0"), ("helper", "2.0")]
    assert {(q.method, q.path) for q in osv.queries} == {("POST", "/v1/query")}
    assert not any(b"internal" in q.body for q in osv.queries)


def test_check_clean_lock_exits_0(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], osv: OsvServer
) -> None:
    osv.advisories = {("helper", "1.0"): [ADVISORY]}  # an advisory for a version not locked
    result = run_pipfence(["check", "--dev"], env=with_url(env, osv.base_url + "/"))
    assert result.returncode == 0, out(result)
    assert result.stdout == ""
    assert f"No known vulnerabilities in 3 packages (OSV at {osv.base_url}/v1/query)." in (
        result.stderr
    )
    assert osv.asked() == [("app", "1.0"), ("devtool", "3.0"), ("helper", "2.0")]


def test_check_json_and_the_service_url_option(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], osv: OsvServer
) -> None:
    # The option wins over the variable; a URL that already names /v1/query is used as it is.
    env = with_url(env, "http://127.0.0.1:9/unused")
    result = run_pipfence(["check", "--json", "--service-url", f"{osv.base_url}/v1/query"], env=env)
    assert result.returncode == 1, out(result)
    report = json.loads(result.stdout)
    assert report == {
        "vulnerabilities": [
            {
                "name": "helper",
                "version": "2.0",
                "id": "PYSEC-2099-17",
                "aliases": ["GHSA-pf9x-7x3h-2q4r"],
                "fix_versions": ["2.1"],
                "description": "helper 2.0 runs code from a crafted header",
            }
        ],
        "service": {"name": "osv", "url": f"{osv.base_url}/v1/query"},
        "checked": 2,
        "skipped": [{"name": "internal-secret-tool", "reason": "from source `private`, not PyPI"}],
    }
    assert osv.asked() == [("app", "1.0"), ("helper", "2.0")]


def test_service_url_credentials_are_sent_but_never_shown(
    run_pipfence: RunPipfence,
    project: Path,
    env: dict[str, str],
    osv: OsvServer,
    tmp_path: Path,
) -> None:
    expected = "Basic " + base64.b64encode(f"{AUDIT_USER}:{AUDIT_TOKEN}".encode()).decode()
    port = osv.base_url.rsplit(":", 1)[1]
    shown = f"http://***@127.0.0.1:{port}/v1/query"
    results = [
        run_pipfence(["check", "-v"], env=with_url(env, osv.credentials_url())),
        run_pipfence(["check", "--json"], env=with_url(env, osv.credentials_url())),
        # ${VAR} keeps the token off the command line; it is expanded when the request is made.
        run_pipfence(
            [
                "check",
                "--service-url",
                f"http://{AUDIT_USER}:${{AUDIT_TOKEN}}@127.0.0.1:{port}",
            ],
            env={**env, "AUDIT_TOKEN": AUDIT_TOKEN},
        ),
    ]
    for result in results:
        assert result.returncode == 1, out(result)
        assert AUDIT_TOKEN not in result.stdout + result.stderr
        assert AUDIT_USER not in result.stdout + result.stderr
    assert shown in results[0].stderr
    assert json.loads(results[1].stdout)["service"]["url"] == shown
    assert len(osv.queries) == 6
    assert {q.authorization for q in osv.queries} == {expected}

    osv.status = 500
    for args in (["check"], ["check", "-v"], ["check", "--json"]):
        failed = run_pipfence(args, env=with_url(env, osv.credentials_url()))
        assert failed.returncode == 1, out(failed)
        assert AUDIT_TOKEN not in failed.stdout + failed.stderr, out(failed)
        assert AUDIT_USER not in failed.stdout + failed.stderr, out(failed)
        assert f"the vulnerability service OSV at {shown} failed" in failed.stderr
    # Nor is any file under the test's home, caches and project written with them.
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert AUDIT_TOKEN.encode() not in path.read_bytes(), path


def test_service_failure_is_one_line_naming_the_service(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], osv: OsvServer
) -> None:
    osv.status = 500
    result = run_pipfence(["check"], env=with_url(env, osv.base_url))
    assert result.returncode == 1, out(result)
    assert result.stdout == ""
    service = f"OSV at {osv.base_url}/v1/query"
    assert result.stderr.splitlines() == [
        f"error: the vulnerability service {service} failed for `app`: HTTP 500 Internal Server Error"
    ]
    assert osv.asked() == [("app", "1.0")]  # stops at the first failure


def test_wrong_service_path_hints_at_the_osv_api(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], osv: OsvServer
) -> None:
    result = run_pipfence(["check"], env=with_url(env, osv.base_url + "/osv"))
    assert result.returncode == 1, out(result)
    lines = result.stderr.splitlines()
    assert lines[0].endswith("failed for `app`: HTTP 404 Not Found"), out(result)
    assert lines[1].startswith("hint: the service URL must be the base of an OSV-compatible API")
    assert len(lines) == 2


def test_unreachable_service_is_one_line(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str]
) -> None:
    with OsvServer() as closed:
        url = closed.base_url  # nothing listens on this port once the server is closed
    result = run_pipfence(["check"], env=with_url(env, url))
    assert result.returncode == 1, out(result)
    assert result.stderr.splitlines() == [
        f"error: the vulnerability service OSV at {url}/v1/query failed for `app`: cannot connect"
    ]


@pytest.mark.parametrize(
    ("args", "url", "fragment"),
    [
        (["--service", "pypi"], "http://127.0.0.1:9", "is for `--service osv`"),
        ([], "ftp://127.0.0.1/osv", "is not an http(s) URL"),
        ([], f"http://{AUDIT_USER}:{AUDIT_TOKEN}@osv.example/", "over plain http"),
        (
            [],
            "https://${NOT_SET_ANYWHERE}@osv.example/",
            "`NOT_SET_ANYWHERE` in the vulnerability service URL is not set",
        ),
    ],
)
def test_bad_service_settings_are_usage_errors(
    run_pipfence: RunPipfence,
    project: Path,
    env: dict[str, str],
    args: list[str],
    url: str,
    fragment: str,
) -> None:
    result = run_pipfence(["check", *args], env=with_url(env, url))
    assert result.returncode == 2, out(result)
    assert fragment in result.stderr
    assert AUDIT_TOKEN not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_check_without_pip_audit_says_how_to_get_it(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    hidden = tmp_path / "hide-pip-audit" / "pip_audit"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    path = f"{hidden.parent}:{env['PYTHONPATH']}"
    result = run_pipfence(["check"], env={**env, "PYTHONPATH": path})
    assert result.returncode == 2, out(result)
    error, hint = result.stderr.splitlines()
    assert error == "error: `pipfence check` needs pip-audit, which is not installed"
    # pip-audit into the Python that runs pipfence, by a name the index has (pipfence's own
    # extra would need pipfence on the index).
    assert hint.startswith("hint: ")
    assert hint.endswith(" -m pip install 'pip-audit>=2.10'")
    assert "pipfence[" not in hint


def test_netrc_credentials_never_reach_the_vulnerability_service(
    run_pipfence: RunPipfence,
    project: Path,
    env: dict[str, str],
    osv: OsvServer,
    tmp_path: Path,
) -> None:
    # A netrc `default` entry (and one for the service's own host) would be sent by requests
    # to any host it talks to; pipfence never hands index credentials to the service.
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine 127.0.0.1 login hostuser password host-S3cret\n"
        "default login anyuser password default-S3cret\n",
        encoding="utf-8",
    )
    netrc.chmod(0o600)
    result = run_pipfence(
        ["check"], env={**with_url(env, osv.base_url), "NETRC": str(netrc), "HOME": str(tmp_path)}
    )
    assert result.returncode == 1, out(result)
    assert osv.asked() == [("app", "1.0"), ("helper", "2.0")]
    assert [q.authorization for q in osv.queries] == [None, None]


def test_check_with_nothing_it_could_look_up_exits_1(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    private_index: PypiServer,
    osv: OsvServer,
) -> None:
    """A lock whose packages all come from a private index: none may be sent to the service,
    so nothing was checked, and a green "no vulnerabilities" would be a lie."""
    private_index.add_dist("internal-secret-tool", "1.0")
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{private_index.simple_url}"\nverify_ssl = false\nname = "corp"\n\n'
        '[packages]\ninternal-secret-tool = "*"\n',
        encoding="utf-8",
    )
    locked = run_pipfence(["lock"], env=pipfence_env)
    assert locked.returncode == 0, out(locked)
    result = run_pipfence(["check"], env=with_url(pipfence_env, osv.base_url))
    assert result.returncode == 1, out(result)
    assert "nothing was checked: none of the 1 package could be looked up" in result.stderr
    assert "No known vulnerabilities" not in result.stderr
    assert osv.queries == []


def test_check_of_a_lock_without_packages_says_there_is_nothing_to_check(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    osv: OsvServer,
) -> None:
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{public_index.simple_url}"\nverify_ssl = false\nname = "pypi"\n\n'
        "[packages]\n",
        encoding="utf-8",
    )
    assert run_pipfence(["lock"], env=pipfence_env).returncode == 0
    result = run_pipfence(["check"], env=with_url(pipfence_env, osv.base_url))
    assert result.returncode == 0, out(result)
    assert "Nothing to check: the lock lists no packages in default." in result.stderr
    assert "No known vulnerabilities" not in result.stderr
    assert osv.queries == []


# -- `audit`: pipenv's pip-audit command, over the lock ------------------------------------


def test_audit_prints_pip_audits_formats(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], osv: OsvServer
) -> None:
    env = with_url(env, osv.base_url)
    columns = run_pipfence(["audit"], env=env)
    assert columns.returncode == 1, out(columns)
    rows = [line.split() for line in columns.stdout.splitlines()]
    assert rows[0] == ["Name", "Version", "ID", "Fix", "Versions"]
    assert ["helper", "2.0", "PYSEC-2099-17", "2.1"] in rows
    assert "Found 1 known vulnerability in 3 packages" in columns.stderr
    # [packages] and [dev-packages], as pipenv's `audit --locked`; the private name stays in.
    assert osv.asked() == [("app", "1.0"), ("devtool", "3.0"), ("helper", "2.0")]
    assert not any(b"internal" in q.body for q in osv.queries)

    as_json = run_pipfence(["audit", "-f", "json", "--desc", "--aliases"], env=env)
    assert as_json.returncode == 1, out(as_json)
    report = json.loads(as_json.stdout)
    by_name = {d["name"]: d for d in report["dependencies"]}
    (vuln,) = by_name["helper"]["vulns"]
    assert vuln["id"] == "PYSEC-2099-17"
    assert vuln["fix_versions"] == ["2.1"]
    assert vuln["aliases"] == ["GHSA-pf9x-7x3h-2q4r"]
    assert "crafted header" in vuln["description"]
    assert by_name["app"]["vulns"] == []
    assert "private" in by_name["internal-secret-tool"]["skip_reason"]

    written = project / "audit.md"
    markdown = run_pipfence(["audit", "--output", "markdown", "-o", str(written)], env=env)
    assert markdown.returncode == 1, out(markdown)
    assert markdown.stdout == ""
    assert "[helper](https://pypi.org/project/helper/) | 2.0 |" in written.read_text(
        encoding="utf-8"
    )

    sbom = run_pipfence(["audit", "-f", "cyclonedx-json"], env=env)
    assert sbom.returncode == 1, out(sbom)
    assert json.loads(sbom.stdout)["bomFormat"] == "CycloneDX"


def test_audit_ignore_and_strict(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], osv: OsvServer
) -> None:
    env = with_url(env, osv.base_url)
    ignored = run_pipfence(["audit", "--ignore", "GHSA-pf9x-7x3h-2q4r"], env=env)
    assert ignored.returncode == 0, out(ignored)
    assert "PYSEC-2099-17" not in ignored.stdout
    assert "No known vulnerabilities found in 3 packages" in ignored.stderr
    # --strict: a package that could not be looked up (the private one) fails the audit.
    strict = run_pipfence(["audit", "-i", "PYSEC-2099-17", "--strict"], env=env)
    assert strict.returncode == 1, out(strict)
    assert "1 package not looked up" in strict.stderr


def test_audit_dry_run_asks_nothing_and_fix_is_refused(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], osv: OsvServer
) -> None:
    env = with_url(env, osv.base_url)
    dry = run_pipfence(["audit", "--dry-run", "--locked", "--skip-editable"], env=env)
    assert dry.returncode == 0, out(dry)
    assert sorted(dry.stdout.split()) == ["app", "devtool", "helper", "internal-secret-tool"]
    fix = run_pipfence(["audit", "--fix"], env=env)
    assert fix.returncode == 2, out(fix)
    assert "pipfence update" in fix.stderr
    assert osv.queries == []


def test_audit_without_pip_audit_says_how_to_get_it(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    hidden = tmp_path / "hide-pip-audit" / "pip_audit"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    path = f"{hidden.parent}:{env['PYTHONPATH']}"
    result = run_pipfence(["audit"], env={**env, "PYTHONPATH": path})
    assert result.returncode == 2, out(result)
    assert "error: `pipfence audit` needs pip-audit, which is not installed" in result.stderr
    assert "-m pip install 'pip-audit>=2.10'" in result.stderr


def test_pipenvs_check_flags_ignore_continue_and_save_json(
    run_pipfence: RunPipfence,
    project: Path,
    env: dict[str, str],
    osv: OsvServer,
    tmp_path: Path,
) -> None:
    url_env = with_url(env, osv.base_url)
    ignored = run_pipfence(["check", "--ignore", "GHSA-pf9x-7x3h-2q4r"], env=url_env)
    assert ignored.returncode == 0, out(ignored)
    assert ignored.stdout == ""

    saved = tmp_path / "findings.json"
    report = run_pipfence(
        ["check", "--continue-on-error", "--save-json", str(saved), "--output", "json"],
        env=url_env,
    )
    assert report.returncode == 0, out(report)
    found = json.loads(report.stdout)["vulnerabilities"]
    assert [v["id"] for v in found] == ["PYSEC-2099-17"]
    assert json.loads(saved.read_text(encoding="utf-8")) == json.loads(report.stdout)

    safety = run_pipfence(["check", "--key", "k", "--scan", "--exit-code"], env=url_env)
    assert safety.returncode == 1, out(safety)
    assert "note: --key changes nothing here: pipenv's check runs safety" in safety.stderr
    assert "note: --scan changes nothing here" in safety.stderr
