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
