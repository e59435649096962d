"""The overview page, the re-index button and its status, and the health answer."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from recorder_ui import indexer, selectors
from recorder_ui.views.common import HtmxHttpRequest, json_response, refresh_index, render_page, wants_json


class Logout(auth_views.LogoutView):
    """Django's logout, which logs out on POST only (a link must not log anyone out): a GET, from a bookmark or
    a typed URL, gets a page with the button rather than an empty 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect("login")
        return render(request, "registration/logout_confirm.html")


@require_safe
@vary_on_headers("HX-Request", "Accept")
def overview(request: HtmxHttpRequest) -> HttpResponse:
    refresh_index()
    data = selectors.overview()
    if wants_json(request):
        return json_response(data)
    return render_page(request, "recordings/overview.html", "", {"data": data, "state": data.refresh})


@require_safe
def overview_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.overview())


@require_POST
def reindex(request: HtmxHttpRequest) -> HttpResponse:
    started = indexer.refresh_if_stale(force=True)
    if not request.htmx:
        return redirect("overview")  # without JavaScript: back to the page, which shows the run
    return render(request, "recordings/overview.html#refresh", {"state": indexer.refresh_state(), "started": started})


@require_safe
@never_cache
def reindex_status(request: HtmxHttpRequest) -> HttpResponse:
    state = indexer.refresh_state()
    if wants_json(request):
        return json_response(state)
    return render(request, "recordings/overview.html#refresh", {"state": state})


@login_not_required
@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    try:
        return json_response(selectors.health())
    except Exception as exc:  # the database is down: say so with a 503 rather than a 500 page
        return json_response({"status": "error", "error": type(exc).__name__}, status=503)
