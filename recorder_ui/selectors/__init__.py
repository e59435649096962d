"""Read queries for the pages. They return dataclasses, so a page and its JSON twin share one source.

One module per page family; views call them through this package (`selectors.recording_get(...)`):

- cache.py: the weighted LRU of this process and the caches built on it (whole-index pages keyed by every
  root's generation, parsed files, stitched tests), and clear_caches.
- common.py: the small helpers several pages share (the errors filter, cleaned params, distinct column values).
- home.py: the overview page (overview).
- recording_list.py: the recordings list and its full-text search (recording_page, search).
- recording_detail.py: one recording and its tabs, read through the parsed-file cache
  (recording_get, recording_chunks, recording_raw).
- cases.py: the tests list and one test stitched into threads (test_page, test_get).
- missing_usage.py: the streams without a usage chunk (missing_usage_list).
- lifecycle.py: a row's variants as the index run found them (variants_of), and the Cleanup page (cleanup).
- catalog.py: the catalog's summary the index runs keep (every root's added up), and the roots.
- find.py: replay misses from a hash or a pasted log, with their recordings or candidates (find_misses).
- errors.py: the files the parser could not read (error_list).
- roots.py: the catalog's roots and the health answer (root_names, health).

Imports point one way: the page modules use cache and common, never each other. Page sizes and other
constants stay in their module, so patch them there (recording_list.PAGE_SIZE, cases.TEST_PAGE_SIZE).
"""

from recorder_ui.selectors.cache import clear_caches
from recorder_ui.selectors.cases import (
    SideGroup,
    StepView,
    TestDetail,
    TestGroup,
    TestPage,
    ThreadView,
    VariantView,
    test_get,
    test_page,
)
from recorder_ui.selectors.errors import ErrorList, error_list
from recorder_ui.selectors.find import FindReport, find_misses
from recorder_ui.selectors.home import Bar, Overview, overview
from recorder_ui.selectors.lifecycle import REASONS as CLEANUP_REASONS
from recorder_ui.selectors.lifecycle import Cleanup, CleanupGroup, SupersededRow, cleanup, variants_of
from recorder_ui.selectors.missing_usage import MissingGroup, MissingUsage, missing_usage_list
from recorder_ui.selectors.recording_detail import (
    RecordingDetail,
    raw_twin,
    recording_chunks,
    recording_get,
    recording_raw,
)
from recorder_ui.selectors.recording_list import RecordingPage, recording_page, search
from recorder_ui.selectors.roots import health, root_names

__all__ = [
    "CLEANUP_REASONS",
    "Cleanup",
    "CleanupGroup",
    "SupersededRow",
    "cleanup",
    "variants_of",
    "Bar",
    "ErrorList",
    "FindReport",
    "MissingGroup",
    "MissingUsage",
    "Overview",
    "RecordingDetail",
    "RecordingPage",
    "SideGroup",
    "StepView",
    "TestDetail",
    "TestGroup",
    "TestPage",
    "ThreadView",
    "VariantView",
    "clear_caches",
    "error_list",
    "find_misses",
    "health",
    "missing_usage_list",
    "overview",
    "recording_chunks",
    "recording_get",
    "recording_page",
    "recording_raw",
    "raw_twin",
    "root_names",
    "search",
    "test_get",
    "test_page",
]
