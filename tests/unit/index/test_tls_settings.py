"""Where trusted CAs and client certificates come from: the variables, the combined bundle that
keeps the system's store, per-source settings, and the errors for unusable files."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from pipfence.errors import UsageError
from pipfence.index.http import SourceTls, TlsSettings
from pipfence.index.http.tls import TrustStore, system_store
from pipfence.project.index_settings import keyring_provider, proxies, tls_settings


def _ca_file(folder: Path, name: str) -> Path:
    path = folder / f"{name}.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def _subjects(bundle: str) -> int:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=bundle)
    return len(context.get_ca_certs())


def test_an_extra_bundle_is_added_to_the_system_store(tmp_path: Path) -> None:
    system_file, _ = system_store()
    if system_file is None:
        pytest.skip("this machine has no system CA bundle file")
    extra = _ca_file(tmp_path, "corp")
    tls = TrustStore(TlsSettings(ca_files=(extra,)), tmp_path / "cache").tls(None)
    assert tls.cafile is not None
    combined = Path(tls.cafile).read_bytes()
    assert extra.read_bytes().strip() in combined
    assert system_file.read_bytes().strip() in combined
    assert _subjects(tls.cafile) == _subjects(str(system_file)) + 1
    assert Path(tls.cafile).parent == tmp_path / "cache"


def test_replace_mode_trusts_the_bundles_only(tmp_path: Path) -> None:
    extra = _ca_file(tmp_path, "corp")
    store = TrustStore(TlsSettings(ca_files=(extra,), replace_system=True), tmp_path)
    tls = store.tls(None)
    assert tls.cafile == str(extra)
    assert tls.capath is None


def test_every_variable_set_is_added_each_file_once(tmp_path: Path) -> None:
    one, two = _ca_file(tmp_path, "one"), _ca_file(tmp_path, "two")
    env = {
        "PIP_CERT": str(one),
        "REQUESTS_CA_BUNDLE": str(two),
        "CURL_CA_BUNDLE": str(one),
        "SSL_CERT_FILE": str(two),
    }
    settings = tls_settings(env)
    assert settings.ca_files == (one, two, one, two)
    tls = TrustStore(settings, tmp_path / "c").tls(None)
    assert tls.cafile is not None
    system_file, _ = system_store()
    expected = 2 + (_subjects(str(system_file)) if system_file else 0)
    assert _subjects(tls.cafile) == expected


def test_without_extra_cas_the_system_store_is_used_as_it_is(tmp_path: Path) -> None:
    system_file, system_dir = system_store()
    tls = TrustStore(TlsSettings(), tmp_path).tls(None)
    assert (tls.cafile, tls.capath) == (
        str(system_file) if system_file else None,
        str(system_dir) if system_dir else None,
    )
    assert not list(tmp_path.iterdir())


def test_a_source_ca_and_client_cert_apply_to_that_source_only(tmp_path: Path) -> None:
    corp, cert = _ca_file(tmp_path, "corp"), tmp_path / "client.pem"
    settings = TlsSettings(
        client_cert=tmp_path / "global.pem",
        per_source={"CORP_PYPI": SourceTls(ca_file=corp, client_cert=cert)},
    )
    store = TrustStore(settings, tmp_path / "c")
    own = store.tls("corp-pypi")
    other = store.tls("public")
    assert own.client_cert == str(cert)
    assert other.client_cert == str(tmp_path / "global.pem")
    assert own.cafile != other.cafile
    assert own.cafile is not None
    assert corp.read_bytes().strip() in Path(own.cafile).read_bytes()
    assert store.tls("corp-pypi", verify=False).cafile is None


@pytest.mark.parametrize(
    "name",
    [
        "PIP_CERT",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "PIP_CLIENT_CERT",
        "PIPFENCE_CA_BUNDLE_CORP",
        "PIPFENCE_CLIENT_CERT_CORP",
    ],
)
def test_a_missing_file_is_a_usage_error_naming_the_variable_and_path(
    tmp_path: Path, name: str
) -> None:
    missing = tmp_path / "nowhere" / "ca.pem"
    with pytest.raises(UsageError) as failure:
        tls_settings({name: str(missing)})
    assert str(failure.value) == f"{name} names `{missing}`, which is not a file"


def test_ssl_cert_dir_must_be_a_folder_and_the_mode_a_known_word(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="SSL_CERT_DIR names"):
        tls_settings({"SSL_CERT_DIR": str(tmp_path / "none")})
    with pytest.raises(UsageError, match="PIPFENCE_CA_MODE must be"):
        tls_settings({"PIPFENCE_CA_MODE": "merge"})
    with pytest.raises(UsageError, match="needs a CA bundle"):
        tls_settings({"PIPFENCE_CA_MODE": "replace"})
    assert tls_settings({"SSL_CERT_DIR": str(tmp_path)}).ca_dir == tmp_path


def test_keyring_provider_variables() -> None:
    assert keyring_provider({}) == "auto"
    assert keyring_provider({"PIP_KEYRING_PROVIDER": "subprocess"}) == "subprocess"
    assert (
        keyring_provider({"PIPENV_KEYRING_PROVIDER": "disabled", "PIP_KEYRING_PROVIDER": "import"})
        == "disabled"
    )
    with pytest.raises(UsageError, match="PIPENV_KEYRING_PROVIDER must be one of"):
        keyring_provider({"PIPENV_KEYRING_PROVIDER": "yes"})


def test_an_unusable_proxy_is_a_usage_error_without_its_password() -> None:
    with pytest.raises(UsageError) as failure:
        proxies({"HTTPS_PROXY": "ftp://user:hunter2@proxy:21"})
    assert "HTTPS_PROXY" in str(failure.value)
    assert "hunter2" not in str(failure.value)
