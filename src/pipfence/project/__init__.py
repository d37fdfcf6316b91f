"""The use cases: the only code that reads and writes the Pipfile and the lock, and the only
place that wires the index client into the resolver and the installer.

One module per use case, each taking a `Session` (the project, its lock held, and one index
client) when it writes:

    lock           lock(), relock(), lock_pipfile_text()   (lock_entries, direct_packages)
    sync_lock      install a lock into the project's environment or the system's Python
    sync           sync(): the lock into one environment (prepare, fenced_fetch,
                   wheel_requirements, direct_installed do the steps)
    install, update, uninstall, clean, outdated
    export (its writers are `pipfence.formats`), audit, sources, why, graph, support

What they share: `session` (open_session), `transaction` (files and environment changed
together), `project` (the files on disk), `settings`, `categories`, `environment` and
`env_location` (which Python, which folder), `edits` and `pipfile_edit` (Pipfile text),
`direct_entries` and `requirements_import` (what `install` arguments become), `files`,
`serial`, `concurrency`, `index_settings` (the index client's settings from the environment).

`adapters/` drives the outside world for them (the fenced package source the resolver reads,
fenced builds, git and other direct references, pip-audit, source probes) and imports no use
case.
"""
