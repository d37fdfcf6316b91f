"""A git entry whose URL takes its password from `${VAR}` clones from a real smart-HTTP server
that asks for basic auth — and the password never reaches a command line (no git process's
`/proc/*/cmdline`, `git remote-http` included), the output or a written file.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from support.dists import write_source_tree
from support.gitserver import GitHttpServer, bare_repository
from support.project import out, pipfile_text, read_lock, write_pipfile
from support.secrets import CmdlineWatch, leaks

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

USER = "gituser"


@pytest.fixture
def git_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[GitHttpServer]:
    token: str = request.param
    root = tmp_path / "repos"
    root.mkdir()
    with GitHttpServer(root, auth=(USER, token), delay=0.2) as server:
        yield server


@pytest.mark.parametrize(
    "git_server",
    [
        pytest.param("plainToken7f3e9b1c", id="plain-token"),
        pytest.param("t0k#en/wi?th@re:se%rv%41ed", id="reserved-characters"),
    ],
    indirect=True,
)
def test_git_password_from_env_never_reaches_argv_output_or_files(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    public_index: PypiServer,
    git_server: GitHttpServer,
) -> None:
    token = git_server.auth[1]
    public_index.add_dist("helper", "1.0")
    tree = write_source_tree(tmp_path / "trees", "gitpkg", "0.3", requires=["helper"])
    commit = bare_repository(git_server.root, "gitpkg", tree)
    url = f"http://{USER}:${{GIT_TOKEN}}@127.0.0.1:{git_server.port}/gitpkg.git"
    write_pipfile(
        pipfence_project,
        pipfile_text(
            [("public", public_index.simple_url)], f'gitpkg = {{git = "{url}", ref = "main"}}\n'
        ),
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    secret_env = {**env, "GIT_TOKEN": token, "TMPDIR": str(temp)}
    basic = base64.b64encode(f"{USER}:{token}".encode())
    secrets = sorted({token.encode(), quote(token, safe="").encode(), basic})

    with CmdlineWatch(secrets, interval=0.002) as sampler:
        locked = cli(["lock", "-v"], env=secret_env)
        synced = cli(["sync", "-v"], env=secret_env)

    assert locked.returncode == 0, out(locked)
    assert synced.returncode == 0, out(synced)
    assert read_lock(pipfence_project)["default"]["gitpkg"] == {"git": url, "ref": commit}
    # The sampler did see git at work (the clone's transport helper included), never the token.
    assert "remote-http" in sampler.git_seen, sampler.git_seen
    assert sampler.hits == []
    # The server saw the credentials (the clone authenticated), first asked without them.
    seen = git_server.requests()
    assert any(r.user == USER and r.status == 200 for r in seen), seen
    for result in (locked, synced):
        for secret in secrets:
            assert secret not in (result.stdout + result.stderr).encode(), out(result)
    roots = [pipfence_project, Path(env["HOME"]), Path(env["PIPFENCE_CACHE_DIR"]), temp]
    roots += [Path(env["WORKON_HOME"]), Path(env["XDG_CACHE_HOME"]).parent]
    assert leaks(roots, secrets) == []


@pytest.mark.parametrize("git_server", ["right-token"], indirect=True)
def test_wrong_git_password_fails_without_prompting_or_showing_it(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    public_index: PypiServer,
    git_server: GitHttpServer,
) -> None:
    tree = write_source_tree(tmp_path / "trees", "gitpkg", "0.3")
    bare_repository(git_server.root, "gitpkg", tree)
    url = f"http://{USER}:${{GIT_TOKEN}}@127.0.0.1:{git_server.port}/gitpkg.git"
    write_pipfile(
        pipfence_project,
        pipfile_text([("public", public_index.simple_url)], f'gitpkg = {{git = "{url}"}}\n'),
    )
    result = cli(["lock"], env={**env, "GIT_TOKEN": "wrong-token-5d1a"}, timeout=60)
    assert result.returncode != 0, out(result)
    assert "wrong-token-5d1a" not in result.stdout + result.stderr
    assert "gitpkg" in result.stderr
    assert "Traceback" not in result.stderr
    assert all(r.user is None for r in git_server.requests())
