"""JSON output that survives every value a recording can hold.

orjson is quick but refuses integers beyond 64 bits and strings with lone surrogates. dumps() tries it first
and, only when it refuses, writes the same document with the standard library: big integers stay JSON
numbers, exactly; lone surrogates come out as \\udXXX escapes; NaN and infinities come out as null, as
orjson writes them (JSON has no such numbers).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

import orjson

from recorder_ui.domain import paths


def dumps(value: Any, *, option: int = 0, default: Callable[[Any], Any] | None = None) -> bytes:
    try:
        return orjson.dumps(value, option=option, default=default)
    except (TypeError, orjson.JSONEncodeError):
        pass
    # Written here by an explicit stack, not by recursion: a value nested deeper than orjson writes (255 levels)
    # is as deep as the parser read it (1,024), deeper than Python's recursion limit allows a recursive writer.
    indent = bool(option & orjson.OPT_INDENT_2)
    sort_keys = bool(option & orjson.OPT_SORT_KEYS)
    out: list[str] = []
    todo: list[tuple[Any, int] | str] = [(value, 0)]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        current, level = item
        if level > MAX_DEPTH:
            raise TypeError("nested too deeply to write as JSON")
        current = _convertible(current, default)
        if isinstance(current, dict):
            pairs = [(k if isinstance(k, str) else str(k), v) for k, v in current.items()]
            if sort_keys:
                pairs.sort(key=lambda pair: pair[0])
            _push(todo, "{", "}", [(_scalar(k) + ":" + (" " if indent else ""), v) for k, v in pairs], level, indent)
        elif isinstance(current, (list, tuple)):
            _push(todo, "[", "]", [("", v) for v in current], level, indent)
        else:
            out.append(_scalar(current))
    return "".join(out).encode("ascii")


MAX_DEPTH = 100_000  # far beyond any parsed file: a default() that keeps returning containers ends here


def _push(
    todo: list[Any], opening: str, closing: str, members: list[tuple[str, Any]], level: int, pretty: bool
) -> None:
    """Queue a container's text (the stack pops it in order): the opening, each member's prefix and value, the
    closing; with indent, each member on a line of its own, as json.dumps(indent=2) writes it."""
    if not members:
        todo.append(opening + closing)
        return
    inner = "\n" + "  " * (level + 1) if pretty else ""
    todo.append(("\n" + "  " * level if pretty else "") + closing)
    for number in range(len(members) - 1, -1, -1):
        prefix, member = members[number]
        todo.append((member, level + 1))
        todo.append(("," if number else "") + inner + prefix)
    todo.append(opening)


def _convertible(value: Any, default: Callable[[Any], Any] | None) -> Any:
    """value as a JSON type: a dataclass as its fields (unless default is given), else what default makes of it."""
    for _ in range(100):
        if value is None or isinstance(value, (bool, int, float, str, dict, list, tuple)):
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type) and default is None:
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if default is None:
            break
        value = default(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _scalar(value: Any) -> str:
    """A JSON scalar's text: big integers exact, NaN and infinities as null (as orjson writes them), strings with
    ASCII escapes (a lone surrogate becomes a \\udXXX escape, which every JSON reader takes)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else "null"
    return json.dumps(value, ensure_ascii=True)


# Digits as "0", minus signs kept, all else as " ": then a number that may not fit 64 bits (orjson reads those
# as floats) shows as 20 zeros, or a minus and 19. Two C-speed searches; a regular expression over every
# file would cost as much as the parse.
_NUMBER_SHAPE = bytes(0x30 if 0x30 <= b <= 0x39 else b if b == 0x2D else 0x20 for b in range(256))


def _may_not_fit(data: bytes) -> bool:
    shape = data.translate(_NUMBER_SHAPE)
    return b"0" * 20 in shape or b"-" + b"0" * 19 in shape


def loads(data: bytes) -> Any:
    """Decode JSON exactly: orjson, unless the text holds an integer that may not fit 64 bits, a lone surrogate
    escape, NaN or Infinity (all of which Python's own json module writes), which the standard library reads
    as they are. A lone surrogate comes back as the visible text \\udXXX, since no database and no UTF-8
    writer takes it. Raises orjson.JSONDecodeError, UnicodeDecodeError or json.JSONDecodeError (all are
    ValueErrors), or RecursionError, when data is not JSON."""
    if not _may_not_fit(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if "surrogate" not in str(exc) and b"NaN" not in data and b"Infinity" not in data:
                raise
    return _visible_surrogates(json.loads(bytes(data).decode("utf-8")))


def _visible_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return paths.storable(value)
    if isinstance(value, dict):
        return {paths.storable(k): _visible_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_visible_surrogates(v) for v in value]
    return value


def short(value: Any, limit: int) -> str:
    """value as compact JSON (any integer, NaN as null), cut to limit characters with "..." when longer."""
    text = dumps(value, default=str).decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."
