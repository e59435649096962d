"""The real llama-stack corpus: everything loads, and the figures of the format doc come out of the code."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from recorder_ui.domain import checks, loader, stream, threads, usage
from recorder_ui.domain.model import Kind, Recording

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def recordings(corpus: Path) -> list[Recording]:
    paths = sorted(corpus.rglob("*.json"))
    assert len(paths) == 3162
    return [loader.load(p, name=p.relative_to(corpus).as_posix()) for p in paths]


@pytest.fixture(scope="module")
def streams(recordings: list[Recording]) -> list[Recording]:
    return [r for r in recordings if r.kind == Kind.CHAT and r.streaming]


def _provider(rec: Recording) -> str:
    """The provider names of the format doc's tables, from the host of request.url."""
    host = rec.provider
    if host == "api.openai.com":
        return "OpenAI"
    if host.endswith(".openai.azure.com"):
        return "Azure"
    if host.endswith(".ml.cloud.ibm.com"):
        return "WatsonX"
    if host.endswith(":11434"):
        return "Ollama"
    if host.startswith("bedrock-runtime."):
        return "Bedrock runtime"
    if host.startswith("bedrock-mantle."):
        return "Bedrock mantle"
    if host == "localhost:8000":
        return "vLLM"
    return host


def test_every_corpus_file_is_understood(recordings: list[Recording]) -> None:
    problems = [(r.path, r.error or r.summary) for r in recordings if r.kind in (Kind.INVALID, Kind.UNKNOWN)]
    assert problems == []


def test_shape_counts_match_the_format_doc(recordings: list[Recording]) -> None:
    shapes = Counter((str(r.kind), r.streaming) for r in recordings)
    assert shapes[("chat", True)] == 1634
    assert shapes[("chat", False)] == 966
    assert shapes[("model-list", False)] == 228
    assert (shapes[("genai", True)], shapes[("genai", False)]) == (141, 10)
    assert shapes[("embeddings", False)] == 63
    assert shapes[("ollama-admin", False)] == 38
    assert shapes[("exception", False)] == 16
    assert shapes[("tool", False)] == 13
    assert (shapes[("completion", False)], shapes[("completion", True)]) == (10, 2)
    assert shapes[("file-processor", False)] == 2
    assert sum(shapes.values()) == 3162
    passthrough = Counter((str(r.kind), r.status) for r in recordings if "payload" in r.raw["request"])
    # Gemini Interactions JSON 200 / JSON 400 / SSE 9 / 14 / 3; Anthropic Messages 10 / 1 / 2 (SSE has no status).
    assert passthrough == {("gemini-interactions", 200): 9, ("gemini-interactions", 400): 14,
                           ("gemini-interactions", None): 3, ("anthropic-messages", 200): 10,
                           ("anthropic-messages", 400): 1, ("anthropic-messages", None): 2}  # fmt: skip
    sse_events = sum(r.chunk_count for r in recordings if r.kind in (Kind.ANTHROPIC_MESSAGES, Kind.GEMINI_INTERACTIONS))
    sse_lines = sum(len(r.raw["response"]["body"]) for r in recordings if r.streaming and "payload" in r.raw["request"])
    assert sse_lines == 477 and sse_events == 159  # the doc counts lines; a blank line ends each event


def test_envelope_figures(recordings: list[Recording]) -> None:
    assert sum(r.test_id is None for r in recordings) == 90 + 19  # null, and absent in older files
    assert len({r.test_id for r in recordings if r.test_id}) == 858
    assert sum(len(r.details["models"]) for r in recordings if r.kind == Kind.MODEL_LIST) == 17_732


def test_streamed_chat_figures(streams: list[Recording]) -> None:
    assert sum(r.chunk_count for r in streams) == 79_853
    assert (min(r.chunk_count for r in streams), max(r.chunk_count for r in streams)) == (2, 1399)
    assert Counter(_provider(r) for r in streams) == {"OpenAI": 976, "Azure": 391, "WatsonX": 102, "Ollama": 90,
                                                      "Bedrock runtime": 49, "Bedrock mantle": 19, "vLLM": 7}  # fmt: skip
    missing = [r for r in streams if checks.misses_usage(r)]
    assert len(missing) == 183
    assert Counter(_provider(r) for r in missing) == {"OpenAI": 129, "Ollama": 49, "Bedrock runtime": 3, "vLLM": 2}
    assert Counter(r.include_usage for r in streams) == {True: 1451, None: 183}
    assert all(r.include_usage is None for r in missing)  # none of the 183 sets stream_options at all
    assert all(checks.missing_usage_reason(r).startswith("No token usage: the request did not set") for r in missing)
    finish = Counter(c.finish_reason for r in streams for c in r.choices)
    assert (finish["stop"], finish["tool_calls"], finish["length"]) == (1203, 422, 9)
    assert sum(1 for r in streams if r.choices[0].has_logprobs) == 21


def test_streamed_tool_call_figures(streams: list[Recording]) -> None:
    with_calls = [r for r in streams if any(c.tool_calls for c in r.choices)]
    assert len(with_calls) == 422
    assert sum(1 for r in with_calls if len(r.choices[0].tool_calls) == 2) == 44
    fragment_rows = Counter(sum(1 for row in stream.chunk_rows(r) if row.tool_fragment) for r in with_calls)
    assert (sum(n for rows, n in fragment_rows.items() if rows > 1), fragment_rows[1]) == (396, 26)
    # "text plus calls": text before reasoning tags are split off (Bedrock puts <reasoning> in content).
    assert sum(1 for r in with_calls if r.choices[0].content or r.choices[0].reasoning) == 11


def test_provider_quirks_seen_through_the_chunk_rows(streams: list[Recording]) -> None:
    azure_first = [r for r in streams if stream.chunk_rows(r)[0].note == "no choices (Azure prompt filter)"]
    assert len(azure_first) == 326 and {_provider(r) for r in azure_first} == {"Azure"}
    # Reasoning: <reasoning> tags in every Bedrock runtime stream, delta.reasoning (28 streams) or
    # delta.reasoning_content (1) elsewhere, and one vLLM <think> stream.
    with_reasoning = Counter(_provider(r) for r in streams if r.choices[0].reasoning)
    assert with_reasoning == {"Bedrock runtime": 49, "Bedrock mantle": 17, "vLLM": 7, "Ollama": 6}


def test_every_stream_reassembles_the_same_on_both_paths(corpus: Path, streams: list[Recording]) -> None:
    declined = 0
    for rec in streams:
        chunks = [element["__data__"] for element in rec.raw["response"]["body"]]
        quick = stream._reassemble_quick(chunks)
        declined += quick is None
        assert quick is None or quick == stream._reassemble_careful(chunks), rec.path
        assert len(stream.chunk_rows(rec)) == rec.chunk_count
    assert declined == 1  # the one stream with both reasoning fields takes the careful loop


def test_non_streamed_chat_figures(recordings: list[Recording]) -> None:
    chats = [r for r in recordings if r.kind == Kind.CHAT and not r.streaming]
    assert Counter(c.finish_reason for r in chats for c in r.choices) == {"stop": 943, "tool_calls": 18, "length": 5}
    assert all(r.usage is not None for r in chats)
    # message.reasoning 5, <think> in content 10, <reasoning> in content 3: all now in Message.reasoning.
    assert sum(1 for r in chats if r.choices[0].reasoning) == 5 + 10 + 3
    assert not any("<think>" in r.choices[0].content or "<reasoning>" in r.choices[0].content for r in chats)


def test_chat_request_figures(recordings: list[Recording]) -> None:
    requests = [r for r in recordings if "messages" in (r.raw["request"].get("body") or {})]
    assert len(requests) == 2616
    assert sum(1 for r in requests if r.tools) == 1094
    assert sum(1 for r in requests if any(m.role == "tool" for m in r.request_messages)) == 754
    images = [i for r in requests for m in r.request_messages for i in m.images]
    assert (sum(i.startswith("data:") for i in images), sum(i.startswith("http") for i in images)) == (17, 23)
    sizes = Counter(
        "1" if n == 1 else "2-4" if n <= 4 else "5-9" if n <= 9 else "10+"
        for n in (len(r.request_messages) for r in requests)
    )
    assert sizes == {"1": 1602, "2-4": 818, "5-9": 188, "10+": 8}


def test_every_tool_call_argument_parses(recordings: list[Recording]) -> None:
    answers = [c for r in recordings for m in r.choices for c in m.tool_calls]
    history = [c for r in recordings for m in r.request_messages for c in m.tool_calls]
    assert answers and history
    assert all(c.arguments_valid for c in answers + history)
    assert all(orjson.loads(c.arguments or "{}") == (c.parsed_arguments or {}) for c in answers)


def test_total_tokens_match_the_format_doc(recordings: list[Recording]) -> None:
    assert sum(r.usage.total_tokens or 0 for r in recordings if r.usage) == 1_036_178
    assert all(usage.extract(r) == r.usage for r in recordings)


def test_heaviest_test_stitches_with_its_safety_checks_apart(recordings: list[Recording]) -> None:
    test_id = (
        "tests/integration/agents/test_openai_responses.py::test_output_safety_guardrails_unsafe_content"
        "[openai_client-txt=ollama/llama3.2:3b-instruct-fp16-False]"
    )
    mine = [r for r in recordings if r.test_id == test_id]
    assert len(mine) == 331
    stitched = threads.stitch(mine)
    assert sum(1 for s in stitched.side_calls if s.label == "safety check") == 330
    assert stitched.conversation_tokens + stitched.side_tokens == 144_034


def test_clean_azure_chain_is_one_four_step_thread(recordings: list[Recording]) -> None:
    test_id = (
        "tests/integration/responses/test_tool_responses.py::test_response_streaming_multi_turn_tool_execution"
        "[openai_client-txt=azure/gpt-4o-user_permissions_workflow]"
    )
    stitched = threads.stitch([r for r in recordings if r.test_id == test_id])
    [thread] = [t for t in stitched.threads if len(t.steps) > 1]
    assert [s.recording.path.rsplit("/", 1)[-1][:12] for s in thread.steps] == [
        "86d2212ee871", "c6d0cd6961dd", "e576a7182cc2", "c7a293aeb309"]  # fmt: skip
    assert [s.link for s in thread.steps] == ["root", "exact", "exact", "exact"]
    assert [s.tokens for s in thread.steps] == [466, 498, 533, 562]
