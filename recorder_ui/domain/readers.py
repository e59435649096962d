"""Small typed readers shared by the modules that read a recording: each names where a value sits when it is wrong."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from recorder_ui.domain import jsontext
from recorder_ui.domain.usage import WrongType

_Fields = dict[str, Any]
_Where = tuple[str | int, ...]


def _obj(value: Any, path: _Where) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WrongType(path, "an object", value)
    return value


def _arr(value: Any, path: _Where) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WrongType(path, "a list", value)
    return value


def _str(value: Any, path: _Where) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WrongType(path, "a string", value)
    return value


def _text_or_dump(value: Any) -> str:
    """Strings as they are, other JSON values as JSON text."""
    if value is None:
        return ""
    return value if isinstance(value, str) else jsontext.dumps(value, default=str).decode()


def _class_name(value: Any) -> str:
    """The class part of a typed object's __type__ (section 3: never the module path, which follows renames)."""
    if isinstance(value, dict):
        name = value.get("__type__")
        if isinstance(name, str):
            return name.rsplit(".", 1)[-1]
    return ""


def _data(value: Any, path: _Where) -> dict[str, Any]:
    """The __data__ of a typed object, or a raw dict as it is."""
    if not isinstance(value, dict):
        raise WrongType(path, "an object", value)
    if "__data__" not in value:
        return value
    inner = value["__data__"]
    if not isinstance(inner, dict):
        raise WrongType((*path, "__data__"), "an object", inner)
    return inner


def _as_dict(value: Any) -> dict[str, Any]:
    """A dict as it is, anything else as {} (for optional, loosely shaped parts such as SSE deltas)."""
    return value if isinstance(value, dict) else {}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


_DATA = itemgetter("__data__")


def _chunk_data(body: list[Any]) -> list[dict[str, Any]]:
    """The __data__ of every element of a typed stream."""
    try:
        return list(map(_DATA, body))
    except (TypeError, KeyError):
        for number, element in enumerate(body):
            _data(element, ("response", "body", number))
            if "__data__" not in element:
                raise WrongType(("response", "body", number, "__data__"), "an object", None) from None
        raise
