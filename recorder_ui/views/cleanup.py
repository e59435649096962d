"""The Cleanup page: what replay can never serve and what a newer variant superseded, with the git rm to run."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from recorder_ui import selectors
from recorder_ui.views.common import HtmxHttpRequest, json_response, list_params, render_page, wants_json


@require_safe
@vary_on_headers("Accept", "HX-Request")
def cleanup(request: HtmxHttpRequest) -> HttpResponse:
    data = selectors.cleanup(params=list_params(request))
    if wants_json(request):
        return json_response(data)
    return render_page(
        request, "lifecycle/cleanup.html", "results", {"data": data, "reasons": selectors.CLEANUP_REASONS}
    )


@require_safe
def cleanup_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.cleanup(params=list_params(request)))
