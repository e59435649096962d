"""Thin function views: read the request, call one selector, render a page, a partial or the JSON twin."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import orjson
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from recorder_ui import diffing, indexer, selectors
from recorder_ui.domain import gitsource, jsontext, paths


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


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _page(request: HtmxHttpRequest, template: str, partial: str, context: dict[str, Any]) -> HttpResponse:
    # A history restore (back button after a cache miss) asks for the whole page, not the fragment.
    fragment = request.htmx and not request.htmx.history_restore_request
    name = f"{template}#{partial}" if fragment and partial else template
    return render(request, name, context)


def _refresh() -> None:
    indexer.refresh_if_stale()


@require_GET
@vary_on_headers("HX-Request", "Accept")
def overview(request: HtmxHttpRequest) -> HttpResponse:
    _refresh()
    data = selectors.overview()
    if wants_json(request):
        return json_response(data)
    return _page(request, "recordings/overview.html", "", {"data": data})


@require_GET
def overview_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.overview())


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "")[:500] for key in request.GET}


@require_GET
@vary_on_headers("HX-Request", "Accept")
def recording_list(request: HtmxHttpRequest) -> HttpResponse:
    _refresh()
    page = selectors.recording_page(params=_params(request))
    if wants_json(request):
        return json_response(page)
    return _page(request, "recordings/list.html", "results", {"page": page})


@require_GET
def recording_list_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.recording_page(params=_params(request)))


def _recording_tab(request: HtmxHttpRequest, pk: int, tab: str) -> HttpResponse:
    detail = selectors.recording_get(pk=pk, tab=tab)
    return _page(request, "recordings/detail.html", "tabs", {"detail": detail})


@require_GET
@vary_on_headers("HX-Request", "Accept")
def recording_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    if wants_json(request):
        return recording_detail_json(request, pk)
    return _recording_tab(request, pk, "conversation")


def _detail_json(detail: selectors.RecordingDetail) -> dict[str, Any]:
    return {**detail.summary, "entry": detail.entry, "findings": detail.findings,
            "prev": detail.prev_pk, "next": detail.next_pk}  # fmt: skip


@require_GET
def recording_detail_json(request: HttpRequest, pk: int) -> HttpResponse:
    return json_response(_detail_json(selectors.recording_get(pk=pk)))


@require_GET
@vary_on_headers("HX-Request", "Accept")
def recording_chunks(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The Chunks tab, loaded on demand: the whole page, the tab alone for htmx, or the rows as JSON."""
    if wants_json(request):
        return recording_chunks_json(request, pk)
    return _recording_tab(request, pk, "chunks")


@require_GET
def recording_chunks_json(request: HttpRequest, pk: int) -> HttpResponse:
    return json_response({"chunks": selectors.recording_chunks(pk=pk)})


@require_GET
@vary_on_headers("HX-Request", "Accept")
def recording_raw(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The Raw tab (pretty JSON, or a download link above the size cap); ?download=1 sends the file."""
    if wants_json(request):
        return _raw_file(pk, download=False)
    if not request.GET.get("download"):
        return _recording_tab(request, pk, "raw")
    return _raw_file(pk, download=True)


@require_GET
def recording_raw_json(request: HttpRequest, pk: int) -> HttpResponse:
    """The Raw tab's twin: the file itself, as recorded."""
    return _raw_file(pk, download=False)


def _raw_file(pk: int, *, download: bool) -> HttpResponse:
    entry, data = selectors.recording_raw(pk=pk)
    if data is None:
        raise Http404("the file is gone or unreadable")
    response = HttpResponse(data, content_type="application/json")
    if download:  # the file name comes from disk: keep only characters that are safe in a header
        name = re.sub(r"[^A-Za-z0-9._-]", "_", paths.unescape(entry.path).rsplit("/", 1)[-1])[:200] or "recording.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@vary_on_headers("HX-Request", "Accept")
def test_list(request: HtmxHttpRequest) -> HttpResponse:
    _refresh()
    page = selectors.test_page(params=_params(request))
    if wants_json(request):
        return json_response(page)
    return _page(request, "tests/list.html", "results", {"page": page})


@require_GET
def test_list_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.test_page(params=_params(request)))


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


@require_GET
@vary_on_headers("Accept")
def test_detail(request: HtmxHttpRequest) -> HttpResponse:
    detail = _test_detail(request)
    if wants_json(request):
        return json_response(_test_json(detail))
    context = {"detail": detail, "show_all_side": request.GET.get("side") == "all", "side_limit": SIDE_ROWS}
    return render(request, "tests/detail.html", context)


SIDE_ROWS = 50  # side calls shown per kind before a "show all" link


@require_GET
def test_detail_json(request: HttpRequest) -> HttpResponse:
    return json_response(_test_json(_test_detail(request)))


@require_GET
@vary_on_headers("Accept")
def missing_usage(request: HtmxHttpRequest) -> HttpResponse:
    data = selectors.missing_usage_list()
    if wants_json(request):
        return json_response(data)
    return render(request, "usage/missing.html", {"data": data})


@require_GET
def missing_usage_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.missing_usage_list())


@require_GET
@vary_on_headers("Accept")
def error_list(request: HtmxHttpRequest) -> HttpResponse:
    data = selectors.error_list()
    if wants_json(request):
        return json_response(data)
    return render(request, "recordings/errors.html", {"data": data})


@require_GET
def error_list_json(request: HttpRequest) -> HttpResponse:
    return json_response(selectors.error_list())


def _diff_args(request: HttpRequest) -> dict[str, str]:
    return {
        "base": request.GET.get("base", "").strip()[:256],
        "head": request.GET.get("head", "").strip()[:256] or gitsource.WORKTREE,
        "path": request.GET.get("path", "").strip()[:1024],
        "root": request.GET.get("root", "").strip()[:200],
    }


@require_GET
@vary_on_headers("Accept")
def recording_diff(request: HtmxHttpRequest) -> HttpResponse:
    args = _diff_args(request)
    context: dict[str, Any] = {"args": args, "branches": (), "report": None, "error": ""}
    context["roots"] = selectors.root_names()
    try:
        repo = diffing.repo_for(root=args["root"])
        context["repo"] = str(repo)
        context["branches"] = gitsource.branches(repo)
        if args["base"]:
            context["report"] = diffing.diff_revisions(
                repo=repo, base=args["base"], head=args["head"], subpath=args["path"]
            )
    except (diffing.DiffError, gitsource.GitError) as exc:
        context["error"] = str(exc)
    if wants_json(request):
        if context["report"] is not None:
            return HttpResponse(diffing.as_json(context["report"]), content_type="application/json")
        return json_response({"error": context["error"] or "give ?base=REV&head=REV"}, status=400)
    return render(request, "recordings/diff.html", context, status=400 if context["error"] and args["base"] else 200)


@require_GET
def recording_diff_json(request: HttpRequest) -> HttpResponse:
    args = _diff_args(request)
    try:
        report = diffing.diff_revisions(
            repo=diffing.repo_for(root=args["root"]),
            base=args["base"] or "HEAD",
            head=args["head"],
            subpath=args["path"],
        )
    except diffing.DiffError as exc:
        return json_response({"error": str(exc)}, status=400)
    return HttpResponse(diffing.as_json(report), content_type="application/json")


@require_GET
def recording_diff_pair(request: HtmxHttpRequest) -> HttpResponse:
    args = _diff_args(request)
    try:
        view = diffing.pair_view(
            repo=diffing.repo_for(root=args["root"]),
            base=args["base"],
            head=args["head"],
            key=request.GET.get("key", ""),
            subpath=args["path"],
        )
    except diffing.DiffError as exc:
        return render(
            request, "recordings/diff_pair.html" + ("#pair" if request.htmx else ""), {"error": str(exc)}, status=400
        )
    if view is None:
        return render(
            request,
            "recordings/diff_pair.html" + ("#pair" if request.htmx else ""),
            {"error": "no such pair in this diff"},
            status=404,
        )
    return render(request, "recordings/diff_pair.html" + ("#pair" if request.htmx else ""), {"view": view})


@require_POST
def reindex(request: HtmxHttpRequest) -> HttpResponse:
    started = indexer.refresh_if_stale(force=True)
    if not request.htmx:
        return redirect("overview")  # without JavaScript: back to the page, which shows the run
    return render(request, "recordings/overview.html#refresh", {"state": indexer.refresh_state(), "started": started})


@require_GET
@never_cache
def reindex_status(request: HtmxHttpRequest) -> HttpResponse:
    state = indexer.refresh_state()
    if wants_json(request):
        return json_response(state)
    return render(request, "recordings/overview.html#refresh", {"state": state})


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    try:
        return json_response(selectors.health())
    except Exception as exc:  # the database is down: say so with a 503 rather than a 500 page
        return json_response({"status": "error", "error": type(exc).__name__}, status=503)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return HttpResponseBadRequest("bad request")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.endswith(".json") or wants_json(request):
        return json_response({"error": "not found"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)
