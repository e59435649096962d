"""What the recorder hashes for a request, part by part, for a user comparing a replay miss with a recording."""

from __future__ import annotations

import json
from typing import Any

from recorder_ui.domain.replay import MODEL_LIST_PATHS, _rules, _url


def hashed_parts(raw: Any) -> tuple[tuple[str, str], ...]:
    """What the recorder hashes for this request, as (part, value) for a user comparing two requests."""
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        return ()
    kind, _ = _rules(raw)
    request = raw["request"]

    def short(value: Any) -> str:
        text = json.dumps(value, sort_keys=True, default=str)
        return text if len(text) <= 200 else text[:197] + "..."

    if kind == "tool":
        return (("provider", short(request.get("provider"))), ("tool_name", short(request.get("tool_name"))),
                ("kwargs", short(request.get("kwargs"))))  # fmt: skip
    if kind == "http":
        return (("test_id", short(raw.get("test_id"))), ("url", short(request.get("url"))), ("method", '"POST"'),
                ("payload", short(request.get("payload"))))  # fmt: skip
    if kind == "inference":
        path = _url(request).path
        parts = [("method", '"POST"'), ("endpoint (the URL's path)", short(path))]
        if path not in MODEL_LIST_PATHS:
            parts.append(("test_id", short(raw.get("test_id"))))
        body = request.get("body")
        if isinstance(body, dict):
            parts += [(f"body.{k}", short(v)) for k, v in sorted(body.items())]
        else:
            parts.append(("body", short(body)))
        return tuple(parts)
    return ()
