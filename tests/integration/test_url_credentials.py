"""Source URLs through the CLI: secrets with every reserved character authenticate and show
nowhere, a value cannot move a request to another origin, a whole-URL variable works, the
placeholders `install --index` writes do not pick up unrelated variables, a mirror's literal
secret is not printed, every spelling of PyPI is replaced by the mirror, and `verify_ssl`
means what its spelling says."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from support.faultserver import FaultServer, Respond
from support.indexes import PypiServer
from support.project import one_source_pipfile, out, read_lock, write_pipfile
from support.secrets import CmdlineWatch, leaks, needles

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from support import RunPipfence

pytestmark = pytest.mark.integration

#: A password holding every character that means something in a URL.
NASTY = "p#a/s?s@w:o%41rd&=+;$ é!"
USER = "ci-bot@corp"
LEGACY_PYPI = "https://pypi.python.org/simple"


@pytest.fixture(scope="module")
def nasty_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    server = PypiServer(tmp_path_factory.mktemp("nasty") / "packages", auth=(USER, NASTY))
    with server.start():
        yield server


@pytest.fixture
def nasty(nasty_index: PypiServer) -> PypiServer:
    nasty_index.clear_packages()
    nasty_index.clear_log()
    return nasty_index


def templated(url: str) -> str:
    return url.replace("http://", "http://${IDX_USER}:${IDX_PASS}@")


def _authorized(server: PypiServer) -> int:
    """How many of the server's requests were answered (200), i.e. authenticated."""
    return sum(1 for r in server.requests() if r.status == 200)


def test_a_secret_with_reserved_characters_authenticates_and_shows_nowhere(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    tmp_path: Path,
    nasty: PypiServer,
) -> None:
    nasty.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(templated(nasty.simple_url)))
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", "IDX_USER": USER, "IDX_PASS": NASTY}
    secrets = needles(USER, NASTY)
    results = []
    with CmdlineWatch(secrets) as watch:
        for args in (["lock", "-v"], ["sync", "-v"], ["requirements"], ["sources"]):
            result = cli(args, env=env)
            assert result.returncode == 0, f"{args}: {out(result)}"
            results.append(result)
    assert _authorized(nasty) > 0
    assert watch.hits == []
    for result in results:
        for secret in secrets:
            assert secret.decode() not in result.stdout + result.stderr
    assert leaks([pipfence_project, tmp_path / "env"], secrets) == []
    assert read_lock(pipfence_project)["default"]["payload"]["version"] == "==1.0"


def test_credentials_in_the_projects_dotenv_are_used_as_pipenv_uses_them(
    cli: RunPipfence, pipfence_env: dict[str, str], pipfence_project: Path, nasty: PypiServer
) -> None:
    # pipenv loads `.env` before every command, so teams keep an index's token there.
    nasty.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(templated(nasty.simple_url)))
    (pipfence_project / ".env").write_text(
        f"IDX_USER={USER}\nIDX_PASS='{NASTY}'\n", encoding="utf-8"
    )
    env = {k: v for k, v in pipfence_env.items() if k not in {"IDX_USER", "IDX_PASS"}}
    result = cli(["lock"], env=env)
    assert result.returncode == 0, out(result)
    assert _authorized(nasty) > 0
    assert NASTY not in result.stdout + result.stderr
    assert read_lock(pipfence_project)["default"]["payload"]["version"] == "==1.0"
    skipped = cli(["lock", "--clear"], env={**env, "PIPENV_DONT_LOAD_ENV": "1"})
    assert skipped.returncode != 0, out(skipped)
    assert "IDX_USER" in skipped.stderr  # the variable the URL names is not set


@pytest.mark.parametrize("verify", ["true", "false"])
def test_a_sync_that_sends_nothing_needs_no_credentials(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    nasty: PypiServer,
    verify: str,
) -> None:
    """Credentials are expanded when a request needs them: a sync into an environment that
    already matches the lock (a CI job without the secret, on a restored environment) sends
    nothing and succeeds; pipfence stopped at the unset variable before anything was compared
    (expanding every URL to see which skip TLS checks). A lock, which must ask, says which."""
    nasty.add_dist("payload", "1.0")
    pipfile = one_source_pipfile(templated(nasty.simple_url)).replace(
        "verify_ssl = false", f"verify_ssl = {verify}"
    )
    write_pipfile(pipfence_project, pipfile)
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1"}
    made = cli(["install"], env={**env, "IDX_USER": USER, "IDX_PASS": NASTY})
    assert made.returncode == 0, out(made)
    before = sorted((p.name, p.read_bytes()) for p in pipfence_project.iterdir() if p.is_file())
    nasty.clear_log()

    synced = cli(["sync"], env=env)
    assert synced.returncode == 0, out(synced)
    assert "already matches" in synced.stderr + synced.stdout
    assert nasty.requests() == []
    locked = cli(["lock", "--clear"], env=env)
    assert locked.returncode == 2, out(locked)
    assert "environment variable `IDX_USER`" in locked.stderr
    after = sorted((p.name, p.read_bytes()) for p in pipfence_project.iterdir() if p.is_file())
    assert after == before


def test_a_wrong_secret_with_reserved_characters_fails_without_printing_it(
    cli: RunPipfence, pipfence_env: dict[str, str], pipfence_project: Path, nasty: PypiServer
) -> None:
    nasty.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(templated(nasty.simple_url)))
    wrong = "x#y/z?w"
    result = cli(["lock"], env={**pipfence_env, "IDX_USER": USER, "IDX_PASS": wrong})
    assert result.returncode == 1, out(result)
    assert "HTTP 403" in result.stderr
    assert "credentials" in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_value_cannot_move_the_request_to_another_origin(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    tmp_path: Path,
    fault_server: FaultServer,
) -> None:
    """User ``localhost`` and a token ``PORT/SECRET`` spliced in raw would make the URL
    ``http://localhost:PORT/SECRET@index/…``: a request to another server, secret in its path."""
    fault_server.route("/", Respond(200, body=b"not an index"))
    token = f"{fault_server.port}/SECRET-token"
    server = PypiServer(tmp_path / "idx" / "packages", auth=("localhost", token))
    with server.start():
        server.add_dist("payload", "1.0")
        url = server.simple_url.replace("http://", "http://${IDX_USER}:${IDX_PASS}@")
        write_pipfile(pipfence_project, one_source_pipfile(url))
        env = {**pipfence_env, "IDX_USER": "localhost", "IDX_PASS": token}
        result = cli(["lock"], env=env)
        assert result.returncode == 0, out(result)
        assert _authorized(server) > 0
    assert fault_server.requests == []
    assert "SECRET-token" not in result.stdout + result.stderr


def test_a_source_url_that_is_one_variable_is_expanded_at_use(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    tmp_path: Path,
    nasty: PypiServer,
) -> None:
    """AWS CodeArtifact's recipe: the whole authenticated URL lives in one variable."""
    nasty.add_dist("payload", "1.0")
    # The value is a URL the user wrote, so its user-info is percent-encoded by the user.
    whole = nasty.simple_url.replace("http://", f"http://{_percent(USER)}:{_percent(NASTY)}@")
    write_pipfile(pipfence_project, one_source_pipfile("${CODEARTIFACT_URL}"))
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", "CODEARTIFACT_URL": whole}
    for args in (["lock"], ["sync"]):
        result = cli(args, env=env)
        assert result.returncode == 0, f"{args}: {out(result)}"
        assert NASTY not in result.stdout + result.stderr
    lock = read_lock(pipfence_project)
    assert lock["_meta"]["sources"][0]["url"] == "${CODEARTIFACT_URL}"
    assert _authorized(nasty) > 0
    assert leaks([pipfence_project, tmp_path / "env"], needles(USER, NASTY)) == []


def _percent(text: str) -> str:
    return "".join(chr(b) if chr(b).isalnum() and b < 128 else f"%{b:02X}" for b in text.encode())


def test_a_whole_url_variable_that_holds_no_url_is_a_clear_error(
    cli: RunPipfence, pipfence_env: dict[str, str], pipfence_project: Path
) -> None:
    write_pipfile(pipfence_project, one_source_pipfile("${CODEARTIFACT_URL}"))
    result = cli(["lock"], env={**pipfence_env, "CODEARTIFACT_URL": "repo.example/simple"})
    assert result.returncode == 2, out(result)
    assert "`CODEARTIFACT_URL`" in result.stderr
    assert "must hold a URL" in result.stderr
    assert "repo.example" not in result.stderr
    assert "Traceback" not in result.stderr


def test_index_option_placeholders_never_take_an_unrelated_variable(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    nasty: PypiServer,
) -> None:
    nasty.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages=""))
    # Variables of the names a naive template would pick, set for something else entirely.
    unrelated = {"INDEX_12700_USERNAME": "someone-else", "INDEX_12700_PASSWORD": "other-secret"}
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", **unrelated}
    literal = nasty.simple_url.replace("http://", f"http://{_percent(USER)}:{_percent(NASTY)}@")
    result = cli(["install", "payload", f"--index={literal}"], env=env)
    assert result.returncode == 0, out(result)
    pipfile = (pipfence_project / "Pipfile").read_text()
    assert NASTY not in pipfile
    assert _percent(NASTY) not in pipfile
    assert "${INDEX_12700_USERNAME_2}" in pipfile
    assert "${INDEX_12700_PASSWORD_2}" in pipfile
    assert "INDEX_12700_PASSWORD_2" in result.stdout + result.stderr
    assert _authorized(nasty) > 0
    # The next run, with the variables the note named, authenticates too.
    again = cli(
        ["lock"],
        env={**env, "INDEX_12700_USERNAME_2": USER, "INDEX_12700_PASSWORD_2": NASTY},
    )
    assert again.returncode == 0, out(again)


def test_requirements_does_not_print_a_mirrors_literal_secret(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    nasty: PypiServer,
) -> None:
    nasty.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(LEGACY_PYPI, name="pypi"))
    mirror = nasty.simple_url.replace("http://", f"http://{_percent(USER)}:{_percent(NASTY)}@")
    locked = cli(["lock", "--pypi-mirror", mirror])
    assert locked.returncode == 0, out(locked)
    result = cli(["requirements", "--pypi-mirror", mirror])
    assert result.returncode == 0, out(result)
    printed = result.stdout + result.stderr
    for secret in (NASTY, _percent(NASTY), "ci-bot"):
        assert secret not in printed
    assert f"-i {nasty.simple_url}" in result.stdout
    assert "credentials were left out" in result.stderr


def test_the_legacy_pypi_host_is_replaced_by_the_mirror(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    public_index.add_dist("payload", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(LEGACY_PYPI + "/", name="pypi"))
    env = {**pipfence_env, "PIPENV_PYPI_MIRROR": public_index.simple_url}
    result = cli(["lock"], env=env)
    assert result.returncode == 0, out(result)
    lock = read_lock(pipfence_project)
    assert lock["_meta"]["sources"][0]["url"] == LEGACY_PYPI + "/"
    assert "/simple/payload/" in public_index.requested_paths()


@pytest.mark.parametrize(
    ("written", "shown"), [('"yes"', "true"), ("1", "true"), ('"off"', "false")]
)
def test_verify_ssl_spellings(
    cli: RunPipfence, pipfence_project: Path, written: str, shown: str
) -> None:
    text = one_source_pipfile("https://idx.example/simple").replace(
        "verify_ssl = false", f"verify_ssl = {written}"
    )
    assert f"verify_ssl = {written}" in text
    write_pipfile(pipfence_project, text)
    result = cli(["sources", "--no-check", "--json"])
    assert result.returncode == 0, out(result)
    assert str(json.loads(result.stdout)[0]["verify_ssl"]).lower() == shown


def test_verify_ssl_that_is_no_boolean_is_a_pipfile_error(
    cli: RunPipfence, pipfence_project: Path
) -> None:
    text = one_source_pipfile("https://idx.example/simple").replace(
        "verify_ssl = false", 'verify_ssl = "sometimes"'
    )
    before = write_pipfile(pipfence_project, text)
    result = cli(["lock"])
    assert result.returncode == 2, out(result)
    assert "Pipfile" in result.stderr
    assert "verify_ssl" in result.stderr
    assert "Traceback" not in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == before
    assert not (pipfence_project / "Pipfile.lock").exists()
