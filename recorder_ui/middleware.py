"""Login gate for a team-hosted catalog: when RECORDER_UI_REQUIRE_LOGIN is on, every page but /healthz needs a user."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django_htmx.http import HttpResponseClientRedirect

OPEN_PATHS = ("/healthz", "/accounts/login/", "/static/")


class LoginRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.REQUIRE_LOGIN and not request.user.is_authenticated and not request.path.startswith(OPEN_PATHS):
            wants_json = request.path.endswith(".json") or "application/json" in request.headers.get("Accept", "")
            if wants_json:
                return JsonResponse({"error": "login required"}, status=401)
            login = redirect_to_login(request.get_full_path())
            if request.headers.get("HX-Request") == "true":
                # htmx would follow a 302 and swap the login form into the page's results: send the browser there.
                return HttpResponseClientRedirect(login["Location"])
            return login
        return self.get_response(request)


class RejectNulMiddleware:
    """A NUL character in a query string is never meaningful here, and PostgreSQL cannot compare with one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
            return HttpResponseBadRequest("bad request: NUL character in the URL")
        return self.get_response(request)
