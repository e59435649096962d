"""Decoding the corpus: orjson's whole-document decode against msgspec's, untyped and typed (issue 13).

The typed decode reads only what the index takes from a stream (each chunk's choices: the delta's text, role,
refusal, reasoning and tool-call fragments, finish_reason, index, logprobs; the usage) and skips the rest
(ids, model, created, object, system_fingerprint, service_tier). The request is decoded whole, since the
recorder's hash is over all of it. Each figure is the best CPU time of 5 passes over the same bytes, read once
beforehand. Run with RECORDER_UI_CORPUS set: `make bench`. msgspec is a development requirement only: the index
does not use it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _corpus
import msgspec
import orjson


class Function(msgspec.Struct, gc=False):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(msgspec.Struct, gc=False):
    index: int = 0
    id: str | None = None
    type: str | None = None
    function: Function | None = None


class Delta(msgspec.Struct, gc=False):
    content: str | None = None
    role: str | None = None
    refusal: str | None = None
    reasoning: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class Choice(msgspec.Struct, gc=False):
    delta: Delta | None = None
    finish_reason: str | None = None
    index: int = 0
    logprobs: Any = None


class ChunkData(msgspec.Struct, gc=False):
    choices: list[Choice] | None = None
    usage: Any = None


class Chunk(msgspec.Struct, gc=False, rename={"type_": "__type__", "data": "__data__"}):
    type_: str = ""
    data: ChunkData | None = None


class Response(msgspec.Struct, gc=False):
    body: msgspec.Raw = msgspec.Raw(b"null")
    is_streaming: bool = False


class Recording(msgspec.Struct, gc=False):
    request: Any = None
    response: Response | None = None
    test_id: str | None = None


_RECORDING = msgspec.json.Decoder(Recording)
_STREAM = msgspec.json.Decoder(list[Chunk])
_UNTYPED = msgspec.json.Decoder()


def typed(data: bytes) -> object:
    """The index's view of one file: typed chunks for a streamed chat answer, any other body decoded as it is."""
    try:
        recording = _RECORDING.decode(data)
    except msgspec.ValidationError:
        return _UNTYPED.decode(data)  # not of the recording's shape: the careful way, as the index would
    response = recording.response
    if (
        response is not None
        and response.is_streaming
        and b"ChatCompletionChunk" in bytes(memoryview(response.body)[:300])
    ):
        try:
            return recording, _STREAM.decode(response.body)
        except msgspec.ValidationError:
            pass
    return recording, _UNTYPED.decode(response.body) if response is not None else None


def best(decode: Callable[[bytes], object], files: list[bytes], passes: int = 5) -> float:
    """The least CPU seconds of `passes` passes of decode over files (what it makes is dropped at once)."""
    times = []
    for _ in range(passes):
        started = time.process_time()
        for data in files:
            decode(data)
        times.append(time.process_time() - started)
    return min(times)


def main() -> int:
    corpus = _corpus.corpus("bench_decode")
    if corpus is None:
        return 2
    files = [path.read_bytes() for path in sorted(Path(corpus).rglob("*.json"))]
    streams = [data for data in files if b'"is_streaming": true' in data and b"ChatCompletionChunk" in data]
    gc.set_threshold(20_000, 10, 10)  # as the index parses (indexer/pool.py)
    for label, chosen in ((f"all {len(files)} files", files), (f"the {len(streams)} streamed chat files", streams)):
        size = sum(map(len, chosen)) / 1e6
        floor = best(orjson.loads, chosen)
        print(f"{label} ({size:.1f} MB), CPU seconds, best of 5:")
        print(f"  orjson.loads (the floor's decode):        {floor:.3f}")
        for name, decode in (("msgspec, untyped", _UNTYPED.decode), ("msgspec, typed (what the index reads)", typed)):
            seconds = best(decode, chosen)
            print(f"  {name + ':':42s}{seconds:.3f} = {seconds / floor:.2f} x orjson")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
