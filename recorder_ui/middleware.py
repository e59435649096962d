"""Login gate for a team-hosted catalog: when RECORDER_UI_REQUIRE_LOGIN is on, every page but /healthz needs a user."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

OPEN_PATHS = ("/healthz", "/accounts/login/", "/static/")


class LoginRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The open paths first: /healthz answers without reading a session, so it says 503 when the database is
        # down whatever cookie the uptime check sends (reading the session then was a 500).
        if settings.REQUIRE_LOGIN and not request.path.startswith(OPEN_PATHS) and not request.user.is_authenticated:
            if _wants_json(request):
                return JsonResponse({"error": "login required"}, status=401)
            if request.headers.get("HX-Request") == "true":
                # htmx would follow a 302 and swap the login form into the page's results: send the browser
                # there instead, and back afterwards to the page it was on (not to the fragment's URL).
                return HttpResponseClientRedirect(redirect_to_login(_page_url(request))["Location"])
            return redirect_to_login(request.get_full_path())
        response = self.get_response(request)
        if settings.REQUIRE_LOGIN and not request.path.startswith(OPEN_PATHS):
            # A page for logged-in users only: no shared cache (a proxy's, a CDN's) may keep it for the next.
            patch_cache_control(response, private=True)
        return response


def _page_url(request: HttpRequest) -> str:
    """The path and query of the page an htmx request came from, when it is one of ours; else "/"."""
    current = request.headers.get("HX-Current-URL", "")
    if not current or not url_has_allowed_host_and_scheme(current, {request.get_host()}, request.is_secure()):
        return "/"
    parts = urlsplit(current)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class RejectNulMiddleware:
    """A NUL character in a query string is never meaningful here, and PostgreSQL cannot compare with one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
            if _wants_json(request):  # a JSON twin answers JSON, even to a URL it cannot read
                return JsonResponse({"error": "bad request: NUL character in the URL"}, status=400)
            return HttpResponseBadRequest("bad request: NUL character in the URL")
        return self.get_response(request)


def _wants_json(request: HttpRequest) -> bool:
    """A JSON twin's URL, or a client that asks for JSON."""
    return request.path.endswith(".json") or "application/json" in request.headers.get("Accept", "")
