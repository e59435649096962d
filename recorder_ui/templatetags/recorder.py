"""Tiny display filters. They return plain strings: autoescape still applies to everything they give back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from django import template

from recorder_ui.domain import jsontext
from recorder_ui.domain.model import ToolCall

register = template.Library()


@register.filter
def pretty_args(call: ToolCall) -> str:
    """Tool-call arguments, pretty-printed when they are JSON."""
    if call.arguments_valid and call.parsed_arguments is not None:
        return jsontext.dumps(call.parsed_arguments, option=orjson.OPT_INDENT_2).decode()
    return call.arguments


@register.filter
def num(value: Any) -> str:
    """1234567 -> 1,234,567; None -> an en dash."""
    if value is None or value == "":
        return "–"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def size(value: Any) -> str:
    """Bytes as KB or MB."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "–"
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} B"


@register.filter
def get(mapping: Any, key: str) -> Any:
    """mapping|get:key, for dicts whose keys are not identifiers."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def short_path(path: str) -> str:
    """tests/integration/x/recordings/abcdef….json -> x/abcdef12…"""
    parts = path.split("/")
    name = parts[-1]
    stem = name[:-5] if name.endswith(".json") else name
    shown = stem if len(stem) <= 20 else stem[:16] + "…"
    return f"{parts[-3]}/{shown}" if len(parts) >= 3 and parts[-2] == "recordings" else shown


@register.filter
def folder_name(path: str) -> str:
    """The last part of a folder path (the full path goes in a tooltip)."""
    return str(path).rstrip("/").rsplit("/", 1)[-1]


@register.filter
def image_kind(url: str) -> str:
    """ "data" for an inline image (shown as a thumbnail), "web" for an http(s) link, else "other" (text only)."""
    head = str(url)[:16].strip().lower()
    if head.startswith("data:image/"):
        return "data"
    if head.startswith(("https://", "http://")):
        return "web"
    return "other"


@register.filter
def iso_time(value: Any) -> str:
    """An ISO 8601 time string as "2026-11-24 21:20:43 UTC"; anything else as it is."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.utcoffset() is not None else "")


@register.filter
def clip(value: Any, limit: int) -> str:
    """Cut a string to `limit` characters with an ellipsis: a cheap truncatechars for long tables."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
