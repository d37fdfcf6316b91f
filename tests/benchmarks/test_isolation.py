"""The one recipe for an environment without the machine's pip configuration
(bench/isolation.py), and its shell twin, the Makefile's PIP_ISOLATED."""

from __future__ import annotations

import os
import shlex

from bench.isolation import PIP_SETTINGS, PIP_SOURCES, pip_isolated

from support import REPO_ROOT, isolated_environ


def _makefile_recipe() -> list[str]:
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("PIP_ISOLATED :="))
    return shlex.split(line.removeprefix("PIP_ISOLATED :="))


def test_the_makefile_unsets_and_sets_what_the_module_does() -> None:
    words = _makefile_recipe()
    assert words[0] == "env"
    unset = [words[i + 1] for i, word in enumerate(words) if word == "-u"]
    assigned = dict(word.split("=", 1) for word in words if "=" in word)
    assert sorted(unset) == sorted(PIP_SOURCES)
    assert assigned == {**PIP_SETTINGS, "PIP_CONFIG_FILE": "/dev/null"}
    assert PIP_SETTINGS["PIP_CONFIG_FILE"] == os.devnull


def test_pip_sources_and_the_named_variables_are_dropped_and_pip_is_configured() -> None:
    base = {
        "PIP_INDEX_URL": "https://mirror.example/simple",
        "PIP_FIND_LINKS": "/wheels",
        "PIP_CACHE_DIR": "/cache",
        "UV_INDEX_URL": "https://mirror.example/simple",
        "uv_lower": "x",
        "VIRTUAL_ENV": "/venv",
        "HOME": "/home/me",
    }
    env = pip_isolated(base, drop_prefixes=("UV_",), drop={"VIRTUAL_ENV"})
    assert env == {"PIP_CACHE_DIR": "/cache", "HOME": "/home/me", **PIP_SETTINGS}


def test_the_tests_environment_is_a_stricter_isolation() -> None:
    base = {"PIP_CACHE_DIR": "/cache", "HTTPS_PROXY": "http://proxy:3128", "PATH": "/bin"}
    env = isolated_environ(base)
    assert "PIP_CACHE_DIR" not in env
    assert "HTTPS_PROXY" not in env
    assert env["PATH"] == "/bin"
    assert env.items() >= PIP_SETTINGS.items()
