"""The benchmark: pipfence side by side with pipenv and uv, reported as ratios.

What it measures, per workload (a folder holding a ``Pipfile`` plus ``requirements.in`` and
``requirements-dev.in`` that declare the same dependencies; ``small``, ``medium`` and ``large``
come from the shared workloads folder, ``stress`` (about 300 locked packages) from
``bench/workloads/``):

* ``lock-cold``: resolve with a fresh, empty cache. pipfence and pipenv run ``lock`` on the
  Pipfile (both categories); uv, which cannot read Pipfiles, runs ``uv pip compile
  requirements.in requirements-dev.in --python-version 3.11 --generate-hashes``.
* ``lock-warm``: the same, reusing the cache (and pipenv's environment) of an earlier lock.
* ``lock-stale``: the same once every cached page is past its age (pipfence:
  ``PIPFENCE_PAGE_MAX_AGE=1``, a second after its last lock), so each page is asked again;
  uv and pipenv run their warm lock (see ``bench/README.md``).
* ``sync``: install the tool's own lock into a fresh environment with a warm cache
  (``pipfence sync --dev``, ``pipenv sync --dev``, ``uv venv`` + ``uv pip sync``). Skipped while
  pipfence has no ``sync`` command.
* ``startup``: ``--version`` of each tool, next to ``python -c pass``.

How: every command runs in its own process group with an environment that ignores this
machine's pip/uv configuration; wall time comes from ``time.perf_counter`` around the child and
peak memory from ``os.wait4``'s ``ru_maxrss`` (the largest single process of the command's tree,
KiB on Linux). Tools alternate within each repetition, their order rotated per repetition, and
the report gives medians and ratios. A failing or timed-out command is recorded, never fatal.
pipfence locks with ``-v``, whose ``N requests`` line gives the number of requests it sent.
pipenv and uv are installed by the benchmark into a throw-away virtualenv outside the repository.

Results: a markdown table on stdout and in ``bench/results/<timestamp>.md`` (with "how cost
grows": pipfence's time and requests against the number of locked packages), raw timings in
``bench/results/latest.json``, and a PNG plot of time (and pipfence's requests) against packages
when matplotlib can be installed in the tools venv.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
"""The repository's root folder."""
