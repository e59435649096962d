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
import re
from collections.abc import Callable
from typing import Any

import orjson


def dumps(value: Any, *, option: int = 0, default: Callable[[Any], Any] | None = None) -> bytes:
    try:
        return orjson.dumps(value, option=option, default=default)
    except (TypeError, orjson.JSONEncodeError):
        pass
    plain = _plain(value, default)
    indent = 2 if option & orjson.OPT_INDENT_2 else None
    text = json.dumps(
        plain,
        ensure_ascii=True,  # a lone surrogate becomes a \\udXXX escape, which every JSON reader takes
        indent=indent,
        separators=(",", ": ") if indent else (",", ":"),
        sort_keys=bool(option & orjson.OPT_SORT_KEYS),
        allow_nan=False,
    )
    return text.encode("ascii")


def _plain(value: Any, default: Callable[[Any], Any] | None, depth: int = 0) -> Any:
    if depth > 2000:
        raise TypeError("nested too deeply to write as JSON")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else str(k)): _plain(v, default, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, default, depth + 1) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and default is None:
        return {f.name: _plain(getattr(value, f.name), default, depth + 1) for f in dataclasses.fields(value)}
    if default is not None:
        return _plain(default(value), default, depth + 1)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


_LONG_NUMBER = re.compile(rb"\d{19}")  # an integer that may not fit 64 bits (orjson reads those as floats)


def loads(data: bytes) -> Any:
    """Decode JSON exactly: orjson, unless the text holds an integer beyond 64 bits, a lone surrogate escape,
    NaN or Infinity (which Python's own json module writes), where the standard library reads what orjson
    would round or refuse. Raises ValueError (orjson.JSONDecodeError is one) when it is not JSON."""
    if not _LONG_NUMBER.search(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            message = str(exc)
            if "surrogate" not in message and not (b"NaN" in data or b"Infinity" in data):
                raise
    text = bytes(data).decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply to read: over 1,024 levels of JSON (the parser's limit)") from None
