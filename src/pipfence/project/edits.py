"""What `install PKG` and `uninstall PKG` change in the Pipfile, computed without writing it."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement

from pipfence.errors import UsageError
from pipfence.models.fence import Fence
from pipfence.models.names import NormalizedName, canonical_name, lock_key, shown
from pipfence.models.pipfile import Pipfile
from pipfence.models.sources import Source, generated_source_name
from pipfence.project.direct_entries import DirectEntry
from pipfence.project.pipfile_edit import PipfileEditor

__all__ = [
    "PipfileChange",
    "add_packages",
    "add_packages_to_tables",
    "remove_packages",
    "template_credentials",
    "update_packages",
]

#: The longest requirement `install` accepts on its command line (real ones are tens of
#: characters; the bound keeps a hostile argument from costing time in packaging's parser).
MAX_REQUIREMENT_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class PipfileChange:
    """The Pipfile's new text, and what a person should be told about the change."""

    text: str
    names: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Values for the placeholders written in place of credentials, for this run only.
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)


def _parse(argument: str) -> Requirement:
    if len(argument) > MAX_REQUIREMENT_LENGTH:
        raise UsageError(
            f"a requirement of {len(argument)} characters is too long "
            f"(at most {MAX_REQUIREMENT_LENGTH})"
        )
    try:
        requirement = Requirement(argument)
    except InvalidRequirement as exc:
        # packaging's message goes on with the requirement and a caret line: keep its first.
        reason = str(exc).splitlines()[0] if str(exc) else "it does not parse"
        raise UsageError(
            f"`{shown(argument)}` is not a valid requirement: {shown(reason)}",
            hint='write it as NAME, NAME[extra], NAME>=1.0 or "NAME; marker" (PEP 508)',
        ) from None
    if requirement.url:
        raise UsageError(
            f"`{argument}` is a direct URL; pipfence adds packages from the Pipfile's sources",
            hint="add the file or VCS entry to the Pipfile by hand, or publish it to an index",
        )
    return requirement


def _variable_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    # A variable name cannot start with a digit (a source named after an IP address).
    return stem if stem[:1].isalpha() else f"INDEX_{stem}".rstrip("_")


def template_credentials(
    url: str, name: str, environ: Mapping[str, str]
) -> tuple[str, dict[str, str]]:
    """``url`` with any literal user-info replaced by ``${…}`` placeholders, and the
    variables (name → value) the placeholders stand for.

    A variable already set in ``environ`` to another value is never chosen (it would feed
    some other secret to this source on the next run): the name gets a numbered suffix."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}
    userinfo, _, host = parts.netloc.rpartition("@")
    if "$" in userinfo:
        return url, {}  # already a template
    stem = _variable_stem(name)
    wanted: dict[str, str]
    if ":" in userinfo:
        user, _, password = userinfo.partition(":")
        wanted = {"USERNAME": unquote(user), "PASSWORD": unquote(password)}
    else:
        wanted = {"TOKEN": unquote(userinfo)}
    values: dict[str, str] = {}
    for role, value in wanted.items():
        variable = f"{stem}_{role}"
        number = 1
        while environ.get(variable, value) != value:
            number += 1
            variable = f"{stem}_{role}_{number}"
        values[variable] = value
    templated = ":".join(f"${{{v}}}" for v in values) + f"@{host}"
    return urlunsplit(parts._replace(netloc=templated)), values


def _index_source(
    editor: PipfileEditor, pipfile: Pipfile, index: str, environ: Mapping[str, str]
) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """The source name ``--index`` means, adding a ``[[source]]`` for a new URL; notes for
    the user; the credentials the URL carried (kept out of the Pipfile)."""
    fence = Fence(pipfile.effective_sources)  # only the sources are asked here
    if "://" not in index:
        return fence.source_named(index).name, (), {}
    plain_url = template_credentials(index, "x", {})[0] if "@" in index else index
    existing = fence.find_by_url(plain_url) or _find_by_host_path(pipfile, index)
    if existing is not None:
        return existing.name, (), {}
    name = generated_source_name(index, [s.name for s in pipfile.effective_sources])
    url, variables = template_credentials(index, name, environ)
    editor.add_source(Source(name=name, url=url, verify_ssl=url.startswith("https://")))
    notes: list[str] = [f"Added source `{name}` to the Pipfile."]
    if variables:
        notes.append(
            "The credentials in the URL were not written; set "
            + " and ".join(f"`{v}`" for v in variables)
            + f" in the environment for source `{name}`."
        )
    return name, tuple(notes), variables


def _find_by_host_path(pipfile: Pipfile, url: str) -> Source | None:
    """A source with the same URL once user-info is ignored on both sides."""

    def strip(value: str) -> tuple[str, str, str]:
        parts = urlsplit(value)
        return parts.scheme, parts.netloc.rpartition("@")[2].lower(), parts.path.rstrip("/")

    wanted = strip(url)
    return next((s for s in pipfile.effective_sources if strip(s.url) == wanted), None)


def add_packages(
    text: str,
    pipfile: Pipfile,
    arguments: Sequence[str | DirectEntry],
    *,
    table: str,
    index: str | None,
    environ: Mapping[str, str] | None = None,
) -> PipfileChange:
    """The Pipfile with each requirement in ``arguments`` added to ``table``, or merged into
    the entry already there, pinned to ``index`` (a source name or URL) when given.

    A new entry's name is written as pipenv writes it (lower case, ``_`` as ``-``). An entry
    already in ``table`` (matched by normalised name, its spelling kept) changes
    only in what the command gives: a version specifier replaces ``version``, ``index``
    replaces ``index``, extras replace the extras, a marker replaces the markers; every other key
    (``index``, ``markers``, ``editable``, ``path``, ``git``, …) and the entry's form and
    comments stay. A `DirectEntry` (a path or URL) replaces the entry of its name, as pipenv
    replaces it. A new entry without ``index`` takes the pin the name has in another table; an
    ``index`` other than the pin in ``[packages]`` (or, for ``[packages]``, in any table) is
    refused, while two other tables may pin a name to different sources. ``environ`` is the
    process environment: the variables a ``--index`` URL's credentials are moved to are named
    so as not to clash with what it already holds.
    """
    editor = PipfileEditor(text)
    editor.inline_sub_tables(table)
    notes: list[str] = []
    credentials: dict[str, str] = {}
    source_name = None
    if index is not None:
        source_name, index_notes, credentials = _index_source(editor, pipfile, index, environ or {})
        notes.extend(index_notes)
    names: list[str] = []
    for argument in arguments:
        if isinstance(argument, DirectEntry):
            if source_name is not None:
                raise UsageError(
                    f"`--index` pins packages from an index; `{argument.name}` is a path or URL",
                    hint="install the path or URL in a command of its own",
                )
            _add_direct(
                editor,
                argument,
                table,
                environ=environ or {},
                credentials=credentials,
                notes=notes,
            )
            names.append(argument.name)
        else:
            names.append(
                _add_named(editor, pipfile, argument, table, source_name=source_name, notes=notes)
            )
    if pipfile.setting("sort_pipfile"):
        editor.sort_table(table)
    return PipfileChange(editor.text(), tuple(names), tuple(notes), credentials)


def _add_direct(
    editor: PipfileEditor,
    argument: DirectEntry,
    table: str,
    *,
    environ: Mapping[str, str],
    credentials: dict[str, str],
    notes: list[str],
) -> None:
    """Write a path or URL entry into ``table``, replacing the entry of its name; a user name
    or token in its URL is moved to ``credentials`` (said in ``notes``)."""
    entry = dict(argument.entry)
    url = entry.get("file")
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        # A user name or token in the URL goes to the environment, not the Pipfile.
        entry["file"], found = template_credentials(url, argument.name, environ)
        credentials.update(found)
        if found:
            notes.append(
                f"The credentials in the URL of `{argument.name}` were not written; set "
                + " and ".join(f"`{v}`" for v in found)
                + " in the environment."
            )
    editor.set_package(table, argument.name, entry)


def _add_named(
    editor: PipfileEditor,
    pipfile: Pipfile,
    argument: str,
    table: str,
    *,
    source_name: str | None,
    notes: list[str],
) -> str:
    """Add or merge the requirement ``argument`` into ``table`` (see `add_packages`), pinned
    to ``source_name`` or to the pin the name has in another table; returns the entry's name
    as written."""
    requirement = _parse(argument)
    key = canonical_name(requirement.name)
    pinned = _pins_elsewhere(pipfile, key, table)
    entry_index = source_name
    # Every table is resolved with [packages]: a pin there holds in every table. Two
    # other tables may pin a name differently (`[cpu]`/`[gpu]` torch); they lock apart.
    clash = next(
        ((t, i) for t, i in pinned.items() if i != source_name and "packages" in (t, table)),
        None,
    )
    if source_name is not None and clash is not None:
        where, pin = clash
        raise UsageError(
            f"`{requirement.name}` is pinned to index `{pin}` in [{where}]; a package "
            f"comes from one index in [packages] and every table resolved with it, so it "
            f"cannot be pinned to `{source_name}` in [{table}]",
            hint=f"leave out `--index`, or change the pin in [{where}] first",
        )
    existing = pipfile.categories.get(table, {}).get(key)
    if source_name is None and existing is None and pinned:
        where, entry_index = next(iter(pinned.items()))
        notes.append(
            f"Pinned `{requirement.name}` in [{table}] to index `{entry_index}`, as in [{where}]."
        )
    # A new entry is written as pipenv writes it (`python_DateUtil` → `python-dateutil`);
    # an existing one keeps its spelling, so no second entry appears beside it.
    written = existing.name if existing is not None else lock_key(requirement.name)
    editor.update_package(
        table,
        written,
        version=str(requirement.specifier) or None,
        index=entry_index,
        extras=requirement.extras,
        markers=None if requirement.marker is None else str(requirement.marker),
    )
    return written


def add_packages_to_tables(
    text: str,
    pipfile: Pipfile,
    arguments: Sequence[str | DirectEntry],
    *,
    tables: Sequence[str],
    index: str | None,
    environ: Mapping[str, str] | None = None,
) -> PipfileChange:
    """`add_packages` into each of ``tables`` in turn (``install --categories "a b"``), each
    table's edit made on the Pipfile the previous one left."""
    names: list[str] = []
    notes: list[str] = []
    credentials: dict[str, str] = {}
    for table in dict.fromkeys(tables):
        change = add_packages(text, pipfile, arguments, table=table, index=index, environ=environ)
        if change.text != text:
            text = change.text
            pipfile = Pipfile.parse(text, path=pipfile.path)
        names.extend(change.names)
        notes.extend(n for n in change.notes if n not in notes)
        credentials.update(change.credentials)
    return PipfileChange(text, tuple(dict.fromkeys(names)), tuple(notes), credentials)


def _pins_elsewhere(pipfile: Pipfile, key: NormalizedName, table: str) -> dict[str, str]:
    """Table → ``index`` of the entries for ``key`` outside ``table`` that have one."""
    return {
        other: spec.index
        for other, specs in pipfile.categories.items()
        if other != table and (spec := specs.get(key)) is not None and spec.index is not None
    }


def remove_packages(
    text: str, pipfile: Pipfile, names: list[str], *, tables: list[str]
) -> PipfileChange:
    """The Pipfile without ``names`` in ``tables``; `UsageError` when none of them is there.

    An index pin goes only with the last entry that states it: when a removed entry had an
    ``index`` and the name stays in another table without one, that entry takes the pin,
    so the package does not fall back to the default source.
    """
    editor = PipfileEditor(text)
    removed: list[str] = []
    notes: list[str] = []
    for name in names:
        key = canonical_name(name)
        gone = [
            table
            for table in tables
            if key in pipfile.categories.get(table, {}) and editor.remove_package(table, name)
        ]
        if not gone:
            continue
        removed.append(name)
        for table in gone:
            editor.inline_sub_tables(table)
        notes.extend(_keep_pin(editor, pipfile, key, gone))
    if not removed:
        listed = ", ".join(f"`{n}`" for n in names)
        raise UsageError(f"{listed} not found in [{'], ['.join(tables)}] of the Pipfile")
    if pipfile.setting("sort_pipfile"):
        for table in tables:
            editor.sort_table(table)
    return PipfileChange(editor.text(), tuple(dict.fromkeys(removed)), tuple(notes))


def _keep_pin(
    editor: PipfileEditor, pipfile: Pipfile, key: NormalizedName, gone: list[str]
) -> list[str]:
    """Move the pin of the removed entries for ``key`` (tables ``gone``) to those left."""
    entries = {t: specs[key] for t, specs in pipfile.categories.items() if key in specs}
    pin = next((entries[t].index for t in gone if entries[t].index is not None), None)
    left = {t: spec for t, spec in entries.items() if t not in gone}
    if pin is None or not left or any(spec.index is not None for spec in left.values()):
        return []
    notes = []
    for table, spec in left.items():
        editor.inline_sub_tables(table)
        editor.update_package(table, spec.name, index=pin)
        notes.append(f"Pinned `{spec.name}` in [{table}] to index `{pin}`, as it was.")
    return notes


def update_packages(
    text: str, pipfile: Pipfile, arguments: Sequence[str], *, locked: Collection[str] | None
) -> PipfileChange:
    """What `update PKG…` / `upgrade PKG…` change in the Pipfile: an argument with a version
    (``requests==2.28.0``), extras or a marker edits the package's entry where it is (or adds
    it to ``[packages]``), as pipenv's upgrade does; a bare name changes nothing there but
    the order of the tables holding it under ``[pipenv] sort_pipfile``. Every
    name must be in the Pipfile or in ``locked`` (the lock's names), else `UsageError`; with
    no lock yet (``locked`` None) any name goes, as the whole project is locked anyway.
    ``names`` are the packages the update may move."""
    names: list[str] = []
    edits: dict[str, list[str]] = {}
    touched: dict[str, None] = {}
    known = {canonical_name(name) for name in locked or ()}
    for argument in arguments:
        requirement = _parse(argument)
        key = canonical_name(requirement.name)
        tables = [t for t, specs in pipfile.categories.items() if key in specs]
        touched.update(dict.fromkeys(tables))
        bare = not (requirement.specifier or requirement.extras)
        if locked is not None and not tables and key not in known and bare:
            raise UsageError(
                f"`{requirement.name}` is neither in the Pipfile nor in the lock",
                hint=f"add it with `pipfence install {requirement.name}`",
            )
        names.append(requirement.name)
        if requirement.specifier or requirement.extras or requirement.marker:
            for table in tables or ["packages"]:
                edits.setdefault(table, []).append(argument)
    notes: list[str] = []
    for table, edited in edits.items():
        current = Pipfile.parse(text, path=pipfile.path)
        change = add_packages(text, current, edited, table=table, index=None)
        text = change.text
        notes.extend(change.notes)
    if pipfile.setting("sort_pipfile") and touched:
        # The tables holding a package the command names are sorted, as pipenv's upgrade
        # leaves them, even when no entry changes.
        editor = PipfileEditor(text)
        for table in touched:
            editor.inline_sub_tables(table)
            editor.sort_table(table)
        text = editor.text()
    return PipfileChange(text, tuple(dict.fromkeys(names)), tuple(notes))
