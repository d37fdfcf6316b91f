"""`pipfence sources`: each source checked with its own credentials; `sources audit`."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_sources_check_each_source(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    authenticated_index: PypiServer,
) -> None:
    assert authenticated_index.auth is not None
    user, password = authenticated_index.auth
    auth_url = (
        f"http://${{INDEX_USER}}:${{INDEX_PASSWORD}}@127.0.0.1:{authenticated_index.port}/simple/"
    )
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{public_index.simple_url}"\nverify_ssl = false\nname = "public"\n\n'
        f'[[source]]\nurl = "{auth_url}"\nverify_ssl = false\nname = "private"\n\n'
        f'[[source]]\nurl = "{authenticated_index.simple_url}"\nverify_ssl = false\n'
        'name = "anonymous"\n\n'
        f'[[source]]\nurl = "http://127.0.0.1:{closed_port()}/simple/"\nverify_ssl = false\n'
        'name = "down"\n\n[packages]\n',
        encoding="utf-8",
    )
    env = {**pipfence_env, "INDEX_USER": user, "INDEX_PASSWORD": password}
    result = run_pipfence(["sources", "--json", "--timeout", "5"], env=env)
    assert result.returncode == 1, result.stderr
    assert password not in result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["public"]["ok"] is True
    assert checks["public"]["default"] is True
    assert checks["public"]["status"] == 200
    assert checks["private"]["status"] == 200
    assert checks["private"]["credentials"] == "from the URL"
    assert checks["private"]["url"] == f"http://***@127.0.0.1:{authenticated_index.port}/simple/"
    assert checks["anonymous"]["status"] == 401
    assert checks["anonymous"]["ok"] is False
    assert checks["down"]["status"] is None
    assert "unreachable" in checks["down"]["result"]

    text = run_pipfence(["sources"], env=env)
    assert "public (default): " in text.stdout
    assert "FAILED: refused (HTTP 401)" in text.stdout
    assert password not in text.stdout + text.stderr

    missing_var = run_pipfence(["sources", "--json"], env=pipfence_env)
    private = next(c for c in json.loads(missing_var.stdout) if c["name"] == "private")
    assert "`INDEX_USER`" in private["result"]
    missing_text = run_pipfence(["sources"], env=pipfence_env).stdout.splitlines()
    below_private = missing_text[missing_text.index(f"private: {private['url']}") + 1]
    assert below_private == "  verify_ssl: false   TLS: not checked"

    listed = run_pipfence(["sources", "--no-check"], env=env)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].endswith("verify_ssl=False  (default)")


def test_sources_audit_finds_exposed_names(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    private_index.add_dist("internal-a", "1.0", requires=["internal-c"])
    private_index.add_dist("internal-c", "1.0")
    public_index.add_dist("internal-a", "99.0")
    public_index.add_dist("app", "1.0")
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{public_index.simple_url}"\nverify_ssl = false\nname = "public"\n\n'
        f'[[source]]\nurl = "{private_index.simple_url}"\nverify_ssl = false\nname = "private"\n\n'
        '[packages]\napp = "*"\ninternal-a = {version = "*", index = "private"}\n',
        encoding="utf-8",
    )
    assert run_pipfence(["lock"]).returncode == 0
    public_index.clear_log()
    result = run_pipfence(["sources", "audit", "--no-pypi"])
    assert result.returncode == 1, result.stderr
    assert "internal-a (from `private`): pinned with index =, closed" in result.stdout
    assert "internal-c (from `private`): EXPOSED, not pinned" in result.stdout
    assert '[packages] internal-c = {version = "*", index = "private"}' in result.stdout
    assert any("internal-c" in p for p in public_index.requested_paths())
    # The audit says which names it sent beyond the fence, and where.
    assert (
        f"sending to `public` ({public_index.simple_url}) the names from other sources: "
        "internal-a, internal-c"
    ) in result.stderr

    # PyPI is asked through the mirror when one is set: here the public index stands in.
    mirrored = run_pipfence(
        ["sources", "audit", "--json"],
        env={**pipfence_env, "PIPENV_PYPI_MIRROR": public_index.simple_url},
    )
    found = {f["name"]: f for f in json.loads(mirrored.stdout)}
    assert found["internal-a"]["on_pypi"] is True
    assert found["internal-c"]["on_pypi"] is False
    assert found["internal-c"]["exposed"] is True


def test_sources_check_goes_to_a_per_source_mirror(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
) -> None:
    # The Pipfile's URL does not answer; this machine mirrors the source elsewhere.
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "http://127.0.0.1:{closed_port()}/simple/"\nverify_ssl = false\n'
        'name = "corp-idx"\n\n[packages]\n',
        encoding="utf-8",
    )
    env = {**pipfence_env, "PIPFENCE_MIRROR_CORP_IDX": public_index.simple_url}
    result = run_pipfence(["sources", "--json", "--timeout", "5"], env=env)
    assert result.returncode == 0, result.stderr
    (check,) = json.loads(result.stdout)
    assert check["ok"] is True
    assert public_index.requested_paths()


_FAKE_KEYRING = """#!{python}
import sys
if sys.argv[1:] == ["--mode", "creds", "get", {url!r}]:
    print({user!r})
    print({password!r})
else:
    sys.exit(1)
"""


def test_sources_names_keyring_as_where_the_credentials_come_from(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    authenticated_index: PypiServer,
    tmp_path: Path,
) -> None:
    assert authenticated_index.auth is not None
    user, password = authenticated_index.auth
    url = f"http://127.0.0.1:{authenticated_index.port}/simple"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "keyring"
    script.write_text(
        _FAKE_KEYRING.format(python=sys.executable, url=url, user=user, password=password)
    )
    script.chmod(0o755)
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{url}"\nverify_ssl = false\nname = "corp"\n\n[packages]\n',
        encoding="utf-8",
    )
    env = {
        **pipfence_env,
        "PATH": f"{bin_dir}{os.pathsep}{pipfence_env['PATH']}",
        "PIPENV_KEYRING_PROVIDER": "subprocess",
    }
    result = run_pipfence(["sources"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  credentials: from keyring" in result.stdout.splitlines()
    assert "  ok: answered (HTTP 200)" in result.stdout.splitlines()
    assert "ok: ok" not in result.stdout
    assert password not in result.stdout + result.stderr

    without = run_pipfence(["sources"], env={**env, "PIPENV_KEYRING_PROVIDER": "disabled"})
    assert without.returncode == 1
    assert "  credentials: none sent" in without.stdout.splitlines()


def test_sources_no_check_shows_a_proxy_only_where_one_applies(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "wheels"
    folder.mkdir()
    (pipfence_project / "Pipfile").write_text(
        '[[source]]\nurl = "http://127.0.0.1:9/simple"\nverify_ssl = false\nname = "local"\n\n'
        f'[[source]]\nurl = "{folder.as_uri()}"\nverify_ssl = true\nname = "folder"\n\n'
        '[[source]]\nurl = "https://idx.example/simple"\nverify_ssl = true\nname = "remote"\n\n'
        "[packages]\n",
        encoding="utf-8",
    )
    env = {**pipfence_env, "HTTPS_PROXY": "http://proxy.example:3128"}
    result = run_pipfence(["sources", "--no-check"], env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "proxy" not in lines[0]  # loopback: NO_PROXY
    assert "proxy" not in lines[1]  # a folder: nothing is sent
    assert lines[2].endswith("proxy: http://proxy.example:3128 (from HTTPS_PROXY)")
    rows = json.loads(run_pipfence(["sources", "--no-check", "--json"], env=env).stdout)
    assert [r["proxy"] for r in rows] == [
        None,
        None,
        "http://proxy.example:3128 (from HTTPS_PROXY)",
    ]

    checked = run_pipfence(["sources", "--timeout", "2"], env=env)
    folder_block = checked.stdout.split("folder: ")[1].split("remote: ")[0]
    assert "proxy" not in folder_block
    assert "credentials" not in folder_block
