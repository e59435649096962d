"""Full-text search on the database in use (SQLite by default, PostgreSQL when DATABASE_URL says so)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from recorder_ui import indexer, selectors
from recorder_ui.models import RecordingEntry

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parent.parent / "recordings"


@pytest.fixture(autouse=True)
def indexed() -> None:
    indexer.index_recordings(root=SAMPLES, name="samples")


def _found(query: str) -> set[str]:
    return {row["test_id"] for row in selectors.recording_page(params={"q": query}).rows}


def test_words_must_all_appear() -> None:
    assert len(_found("Titan")) == 1
    assert _found("Saturn Titan") == _found("Titan")
    assert _found("Titan Lucerne") == set()


def test_search_covers_output_tool_names_and_arguments() -> None:
    assert any("trip_planner" in t for t in _found("find_train"))
    assert any("parallel_tool_calls" in t for t in _found("Lima"))  # a tool argument
    assert any("reasoning" in t for t in _found("42"))  # assembled output


@pytest.mark.parametrize(
    "query", ["get_weather(", '"unterminated', "*", "AND OR NOT", "%_\\", "'; drop table x; --", "-", "日本"]
)
def test_hostile_queries_never_raise(query: str) -> None:
    page = selectors.recording_page(params={"q": query})
    assert page.total >= 0


def test_postgres_uses_its_text_search_index() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run the suite with DATABASE_URL=postgres://... (CI does)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = 'recorder_ui_search_text_fts'")
        assert cursor.fetchone() is not None
    sql = str(selectors.search(RecordingEntry.objects.all(), "Titan").query)
    assert "websearch_to_tsquery" in sql
    assert len(_found('"largest moon"')) == 1
