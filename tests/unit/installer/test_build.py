"""installer.build: sdist unpacking, [build-system] reading and PEP 517/660 hook calls, offline."""

from __future__ import annotations

import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from pipfence.errors import ArchiveError, InstallError
from pipfence.installer.build import (
    LEGACY_BACKEND,
    LEGACY_REQUIRES,
    Backend,
    BuildSystem,
    build_environ,
    unpack_sdist,
    wheel_metadata,
)
from support.dists import build_sdist, write_source_tree

pytestmark = pytest.mark.fast_io  # runs build backends in a python process

PYTHON = Path(sys.executable)


def backend_for(tree: Path, **kwargs: object) -> Backend:
    return Backend(
        tree,
        BuildSystem.of(tree),
        PYTHON,
        {"PATH": "/usr/bin:/bin"},
        name="demo",
        **kwargs,  # type: ignore[arg-type]
    )


def test_unpack_sdist_returns_its_tree(tmp_path: Path) -> None:
    sdist = build_sdist(tmp_path / "dist", "demo", "1.0")
    tree = unpack_sdist(sdist, tmp_path / "out")
    assert tree.name == "demo-1.0"
    assert (tree / "pyproject.toml").is_file()


def test_unpack_refuses_members_outside(tmp_path: Path) -> None:
    evil = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(evil, "w:gz") as tf:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ArchiveError, match="outside its folder"):
        unpack_sdist(evil, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()

    evil_zip = tmp_path / "evil-1.0.zip"
    with zipfile.ZipFile(evil_zip, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(ArchiveError, match="outside its folder"):
        unpack_sdist(evil_zip, tmp_path / "out2")
    assert not (tmp_path / "escape.txt").exists()


def test_build_system_defaults(tmp_path: Path) -> None:
    assert BuildSystem.of(tmp_path) == BuildSystem(requires=LEGACY_REQUIRES, backend=LEGACY_BACKEND)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert BuildSystem.of(tmp_path).backend == LEGACY_BACKEND
    (tmp_path / "pyproject.toml").write_text(
        "[build-system]\nrequires = ['flit_core>=3']\n", encoding="utf-8"
    )
    assert BuildSystem.of(tmp_path) == BuildSystem(
        requires=("flit_core>=3",), backend=LEGACY_BACKEND
    )
    (tmp_path / "pyproject.toml").write_text("[build-system]\nrequires = 'x'\n", encoding="utf-8")
    with pytest.raises(InstallError, match="needs `requires`"):
        BuildSystem.of(tmp_path)


def test_in_tree_backend_metadata_wheel_and_editable(tmp_path: Path) -> None:
    sdist = build_sdist(tmp_path / "dist", "demo", "1.0", requires=["helper>=2"])
    tree = unpack_sdist(sdist, tmp_path / "src")
    backend = backend_for(tree)
    assert backend.requires_for_build("wheel") == []
    assert backend.requires_for_build("editable") == []
    metadata = backend.prepare_metadata(tmp_path / "meta")
    assert metadata.name == "demo"
    assert str(metadata.version) == "1.0"
    assert metadata.requires_dist == ("helper>=2",)
    wheel = backend.build_wheel(tmp_path / "wheels")
    assert wheel.name == "demo-1.0-py3-none-any.whl"
    assert wheel_metadata(wheel).requires_dist == ("helper>=2",)
    with zipfile.ZipFile(wheel) as zf:
        assert "demo/__init__.py" in zf.namelist()
    editable = backend.build_editable(tmp_path / "editable")
    with zipfile.ZipFile(editable) as zf:
        assert zf.read("__editable__.demo.pth").decode().strip() == str(tree)


def test_metadata_falls_back_to_building_the_wheel(tmp_path: Path) -> None:
    tree = write_source_tree(tmp_path, "demo", "2.0")
    source = (tree / "_backend.py").read_text(encoding="utf-8")
    source = source.replace(
        "prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel\n", ""
    ).replace("def prepare_metadata_for_build_wheel(", "def _unused_prepare(")
    (tree / "_backend.py").write_text(source, encoding="utf-8")
    metadata = backend_for(tree).prepare_metadata(tmp_path / "meta")
    assert str(metadata.version) == "2.0"


def _failing_tree(tmp_path: Path, lines: int = 60) -> Path:
    tree = write_source_tree(tmp_path, "broken", "1.0")
    with (tree / "_backend.py").open("a", encoding="utf-8") as fh:
        fh.write(
            "\n\ndef build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
            "    import os, sys\n"
            f"    for i in range({lines}):\n"
            "        print('line', i)\n"
            "    print('ENV', sorted(os.environ))\n"
            "    print('see https://user:tok3n@example.invalid/x')\n"
            "    sys.exit('compiler exploded')\n"
        )
    return tree


def test_failing_build_names_the_package_and_shows_the_last_lines(tmp_path: Path) -> None:
    tree = _failing_tree(tmp_path)
    backend = Backend(
        tree,
        BuildSystem.of(tree),
        PYTHON,
        {"PATH": "/usr/bin", "PIP_INDEX_URL": "https://u:secret@idx/simple", "MY_TOKEN": "t0ken"},
        name="broken",
    )
    with pytest.raises(InstallError) as caught:
        backend.build_wheel(tmp_path / "out")
    message = str(caught.value)
    assert message.startswith("Building `broken` failed: build_wheel (exit status 1)")
    assert "compiler exploded" in message
    assert "line 59" in message
    assert "line 0\n" not in message  # only the last lines without --verbose
    assert "--verbose shows all" in message
    assert "tok3n" not in message
    assert "***@example.invalid" in message
    assert "MY_TOKEN" not in message
    assert "'PIP_INDEX_URL'" not in message
    assert "secret" not in message


def test_verbose_failure_shows_everything(tmp_path: Path) -> None:
    tree = _failing_tree(tmp_path)
    with pytest.raises(InstallError) as caught:
        backend_for(tree, verbose=True).build_wheel(tmp_path / "out")
    assert "line 0\n" in str(caught.value)


def test_missing_backend_is_an_install_error(tmp_path: Path) -> None:
    tree = write_source_tree(tmp_path, "nobackend", "1.0")
    text = (tree / "pyproject.toml").read_text(encoding="utf-8")
    (tree / "pyproject.toml").write_text(
        text.replace('build-backend = "_backend"', 'build-backend = "no_such_backend_mod"'),
        encoding="utf-8",
    )
    with pytest.raises(InstallError, match="cannot be imported"):
        backend_for(tree).prepare_metadata(tmp_path / "meta")


def test_backend_without_build_editable(tmp_path: Path) -> None:
    tree = write_source_tree(tmp_path, "noedit", "1.0")
    source = (tree / "_backend.py").read_text(encoding="utf-8")
    (tree / "_backend.py").write_text(
        source.replace("def build_editable(", "def _no_build_editable("), encoding="utf-8"
    )
    with pytest.raises(InstallError, match="PEP 660"):
        backend_for(tree).build_editable(tmp_path / "out")


def test_build_environ_keeps_only_the_allow_list() -> None:
    environ = build_environ(
        {
            "PATH": "/bin",
            "HOME": "/home/x",
            "PIP_INDEX_URL": "https://u:p@h/simple",
            "PIPENV_PYPI_MIRROR": "https://m",
            "GITHUB_TOKEN": "t",
            "PYTHONPATH": "/evil",
        },
        Path("/envs/b/bin/python"),
    )
    assert environ["PATH"] == "/envs/b/bin" + ":" + "/bin"
    assert environ["HOME"] == "/home/x"
    assert environ["PIP_NO_INDEX"] == "1"
    assert "PIP_INDEX_URL" not in environ
    assert "PIPENV_PYPI_MIRROR" not in environ
    assert "GITHUB_TOKEN" not in environ
    assert "PYTHONPATH" not in environ


def test_build_environ_keeps_the_proxy_and_ca_variables() -> None:
    proxies = {
        "http_proxy": "http://u:p@proxy:3128",
        "HTTPS_PROXY": "http://proxy:3128",
        "all_proxy": "socks5://proxy:1080",
        "no_proxy": "localhost,.corp",
        "SSL_CERT_FILE": "/etc/corp-ca.pem",
        "SSL_CERT_DIR": "/etc/corp-certs",
        "REQUESTS_CA_BUNDLE": "/etc/corp-ca.pem",
        "CURL_CA_BUNDLE": "/etc/corp-ca.pem",
    }
    environ = build_environ({"PATH": "/bin", **proxies}, Path("/envs/b/bin/python"))
    assert {key: environ.get(key) for key in proxies} == proxies


def test_a_backends_warnings_go_to_its_output_not_to_this_process(
    tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    tree = write_source_tree(tmp_path, "noisy", "1.0")
    with (tree / "_backend.py").open("a", encoding="utf-8") as fh:
        fh.write(
            "\n\n_plain_build = build_wheel\n\n\n"
            "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
            "    import warnings\n"
            "    print('building noisily')\n"
            "    warnings.warn('BANNER: this backend is deprecated', UserWarning)\n"
            "    return _plain_build(wheel_directory, config_settings, metadata_directory)\n"
        )
    said: list[str] = []
    backend = backend_for(tree, on_output=said.append)
    assert backend.build_wheel(tmp_path / "out").name.endswith(".whl")
    assert not [w for w in recwarn if "BANNER" in str(w.message)]
    assert len(said) == 1
    assert "building noisily" in said[0]
    assert "warning: BANNER: this backend is deprecated" in said[0]


def test_a_failed_build_writes_its_whole_log_and_names_it(tmp_path: Path) -> None:
    tree = _failing_tree(tmp_path)
    logs = tmp_path / "logs"
    with pytest.raises(InstallError) as caught:
        backend_for(tree, log_dir=logs).build_wheel(tmp_path / "out")
    message = str(caught.value)
    (log,) = logs.iterdir()
    assert message.endswith(f"full build log: {log}")
    text = log.read_text(encoding="utf-8")
    assert "line 0\n" in text
    assert "compiler exploded" in text
    assert "tok3n" not in text
