"""An environment that ignores the machine's pip configuration, for every command the tests and
the benchmark start.

pip reads its index, extra indexes, find-links and constraints from configuration files and
`PIP_*` variables; a machine set up for another project (a private mirror, a constraints file)
would otherwise change what gets installed or measured. The Makefile's `PIP_ISOLATED` is the
shell twin of `pip_isolated` (`make` targets install the test and lint tools with it), and a
test keeps the two in step.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

__all__ = ["PIP_SETTINGS", "PIP_SOURCES", "pip_isolated"]

PIP_SOURCES = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_CONSTRAINT",
    "PIP_BUILD_CONSTRAINT",
    "PIP_NO_INDEX",
    "PIP_REQUIRE_VIRTUALENV",
)
"""pip variables that change where packages come from or whether pip runs: always dropped."""

PIP_SETTINGS = {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
"""Set in every isolated environment: no configuration file, no self-update check."""


def pip_isolated(
    base: Mapping[str, str] | None = None,
    *,
    drop_prefixes: tuple[str, ...] = (),
    drop: Collection[str] = (),
) -> dict[str, str]:
    """`base` (default os.environ) without `PIP_SOURCES`, the names in `drop` and every name
    starting with one of `drop_prefixes`, plus `PIP_SETTINGS`."""
    dropped = {*PIP_SOURCES, *drop}
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if key not in dropped and not key.upper().startswith(drop_prefixes)
    }
    env.update(PIP_SETTINGS)
    return env
