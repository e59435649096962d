"""The diff pages: two revisions or folders compared, and one pair."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from recorder_ui import diffing, selectors
from recorder_ui.domain import gitsource, paths
from recorder_ui.views.common import HtmxHttpRequest, json_response, render_any_text, wants_json


def _diff_args(request: HttpRequest) -> dict[str, str]:
    return {
        "base": request.GET.get("base", "").strip()[:256],
        "head": request.GET.get("head", "").strip()[:256] or gitsource.WORKTREE,
        "path": request.GET.get("path", "").strip()[:1024],
        "root": request.GET.get("root", "").strip()[:200],
    }


@require_safe
@vary_on_headers("Accept")
def recording_diff(request: HtmxHttpRequest) -> HttpResponse:
    if wants_json(request):  # the same answer as /diff.json, whichever way JSON is asked for
        return recording_diff_json(request)
    args = _diff_args(request)
    context: dict[str, Any] = {"args": args, "branches": (), "report": None, "error": ""}
    context["roots"] = selectors.root_names()
    context["default_folder"] = paths.escape(diffing.default_folder().name)
    try:
        repo, scope = diffing.scope_for(root=args["root"])
        context["repo"] = str(repo)
        context["branches"] = gitsource.branches(repo)
        if args["base"]:
            context["report"] = diffing.diff_revisions(
                repo=repo, base=args["base"], head=args["head"], subpath=args["path"] or scope
            )
    except (diffing.DiffError, gitsource.GitError) as exc:
        context["error"] = str(exc)
    if context["report"] is not None:
        context["report"] = diffing.shown_report(context["report"])  # names as printable text
    status = 400 if context["error"] and args["base"] else 200
    return render_any_text(request, "recordings/diff.html", context, status=status)


@require_safe
def recording_diff_json(request: HttpRequest) -> HttpResponse:
    args = _diff_args(request)
    try:
        repo, scope = diffing.scope_for(root=args["root"])
        report = diffing.diff_revisions(
            repo=repo, base=args["base"] or "HEAD", head=args["head"], subpath=args["path"] or scope
        )
    except diffing.DiffError as exc:
        return json_response({"error": str(exc)}, status=400)
    return HttpResponse(diffing.as_json(report), content_type="application/json")


@require_safe
def recording_diff_pair(request: HtmxHttpRequest) -> HttpResponse:
    args = _diff_args(request)
    back = urlencode({k: args[k] for k in ("base", "head", "root", "path") if args.get(k)})  # the whole diff
    try:
        repo, scope = diffing.scope_for(root=args["root"])
        view = diffing.pair_view(
            repo=repo,
            base=args["base"],
            head=args["head"],
            key=request.GET.get("key", ""),
            subpath=args["path"] or scope,
        )
    except diffing.DiffError as exc:
        return render_any_text(
            request,
            "recordings/diff_pair.html" + ("#pair" if request.htmx else ""),
            {"error": str(exc), "back": back},
            status=400,
        )
    if view is None:
        return render_any_text(
            request,
            "recordings/diff_pair.html" + ("#pair" if request.htmx else ""),
            {"error": "no such pair in this diff", "back": back},
            status=404,
        )
    view = dataclasses.replace(view, diff=diffing.shown(view.diff))
    return render_any_text(
        request, "recordings/diff_pair.html" + ("#pair" if request.htmx else ""), {"view": view, "back": back}
    )
