"""`python -m pipfence` runs the command-line interface."""

from pipfence.cli.main import entry

entry()
