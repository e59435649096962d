"""Small builders for real-shaped recordings, written into a temporary llama-stack-like tree."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from pathlib import Path
from typing import Any

CHUNK = "openai.types.chat.chat_completion_chunk.ChatCompletionChunk"
COMPLETION = "openai.types.chat.chat_completion.ChatCompletion"


def chunk(
    *,
    content: str | None = None,
    tool: dict[str, Any] | None = None,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
    choices: bool = True,
) -> dict[str, Any]:
    delta: dict[str, Any] = {
        "role": None,
        "content": content,
        "refusal": None,
        "function_call": None,
        "tool_calls": [tool] if tool else None,
    }
    data: dict[str, Any] = {
        "id": "rec-000000000000",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o-mini",
        "service_tier": "default",
        "system_fingerprint": "fp_1",
        "usage": usage,
        "obfuscation": "abc",
        "choices": [{"index": 0, "finish_reason": finish, "logprobs": None, "delta": delta}] if choices else [],
    }
    return {"__type__": CHUNK, "__data__": data}


def stream_recording(
    *,
    test_id: str | None,
    text: str = "Hello there",
    usage: bool = True,
    tool: tuple[str, str] | None = None,
    messages: list[dict[str, Any]] | None = None,
    model: str = "gpt-4o-mini",
) -> dict[str, Any]:
    """A streamed OpenAI chat completion, split into a few chunks, with or without a usage chunk."""
    chunks = [chunk(content=piece) for piece in _pieces(text)] if text else []
    if tool:
        name, args = tool
        chunks.append(
            chunk(tool={"index": 0, "id": "call_1", "type": "function", "function": {"name": name, "arguments": ""}})
        )
        for piece in _pieces(args):
            chunks.append(
                chunk(tool={"index": 0, "id": None, "type": None, "function": {"name": None, "arguments": piece}})
            )
    chunks.append(chunk(finish="tool_calls" if tool else "stop"))
    body: dict[str, Any] = {
        "model": model,
        "messages": messages or [{"role": "user", "content": "Say hello"}],
        "stream": True,
    }
    if usage:
        body["stream_options"] = {"include_usage": True}
        chunks.append(chunk(choices=False, usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}))
    return {
        "test_id": test_id,
        "request": {
            "method": "POST",
            "url": "https://api.openai.com/v1/v1/chat/completions",
            "headers": {},
            "body": body,
            "endpoint": "/v1/chat/completions",
            "model": model,
        },
        "response": {"body": chunks, "is_streaming": True},
        "id_normalization_mapping": {},
    }


def _pieces(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def write(root: Path, area: str, recording: dict[str, Any] | bytes | str, name: str | None = None) -> Path:
    """Write one recording under tests/integration/<area>/recordings/, named by a hash of its content."""
    folder = root / "tests" / "integration" / area / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(recording, dict):
        data = (json.dumps(recording, indent=2) + "\n").encode()
    elif isinstance(recording, str):
        data = recording.encode()
    else:
        data = recording
    path = folder / (name or hashlib.sha256(data).hexdigest() + ".json")
    path.write_bytes(data)
    return path


def todays_name(recording: dict[str, Any]) -> str:
    """The file name today's recorder gives a chat recording whose body holds nothing the normalisation rewrites
    (no float, no file_search text): the recipe of format doc 9.3 written out."""
    request = recording["request"]
    canon = {"method": "POST", "endpoint": urllib.parse.urlparse(request["url"]).path, "body": request["body"],
             "test_id": recording["test_id"]}  # fmt: skip
    return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest() + ".json"
