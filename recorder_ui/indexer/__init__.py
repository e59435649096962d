"""Keeps RecordingEntry rows in line with the recording files on disk. The only ORM writer.

Which module holds what:
    roots     the roots named in settings, and `scan`: stat every recording file under a root
    files     open a file beneath a root without following a link out of it, and read it up to a limit
    entries   the file behind an index row: `entry_path`, `read_entry`, `load_entry`,
              `load_entries` (many rows of one root)
    values    a parsed recording's column values and search text (pure: no Django)
    pool      parse files into values, here or in forked worker processes (`default_jobs`)
    writer    `index_recordings` and the database writes; `drop_root`
    configured `index_configured_roots`: the roots settings name, then the catalog's others
    statements `update_entries`: the one prepared UPDATE the writes share
    whole     the whole catalog's summary, every root's added up, kept by the runs (`write`, `combine`)
    report    `IndexReport` and `FileError`, what a run tells its caller
    refresh   the background re-scan a page request starts (`refresh_if_stale`, `refresh_state`)

Callers use the names below, as `indexer.index_recordings(...)`. A test that patches a private helper patches
it in the module that looks it up (`pool._parse_file`, `writer._insert`, `entries._read`, ...).
"""

from recorder_ui.indexer.configured import index_configured_roots
from recorder_ui.indexer.entries import entry_path, load_entries, load_entry, read_entry
from recorder_ui.indexer.pool import default_jobs
from recorder_ui.indexer.refresh import refresh_if_stale, refresh_state
from recorder_ui.indexer.report import FileError, IndexReport, one_line
from recorder_ui.indexer.roots import RootError, configured_roots, root_path, scan
from recorder_ui.indexer.values import SEARCH_TEXT_LIMIT, split_test_id, stored_test_id, suite_for
from recorder_ui.indexer.writer import SETTLE_MIN_CHANGES, drop_root, index_recordings

__all__ = [
    "one_line",
    "SEARCH_TEXT_LIMIT",
    "SETTLE_MIN_CHANGES",
    "FileError",
    "IndexReport",
    "RootError",
    "configured_roots",
    "default_jobs",
    "drop_root",
    "entry_path",
    "index_configured_roots",
    "index_recordings",
    "load_entries",
    "load_entry",
    "read_entry",
    "refresh_if_stale",
    "refresh_state",
    "root_path",
    "scan",
    "split_test_id",
    "stored_test_id",
    "suite_for",
]
