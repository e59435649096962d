"""The Find page: a replay miss (a hash, a prefix, or a pasted CI log) and the recordings it wanted."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from recorder_ui import selectors
from recorder_ui.domain import misses
from recorder_ui.views.common import HtmxHttpRequest, json_response, render_page, wants_json

ASK = "Give ?q=HASH (64 hex digits, or a prefix of at least 8), or POST a CI log as q."


def _query(request: HttpRequest) -> str:
    # A long paste comes by POST (the form); a hash also by GET, so a lookup can be linked. A body over
    # DATA_UPLOAD_MAX_MEMORY_SIZE (32 MB) is refused before any view, by the CSRF check's read: 400.html.
    source = request.POST if request.method == "POST" else request.GET
    return source.get("q", "")[: misses.MAX_INPUT_CHARS + 1]  # one more, so the answer can say it was cut


@require_http_methods(["GET", "HEAD", "POST"])
@vary_on_headers("HX-Request", "Accept")
def find(request: HtmxHttpRequest) -> HttpResponse:
    query = _query(request)
    report = selectors.find_misses(text=query) if query.strip() else None
    if wants_json(request):
        return _json(report)
    context = {"report": report, "query": query[: misses.MAX_INPUT_CHARS]}
    return render_page(request, "find/find.html", "results", context)


@require_http_methods(["GET", "HEAD", "POST"])
def find_json(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    return _json(selectors.find_misses(text=query) if query.strip() else None)


def _json(report: selectors.FindReport | None) -> HttpResponse:
    if report is None:
        return json_response({"error": ASK}, status=400)
    return json_response(report, status=400 if report.error else 200)
