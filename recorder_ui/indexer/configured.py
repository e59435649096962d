"""`index_configured_roots`: the roots settings name, then the catalog's others; what `index_recordings` without a
path, the re-index button and the background re-scan index."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from recorder_ui.domain import paths
from recorder_ui.indexer.report import IndexReport
from recorder_ui.indexer.roots import NAME_LIMIT, RootError, configured_roots, root_path
from recorder_ui.indexer.writer import Progress, index_recordings, root_at
from recorder_ui.models import Root


def index_configured_roots(
    *,
    full: bool = False,
    progress: Progress | None = None,
    jobs: int = 1,
    missing: list[str] | None = None,
    starting: Callable[[str], None] | None = None,
) -> list[IndexReport]:
    """Index every root named in settings, then every other root already in the catalog that still exists.

    A configured root that cannot be indexed (no folder, a name another folder's root has) raises RootError; with
    `missing` given, it is said there instead and the other roots are indexed all the same. `starting(name)` is
    called as each root's run begins."""
    reports = []
    try:
        configured = configured_roots()
    except RootError as exc:  # a malformed RECORDER_UI_ROOTS: said, and the catalog's own roots still indexed
        if missing is None:
            raise
        missing.append(paths.storable(str(exc)))  # as every page and JSON can show it
        configured = []
    if not configured:
        todo: list[tuple[str | None, str, Path]] = []
    elif not settings.RECORDINGS_ROOTS.strip():
        # RECORDINGS_DIR: the root that indexes that folder already, whatever its name; else one named after the
        # folder, never taking over another folder's root of that name (`make run` after indexing some other
        # `recordings/` folder by hand): the first free "name-2", "name-3", ...
        [(name, path)] = configured
        held = root_at(path)
        if held is None and path.is_dir():
            held = _free_name(name)
        todo = [(held, held or name, path)]
    else:
        todo = [(name, name, path) for name, path in configured]
    names = [name for _, name, _ in todo]
    todo += [(row.name, row.name, root_path(row.path)) for row in Root.objects.exclude(name__in=names).order_by("name")]
    for given, name, path in todo:
        if given is not None and given not in names and not path.is_dir():
            continue  # a root indexed once from a folder since removed: it stays as it was
        try:
            if starting is not None:
                starting(name)
            reports.append(index_recordings(root=path, name=given, full=full, progress=progress, jobs=jobs))
        except RootError as exc:
            if missing is None:
                raise
            missing.append(paths.storable(f"the root {name!r}: {exc}"))
    return reports


def _free_name(name: str) -> str:
    """name, or the first of "name-2", "name-3", ... that no root has."""
    stem = name[: NAME_LIMIT - 8]
    taken = set(Root.objects.filter(name__startswith=stem).values_list("name", flat=True))
    if name not in taken:
        return name
    return next(f"{stem}-{n}" for n in itertools.count(2) if f"{stem}-{n}" not in taken)
