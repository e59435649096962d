"""Model lists (`/v1/models`, Ollama's `/api/tags` and `/api/ps`) compared as sets keyed by model id (format doc
9.1): order alone is noise; the models added, removed and changed are what a reviewer reads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from recorder_ui.domain.residue import ID_KEYS, NOISE_KEYS, _collapse, _data, _entries, _response, _strip, leaf_paths

LISTING_IDS = ("id", "model", "name")


@dataclass(frozen=True, slots=True)
class Listing:
    """A model list compared as a set: ids only in the old, only in the new, and ids whose entry changed."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # "model-id: field, field"
    reordered: bool = False

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _entry_id(entry: Any, index: int) -> str:
    data = _data(entry)
    if isinstance(data, dict):
        for key in LISTING_IDS:
            if isinstance(value := data.get(key), str):
                return value
    return f"#{index}"


def _entry(entry: Any) -> Any:
    """A listing entry minus noise; ids inside it (permission ids...) are random, its own `id` is its name."""
    data = _data(entry)
    if not isinstance(data, dict):
        return data
    return {k: v if k == "id" else _strip(v, NOISE_KEYS | ID_KEYS) for k, v in data.items() if k not in NOISE_KEYS}


def _keyed(entries: list[Any]) -> dict[str, Any]:
    """Entries by model id; a repeated id keeps each occurrence (`id#2`), so a duplicate never hides one."""
    seen: Counter[str] = Counter()
    keyed = {}
    for index, entry in enumerate(entries):
        name = _entry_id(entry, index)
        seen[name] += 1
        keyed[name if seen[name] == 1 else f"{name}#{seen[name]}"] = _entry(entry)
    return keyed


def listing_changes(old_raw: Any, new_raw: Any) -> Listing:
    """Two model lists as sets keyed by model id: what was added, removed or changed, and whether only order moved."""
    old_entries = _entries(_response(old_raw)) or []
    new_entries = _entries(_response(new_raw)) or []
    old_map = _keyed(old_entries)
    new_map = _keyed(new_entries)
    added = tuple(sorted(new_map.keys() - old_map.keys()))
    removed = tuple(sorted(old_map.keys() - new_map.keys()))
    changed = tuple(
        f"{k}: {', '.join(_collapse(list(leaf_paths(old_map[k], new_map[k])), limit=6))}"
        for k in sorted(old_map.keys() & new_map.keys())
        if old_map[k] != new_map[k]
    )
    same_ids = [k for k in old_map if k in new_map]
    reordered = same_ids != [k for k in new_map if k in old_map]
    return Listing(added, removed, changed, reordered)
