"""Reading replay misses from what a user pastes: real-shaped pytest and CI output, several misses, garbage."""

from __future__ import annotations

import random
import time

import pytest

from recorder_ui.domain import hashing, misses

H1 = "9f85a7e3f0e3bf5fc7f6d6d8fc81d7d6a9b1410d3cf62e25b3516a6560d617ba"
H2 = "00cf12ddd414ae82d68c2d2b50190f96785f0d0a0c9f5cf72f1f8aea5e28073e"
H3 = "f3390346d060f9a2c0fd64488d9d2800c31d46f2580072893325a28e750411c6"
T1 = "tests/integration/inference/test_openai_completion.py::test_openai_chat_completion_non_streaming[client_with_models-txt=openai/gpt-4o-inference:chat_completion:non_streaming_01]"
T2 = "tests/integration/agents/test_openai_responses.py::TestResponses::test_function_call[openai_client-txt=ollama/llama3.2:3b-instruct-fp16]"
RUN = "E   Run './scripts/integration-tests.sh --inference-mode record-if-missing' with required API keys to generate."

# A pytest run in CI with two inference misses and one tool miss: sections, captured debug log, short summary.
PYTEST_LOG = f"""\
2026-03-02T10:11:12.3456789Z ============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.3.4, pluggy-1.5.0
collected 412 items

tests/integration/inference/test_openai_completion.py ..F.                           [  1%]
tests/integration/agents/test_openai_responses.py F                                 [  2%]

=================================== FAILURES ===================================
_ test_openai_chat_completion_non_streaming[client_with_models-txt=openai/gpt-4o-inference:chat_completion:non_streaming_01] _

openai_client = <openai.OpenAI object at 0x7f1c>, model_id = 'openai/gpt-4o'

    def test_openai_chat_completion_non_streaming(openai_client, model_id, test_case):
>       response = openai_client.chat.completions.create(model=model_id, messages=[...], stream=False)

tests/integration/inference/test_openai_completion.py:205:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
E   RuntimeError: Recording not found for request hash: {H1}
E   Model: gpt-4o | Request: POST https://api.openai.com/v1/v1/chat/completions
E
{RUN}

src/ogx/testing/api_recorder.py:812: RuntimeError
------------------------------ Captured log call -------------------------------
ERROR    ogx.testing.api_recorder:api_recorder.py:800 [RECORDING DEBUG] Recording not found!
ERROR    ogx.testing.api_recorder:api_recorder.py:801   Mode: replay
ERROR    ogx.testing.api_recorder:api_recorder.py:802   Request hash: {H1}
ERROR    ogx.testing.api_recorder:api_recorder.py:803   Method: POST
ERROR    ogx.testing.api_recorder:api_recorder.py:804   URL: https://api.openai.com/v1/v1/chat/completions
ERROR    ogx.testing.api_recorder:api_recorder.py:806   Model: gpt-4o
ERROR    ogx.testing.api_recorder:api_recorder.py:807   Test context: {T1}
_ TestResponses.test_function_call[openai_client-txt=ollama/llama3.2:3b-instruct-fp16] _

E   RuntimeError: Recording not found for request hash: {H2}
E   Model: llama3.2:3b-instruct-fp16 | Request: POST http://0.0.0.0:11434/v1/chat/completions
E
{RUN}
___________ test_web_search[openai_client-txt=openai/gpt-4o] ___________
E   RuntimeError: Recording not found for tavily-search.web_search | Request: {{'query': 'What is the capital of France?', 'max_results': 3}}
E
{RUN}
=========================== short test summary info ============================
FAILED {T1} - RuntimeError: Recording not found for request hash: 9f85a7e3f0e3bf5f...
FAILED {T2} - RuntimeError: Recording not found for request hash: {H2}
FAILED tests/integration/tool_runtime/test_web.py::test_web_search[openai_client-txt=openai/gpt-4o] - RuntimeError: Recording not found for tavily-search.web_search | Request: {{'query': 'What is the capital of France?', 'max_results': 3}}
======================== 3 failed, 409 passed in 812.43s =========================
"""


def test_a_pytest_log_gives_each_miss_once_with_its_test_model_and_url() -> None:
    parsed = misses.parse(PYTEST_LOG)
    assert parsed.input_kind == "log" and parsed.error == "" and not parsed.cut
    inference = [m for m in parsed.misses if m.kind == misses.INFERENCE]
    assert [m.hash for m in inference] == [H1, H2]  # the cut hash of the summary line merged into the full one
    first, second = inference
    assert (first.test_id, first.model, first.method) == (T1, "gpt-4o", "POST")
    assert first.url == "https://api.openai.com/v1/v1/chat/completions" and first.url_path == "/v1/v1/chat/completions"
    assert not first.prefix and first.notes == ()
    assert second.test_id == T2  # the section header TestResponses.test_function_call[...] and its FAILED line
    assert second.model == "llama3.2:3b-instruct-fp16" and second.url_path == "/v1/chat/completions"
    assert first.line < second.line


def test_a_tool_miss_gets_its_hash_computed_from_the_logged_kwargs() -> None:
    [tool] = [m for m in misses.parse(PYTEST_LOG).misses if m.kind == misses.TOOL]
    assert tool.tool == "tavily-search.web_search" and (tool.provider, tool.tool_name) == (
        "tavily-search",
        "web_search",
    )
    assert (
        tool.test_id == "tests/integration/tool_runtime/test_web.py::test_web_search[openai_client-txt=openai/gpt-4o]"
    )
    kwargs = {"query": "What is the capital of France?", "max_results": 3}
    assert tool.hash == hashing.digest({"provider": "tavily-search", "tool_name": "web_search", "kwargs": kwargs})
    assert tool.kwargs == repr(kwargs) and "computed" in tool.source


def test_kwargs_that_are_no_literal_give_no_hash_and_say_why() -> None:
    log = "RuntimeError: Recording not found for tavily.web_search | Request: {'query': <object at 0x7f>}"
    [tool] = misses.parse(log).misses
    assert tool.hash == "" and "cannot be computed" in tool.notes[0]


def test_rerank_and_passthrough_misses_show_no_hash_but_their_url() -> None:
    log = (
        "E   RuntimeError: Recording not found for rerank request | URL: http://localhost:8000/v1/rerank\n"
        "E   RuntimeError: Recording not found for httpx stream POST http://localhost:11434/v1/messages\n"
        f"  Test context: {T1}\n"
    )
    rerank, messages = misses.parse(log).misses
    assert (rerank.kind, rerank.hash, rerank.url_path) == (misses.HTTP, "", "/v1/rerank")
    assert messages.url == "http://localhost:11434/v1/messages"
    assert rerank.test_id == messages.test_id == T1  # the recorder's debug line, after the message


def test_a_miss_without_any_test_named_keeps_its_model_and_url() -> None:
    log = f"RuntimeError: Recording not found for request hash: {H3}\nModel: gpt-4o-mini | Request: POST https://api.openai.com/v1/v1/embeddings\n"
    [miss] = misses.parse(log).misses
    assert (miss.test_id, miss.test_name, miss.model, miss.url_path) == ("", "", "gpt-4o-mini", "/v1/v1/embeddings")


def test_a_debug_context_of_none_means_no_test() -> None:
    log = f"[RECORDING DEBUG] Recording not found!\n  Request hash: {H3}\n  URL: http://0.0.0.0:11434/v1/models\n  Test context: None\n"
    [miss] = misses.parse(log).misses
    assert miss.no_test and miss.test_id == "" and miss.hash == H3 and miss.url_path == "/v1/models"


def test_a_section_header_alone_names_the_test_by_its_header() -> None:
    log = f"____ TestX.test_y[a.b-c] ____\nE   RuntimeError: Recording not found for request hash: {H3}\n"
    [miss] = misses.parse(log).misses
    assert miss.test_id == "" and miss.test_name == "TestX.test_y[a.b-c]"
    assert misses.split_header(miss.test_name) == ("TestX::test_y", "a.b-c")  # dots in parameters stay
    assert misses.header_form("tests/a.py::TestX::test_y[a.b-c]") == miss.test_name


def test_a_summary_line_with_spaces_and_dashes_in_its_parameters() -> None:
    node = "tests/integration/responses/test_a.py::test_b[what is 2 - 2?]"
    [miss] = misses.parse(f"FAILED {node} - RuntimeError: Recording not found for request hash: {H3}").misses
    assert miss.test_id == node and miss.source == "the FAILED summary line"


def test_an_exception_repr_on_one_line_with_literal_newlines() -> None:
    line = f"RuntimeError('Recording not found for request hash: {H3}\\nModel: gpt-4o | Request: POST https://api.openai.com/v1/v1/chat/completions\\n\\nRun ...')"
    [miss] = misses.parse(line).misses
    assert miss.model == "gpt-4o" and miss.url == "https://api.openai.com/v1/v1/chat/completions"


def test_a_hash_cut_short_is_a_prefix_and_says_so() -> None:
    [miss] = misses.parse(f"FAILED {T1} - RuntimeError: Recording not found for request hash: 9f85a7e3f0e3").misses
    assert miss.prefix and miss.hash == "9f85a7e3f0e3" and miss.test_id == T1 and "prefix" in miss.notes[0]


def test_ansi_colours_and_ci_timestamps_do_not_hide_a_miss() -> None:
    log = (
        f"2026-03-02T10:11:12.1Z \x1b[31mFAILED\x1b[0m {T1} - RuntimeError: Recording not found for request hash: {H1}\n"
        "2026-03-02T10:11:12.2Z \x1b[1m_____ test_q _____\x1b[0m\n"
    )
    [miss] = misses.parse(log).misses
    assert miss.hash == H1 and miss.test_id == T1


@pytest.mark.parametrize(
    ("text", "kind", "digits"),
    [
        (H1, "hash", H1),
        (H1.upper(), "hash", H1),
        (f"  {H1}.json\n", "hash", H1),
        (f"models-{H1}-a073edf8.json", "hash", H1),
        ("9f85a7e3", "prefix", "9f85a7e3"),
        ("9F85A7E3F0", "prefix", "9f85a7e3f0"),
    ],
)
def test_a_bare_hash_or_prefix(text: str, kind: str, digits: str) -> None:
    parsed = misses.parse(text)
    assert parsed.input_kind == kind and [m.hash for m in parsed.misses] == [digits]
    assert parsed.misses[0].prefix is (kind == "prefix")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Give a replay hash"),
        ("   \n\t", "Give a replay hash"),
        ("9f85a7", "at least 8 hex digits; 6 given"),
        ("a" * 70, "70 hex digits"),
        ("hello world", "No replay miss found"),
        ("Recording not found for request hash: xyz", "No replay miss found"),
        (None, "Give a replay hash"),
    ],
)
def test_bad_input_is_refused_in_words(text: str | None, error: str) -> None:
    parsed = misses.parse(text)
    assert parsed.misses == () and error in parsed.error and parsed.input_kind == ""


def test_hashes_in_a_text_without_a_miss_message_are_looked_up() -> None:
    parsed = misses.parse(f"these failed: {H1}, {H2.upper()} and {H1}")
    assert [m.hash for m in parsed.misses] == [H1, H2] and "No replay miss message" in parsed.notes[0]


def test_huge_input_is_cut_and_said_so_and_stays_quick() -> None:
    miss = f"E   RuntimeError: Recording not found for request hash: {H1}\n"
    text = miss + "x" * (5 * misses.MAX_INPUT_CHARS) + f"\nRecording not found for request hash: {H2}\n"
    started = time.perf_counter()
    parsed = misses.parse(text)
    assert time.perf_counter() - started < 2
    assert parsed.cut and "cut at 200,000 characters" in parsed.notes[0]
    assert [m.hash for m in parsed.misses] == [H1]  # the second lies beyond the cut


def test_pathological_lines_stay_quick() -> None:
    started = time.perf_counter()
    for line in (
        "Recording not found for " + "Model: " * 30_000,
        "Recording not found for request hash: " + H1 + " Model: " * 25_000 + " | Request",
        "Recording not found for a." + "b" * 100_000 + " | Request: {" + "[" * 5_000,
        "Recording not found for x.y | Request: {" + "'a': (" * 3_000,
        "FAILED " + "a" * 50_000 + ".py::" + "[" * 50_000,
        "_" * 100_000 + " x " + "_" * 3,
    ):
        misses.parse(line * 2)
    assert time.perf_counter() - started < 5


def test_many_misses_are_capped() -> None:
    text = "".join(f"RuntimeError: Recording not found for request hash: {i:064x}\n" for i in range(150))
    parsed = misses.parse(text)
    assert len(parsed.misses) == misses.MAX_MISSES and "only the first 100" in parsed.notes[-1]


def test_random_garbage_never_raises() -> None:
    rng = random.Random(20260302)
    pieces = ["Recording not found for ", "request hash: ", H1[:20], "Model: ", " | Request: ", "POST ", "http://",
              "FAILED ", "::", "[", "]", " - ", "____ ", "Test context: ", "None", "{'a': ", "}", "\n", "E   ",
              "\x00", "\udc80", "\x1b[31m", "rerank request | URL: ", "httpx POST ", "[RECORDING DEBUG] Recording not found!"]  # fmt: skip
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 60)))
        parsed = misses.parse(text)
        assert isinstance(parsed, misses.Parsed)
        for miss in parsed.misses:
            assert miss.hash == "" or len(miss.hash) >= misses.MIN_PREFIX


def test_summary_lines_cut_before_the_hash_pair_with_the_misses_in_order() -> None:
    other = "tests/integration/agents/test_b.py::test_b[x]"
    log = (
        f"E   RuntimeError: Recording not found for request hash: {H1}\n"
        f"E   RuntimeError: Recording not found for request hash: {H2}\n"
        f"FAILED {T1} - RuntimeError: Recording not found for requ...\n"
        f"FAILED {other} - RuntimeError: Recording not found...\n"
    )
    first, second = misses.parse(log).misses
    assert (first.test_id, second.test_id) == (T1, other) and "same place of the summary" in first.notes[-1]
    lone = misses.parse(log.replace(f"FAILED {other} - RuntimeError: Recording not found...\n", "")).misses
    assert [m.test_id for m in lone] == ["", ""]  # two misses, one summary line: no guess


GENAI_TEST = "tests/integration/responses/test_basic_responses.py::test_response_non_streaming_basic[txt=vertexai/publishers/google/models/gemini-2.0-flash]"


def test_a_genai_miss_gives_its_model_and_endpoint_as_the_stored_url() -> None:
    """Google genai misses say `genai request hash` and `Model: ... | Endpoint: ...`; the recorder stores the
    request's URL as vertexai:// + the endpoint, so candidates match on that path."""
    log = (
        f"E   RuntimeError: Recording not found for genai request hash: {H3}\n"
        "E   Model: publishers/google/models/gemini-2.0-flash | Endpoint: /generate_content_stream\n"
        f"{RUN}\n"
        f"FAILED {GENAI_TEST} - RuntimeError: Recording not found for genai request hash: {H3}\n"
    )
    [miss] = misses.parse(log).misses
    assert (miss.kind, miss.hash, miss.test_id) == (misses.INFERENCE, H3, GENAI_TEST)
    assert miss.model == "publishers/google/models/gemini-2.0-flash"
    assert (miss.method, miss.url, miss.url_path) == (
        "POST",
        "vertexai:///generate_content_stream",
        "/generate_content_stream",
    )


def test_a_genai_miss_among_other_kinds_is_one_of_them() -> None:
    log = (
        f"E   RuntimeError: Recording not found for request hash: {H1}\n"
        "E   Model: gpt-4o | Request: POST https://api.openai.com/v1/v1/chat/completions\n"
        f"E   RuntimeError: Recording not found for genai request hash: {H2}\n"
        "E   Model: publishers/google/models/gemini-2.0-flash | Endpoint: /generate_content\n"
        "E   RuntimeError: Recording not found for tavily-search.web_search | Request: {'query': 'llama'}\n"
    )
    found = misses.parse(log).misses
    assert [(m.kind, m.hash[:8], m.url_path) for m in found[:2]] == [
        (misses.INFERENCE, H1[:8], "/v1/v1/chat/completions"),
        (misses.INFERENCE, H2[:8], "/generate_content"),
    ]
    assert len(found) == 3 and found[2].kind == misses.TOOL
