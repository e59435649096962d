"""The missing-usage page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from recorder_ui import selectors
from recorder_ui.views.common import HtmxHttpRequest, json_response, wants_json


@require_safe
@vary_on_headers("Accept")
def missing_usage(request: HtmxHttpRequest) -> HttpResponse:
    data = selectors.missing_usage_list()
    if wants_json(request):
        return json_response(data)
    return render(request, "usage/missing.html", {"data": data})


@require_safe
def missing_usage_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.missing_usage_list())
