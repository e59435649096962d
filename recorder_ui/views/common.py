"""What every view shares: the htmx request type, JSON twins, page-or-partial rendering, list params."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django_htmx.middleware import HtmxDetails

from recorder_ui import indexer
from recorder_ui.domain import jsontext


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def json_response(data: object, status: int = 200) -> HttpResponse:
    """orjson serialises dataclasses natively; default covers the rest (Path, datetime in dicts)."""
    body = jsontext.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS)
    return HttpResponse(body, content_type="application/json", status=status)


def render_any_text(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """render(), for pages that show text straight from git or a file (the diff): a lone surrogate (a recorded
    \\ud800, or a byte of a name that is not UTF-8) cannot be UTF-8, so it is sent as the text \\udc80."""
    text = render_to_string(template, context, request=request)
    body = text.encode("utf-8", "backslashreplace")
    return HttpResponse(body, content_type="text/html; charset=utf-8", status=status)


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def render_page(request: HtmxHttpRequest, template: str, partial: str, context: dict[str, Any]) -> HttpResponse:
    # A history restore (back button after a cache miss) asks for the whole page, not the fragment.
    fragment = request.htmx and not request.htmx.history_restore_request
    name = f"{template}#{partial}" if fragment and partial else template
    return render(request, name, context)


def refresh_index() -> None:
    indexer.refresh_if_stale()


# A list's query values are cut to this many characters: beyond the longest value the index keeps (a test id's
# 2,400 bytes, a test file's 1,024 characters), so a link to any indexed value finds it.
PARAM_CHARS = 4096


def list_params(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "")[:PARAM_CHARS] for key in request.GET}
