"""Whether the index database can be used at all: migrated, and reachable."""

from __future__ import annotations

from django.db import DatabaseError, connection

from recorder_ui.models import Root


def index_problem() -> str:
    """ "" when the index's tables exist; otherwise what is wrong, in one line a command can print."""
    try:
        ready = Root._meta.db_table in connection.introspection.table_names()
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        return f"the index database cannot be reached: {first}"
    if not ready:
        return (
            "the index database has no tables yet: run `python manage.py migrate` first (`make run` and "
            "`make index` do it)"
        )
    return ""
