"""loader.parse: every shape classified and understood; bad input becomes a clear error, never an exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recorder_ui.domain import loader
from recorder_ui.domain.model import Kind
from tests.domain.recs import chat_request, chunk, delta, frag, parse, stream, usage

TID = "tests/integration/x/test_x.py::test_x"


def _typed(cls: str, data: object) -> dict[str, object]:
    return {"__type__": cls, "__data__": data}


def _rec(request: dict[str, object], body: object, streaming: bool = False, **response: object) -> dict[str, object]:
    return {"test_id": TID, "request": request, "response": {"body": body, "is_streaming": streaming, **response},
            "id_normalization_mapping": {}}  # fmt: skip


def test_streamed_chat_with_usage() -> None:
    rec = parse(stream([chunk([delta(role="assistant", content="Hi")]), chunk([delta(finish="stop")]),
                        chunk([], usage(5, 2))], stream_options={"include_usage": True}))  # fmt: skip
    assert (rec.kind, rec.streaming, rec.chunk_count, rec.provider, rec.model) == (
        Kind.CHAT,
        True,
        3,
        "api.openai.com",
        "m",
    )
    assert rec.choices[0].content == "Hi" and rec.usage is not None and rec.usage.total_tokens == 7
    assert rec.include_usage is True and rec.test_id == "tests/integration/x/test_x.py::test_x"
    assert rec.request_messages[0].content == "hi" and "stream" in rec.request_params


def test_endpoint_is_never_trusted_chunks_decide() -> None:
    raw = stream([chunk([delta(content="x")])])
    raw["request"]["endpoint"] = "/v1/completions"  # type: ignore[index]
    assert parse(raw).kind == Kind.CHAT


def test_non_streamed_chat_with_tool_call_and_reasoning() -> None:
    body = _typed("x.y.ChatCompletion", {
        "model": "gpt-4o-2024", "usage": {**usage(66, 17), "prompt_tokens_details": {"cached_tokens": 10},
                                          "completion_tokens_details": {"reasoning_tokens": 4}},
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
            "reasoning": "use calc", "tool_calls": [{"id": "call_J", "type": "function",
            "function": {"name": "calculator", "arguments": "{\"expression\":\"15 * 7\"}"}}]}}]})  # fmt: skip
    rec = parse(_rec(chat_request(tools=[{"type": "function", "function": {"name": "calculator"}}]), body))
    [choice] = rec.choices
    assert choice.tool_calls[0].parsed_arguments == {"expression": "15 * 7"} and choice.reasoning == "use calc"
    assert rec.tools == ("calculator",) and choice.finish_reason == "tool_calls"
    assert rec.usage is not None and (rec.usage.cached_tokens, rec.usage.reasoning_tokens) == (10, 4)


def test_request_history_keeps_images_tool_calls_and_results() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
                                     {"type": "image_url", "image_url": {"url": "https://example.org/a.png"}}]},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "index": 0,
                                                             "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "done"}]},
    ]  # fmt: skip
    rec = parse(stream([chunk([delta(content="ok")])], messages=messages))
    user, assistant, tool = rec.request_messages
    assert user.content == "look" and user.images == ("data:image/png;base64,AAA", "https://example.org/a.png")
    assert assistant.tool_calls[0].id == "c1" and (tool.tool_call_id, tool.content) == ("c1", "done")


def test_legacy_completion_streamed_and_not() -> None:
    req = {"method": "POST", "url": "http://localhost:8000/v1/completions", "headers": {}, "endpoint": "/v1/completions",
           "model": "q", "body": {"model": "q", "prompt": "Say", "stream": True}}  # fmt: skip
    pieces = [_typed("openai.types.completion.Completion", {"choices": [{"index": 0, "text": t, "finish_reason": f}]})
              for t, f in (("Hel", None), ("lo", "stop"))]  # fmt: skip
    rec = parse(_rec(req, pieces, True))
    assert (rec.kind, rec.choices[0].content, rec.choices[0].finish_reason, rec.usage) == (
        Kind.COMPLETION,
        "Hello",
        "stop",
        None,
    )
    single = parse(_rec(req, _typed("a.Completion", {"choices": [{"index": 0, "text": "x"}], "usage": usage(4, 1)})))
    assert single.usage is not None and single.usage.total_tokens == 5 and single.request_messages[0].content == "Say"


def test_embeddings_show_count_and_dimensions_not_vectors() -> None:
    req = {"method": "POST", "url": "https://api.openai.com/v1/v1/embeddings", "headers": {}, "endpoint": "/v1/embeddings",
           "model": "e", "body": {"model": "e", "input": ["a", "b"]}}  # fmt: skip
    body = _typed("x.CreateEmbeddingResponse", {"data": [{"embedding": [0.1, 0.2, 0.3]}, {"embedding": [0.4, 0.5, 0.6]}],
                                                "usage": {"prompt_tokens": 3, "total_tokens": 3}})  # fmt: skip
    rec = parse(_rec(req, body))
    assert rec.kind == Kind.EMBEDDINGS and rec.summary == "2 embeddings × 3 dimensions" and "0.1" not in rec.summary
    assert rec.usage is not None and (rec.usage.prompt_tokens, rec.usage.completion_tokens, rec.usage.total_tokens) == (
        3,
        None,
        3,
    )


def test_model_list_is_a_list_but_not_a_stream() -> None:
    req = {
        "method": "POST",
        "url": "http://localhost:8080/v1/models",
        "headers": {},
        "body": {},
        "endpoint": "/v1/models",
        "model": "",
    }
    rec = parse(_rec(req, [_typed("openai.types.model.Model", {"id": "a", "object": "model"}),
                           _typed("openai.types.model.Model", {"id": "b", "object": "model"})]))  # fmt: skip
    assert (rec.kind, rec.summary, rec.details["models"], rec.streaming) == (
        Kind.MODEL_LIST,
        "2 models",
        ["a", "b"],
        False,
    )


def test_ollama_native_shapes() -> None:
    req = {"method": "POST", "url": "http://localhost:11434/api/generate", "headers": {}, "endpoint": "/api/generate",
           "model": "llama-guard3:1b", "body": {"model": "llama-guard3:1b", "prompt": "<|begin|>check", "stream": True}}  # fmt: skip
    parts = [_typed("ollama._types.GenerateResponse", {"response": "sa", "done": False}),
             _typed("ollama._types.GenerateResponse", {"response": "fe", "done": True, "done_reason": "stop",
                                                      "prompt_eval_count": 216, "eval_count": 2})]  # fmt: skip
    rec = parse(_rec(req, parts, True))
    assert (rec.kind, rec.choices[0].content, rec.usage.total_tokens if rec.usage else None) == (
        Kind.OLLAMA_GENERATE,
        "safe",
        218,
    )
    chat = _typed("ollama._types.ChatResponse", {"done": True, "prompt_eval_count": 18, "eval_count": 5, "message": {
        "role": "assistant", "content": "", "thinking": "hm", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}})  # fmt: skip
    rec = parse(_rec({**req, "url": "http://localhost:11434/api/chat", "body": {"model": "x", "messages": []}}, chat))
    assert rec.kind == Kind.OLLAMA_CHAT and rec.choices[0].tool_calls[0].parsed_arguments == {"a": 1}
    assert rec.choices[0].reasoning == "hm"
    embed = _typed("ollama._types.EmbedResponse", {"embeddings": [[0.1, 0.2]], "prompt_eval_count": 6})
    rec = parse(_rec({**req, "url": "http://localhost:11434/api/embeddings", "body": {"input": ["a"]}}, embed))
    assert rec.kind == Kind.OLLAMA_EMBED and rec.usage is not None and rec.usage.total_tokens == 6
    ps = _typed("ollama._types.ProcessResponse", {"models": [{"model": "llama3.2:3b", "name": "llama3.2:3b"}]})
    assert parse(_rec({**req, "url": "http://localhost:11434/api/ps", "body": {}}, ps)).kind == Kind.OLLAMA_ADMIN


def test_tool_runtime_content_is_parsed_json() -> None:
    content = json.dumps({"query": "llama", "top_k": [{"url": "u"}, {"url": "v"}]})
    raw = {"test_id": TID, "request": {"test_id": TID, "provider": "tavily", "tool_name": "web_search", "kwargs": {"query": "llama"}},
           "response": {"is_streaming": False, "body": _typed("ogx_api.tools.ToolInvocationResult",
                                                             {"content": content, "error_message": None})}}  # fmt: skip
    rec = parse(raw)
    assert (rec.kind, rec.provider, rec.summary) == (Kind.TOOL, "tavily", "web_search: 2 results for 'llama'")
    assert rec.details["result"]["top_k"][1]["url"] == "v" and rec.details["kwargs"] == {"query": "llama"}


def test_file_processor() -> None:
    raw = {"request": {"test_id": TID, "provider": "pypdf", "api": "file_processors", "file_id": "file-1"},
           "response": {"is_streaming": False, "body": _typed("a.ProcessFileResponse", {"chunks": [{"content": "p1"}]})}}  # fmt: skip
    rec = parse(raw)
    assert rec.kind == Kind.FILE_PROCESSOR and rec.summary == "1 chunk processed from file-1" and rec.test_id is None


def test_exception_from_a_streamed_request() -> None:
    raw = _rec(chat_request(stream=True), None, False, is_exception=True, exception_message="Error code: 400 - bad image",
               exception_data={"category": "provider_sdk", "type": "BadRequestError", "status_code": 400, "message": "m"})  # fmt: skip
    rec = parse(raw)
    assert (rec.kind, rec.error, rec.status) == (Kind.EXCEPTION, "Error code: 400 - bad image", 400)
    partial = _rec(
        chat_request(stream=True), [chunk([delta(content="Hal")])], True, is_exception=True, exception_message="cut"
    )
    rec = parse(partial)
    assert rec.kind == Kind.EXCEPTION and rec.choices[0].content == "Hal" and "truncated stream" in rec.summary


def _sse(*events: tuple[str, dict[str, object]]) -> list[str]:
    lines: list[str] = []
    for name, data in events:
        lines += [f"event: {name}", "data: " + json.dumps(data), ""]
    return lines


def test_anthropic_messages_json_and_sse() -> None:
    req = {"test_id": TID, "url": "http://0.0.0.0:11434/v1/messages", "method": "POST",
           "payload": {"model": "gpt-oss:20b", "messages": [{"role": "user", "content": "calc"}], "tools": [{"name": "calculator"}]}}  # fmt: skip
    body = {"type": "message", "content": [{"type": "thinking", "thinking": "t"}, {"type": "text", "text": "ok"},
            {"type": "tool_use", "id": "call_d", "name": "calculator", "input": {"expression": "15 * 7"}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 144, "output_tokens": 42}}  # fmt: skip
    rec = parse({"test_id": TID, "request": req, "response": {"status": 200, "is_streaming": False, "body": body}})
    [message] = rec.choices
    assert (rec.kind, rec.model, rec.tools) == (Kind.ANTHROPIC_MESSAGES, "gpt-oss:20b", ("calculator",))
    assert (message.content, message.reasoning, message.finish_reason) == ("ok", "t", "tool_use")
    assert message.tool_calls[0].parsed_arguments == {"expression": "15 * 7"}
    assert rec.usage is not None and rec.usage.total_tokens == 186
    lines = _sse(
        ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 7, "output_tokens": 0}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Th"}}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t", "name": "calc"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": " 2}"}}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"input_tokens": 73, "output_tokens": 64}}),
        ("message_stop", {"type": "message_stop"}),
    )  # fmt: skip
    rec = parse({"test_id": TID, "request": req, "response": {"is_streaming": True, "body": lines}})
    [message] = rec.choices
    assert (
        rec.streaming and rec.chunk_count == 7 and message.reasoning == "Th" and message.finish_reason == "max_tokens"
    )
    assert message.tool_calls[0].parsed_arguments == {"a": 2}
    assert rec.usage is not None and (rec.usage.prompt_tokens, rec.usage.completion_tokens) == (73, 64)


def test_gemini_interactions_and_http_errors() -> None:
    req = {"test_id": TID, "url": "https://generativelanguage.googleapis.com/v1beta/interactions", "method": "POST",
           "payload": {"model": "gemini-2.5-flash-lite", "input": "Weather in Paris?", "stream": False}}  # fmt: skip
    body = {"status": "requires_action", "outputs": [{"type": "thought", "signature": "s"},
            {"type": "function_call", "id": "o5", "name": "get_weather", "arguments": {"location": "Paris"}}],
            "usage": {"total_input_tokens": 58, "total_output_tokens": 15, "total_tokens": 73}}  # fmt: skip
    rec = parse({"test_id": TID, "request": req, "response": {"status": 200, "is_streaming": False, "body": body}})
    assert rec.kind == Kind.GEMINI_INTERACTIONS and rec.choices[0].tool_calls[0].name == "get_weather"
    assert (
        rec.usage is not None
        and rec.usage.total_tokens == 73
        and rec.request_messages[0].content == "Weather in Paris?"
    )
    error = {"error": {"message": "API key not valid", "code": 400}}
    rec = parse({"test_id": TID, "request": req, "response": {"status": 400, "is_streaming": False, "body": error}})
    assert rec.status == 400 and rec.error == "HTTP 400: API key not valid"


def test_gemini_interactions_sse_with_done_marker() -> None:
    req = {"test_id": TID, "url": "https://generativelanguage.googleapis.com/v1beta/interactions", "method": "POST",
           "payload": {"model": "g", "input": "hi", "stream": True}}  # fmt: skip
    lines = _sse(
        ("content.delta", {"event_type": "content.delta", "delta": {"type": "text", "text": "Hel"}}),
        ("content.delta", {"event_type": "content.delta", "delta": {"type": "text", "text": "lo"}}),
        (
            "interaction.complete",
            {
                "event_type": "interaction.complete",
                "interaction": {
                    "status": "completed",
                    "usage": {"total_input_tokens": 3, "total_output_tokens": 2, "total_tokens": 5},
                },
            },
        ),
    )
    lines += ["event: done", "data: [DONE]", ""]  # fmt: skip
    rec = parse({"test_id": TID, "request": req, "response": {"is_streaming": True, "body": lines}})
    assert rec.choices[0].content == "Hello" and rec.usage is not None and rec.usage.total_tokens == 5


def test_rerank() -> None:
    req = {
        "test_id": TID,
        "url": "http://localhost:8000/rerank",
        "method": "POST",
        "payload": {"model": "r", "query": "q"},
    }
    body = {"results": [{"index": 0, "relevance_score": 1.0}], "usage": {"prompt_tokens": 14, "total_tokens": 14}}
    rec = parse({"test_id": TID, "request": req, "response": {"status": 200, "is_streaming": False, "body": body}})
    assert rec.kind == Kind.RERANK and rec.usage is not None and rec.usage.total_tokens == 14


def test_google_genai_streamed_with_function_call() -> None:
    req = {"method": "POST", "url": "vertexai:///generate_content_stream", "headers": {}, "endpoint": "/generate_content_stream",
           "model": "publishers/google/models/gemini-2.0-flash", "body": {"model": "g", "contents": [
               {"role": "user", "parts": [{"text": "weather?"}]}], "config": {"system_instruction": "be brief"}}}  # fmt: skip
    body = [{"candidates": [{"content": {"role": "model", "parts": [{"text": "Let me "}]}}], "usage_metadata": {"traffic_type": "ON_DEMAND"}},
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "check."}, {"function_call": {"name": "w", "args": {"c": "P"}}}]},
                             "finish_reason": "STOP"}],
             "usage_metadata": {"prompt_token_count": 116, "candidates_token_count": 22, "total_token_count": 138}}]  # fmt: skip
    rec = parse(_rec(req, body, True))
    [answer] = rec.choices
    assert (rec.kind, rec.provider, answer.content, answer.finish_reason) == (
        Kind.GENAI,
        "vertexai",
        "Let me check.",
        "STOP",
    )
    assert (
        answer.tool_calls[0].parsed_arguments == {"c": "P"} and rec.usage is not None and rec.usage.total_tokens == 138
    )
    assert [m.role for m in rec.request_messages] == ["system", "user"]


def test_id_normalization_mapping_is_applied_first() -> None:
    raw = stream([chunk([delta(content="see file-5efa8a5a4b414ce98726c4e133a18747 now")])])
    raw["id_normalization_mapping"] = {"file-1": "file-5efa8a5a4b414ce98726c4e133a18747"}
    rec = parse(raw)
    assert rec.choices[0].content == "see file-1 now"


def test_unknown_typed_response_is_kept_raw() -> None:
    rec = parse(_rec(chat_request(), _typed("openai.types.responses.Response", {"id": "r"})))
    assert rec.kind == Kind.UNKNOWN and "Response" in rec.summary and rec.raw is not None


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty file"),
        (b'{"test_id": "x", "request": {', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid"),
        (b"[1, 2]", "top level is a list"),
        (b'{"request": {}, "response": {"body": [], "is_streaming": true}, "x": NaN}', "NaN"),
        (b"[" * 10000 + b"]" * 10000, "nested too deeply"),
        (
            b'{"test_id": 5, "request": {}, "response": {}}',
            "wrong type at test_id: expected a string or null, but it is a number",
        ),
        (
            b'{"test_id": null, "request": [], "response": {}}',
            "wrong type at request: expected an object, but it is a list",
        ),
    ],
)
def test_bad_input_becomes_a_clear_error(data: bytes, fragment: str) -> None:
    rec = loader.parse(data, path="bad.json")
    assert rec.kind == Kind.INVALID and fragment in rec.error


def test_wrong_types_deep_inside_are_errors_not_crashes() -> None:
    wrong_choices = stream([chunk()])
    wrong_choices["response"]["body"][0]["__data__"]["choices"] = "nope"  # type: ignore[index]
    assert parse(wrong_choices).kind == Kind.INVALID
    wrong_usage = stream([chunk([], {"prompt_tokens": "many", "completion_tokens": 1, "total_tokens": 2})])
    rec = parse(wrong_usage)
    assert rec.kind == Kind.INVALID and "usage.prompt_tokens" in rec.error
    wrong_args = stream([chunk([delta(tool_calls=[frag(0, "a", "f", '{"x": ')])])])
    assert parse(wrong_args).choices[0].tool_calls[0].arguments_valid is False


def test_bom_and_duplicate_keys_are_read() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(stream([chunk([delta(content="ok")])])).encode()
    assert loader.parse(data, path="bom.json").choices[0].content == "ok"


def test_load_reads_files_and_caps_size(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(json.dumps(stream([chunk([delta(content="ok")])])).encode())
    assert loader.load(path, name="a.json").choices[0].content == "ok"
    big = loader.load(path, name="a.json", max_bytes=10)
    assert big.kind == Kind.INVALID and big.error.startswith("too large")
    assert "cannot read" in loader.load(tmp_path / "missing.json").error
    assert loader.load(tmp_path).error == "cannot read: it is a folder, not a file"
