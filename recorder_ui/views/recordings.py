"""The recordings list and one recording with its tabs (conversation, chunks, raw) and download."""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from recorder_ui import selectors
from recorder_ui.domain import paths
from recorder_ui.views.common import HtmxHttpRequest, json_response, list_params, refresh_index, render_page, wants_json


@require_safe
@vary_on_headers("HX-Request", "Accept")
def recording_list(request: HtmxHttpRequest) -> HttpResponse:
    refresh_index()
    page = selectors.recording_page(params=list_params(request))
    if wants_json(request):
        return json_response(page)
    return render_page(request, "recordings/list.html", "results", {"page": page})


@require_safe
def recording_list_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.recording_page(params=list_params(request)))


def _recording_tab(request: HtmxHttpRequest, pk: int, tab: str) -> HttpResponse:
    detail = selectors.recording_get(pk=pk, tab=tab)
    return render_page(request, "recordings/detail.html", "tabs", {"detail": detail})


@require_safe
@vary_on_headers("HX-Request", "Accept")
def recording_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    if wants_json(request):
        return recording_detail_json(request, pk)
    return _recording_tab(request, pk, "conversation")


def _detail_json(detail: selectors.RecordingDetail) -> dict[str, Any]:
    return {**detail.summary, "entry": detail.entry, "findings": detail.findings,
            "prev": detail.prev_pk, "next": detail.next_pk, "replay_file": detail.replay_pk,
            "superseded_by": detail.superseded_by, "supersedes": detail.supersedes}  # fmt: skip


@require_safe
def recording_detail_json(request: HttpRequest, pk: int) -> HttpResponse:
    return json_response(_detail_json(selectors.recording_get(pk=pk)))


@require_safe
@vary_on_headers("HX-Request", "Accept")
def recording_chunks(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The Chunks tab, loaded on demand: the whole page, the tab alone for htmx, or the rows as JSON."""
    if wants_json(request):
        return recording_chunks_json(request, pk)
    return _recording_tab(request, pk, "chunks")


@require_safe
def recording_chunks_json(request: HttpRequest, pk: int) -> HttpResponse:
    return json_response({"chunks": selectors.recording_chunks(pk=pk)})


@require_safe
@vary_on_headers("HX-Request", "Accept")
def recording_raw(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The Raw tab (pretty JSON, or a download link above the size cap); ?download=1 sends the file."""
    if wants_json(request):
        return _raw_file(pk, download=False)
    if not request.GET.get("download"):
        return _recording_tab(request, pk, "raw")
    return _raw_file(pk, download=True)


@require_safe
def recording_raw_json(request: HttpRequest, pk: int) -> HttpResponse:
    """The Raw tab's twin: the file itself, as recorded, when it is strict JSON (see _raw_file)."""
    return _raw_file(pk, download=False)


def _raw_file(pk: int, *, download: bool) -> HttpResponse:
    """The file's bytes as a download, or as the JSON twin (selectors.raw_twin: JSON whatever the file holds)."""
    entry, data = selectors.recording_raw(pk=pk)
    if data is None:
        raise Http404("the file is gone or unreadable")
    if not download:
        twin = selectors.raw_twin(data, entry.path)
        if not isinstance(twin, bytes):
            return json_response(twin)
    response = HttpResponse(data, content_type="application/json")
    if download:  # the file name comes from disk: keep only characters that are safe in a header
        name = re.sub(r"[^A-Za-z0-9._-]", "_", paths.unescape(entry.path).rsplit("/", 1)[-1]) or "recording.json"
        if len(name) > 200:  # cut to a length every browser takes, keeping the extension
            stem, dot, ext = name.rpartition(".")
            name = f"{stem[: 199 - len(ext)]}.{ext}" if dot and len(ext) <= 16 else name[:200]
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
