"""Tiny hand-made recordings, one per shape and provider quirk, as the writer would store them."""

from __future__ import annotations

import json
from typing import Any

from recorder_ui.domain import loader
from recorder_ui.domain.model import Recording

CHUNK = "openai.types.chat.chat_completion_chunk.ChatCompletionChunk"


def dump(rec: dict[str, Any]) -> bytes:
    return (json.dumps(rec, indent=2) + "\n").encode()


def parse(rec: dict[str, Any] | str | bytes) -> Recording:
    data = rec if isinstance(rec, bytes) else rec.encode() if isinstance(rec, str) else dump(rec)
    return loader.parse(data, path="tests/integration/x/recordings/a.json")


def chat_request(url: str = "https://api.openai.com/v1/v1/chat/completions", **body: Any) -> dict[str, Any]:
    full = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **body}
    return {"method": "POST", "url": url, "headers": {}, "body": full, "endpoint": "/v1/chat/completions", "model": "m"}


def chunk(
    choices: list[dict[str, Any]] | None = None, usage: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "__type__": CHUNK,
        "__data__": {
            "id": "rec-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": choices or [],
            "usage": usage,
            **extra,
        },
    }


def delta(index: int = 0, finish: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"index": index, "finish_reason": finish, "logprobs": None, "delta": fields}


def frag(
    index: int, id: str | None = None, name: str | None = None, args: str | None = None, type: str | None = None
) -> dict[str, Any]:
    return {"index": index, "id": id, "type": type, "function": {"name": name, "arguments": args}}


def stream(
    chunks: list[dict[str, Any]], url: str = "https://api.openai.com/v1/v1/chat/completions", **body: Any
) -> dict[str, Any]:
    return {
        "test_id": "tests/integration/x/test_x.py::test_x",
        "request": chat_request(url, stream=True, **body),
        "response": {"body": chunks, "is_streaming": True},
        "id_normalization_mapping": {},
    }


def usage(prompt: int, completion: int, total: int | None = None) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion if total is None else total,
    }
