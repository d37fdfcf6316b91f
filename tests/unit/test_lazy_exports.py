"""Packages whose names load their submodule when first used (`pipfence._lazy`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pipfence.index.http as http_package
from pipfence.index.http.settings import ClientSettings


def test_a_name_is_its_submodules_and_is_kept_in_the_package() -> None:
    assert http_package.ClientSettings is ClientSettings
    assert http_package.__dict__["ClientSettings"] is ClientSettings  # not looked up again


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    with pytest.raises(AttributeError, match=r"'pipfence\.index\.http' has no attribute 'Nope'"):
        _ = http_package.Nope


@pytest.mark.fast_io  # a fresh interpreter: what importing the package alone loads
def test_importing_the_http_package_loads_none_of_its_modules() -> None:
    code = (
        "import sys, pipfence.index.http\n"
        "print(sorted(m for m in sys.modules if m.startswith('pipfence.index.http.')))\n"
        "print('ssl' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[]", "False"]
