"""The real llama-stack corpus: everything loads, and the figures of the format doc come out of the code."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from recorder_ui.domain import checks, loader, threads
from recorder_ui.domain.model import Kind, Recording

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def recordings(corpus: Path) -> list[Recording]:
    paths = sorted(corpus.rglob("*.json"))
    assert len(paths) == 3162
    return [loader.load(p, name=p.relative_to(corpus).as_posix()) for p in paths]


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
    assert shapes[("anthropic-messages", False)] + shapes[("anthropic-messages", True)] == 13
    assert shapes[("gemini-interactions", False)] + shapes[("gemini-interactions", True)] == 26


def test_streamed_chat_figures(recordings: list[Recording]) -> None:
    streams = [r for r in recordings if r.kind == Kind.CHAT and r.streaming]
    missing = Counter(r.provider.split(".")[0] for r in streams if checks.misses_usage(r))
    assert sum(missing.values()) == 183
    assert missing == {"api": 129, "0": 49, "bedrock-runtime": 3, "localhost:8000": 2}
    assert all(r.include_usage is not True for r in streams if checks.misses_usage(r))
    with_calls = [r for r in streams if any(c.tool_calls for c in r.choices)]
    assert len(with_calls) == 422
    assert sum(1 for r in with_calls if len(r.choices[0].tool_calls) == 2) == 44
    # "text plus calls": text before reasoning tags are split off (Bedrock puts <reasoning> in content).
    assert sum(1 for r in with_calls if r.choices[0].content or r.choices[0].reasoning) == 11
    finish = Counter(c.finish_reason for r in streams for c in r.choices)
    assert (finish["stop"], finish["tool_calls"], finish["length"]) == (1203, 422, 9)
    assert all(c.arguments_valid for r in recordings for m in r.choices for c in m.tool_calls)


def test_total_tokens_match_the_format_doc(recordings: list[Recording]) -> None:
    assert sum(r.usage.total_tokens or 0 for r in recordings if r.usage) == 1_036_178


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
