"""Log filters the settings' LOGGING names."""

from __future__ import annotations

import logging


class WithoutTraceback(logging.Filter):
    """A record without its traceback: for refusals that are no fault of ours (a request for another host name,
    sent by scanners all day), whose one line says all there is."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True
