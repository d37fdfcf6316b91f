"""Benchmark pipfence side by side with pipenv and uv, reported as ratios.

``python bench/run.py --help`` (or ``make bench``, ``python -m bench``) for the options; what is
measured and how: the ``bench`` package's docstring and ``bench/README.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a file: import the `bench` package from the repository's root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
