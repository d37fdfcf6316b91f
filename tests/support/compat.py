"""The package universe behind the compatibility corpus (`tests/cases/compat/`), served offline.

Each corpus case is a Pipfile and the Pipfile.lock pipenv writes for it, in the shapes real
projects have. Their `[[source]]` URLs are the real ones (PyPI under both of its host names, the
PyTorch CPU index, a company's Artifactory and devpi); the distributions they need are built
here, byte-reproducibly, and laid out as one static index per source under one root:

    root/<index>/simple/<project>/index.html     (PEP 503, with PEP 658 metadata files)
    root/<index>/packages/<file>

`corpus_environ` points each source of a Pipfile at its local copy: PyPI through
`PIPENV_PYPI_MIRROR` (which pipenv reads too), every other source through
`PIPFENCE_MIRROR_<SOURCE>`, so the lock keeps the URLs the Pipfile has. The wheels' bytes depend
only on the specs below, so the sha256 digests in the committed locks stay valid.

The versions and dependencies mirror the real projects' metadata at those versions, trimmed to
what the corpus needs; the files hold nothing but an `__init__.py`.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from support import CASES_DIR
from support.dists import Dist, build_many
from support.static_index import StaticIndexServer, write_static_index

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CORPUS_DIR",
    "INDEX_URLS",
    "UNIVERSE",
    "Case",
    "build_universe",
    "case_names",
    "corpus_environ",
    "load_case",
    "write_trees",
]

CORPUS_DIR = CASES_DIR / "compat"

_LINUX = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
_WIN = "cp311-cp311-win_amd64"
_MAC = "cp311-cp311-macosx_11_0_arm64"


def _native(name: str, version: str, **options: Any) -> list[Dist]:
    """An sdist and the three platform wheels a package with C code publishes."""
    return [
        Dist(name, version, kind="sdist", **options),
        *(Dist(name, version, tag=tag, **options) for tag in (_LINUX, _MAC, _WIN)),
    ]


def _pure(name: str, version: str, **options: Any) -> list[Dist]:
    """A py3-none-any wheel and its sdist."""
    return [Dist(name, version, kind="both", **options)]


_PYTEST_REQUIRES = [
    'colorama; sys_platform == "win32"',
    'exceptiongroup>=1.0.0rc8; python_version < "3.11"',
    "iniconfig",
    "packaging",
    "pluggy<2,>=1.5",
    'tomli>=1; python_version < "3.11"',
]

PYPI: list[Dist] = [
    # requests and its dependencies
    *_pure(
        "requests",
        "2.31.0",
        requires=[
            "charset-normalizer<4,>=2",
            "idna<4,>=2.5",
            "urllib3<3,>=1.21.1",
            "certifi>=2017.4.17",
        ],
        extras={"socks": ["PySocks!=1.5.7,>=1.5.6"], "use-chardet-on-py3": ["chardet<6,>=3.0.2"]},
        requires_python=">=3.7",
    ),
    *_pure(
        "requests",
        "2.32.3",
        requires=[
            "charset-normalizer<4,>=2",
            "idna<4,>=2.5",
            "urllib3<3,>=1.21.1",
            "certifi>=2017.4.17",
        ],
        extras={"socks": ["PySocks!=1.5.7,>=1.5.6"], "use-chardet-on-py3": ["chardet<6,>=3.0.2"]},
        requires_python=">=3.8",
    ),
    *_pure("certifi", "2024.8.30", requires_python=">=3.6"),
    *_native("charset-normalizer", "3.4.0", requires_python=">=3.7.0"),
    *_pure("idna", "3.10", requires_python=">=3.6"),
    *_pure("urllib3", "1.26.20", requires_python="!=3.0.*,!=3.1.*,!=3.2.*,!=3.3.*,!=3.4.*,!=3.5.*"),
    *_pure("urllib3", "2.2.3", requires_python=">=3.8"),
    *_pure("PySocks", "1.7.1"),
    *_pure("requests-mock", "1.12.1", requires=["requests<3,>=2.22"]),
    *_pure("six", "1.16.0"),
    *_pure("six", "1.17.0"),
    # dotted names
    *_pure(
        "ruamel.yaml",
        "0.18.6",
        requires=[
            (
                'ruamel.yaml.clib>=0.2.7; platform_python_implementation == "CPython" and '
                'python_version < "3.13"'
            )
        ],
        requires_python=">=3.7",
    ),
    *_native("ruamel.yaml.clib", "0.2.8", requires_python=">=3.6"),
    *_native("zope.interface", "6.4", requires_python=">=3.7"),
    *_pure("zope.event", "5.0", requires_python=">=3.7"),
    *_pure("backports.zoneinfo", "0.2.1", requires_python=">=3.6"),
    # Windows-only
    Dist("pywin32", "306", tag=_WIN),
    Dist("pywin32", "306", tag="cp312-cp312-win_amd64"),
    *_pure("colorama", "0.4.6", requires_python=">=3.7"),
    *_pure("pywinpty", "2.0.13", requires_python=">=3.8"),
    # old-Python backports
    *_pure("enum34", "1.1.10"),
    *_pure("futures", "3.0.5"),
    *_pure("typing", "3.7.4.3"),
    *_pure("dataclasses", "0.8", requires_python=">=3.6, <3.7"),
    *_pure("importlib-metadata", "8.5.0", requires=["zipp>=3.20"], requires_python=">=3.8"),
    *_pure("zipp", "3.20.2", requires_python=">=3.8"),
    *_pure("typing-extensions", "4.12.2", requires_python=">=3.8"),
    # flask
    *_pure(
        "flask",
        "3.0.3",
        requires=[
            "Werkzeug>=3.0.0",
            "Jinja2>=3.1.2",
            "itsdangerous>=2.1.2",
            "click>=8.1.3",
            "blinker>=1.6.2",
            'importlib-metadata>=3.6.0; python_version < "3.10"',
        ],
        extras={"async": ["asgiref>=3.2"], "dotenv": ["python-dotenv"]},
        requires_python=">=3.8",
    ),
    *_pure("werkzeug", "3.0.4", requires=["MarkupSafe>=2.1.1"], requires_python=">=3.8"),
    *_pure("jinja2", "3.1.4", requires=["MarkupSafe>=2.0"], requires_python=">=3.7"),
    *_native("markupsafe", "2.1.5", requires_python=">=3.7"),
    *_pure("itsdangerous", "2.2.0", requires_python=">=3.8"),
    *_pure(
        "click",
        "8.1.7",
        requires=['colorama; platform_system == "Windows"'],
        requires_python=">=3.7",
    ),
    *_pure("blinker", "1.8.2", requires_python=">=3.8"),
    *_pure("python-dotenv", "1.0.1", requires_python=">=3.8"),
    # django
    *_pure(
        "django",
        "4.2.16",
        requires=["asgiref<4,>=3.6.0", "sqlparse>=0.3.1", 'tzdata; sys_platform == "win32"'],
        extras={"argon2": ["argon2-cffi>=19.1.0"], "bcrypt": ["bcrypt"]},
        requires_python=">=3.8",
    ),
    *_pure(
        "django",
        "5.1.2",
        requires=["asgiref<4,>=3.8.1", "sqlparse>=0.3.1", 'tzdata; sys_platform == "win32"'],
        requires_python=">=3.10",
    ),
    *_pure(
        "asgiref",
        "3.8.1",
        requires=['typing-extensions>=4; python_version < "3.11"'],
        requires_python=">=3.8",
    ),
    *_pure("sqlparse", "0.5.1", requires_python=">=3.8"),
    *_pure("tzdata", "2024.2", requires_python=">=2"),
    *_native("psycopg2-binary", "2.9.9", requires_python=">=3.7"),
    *_pure("gunicorn", "23.0.0", requires=["packaging"], requires_python=">=3.7"),
    # data
    *_native("numpy", "1.26.4", requires_python=">=3.9"),
    *_native(
        "pandas",
        "2.2.3",
        requires=[
            'numpy>=1.22.4; python_version < "3.11"',
            'numpy>=1.23.2; python_version == "3.11"',
            'numpy>=1.26.0; python_version >= "3.12"',
            "python-dateutil>=2.8.2",
            "pytz>=2020.1",
            "tzdata>=2022.7",
        ],
        requires_python=">=3.9",
    ),
    *_pure("python-dateutil", "2.9.0.post0", requires=["six>=1.5"]),
    *_pure("pytz", "2024.2"),
    # aws
    *_pure(
        "boto3",
        "1.35.36",
        requires=[
            "botocore<1.36.0,>=1.35.36",
            "jmespath<2.0.0,>=0.7.1",
            "s3transfer<0.11.0,>=0.10.0",
        ],
        requires_python=">=3.8",
    ),
    *_pure(
        "botocore",
        "1.35.36",
        requires=[
            "jmespath<2.0.0,>=0.7.1",
            "python-dateutil<3.0.0,>=2.1",
            'urllib3<1.27,>=1.25.4; python_version < "3.10"',
            'urllib3!=2.2.0,<3,>=1.25.4; python_version >= "3.10"',
        ],
        requires_python=">=3.8",
    ),
    *_pure("jmespath", "1.0.1", requires_python=">=3.7"),
    *_pure("s3transfer", "0.10.3", requires=["botocore<2.0a.0,>=1.33.2"], requires_python=">=3.8"),
    # servers
    *_pure(
        "uvicorn",
        "0.30.6",
        requires=["click>=7.0", "h11>=0.8", 'typing-extensions>=4.0; python_version < "3.11"'],
        extras={
            "standard": [
                'colorama>=0.4; sys_platform == "win32"',
                "httptools>=0.5.0",
                "python-dotenv>=0.13",
                (
                    'uvloop!=0.15.0,!=0.15.1,>=0.14.0; sys_platform != "win32" and '
                    '(sys_platform != "cygwin" and platform_python_implementation != "PyPy")'
                ),
            ]
        },
        requires_python=">=3.8",
    ),
    *_pure("h11", "0.14.0", requires_python=">=3.7"),
    *_native("httptools", "0.6.1", requires_python=">=3.8.0"),
    Dist("uvloop", "0.20.0", kind="sdist", requires_python=">=3.8.0"),
    Dist("uvloop", "0.20.0", tag=_LINUX, requires_python=">=3.8.0"),
    Dist("uvloop", "0.20.0", tag=_MAC, requires_python=">=3.8.0"),
    *_native(
        "sqlalchemy",
        "2.0.35",
        requires=[
            (
                'greenlet!=0.4.17; python_version < "3.13" and (platform_machine == "aarch64" or '
                'platform_machine == "x86_64" or platform_machine == "AMD64")'
            ),
            "typing-extensions>=4.6.0",
        ],
        extras={"asyncio": ["greenlet!=0.4.17"], "postgresql": ["psycopg2>=2.7"]},
        requires_python=">=3.7",
    ),
    *_native("greenlet", "3.1.1", requires_python=">=3.7"),
    # tools
    *_pure("pytest", "7.4.4", requires=[*_PYTEST_REQUIRES[:4], "pluggy<2.0,>=0.12"]),
    *_pure("pytest", "8.3.3", requires=_PYTEST_REQUIRES, requires_python=">=3.8"),
    *_pure("iniconfig", "2.0.0", requires_python=">=3.7"),
    *_pure("packaging", "24.1", requires_python=">=3.8"),
    *_pure("pluggy", "1.5.0", requires_python=">=3.8"),
    *_pure("exceptiongroup", "1.2.2", requires_python=">=3.7"),
    *_pure("tomli", "2.0.2", requires_python=">=3.8"),
    *_pure("pytest-cov", "5.0.0", requires=["coverage[toml]>=5.2.1", "pytest>=4.6"]),
    *_native(
        "coverage",
        "7.6.1",
        extras={"toml": ['tomli; python_full_version <= "3.11.0a6"']},
        requires_python=">=3.8",
    ),
    *_pure(
        "black",
        "24.8.0",
        requires=[
            "click>=8.0.0",
            "mypy-extensions>=0.4.3",
            "packaging>=22.0",
            "pathspec>=0.9",
            "platformdirs>=2",
            'tomli>=1.1.0; python_version < "3.11"',
            'typing-extensions>=4.0.1; python_version < "3.11"',
        ],
        requires_python=">=3.8",
    ),
    *_pure("mypy-extensions", "1.0.0", requires_python=">=3.5"),
    *_pure("pathspec", "0.12.1", requires_python=">=3.8"),
    *_pure("platformdirs", "4.3.6", requires_python=">=3.8"),
    *_pure(
        "flake8",
        "7.1.1",
        requires=["mccabe<0.8.0,>=0.7.0", "pycodestyle<2.13.0,>=2.12.0", "pyflakes<3.3.0,>=3.2.0"],
        requires_python=">=3.8.1",
    ),
    *_pure("mccabe", "0.7.0", requires_python=">=3.6"),
    *_pure("pycodestyle", "2.12.1", requires_python=">=3.8"),
    *_pure("pyflakes", "3.2.0", requires_python=">=3.8"),
    # docs
    *_pure(
        "mkdocs",
        "1.6.1",
        requires=[
            "click>=7.0",
            'colorama>=0.4; platform_system == "Windows"',
            "jinja2>=2.11.1",
            "markdown>=3.3.6",
            "markupsafe>=2.0.1",
            "packaging>=20.5",
            "pyyaml>=5.1",
        ],
        requires_python=">=3.8",
    ),
    *_pure("markdown", "3.7", requires_python=">=3.8"),
    *_native("pyyaml", "6.0.2", requires_python=">=3.8"),
    # torch's dependencies are on PyPI and, byte for byte, on the PyTorch index
    *_pure("filelock", "3.16.1", requires_python=">=3.8"),
]

PYTORCH: list[Dist] = [
    Dist(
        "torch",
        "2.4.1+cpu",
        tag="cp311-cp311-linux_x86_64",
        requires=["filelock", "typing-extensions>=4.8.0"],
        requires_python=">=3.8.0",
    ),
    Dist(
        "torch",
        "2.4.1+cpu",
        tag="cp311-cp311-win_amd64",
        requires=["filelock", "typing-extensions>=4.8.0"],
        requires_python=">=3.8.0",
    ),
    *(d for d in PYPI if d.name in {"filelock", "typing-extensions"}),
]

ARTIFACTORY: list[Dist] = [
    *_pure("corp-auth", "2.3.0", requires=["requests>=2.28"], requires_python=">=3.8"),
    *_pure("corp-auth", "2.4.0", requires=["requests>=2.31", "pyyaml>=6"], requires_python=">=3.8"),
    *_pure("corp-logging", "1.4.2", requires_python=">=3.8"),
]

DEVPI: list[Dist] = [
    *_pure("acme-models", "0.9.0", requires=["sqlalchemy>=2"], requires_python=">=3.9"),
    *_pure("acme-models", "1.0.0rc1", requires=["sqlalchemy>=2"], requires_python=">=3.9"),
]

UNIVERSE: dict[str, list[Dist]] = {
    "pypi": PYPI,
    "pytorch": PYTORCH,
    "artifactory": ARTIFACTORY,
    "devpi": DEVPI,
}
"""Local index name -> the distributions it serves."""

INDEX_URLS: dict[str, str] = {
    "https://pypi.org/simple": "pypi",
    "https://pypi.python.org/simple": "pypi",
    "https://download.pytorch.org/whl/cpu": "pytorch",
    "https://artifactory.example.com/artifactory/api/pypi/pypi-local/simple": "artifactory",
    "https://devpi.example.com/acme/prod/+simple": "devpi",
}
"""The corpus' source URLs (no trailing slash) -> the local index holding their packages."""


def build_universe(root: Path) -> Path:
    """Build every distribution and write the static indexes under root; returns root."""
    for index, dists in UNIVERSE.items():
        built = build_many(root / "dists" / index, dists)
        write_static_index(root / index, built, metadata=True)
    return root


def case_names() -> list[str]:
    """The corpus cases: each folder of `CORPUS_DIR` with a Pipfile."""
    return sorted(p.parent.name for p in CORPUS_DIR.glob("*/Pipfile"))


def _env_name(source: str) -> str:
    return "PIPFENCE_MIRROR_" + "".join(c if c.isalnum() else "_" for c in source).upper()


def corpus_environ(pipfile: Path, served_at: str) -> dict[str, str]:
    """The variables that send each source of `pipfile` to its local index at `served_at`
    (the static server's base URL): PyPI's URLs through `PIPENV_PYPI_MIRROR`, any other
    through `PIPFENCE_MIRROR_<SOURCE>`. An unknown URL fails the test here."""
    data: Mapping[str, Any] = tomllib.loads(pipfile.read_text(encoding="utf-8"))
    env = {"PIPENV_PYPI_MIRROR": f"{served_at}/pypi/simple/"}
    for source in data.get("source", []):
        index = INDEX_URLS[source["url"].rstrip("/")]
        if index != "pypi":
            env[_env_name(source["name"])] = f"{served_at}/{index}/simple/"
    return env


@dataclass(frozen=True)
class Case:
    """One corpus case: its folder and what its `case.toml` says (every key optional).

    ``about``: what real-project shape the case shows. ``[trees."<path>"]``: a local project
    (``name``, ``version``, ``requires``) written at that path before any command, for path
    entries. ``sync``: the categories `sync` installs (every category of the lock by default).
    ``[differs]``: ``"<section>.<name>" = "reason"`` for each lock entry that `pipfence lock`
    writes differently from pipenv's, and ``_meta`` when the header differs; ``lock = "reason"``
    when `pipfence lock` fails on the Pipfile; ``sync = "reason"`` with ``sync_refuses = "text
    of the error"`` when `pipfence sync` refuses pipenv's lock.
    ``pipenv_pipfile``: ``{"text as written" = "text pipenv can read"}``, replacements that let
    the regeneration run pipenv on a Pipfile it cannot read itself (the lock keeps the
    `_meta.hash` of the real Pipfile).
    """

    name: str
    folder: Path
    about: str = ""
    trees: dict[str, dict[str, Any]] = field(default_factory=dict)
    sync: tuple[str, ...] | None = None
    differs: dict[str, str] = field(default_factory=dict)
    pipenv_pipfile: dict[str, str] = field(default_factory=dict)

    @property
    def pipfile(self) -> Path:
        return self.folder / "Pipfile"

    @property
    def lock(self) -> Path:
        return self.folder / "Pipfile.lock"

    def copy_to(self, project: Path) -> Path:
        """The Pipfile, the lock and the local trees in `project` (created)."""
        project.mkdir(parents=True, exist_ok=True)
        for name in ("Pipfile", "Pipfile.lock"):
            if (self.folder / name).exists():
                shutil.copyfile(self.folder / name, project / name)
        write_trees(project, self.trees)
        return project


def load_case(name: str) -> Case:
    folder = CORPUS_DIR / name
    spec_path = folder / "case.toml"
    spec: dict[str, Any] = tomllib.loads(spec_path.read_text("utf-8")) if spec_path.exists() else {}
    sync = spec.get("sync")
    return Case(
        name=name,
        folder=folder,
        about=spec.get("about", ""),
        trees=spec.get("trees", {}),
        sync=tuple(sync) if sync is not None else None,
        differs=spec.get("differs", {}),
        pipenv_pipfile=spec.get("pipenv_pipfile", {}),
    )


def write_trees(project: Path, trees: Mapping[str, Mapping[str, Any]]) -> None:
    """Write each local project of `trees` at its path below `project` (files already there,
    such as the Pipfile of a project that is itself a package, stay)."""
    for rel, spec in trees.items():
        with tempfile.TemporaryDirectory() as scratch:
            built = Dist(
                spec["name"], spec["version"], requires=tuple(spec.get("requires", ()))
            ).source_tree(scratch)
            shutil.copytree(built, project / rel, dirs_exist_ok=True)


# -- regenerating the committed locks with pipenv ----------------------------------------------


def _pipenv_lock(case: Case, served_at: str, work: Path) -> dict[str, Any]:
    """Run the real pipenv's `lock` on a copy of the case whose non-PyPI source URLs point at
    their local indexes (PyPI's go through `PIPENV_PYPI_MIRROR`); return its lock with the
    Pipfile's own URLs put back and `_meta.hash` recomputed for the real Pipfile."""
    import support
    from pipfence.models.pipfile import pipfile_hash
    from support.pipenv import pipenv_environ, run_pipenv

    project = case.copy_to(work / case.name)
    (project / "Pipfile.lock").unlink(missing_ok=True)
    text = case.pipfile.read_text("utf-8")
    for written, readable in case.pipenv_pipfile.items():
        assert written in text, (case.name, written)
        text = text.replace(written, readable)
    data = tomllib.loads(case.pipfile.read_text("utf-8"))
    local: dict[str, str] = {}
    for source in data.get("source", []):
        index = INDEX_URLS[source["url"].rstrip("/")]
        if index != "pypi":
            local[f"{served_at}/{index}/simple"] = source["url"]
            text = text.replace(f'"{source["url"]}"', f'"{served_at}/{index}/simple"')
    (project / "Pipfile").write_text(text, encoding="utf-8")
    env = pipenv_environ(support.pipfence_environ(work / "env"), work)
    env["PIPENV_PYPI_MIRROR"] = f"{served_at}/pypi/simple/"
    result = run_pipenv(project, env, "lock")
    if result.returncode != 0:
        raise SystemExit(f"{case.name}: pipenv lock failed\n{result.stdout}\n{result.stderr}")
    lock: dict[str, Any] = json.loads((project / "Pipfile.lock").read_text("utf-8"))
    # With no [[source]], pipenv records the mirror's URL; the Pipfile means PyPI's.
    local[env["PIPENV_PYPI_MIRROR"].rstrip("/")] = "https://pypi.org/simple"
    for source in lock["_meta"]["sources"]:
        source["url"] = local.get(source["url"].rstrip("/"), source["url"])
    lock["_meta"]["hash"] = {"sha256": pipfile_hash(data)}
    return lock


def main(argv: list[str]) -> int:
    """`python -m support.compat [CASE...]` (from tests/, with src on PYTHONPATH): rewrite the
    cases' Pipfile.lock with what the real pipenv locks for them today."""
    names = argv or case_names()
    with tempfile.TemporaryDirectory() as scratch:
        root = build_universe(Path(scratch) / "indexes")
        with StaticIndexServer(root) as server:
            for name in names:
                case = load_case(name)
                lock = _pipenv_lock(case, server.url, Path(scratch) / "work")
                text = json.dumps(lock, indent=4, separators=(",", ": "), sort_keys=True) + "\n"
                case.lock.write_text(text, encoding="utf-8")
                print(f"{name}: {sum(len(v) for k, v in lock.items() if k != '_meta')} entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
