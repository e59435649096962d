"""Copies of one file in several roots (the checkouts of a team's catalog): the same path and the same bytes.

Find and the missing-usage page list such a file once, with the other roots beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def by_file[T](
    items: Iterable[T], file: Callable[[T], tuple[str, str]], *, limit: int | None = None
) -> list[tuple[T, list[T]]]:
    """The items in order, one entry per file: (its first item, the later items of the same path and bytes).
    `file` gives an item's (path, sha256); an item whose bytes are unknown (sha256 "") is a file of its own.
    With `limit`, the first `limit` files: later copies of those still join them, other files are left out."""
    groups: list[tuple[T, list[T]]] = []
    at: dict[tuple[str, str], int] = {}
    for item in items:
        path, sha = file(item)
        index = at.get((path, sha)) if sha else None
        if index is not None:
            groups[index][1].append(item)
        elif limit is None or len(groups) < limit:
            if sha:
                at[(path, sha)] = len(groups)
            groups.append((item, []))
    return groups
