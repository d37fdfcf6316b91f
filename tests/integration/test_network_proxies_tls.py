"""Private indexes in real networks, through the CLI: a forward proxy (proxy.py) that is the
only way to the index, NO_PROXY, proxy credentials, a custom-CA TLS index, a client-certificate
index, DNS and connection failures that point the right way, and the keyring subprocess
provider. Each runs on both transports (libcurl and httpx)."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trustme

from support.project import installed, out, read_lock, write_pipfile
from support.proxy import ForwardProxy
from support.tls import tls_front

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

PROXY_SECRET = "pr0xy-s3cret"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def pipfile(url: str, *, verify: bool = True, name: str = "corp") -> str:
    return (
        f'[[source]]\nurl = "{url}"\nverify_ssl = {str(verify).lower()}\nname = "{name}"\n\n'
        '[packages]\npayload = "*"\n'
    )


@pytest.fixture(params=["libcurl", "httpx"])
def net_env(request: pytest.FixtureRequest, env: dict[str, str]) -> dict[str, str]:
    """The CLI's environment on one transport, with no proxy variable set."""
    clean = {k: v for k, v in env.items() if k.lower() not in PROXY_VARIABLES}
    if request.param == "httpx":
        clean["PIPFENCE_HTTP"] = "httpx"
    return clean


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ForwardProxy]:
    with ForwardProxy(tmp_path / "proxy") as server:
        yield server


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- proxies ------------------------------------------------------------------------------------


def test_lock_and_sync_go_through_the_proxy_the_only_way_to_the_index(
    cli: RunPipfence,
    net_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    proxy: ForwardProxy,
) -> None:
    public_index.add_dist("payload", "1.0")
    # `pypi.internal` resolves for the proxy only: every request must pass through it.
    write_pipfile(pipfence_project, pipfile(f"http://pypi.internal:{public_index.port}/simple"))
    environ = {**net_env, "HTTP_PROXY": proxy.url}
    locked = cli(["lock"], env=environ)
    assert locked.returncode == 0, out(locked)
    assert read_lock(pipfence_project)["default"]["payload"]["version"] == "==1.0"
    synced = cli(["sync"], env=environ)
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"payload": "1.0"}
    assert f"pypi.internal:{public_index.port}" in proxy.hosts()
    assert "/packages/payload-1.0-py3-none-any.whl" in public_index.requested_paths()


def test_without_the_proxy_the_unresolvable_host_is_named_and_not_retried(
    cli: RunPipfence, net_env: dict[str, str], pipfence_project: Path
) -> None:
    write_pipfile(pipfence_project, pipfile("http://no-such-host.invalid/simple"))
    started = time.monotonic()
    result = cli(["lock"], env={**net_env, "PIPFENCE_RETRIES": "3"})
    elapsed = time.monotonic() - started
    assert result.returncode == 1, out(result)
    assert "`no-such-host.invalid` of source `corp`" in result.stderr, out(result)
    assert "could not be resolved" in result.stderr, out(result)
    assert "check the host name" in result.stderr, out(result)
    assert "overloaded" not in result.stderr, out(result)
    assert "attempts" not in result.stderr, out(result)
    assert elapsed < 30, out(result)


def test_no_proxy_covering_the_index_sends_nothing_through_the_proxy(
    cli: RunPipfence,
    net_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    proxy: ForwardProxy,
) -> None:
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, pipfile(public_index.simple_url))
    direct = cli(["lock"], env={**net_env, "HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.0/8"})
    assert direct.returncode == 0, out(direct)
    assert proxy.hosts() == []
    (pipfence_project / "Pipfile.lock").unlink()
    proxied = cli(
        ["lock", "--clear"], env={**net_env, "http_proxy": proxy.url, "NO_PROXY": "localhost"}
    )
    assert proxied.returncode == 0, out(proxied)
    assert f"127.0.0.1:{public_index.port}" in proxy.hosts()


def test_proxy_credentials_are_used_and_never_shown(
    cli: RunPipfence,
    net_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    tmp_path: Path,
) -> None:
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, pipfile(f"http://pypi.internal:{public_index.port}/simple"))
    with ForwardProxy(tmp_path / "auth-proxy", auth=("corp", PROXY_SECRET)) as proxy:
        good = cli(["lock"], env={**net_env, "HTTP_PROXY": proxy.url})
        assert good.returncode == 0, out(good)
        listing = cli(["sources"], env={**net_env, "HTTP_PROXY": proxy.url})
        assert f"proxy: http://***@127.0.0.1:{proxy.port} (from HTTP_PROXY)" in listing.stdout
        wrong = proxy.url.replace(PROXY_SECRET, "wr0ng-pass")
        refused = cli(["lock", "--clear"], env={**net_env, "HTTP_PROXY": wrong})
    assert refused.returncode == 1, out(refused)
    assert f"proxy http://***@127.0.0.1:{proxy.port} (from HTTP_PROXY)" in refused.stderr
    assert "407" in refused.stderr, out(refused)
    for result in (good, listing, refused):
        assert PROXY_SECRET not in result.stdout + result.stderr
        assert "wr0ng-pass" not in result.stdout + result.stderr
    assert PROXY_SECRET not in (pipfence_project / "Pipfile.lock").read_text()


def test_an_unreachable_proxy_is_named_with_its_variable(
    cli: RunPipfence, net_env: dict[str, str], pipfence_project: Path
) -> None:
    port = _closed_port()
    write_pipfile(pipfence_project, pipfile("http://pypi.internal:8080/simple"))
    dead = f"http://corp:{PROXY_SECRET}@127.0.0.1:{port}"
    result = cli(["lock"], env={**net_env, "http_proxy": dead, "PIPFENCE_RETRIES": "1"})
    assert result.returncode == 1, out(result)
    assert f"through proxy http://***@127.0.0.1:{port} (from http_proxy)" in result.stderr
    assert "NO_PROXY" in result.stderr
    assert PROXY_SECRET not in result.stdout + result.stderr


def test_a_refused_connection_says_nothing_listens_there(
    cli: RunPipfence, net_env: dict[str, str], pipfence_project: Path
) -> None:
    port = _closed_port()
    write_pipfile(pipfence_project, pipfile(f"http://127.0.0.1:{port}/simple"))
    result = cli(["lock"], env={**net_env, "PIPFENCE_RETRIES": "1"})
    assert result.returncode == 1, out(result)
    assert f"nothing accepted a connection at 127.0.0.1:{port}" in result.stderr, out(result)
    assert "overloaded" not in result.stderr


def test_sources_says_direct_when_no_proxy_applies(
    cli: RunPipfence, net_env: dict[str, str], pipfence_project: Path, public_index: PypiServer
) -> None:
    write_pipfile(pipfence_project, pipfile(public_index.simple_url))
    listing = cli(["sources"], env={**net_env, "HTTPS_PROXY": "http://127.0.0.1:9"})
    assert "proxy: direct" in listing.stdout, out(listing)


# -- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_files(tmp_path: Path, ca: trustme.CA) -> dict[str, Path]:
    """The CA's bundle, the server's certificate and key, and a client certificate (with its
    key) signed by another CA whose bundle is also written."""
    folder = tmp_path / "tls"
    folder.mkdir()
    server = ca.issue_cert("127.0.0.1", "localhost")
    files = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key", "client", "client_ca")}
    ca.cert_pem.write_to_path(str(files["ca"]))
    server.cert_chain_pems[0].write_to_path(str(files["cert"]))
    server.private_key_pem.write_to_path(str(files["key"]))
    client_ca = trustme.CA()
    client_ca.cert_pem.write_to_path(str(files["client_ca"]))
    client_ca.issue_cert(
        "pipfence-client@example.test"
    ).private_key_and_cert_chain_pem.write_to_path(str(files["client"]))
    return files


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "PIP_CERT"])
def test_a_custom_ca_index_is_trusted_through_the_ca_variables(
    cli: RunPipfence,
    net_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    tls_files: dict[str, Path],
    variable: str,
) -> None:
    public_index.add_dist("payload", "1.0")
    with tls_front(public_index.port, tls_files["cert"], tls_files["key"]) as front:
        url = f"https://127.0.0.1:{front.server_address[1]}/simple"
        write_pipfile(pipfence_project, pipfile(url))
        untrusted = cli(["lock"], env=net_env)
        trusted = cli(["lock"], env={**net_env, variable: str(tls_files["ca"])})
        per_source = cli(
            ["lock", "--clear"], env={**net_env, "PIPFENCE_CA_BUNDLE_CORP": str(tls_files["ca"])}
        )
    assert untrusted.returncode == 1, out(untrusted)
    assert "TLS verification failed for source `corp`" in untrusted.stderr, out(untrusted)
    assert "SSL_CERT_FILE" in untrusted.stderr, out(untrusted)
    assert "PIPFENCE_CA_BUNDLE_CORP" in untrusted.stderr, out(untrusted)
    assert trusted.returncode == 0, out(trusted)
    assert per_source.returncode == 0, out(per_source)
    assert read_lock(pipfence_project)["default"]["payload"]["version"] == "==1.0"


def test_a_client_certificate_index_needs_pip_client_cert(
    cli: RunPipfence,
    net_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    tls_files: dict[str, Path],
) -> None:
    public_index.add_dist("payload", "1.0")
    trusted = {**net_env, "SSL_CERT_FILE": str(tls_files["ca"]), "PIPFENCE_RETRIES": "1"}
    with tls_front(
        public_index.port, tls_files["cert"], tls_files["key"], client_ca=tls_files["client_ca"]
    ) as front:
        url = f"https://127.0.0.1:{front.server_address[1]}/simple"
        write_pipfile(pipfence_project, pipfile(url))
        refused = cli(["lock"], env=trusted)
        accepted = cli(["lock"], env={**trusted, "PIP_CLIENT_CERT": str(tls_files["client"])})
        per_source = cli(
            ["lock", "--clear"],
            env={**trusted, "PIPFENCE_CLIENT_CERT_CORP": str(tls_files["client"])},
        )
    assert refused.returncode == 1, out(refused)
    assert "source `corp`" in refused.stderr, out(refused)
    assert "PIP_CLIENT_CERT" in refused.stderr, out(refused)
    assert "Traceback" not in refused.stderr
    assert accepted.returncode == 0, out(accepted)
    assert per_source.returncode == 0, out(per_source)


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "PIP_CLIENT_CERT", "PIPFENCE_CA_BUNDLE_X"])
def test_a_missing_tls_file_is_a_one_line_usage_error(
    cli: RunPipfence,
    net_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    tmp_path: Path,
    variable: str,
) -> None:
    write_pipfile(pipfence_project, pipfile(public_index.simple_url))
    missing = tmp_path / "missing.pem"
    result = cli(["lock"], env={**net_env, variable: str(missing)})
    assert result.returncode == 2, out(result)
    assert f"{variable} names `{missing}`, which is not a file" in result.stderr
    assert "Traceback" not in result.stderr


# -- keyring ------------------------------------------------------------------------------------

FAKE_KEYRING = """\
#!{python}
import json, sys
with open({record!r}, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if args[:2] == ["--mode", "creds"] and args[2:4] == ["get", {url!r}]:
    print({user!r})
    print({password!r})
elif args[:1] == ["get"] and args[1:3] == [{url!r}, {user!r}]:
    print({password!r})
else:
    sys.exit(1)
"""


@pytest.mark.parametrize("with_user", [True, False], ids=["user-in-url", "no-user"])
def test_the_keyring_subprocess_provider_supplies_the_password(
    cli: RunPipfence,
    net_env: dict[str, str],
    pipfence_project: Path,
    authenticated_index: PypiServer,
    tmp_path: Path,
    with_user: bool,
) -> None:
    assert authenticated_index.auth is not None
    user, password = authenticated_index.auth
    authenticated_index.add_dist("payload", "1.0")
    plain = f"http://127.0.0.1:{authenticated_index.port}/simple"
    url = plain.replace("http://", f"http://{user}@") if with_user else plain
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "keyring-argv.jsonl"
    script = bin_dir / "keyring"
    script.write_text(
        FAKE_KEYRING.format(
            python=sys.executable, record=str(record), url=plain, user=user, password=password
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    write_pipfile(pipfence_project, pipfile(url))
    environ = {
        **net_env,
        "PATH": f"{bin_dir}{os.pathsep}{net_env['PATH']}",
        "PIPENV_KEYRING_PROVIDER": "subprocess",
    }
    result = cli(["lock"], env=environ)
    assert result.returncode == 0, out(result)
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    expected = ["get", plain, user] if with_user else ["--mode", "creds", "get", plain]
    assert calls == [expected]  # once per source, with the credential-free URL
    assert all(password not in arg for call in calls for arg in call)
    assert password not in result.stdout + result.stderr
    without = cli(["lock", "--clear"], env={**environ, "PIPENV_KEYRING_PROVIDER": "disabled"})
    assert without.returncode == 1, out(without)
    assert re.search(r"HTTP 40[13]", without.stderr), out(without)
