"""The recorder's hash recipe (format doc 9.3): the body normalisation N, in today's form and the older ones, and
the hash H of a canonical request."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Any

import orjson

_SCORE = re.compile(r"score:\s*[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")
_ATTRIBUTES = re.compile(r",?\s*attributes:\s*\{[^}]*\}")
_DOCUMENT_ID = re.compile(r"document_id:\s*[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")
_CITATION = re.compile(r"<\|[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}\|>")
_LONG_DECIMAL = re.compile(r"(-?\d+\.\d{4,})")
# One search that tells whether any substitution can apply: most strings (prompts, answers) need none.
_ANY_FILE_SEARCH = re.compile(r"score:|attributes:|document_id:|<\||\d\.\d{4}")
_ANY_DECIMAL = re.compile(r"\d\.\d{4}")


def _long_decimal(match: re.Match[str]) -> str:
    return f"{float(match.group(0)):.5f}"


@functools.lru_cache(maxsize=4096)
def _normalise_text(text: str, *, file_search: bool, file_search_ids: bool = True) -> str:
    if (_ANY_FILE_SEARCH if file_search else _ANY_DECIMAL).search(text) is None:
        return text
    if file_search:
        text = _SCORE.sub("score: __NORMALIZED__", text)
        text = _ATTRIBUTES.sub("", text)
        if file_search_ids:
            text = _DOCUMENT_ID.sub("document_id: __NORMALIZED__", text)
            text = _CITATION.sub("<|__NORMALIZED__|>", text)
    return _LONG_DECIMAL.sub(_long_decimal, text)


def normalise(
    value: Any,
    *,
    root: bool = True,
    drop_stream_options: bool = False,
    file_search: bool = True,
    file_search_ids: bool = True,
) -> Any:
    """The body normalisation N of 9.3 (file_search=False gives the rule before 2026-04-09; file_search_ids=False
    keeps the score and attributes placeholders but not the document_id and citation ones)."""
    if root and _unchanged_by_normalise(value):
        # Most bodies hold nothing N rewrites: then N is the body itself (one C-level dump and one search
        # instead of a Python call per value). Not copied: every caller only reads what N gives.
        if drop_stream_options and isinstance(value, dict) and "stream_options" in value:
            return {k: v for k, v in value.items() if k != "stream_options"}
        return value
    return _normalise(
        value,
        root=root,
        drop_stream_options=drop_stream_options,
        file_search=file_search,
        file_search_ids=file_search_ids,
    )


# What N could rewrite, looked for in the body's compact JSON text (orjson's): a string _normalise_text would
# change (the literal parts of its patterns; any decimal point followed by 4 digits), a float with 4 or more
# decimals or in exponent form (round(x, 5) may change it; one orjson writes with 3 decimals or fewer it leaves as
# it is), and a project_id (dropped from extra_body and extra_query). JSON escapes none of these characters, so what
# a string holds shows in the text as it is; a match in a key or across values only sends the body the careful way.
# Substring tests and patterns that start with a literal: one regular expression of all of them costs more than
# the careful walk saves.
_DECIMALS = re.compile(r"\.\d{4}")
_EXPONENT_HINT = re.compile(r"e[-+]\d")  # orjson writes a float's exponent with its sign: 1e-7, 1e+20
_EXPONENT = re.compile(r"\de[-+]\d")


def _unchanged_by_normalise(value: Any) -> bool:
    """Whether N leaves value as it is (whatever the options: the check is the loosest rule's)."""
    if not isinstance(value, (dict, list)):
        return False
    try:
        text = orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # beyond 64 bits, a lone surrogate, too deep: the careful way
        return False
    if (
        "score:" in text
        or "attributes:" in text
        or "document_id:" in text
        or "<|" in text
        or "project_id" in text
        or _DECIMALS.search(text) is not None
    ):
        return False
    return _EXPONENT_HINT.search(text) is None or _EXPONENT.search(text) is None


def _normalise(
    value: Any,
    *,
    root: bool = True,
    drop_stream_options: bool = False,
    file_search: bool = True,
    file_search_ids: bool = True,
) -> Any:
    if isinstance(value, dict):
        out = {
            k: _normalise(v, root=False, file_search=file_search, file_search_ids=file_search_ids)
            for k, v in value.items()
        }
        if drop_stream_options:
            out.pop("stream_options", None)
        if root:
            for key in ("extra_body", "extra_query"):
                if isinstance(out.get(key), dict):
                    out[key].pop("project_id", None)
        return out
    if isinstance(value, list):  # list items count as root again
        return [_normalise(v, file_search=file_search, file_search_ids=file_search_ids) for v in value]
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, str):
        return _normalise_text(value, file_search=file_search, file_search_ids=file_search_ids)
    return value


def digest(obj: Any) -> str:
    """sha256 of Python's default json.dumps with sorted keys: the recorder's H."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()
