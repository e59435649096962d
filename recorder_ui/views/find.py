"""The Find page: a replay miss (a hash, a prefix, or a pasted CI log) and the recordings it wanted."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from recorder_ui import selectors
from recorder_ui.domain import misses
from recorder_ui.views.common import HtmxHttpRequest, json_response, render_page, wants_json

ASK = "Give ?q=HASH (64 hex digits, or a prefix of at least 8), or POST a CI log as q."


def _too_large() -> str:
    return (
        f"The paste is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes: paste the failing part of the log "
        f"(Find reads the first {misses.MAX_INPUT_CHARS:,} characters)."
    )


def _query(request: HttpRequest) -> str | None:
    """The paste or hash asked about; None when the body is too large to read."""
    # A long paste comes by POST (the form); a hash also by GET, so a lookup can be linked.
    try:
        source = request.POST if request.method == "POST" else request.GET
    except RequestDataTooBig:
        return None
    return source.get("q", "")[: misses.MAX_INPUT_CHARS + 1]  # one more, so the answer can say it was cut


@require_http_methods(["GET", "HEAD", "POST"])
@vary_on_headers("HX-Request", "Accept")
def find(request: HtmxHttpRequest) -> HttpResponse:
    query = _query(request)
    if query is None:
        if wants_json(request):
            return json_response({"error": _too_large()}, status=413)
        return render_page(request, "find/find.html", "results", {"too_large": _too_large(), "query": ""})
    report = selectors.find_misses(text=query) if query.strip() else None
    if wants_json(request):
        return _json(report)
    context = {"report": report, "query": query[: misses.MAX_INPUT_CHARS]}
    return render_page(request, "find/find.html", "results", context)


@require_http_methods(["GET", "HEAD", "POST"])
def find_json(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    if query is None:
        return json_response({"error": _too_large()}, status=413)
    return _json(selectors.find_misses(text=query) if query.strip() else None)


def _json(report: selectors.FindReport | None) -> HttpResponse:
    if report is None:
        return json_response({"error": ASK}, status=400)
    return json_response(report, status=400 if report.error else 200)
