"""The weighted LRU of this process and the caches built on it: whole-index pages, parsed files, stitched tests."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recorder_ui.domain.model import Recording
from recorder_ui.models import Root
from recorder_ui.selectors import catalog

if TYPE_CHECKING:
    from recorder_ui.selectors.cases import TestDetail
    from recorder_ui.selectors.recording_detail import RecordingDetail, Stamp


class _Lru[K, V]:
    """A least-recently-used map of this process, bounded by the total weight of what it holds (the newest
    entry is always kept). Safe to share between threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: K, value: V, weight: int = 1) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self._weight += weight - (old[1] if old else 0)
            self._items[key] = (value, weight)
            while self._weight > self.limit and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._weight -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._weight = 0


# Pages over the whole index (overview, lists, missing usage, errors) are kept for as long as no root's rows
# change: each key holds every root's generation, which each index run that writes draws anew.
PAGE_CACHE_ENTRIES = 256
_pages: _Lru[tuple[object, ...], Any] = _Lru(PAGE_CACHE_ENTRIES)

# Parsed files, keyed by the file's size, mtime and ctime as they are now (one stat per request), so a changed or
# vanished file is read again at once, as it would be without the cache. Weighed by the bytes of the files;
# unreadable files are not kept.
PARSE_CACHE_BYTES = 8 * 1024 * 1024  # of files on disk; parsed, they take about four times as much
_parsed: _Lru[tuple[object, ...], Recording] = _Lru(PARSE_CACHE_BYTES)

# Recording pages as built (selectors/recording_detail.py), with the (root, path, size, mtime, ctime) of the files they
# were made from: the recording's, and the later steps of its test read for its tool results. Weighed by the
# bytes of the file and of the Raw tab's text: without the file's whole JSON a page holds less than that (600
# of the corpus's pages, weighing 16 MB, held 6.4 MB), so more pages are kept than parsed files, and a team's
# browsing of several hundred recordings stays warm.
DETAIL_CACHE_BYTES = 24 * 1024 * 1024
_details: _Lru[tuple[object, ...], tuple[tuple[Stamp, ...], RecordingDetail]] = _Lru(DETAIL_CACHE_BYTES)

# Stitched tests, weighed by the recordings they hold, not by tests: tests vary from 1 to 331 recordings.
TEST_CACHE_RECORDINGS = 4000
_tests: _Lru[tuple[object, ...], TestDetail] = _Lru(TEST_CACHE_RECORDINGS)
# For (test id, root, the root's generation), the key of the test in _tests: a kept test found with one query.
# The keys are the tuples _tests holds (or held), so this adds little beyond its entries, counted.
TEST_KEYS = 4000
_tests_now: _Lru[tuple[object, ...], tuple[object, ...]] = _Lru(TEST_KEYS)


def clear_caches(*, tests: bool = False) -> None:
    """Forget what this process keeps, as after an index run that changed rows: every kept page (whole-index,
    recording and test pages found by generation), parsed file and root summary; with tests=True the stitched
    tests too."""
    _pages.clear()
    _parsed.clear()
    _details.clear()
    _tests_now.clear()  # by generation: an index run that changed rows leaves none of them found
    catalog.forget()
    if tests:
        _tests.clear()


def _generation() -> tuple[tuple[int, int], ...]:
    return tuple(Root.objects.order_by("pk").values_list("pk", "generation"))


def _cached[T](name: str, params: dict[str, str], build: Callable[[], T]) -> T:
    key = (name, _generation(), tuple(sorted(params.items())))
    value = _pages.get(key)
    if value is None:
        value = build()
        _pages.put(key, value)
    return value  # type: ignore[no-any-return]
