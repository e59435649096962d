"""The quick look in hashing.normalise (a body N leaves as it is, returned as it is) gives exactly what the careful
walk gives: on hand-made bodies that sit at the edge of each pattern, and on every request body of the corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recorder_ui.domain import hashing, jsontext

OPTIONS = (
    {},
    {"drop_stream_options": True},
    {"file_search": False},
    {"file_search_ids": False},
)


def _same(body: Any) -> None:
    for options in OPTIONS:
        quick = hashing.normalise(body, **options)
        careful = hashing._normalise(body, **options)
        assert json.dumps(quick, sort_keys=True) == json.dumps(careful, sort_keys=True), (body, options)


@pytest.mark.parametrize(
    "body",
    [
        {
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.7,
            "stream_options": {"include_usage": True},
        },
        {"temperature": 0.123},  # 3 decimals: round(x, 5) leaves it
        {"temperature": 0.1234},  # 4 decimals: the careful walk
        {"temperature": 0.1234567},
        {"x": 1e-7},  # exponent form: round(x, 5) gives 0.0
        {"x": [1e20, -2.5e-9]},
        {"x": 1e16, "y": 1000000000000000.0},
        {"content": "score: 0.8 and attributes: {'a': 1}"},
        {"content": "document_id: 0b7e8a3c-1111-2222-3333-444455556666 <|0b7e8a3c-1111-2222-3333-444455556666|>"},
        {"content": "pi is 3.14159265"},
        {"content": "pi is \u0663.\u0661\u0664\u0661\u0665"},  # Arabic-Indic digits: \\d in a str pattern
        {"extra_body": {"project_id": "p", "other": 1}},
        [{"extra_query": {"project_id": "p"}}, {"a": 1}],
        {"n": 2**70},  # beyond 64 bits: orjson refuses, the careful walk
        {"s": "\ud800"},  # a lone surrogate: orjson refuses
        {"model": "m", "messages": [], "stream": True, "n": 1, "flag": False, "none": None},
        "a plain string",
        0.1234567,
    ],
)
def test_quick_normalise_matches_the_careful_walk(body: Any) -> None:
    _same(body)


def test_quick_normalise_returns_the_body_only_when_nothing_changes() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}
    assert hashing.normalise(body) is body
    assert "stream_options" not in hashing.normalise({**body, "stream_options": {}}, drop_stream_options=True)
    assert hashing.normalise({"t": 0.123456}) == {"t": 0.12346}


def test_quick_normalise_matches_on_every_corpus_body(corpus: Path) -> None:
    bodies = 0
    for path in sorted(corpus.rglob("*.json")):
        try:
            raw = jsontext.loads(path.read_bytes())
        except ValueError:
            continue
        request = raw.get("request") if isinstance(raw, dict) else None
        if not isinstance(request, dict):
            continue
        for key in ("body", "payload"):
            if key in request:
                _same(request[key])
                bodies += 1
    assert bodies > 3000


def test_orjson_writes_every_exponent_with_its_sign() -> None:
    # _EXPONENT_HINT relies on it: a float orjson writes in exponent form shows "e-" or "e+" after a digit.
    import random
    import struct

    import orjson

    numbers = random.Random(13)
    for _ in range(20_000):
        value = struct.unpack("d", struct.pack("Q", numbers.getrandbits(64)))[0]
        if value != value or value in (float("inf"), float("-inf")):
            continue
        text = orjson.dumps(value).decode()
        assert "E" not in text
        if "e" in text:
            assert hashing._EXPONENT.search(text), text
        else:
            assert "." in text and (len(text.split(".")[1]) >= 4 or round(value, 5) == value), text
