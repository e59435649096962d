"""The tests list and one test stitched into threads."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from recorder_ui import selectors
from recorder_ui.views.common import HtmxHttpRequest, json_response, list_params, refresh_index, render_page, wants_json


@require_safe
@vary_on_headers("HX-Request", "Accept")
def test_list(request: HtmxHttpRequest) -> HttpResponse:
    refresh_index()
    page = selectors.test_page(params=list_params(request))
    if wants_json(request):
        return json_response(page)
    return render_page(request, "tests/list.html", "results", {"page": page})


@require_safe
def test_list_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.test_page(params=list_params(request)))


def _test_json(detail: selectors.TestDetail) -> dict[str, Any]:
    threads = [
        [
            {"path": s.recording.path, "pk": detail.pk_by_path.get(s.recording.path), "depth": s.depth, "link": s.link,
             "parent": s.parent_path, "tokens": s.tokens, "variant": s.variant_label,
             "answer": [t.message.content for t in s.answer],
             "tool_calls": [{"name": c.name, "arguments": c.arguments, "result": r.content if r else None}
                            for t in s.answer for c, r in t.results]}
            for s in thread.steps
        ]
        for thread in detail.stitched.threads
    ]  # fmt: skip
    main_lines = [[v.step.recording.path for v in view.steps] for view in detail.thread_views]
    side = [
        {"path": s.recording.path, "label": s.label, "attached_to": s.attached_to} for s in detail.stitched.side_calls
    ]
    return {"test_id": detail.test_id, "root": detail.root, "roots": detail.roots, "recordings": detail.recordings,
            "tokens": detail.tokens, "missing_usage": detail.missing, "threads": threads, "main_lines": main_lines,
            "side_calls": side, "unreadable": detail.unreadable}  # fmt: skip


def _test_detail(request: HttpRequest) -> selectors.TestDetail:
    return selectors.test_get(test_id=request.GET.get("id", ""), root=request.GET.get("root", "")[:200])


@require_safe
@vary_on_headers("Accept")
def test_detail(request: HtmxHttpRequest) -> HttpResponse:
    detail = _test_detail(request)
    if wants_json(request):
        return json_response(_test_json(detail))
    context = {"detail": detail, "show_all_side": request.GET.get("side") == "all", "side_limit": SIDE_ROWS}
    return render(request, "tests/detail.html", context)


SIDE_ROWS = 50  # side calls shown per kind before a "show all" link


@require_safe
def test_detail_json(request: HttpRequest) -> HttpResponse:
    return json_response(_test_json(_test_detail(request)))
