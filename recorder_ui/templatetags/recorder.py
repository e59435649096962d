"""Tiny display filters, and two tags for what pages render again and again.

The filters return plain strings: autoescape still applies to everything they give back. {% keep %} gives
back markup the template itself rendered (autoescaped) for the same object before; {% nav_url %} a URL."""

from __future__ import annotations

import sys
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from django import template
from django.template.base import FilterExpression
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from recorder_ui.domain import jsontext
from recorder_ui.domain.model import ToolCall
from recorder_ui.selectors.cache import _Lru

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


# Markup a page renders from an object kept between requests (a recording page's detail, reused while its
# file and the index are unchanged): the same object gives the same markup, so it is rendered once per
# process. The markup is this template's own output, autoescaped as ever; a fragment holds its object, so
# an id is never mistaken for another's. Weighed by the memory the string takes (an arrow or an ellipsis in
# it makes every character two bytes); a fragment over a quarter of the whole is rendered every time rather
# than push every other one out.
KEPT_MARKUP_BYTES = 16 * 1024 * 1024
_kept: _Lru[tuple[int, str, str], tuple[object, SafeString]] = _Lru(KEPT_MARKUP_BYTES)


class KeepNode(template.Node):
    def __init__(self, nodelist: template.NodeList, obj: FilterExpression, name: FilterExpression) -> None:
        self.nodelist, self.obj, self.name = nodelist, obj, name

    def render(self, context: template.Context) -> SafeString:
        obj = self.obj.resolve(context)
        if not obj or isinstance(obj, str | int | float | bool):  # an empty tuple, a constant: shared, never kept
            return SafeString(self.nodelist.render(context))
        key = (id(obj), str(self.name.resolve(context)), get_script_prefix())
        hit = _kept.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        markup = SafeString(self.nodelist.render(context))
        weight = sys.getsizeof(markup)
        if weight <= KEPT_MARKUP_BYTES // 4:
            _kept.put(key, (obj, markup), weight)
        return markup


@register.tag
def keep(parser: template.base.Parser, token: template.base.Token) -> KeepNode:
    """{% keep obj "name" %}...{% endkeep %}: the markup inside, rendered once per kept obj and name (a quoted
    name, or a value naming the way the fragment shows obj, e.g. `show_all|yesno:"all,some"`).

    Only for a fragment that shows nothing but obj (no user, token or request in it), and for an obj built
    for one page (a selector's dataclass or tuple, never a constant): that is the promise the template makes
    by writing the tag. Empty objects and plain values are rendered every time."""
    bits = token.split_contents()
    if len(bits) != 3:
        raise template.TemplateSyntaxError("keep takes an object and a name")
    nodelist = parser.parse(("endkeep",))
    parser.delete_first_token()
    return KeepNode(nodelist, parser.compile_filter(bits[1]), parser.compile_filter(bits[2]))


@lru_cache(maxsize=64)
def _reversed(name: str, prefix: str, urlconf: object) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def nav_url(name: str) -> str:
    """{% url name %} for a URL without arguments, reversed once per process (script prefix and URLconf)."""
    return _reversed(name, get_script_prefix(), get_urlconf())


@register.simple_tag
def copies(items: Any, shown: int) -> str:
    """The same file in other roots (domain/copies.py): `items` of {root, pk}, the first `shown` linked, then how
    many more. A tag rather than an included template: Missing usage at ten roots links hundreds of copies, and
    an include per row cost as much as the rest of the page."""
    items = [(o["pk"], o["root"]) if isinstance(o, dict) else (o.pk, o.root) for o in items or ()]  # rows, or Copy
    linked = format_html_join(", ", '<a href="{}">{}</a>', ((recording_url(pk), root) for pk, root in items[:shown]))
    more = len(items) - shown
    if more <= 0:
        return linked
    return format_html("{} and {} more root{}", linked, more, "s" if more != 1 else "")


@register.filter
def beyond(items: Any, shown: int) -> int:
    """How many of items a list that shows the first `shown` leaves out."""
    return max(0, len(items) - int(shown)) if items else 0


_MARK = 9_876_543_210  # a recording id no index reaches, reversed once and replaced by the real one


@lru_cache(maxsize=64)
def _around(name: str, prefix: str, urlconf: object) -> tuple[str, str]:
    head, _mark, tail = reverse(name, args=[_MARK], urlconf=urlconf).rpartition(str(_MARK))
    return head, tail


@register.filter
def recording_url(pk: Any) -> str:
    """{% url 'recording_detail' pk %}, reversed once per process: a list of a hundred recordings (and their
    copies in other roots) links each at the cost of joining three strings."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        return ""  # not a row id (no template passes one): no link rather than an error page
    head, tail = _around("recording_detail", get_script_prefix(), get_urlconf())
    return f"{head}{number}{tail}"
