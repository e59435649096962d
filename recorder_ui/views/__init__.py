"""Thin function views: read the request, call one selector, render a page, a partial or the JSON twin.

One module per page family, as in selectors/:
- common.py: the htmx request type, JSON twins (json_response), page-or-partial rendering, list params.
- home.py: the overview, the re-index button and its status, /healthz.
- recordings.py: the recordings list, one recording with its tabs, the raw file and its download.
- cases.py: the tests list and one test stitched into threads.
- missing_usage.py, errors.py: those pages (errors.py also has the site's 404 and 500 pages).
- diff.py: the diff of two revisions or folders, and one pair.
- cleanup.py: the recordings replay cannot serve and the superseded ones.
- find.py: the Find page, a replay miss (hash, prefix or pasted CI log) and the recordings it wanted.

urls.py names the views as views.<name>; nothing else imports them.
"""

from recorder_ui.views.cases import test_detail, test_detail_json, test_list, test_list_json
from recorder_ui.views.cleanup import cleanup, cleanup_json
from recorder_ui.views.diff import recording_diff, recording_diff_json, recording_diff_pair
from recorder_ui.views.errors import error_list, error_list_json, not_found, server_error
from recorder_ui.views.find import find, find_json
from recorder_ui.views.home import Logout, healthz, overview, overview_json, reindex, reindex_status
from recorder_ui.views.missing_usage import missing_usage, missing_usage_json
from recorder_ui.views.recordings import (
    recording_chunks,
    recording_chunks_json,
    recording_detail,
    recording_detail_json,
    recording_list,
    recording_list_json,
    recording_raw,
    recording_raw_json,
)

__all__ = [
    "cleanup",
    "Logout",
    "cleanup_json",
    "find",
    "find_json",
    "error_list",
    "error_list_json",
    "healthz",
    "missing_usage",
    "missing_usage_json",
    "not_found",
    "overview",
    "overview_json",
    "recording_chunks",
    "recording_chunks_json",
    "recording_detail",
    "recording_detail_json",
    "recording_diff",
    "recording_diff_json",
    "recording_diff_pair",
    "recording_list",
    "recording_list_json",
    "recording_raw",
    "recording_raw_json",
    "reindex",
    "reindex_status",
    "server_error",
    "test_detail",
    "test_detail_json",
    "test_list",
    "test_list_json",
]
