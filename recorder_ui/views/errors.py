"""The errors page, and the error pages of the site (400, 404, 500)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from recorder_ui import selectors
from recorder_ui.views.common import HtmxHttpRequest, json_response, wants_json


@require_safe
@vary_on_headers("Accept")
def error_list(request: HtmxHttpRequest) -> HttpResponse:
    data = selectors.error_list()
    if wants_json(request):
        return json_response(data)
    return render(request, "recordings/errors.html", {"data": data})


@require_safe
def error_list_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.error_list())


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.endswith(".json") or wants_json(request):
        return json_response({"error": "not found"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """A failure nobody foresaw (the database gone, say): JSON for a twin, the plain page otherwise."""
    if request.path.endswith(".json") or wants_json(request):
        return json_response({"error": "server error: the failure was logged"}, status=500)
    return render(request, "500.html", status=500)
