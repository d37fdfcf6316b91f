"""pipfence: a fenced, fast, pipenv-compatible Pipfile dependency manager."""

__version__ = "0.1.0"
