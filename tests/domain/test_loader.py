"""loader.parse: every shape classified and understood; bad input becomes a clear error, never an exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recorder_ui.domain import loader
from recorder_ui.domain.model import Kind, Message, Recording, Usage
from tests.domain.recs import chat_request, chunk, delta, frag, parse, stream, usage

TID = "tests/integration/x/test_x.py::test_x"
DATA = Path(__file__).parent.parent / "data"


def _load(name: str) -> Recording:
    rec = loader.load(DATA / name, name=name)
    assert rec.path == name
    return rec


# One hand-made file per shape: (file, kind, streaming, provider, model, chunk_count, summary).
SHAPES = [
    ("streamed_tool_call.json", Kind.CHAT, True, "api.openai.com", "gpt-4o-mini", 5, ""),
    ("not_streamed.json", Kind.CHAT, False, "api.openai.com", "gpt-4o", 0, ""),
    ("completion_streamed.json", Kind.COMPLETION, True, "localhost:8000", "Qwen/Qwen3-0.6B", 3, ""),
    ("embeddings.json", Kind.EMBEDDINGS, False, "api.openai.com", "text-embedding-3-small", 0, "3 embeddings × 4 dimensions"),
    ("model_list.json", Kind.MODEL_LIST, False, "localhost:8080", "", 0, "3 models"),
    ("ollama_ps.json", Kind.OLLAMA_ADMIN, False, "localhost:11434", "", 0, "2 models: llama3.2:3b, all-minilm:l6-v2"),
    ("ollama_generate_stream.json", Kind.OLLAMA_GENERATE, True, "localhost:11434", "llama-guard3:1b", 3, ""),
    ("ollama_chat.json", Kind.OLLAMA_CHAT, False, "localhost:11434", "llama3.2-vision:11b", 0, ""),
    ("tool_web_search.json", Kind.TOOL, False, "tavily", "", 0, "web_search: 2 results for 'Llama 4 Maverick model experts'"),
    ("file_processor.json", Kind.FILE_PROCESSOR, False, "pypdf", "", 0, "2 chunks processed from file-371170885258"),
    ("anthropic_json.json", Kind.ANTHROPIC_MESSAGES, False, "0.0.0.0:11434", "gpt-oss:20b", 0, ""),
    ("anthropic_sse.json", Kind.ANTHROPIC_MESSAGES, True, "0.0.0.0:11434", "gpt-oss:20b", 12, ""),
    ("gemini_interactions.json", Kind.GEMINI_INTERACTIONS, False, "generativelanguage.googleapis.com", "gemini-2.5-flash-lite", 0, ""),
    ("gemini_sse.json", Kind.GEMINI_INTERACTIONS, True, "generativelanguage.googleapis.com", "gemini-2.5-flash-lite", 8, ""),
    ("http_400.json", Kind.GEMINI_INTERACTIONS, False, "generativelanguage.googleapis.com", "nope", 0, "HTTP 400: Model 'nope' is not supported."),
    ("genai.json", Kind.GENAI, False, "vertexai", "publishers/google/models/gemini-2.0-flash", 0, ""),
    ("genai_stream.json", Kind.GENAI, True, "vertexai", "publishers/google/models/gemini-2.0-flash", 3, ""),
    ("rerank.json", Kind.RERANK, False, "localhost:8000", "Qwen/Qwen3-Reranker-0.6B", 0, "2 results ranked"),
    ("databricks_cumulative_usage.json", Kind.CHAT, True, "databricks", "databricks-meta-llama-3-3-70b-instruct", 3, ""),
    ("unknown_typed.json", Kind.UNKNOWN, False, "api.openai.com", "gpt-4o", 0, "unknown shape: response type Response"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kind", "streaming", "provider", "model", "chunks", "summary"), SHAPES)
def test_every_shape_is_classified_and_described(
    name: str, kind: Kind, streaming: bool, provider: str, model: str, chunks: int, summary: str
) -> None:
    rec = _load(name)
    assert (rec.kind, rec.streaming, rec.provider, rec.model, rec.chunk_count, rec.summary) == (
        kind, streaming, provider, model, chunks, summary)  # fmt: skip
    assert rec.raw is not None and rec.error == (summary if name == "http_400.json" else "")


def test_hand_made_files_cover_every_kind_but_the_rare_ollama_embed_and_other_http() -> None:
    kinds = {_load(p.name).kind for p in DATA.glob("*.json")}
    assert set(Kind) - kinds == {Kind.OLLAMA_EMBED, Kind.HTTP}  # both have inline tests below


def test_streamed_tool_call_file_fills_every_request_field() -> None:
    rec = _load("streamed_tool_call.json")
    assert (
        rec.test_id
        == "tests/integration/responses/test_tool_responses.py::test_weather[openai_client-txt=openai/gpt-4o-mini]"
    )
    assert (rec.endpoint, rec.url) == ("/v1/chat/completions", "https://api.openai.com/v1/v1/chat/completions")
    assert rec.request_messages == (Message(role="user", content="What's the weather in Paris?"),)
    assert rec.tools == ("get_weather",) and rec.include_usage is True
    assert rec.request_params == {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True}}
    [answer] = rec.choices
    assert (answer.role, answer.content, answer.finish_reason) == ("assistant", "", "tool_calls")
    assert [(c.id, c.name, c.parsed_arguments) for c in answer.tool_calls] == [
        ("call_EJnf", "get_weather", {"city": "Paris"})
    ]
    assert rec.usage == Usage(
        prompt_tokens=67, completion_tokens=17, total_tokens=84, cached_tokens=0, reasoning_tokens=0
    )


def test_not_streamed_chat_reads_history_images_tool_calls_and_results() -> None:
    rec = _load("not_streamed.json")
    system, user, assistant, tool, again = rec.request_messages
    assert (system.role, system.content) == ("system", "You can use tools.")
    assert (user.content, user.images) == ("Use the calculator tool", ("https://example.org/sum.png",))
    assert assistant.tool_calls[0].parsed_arguments == {"expression": "1 + 1"} and assistant.content == ""
    assert (tool.role, tool.tool_call_id, tool.content) == ("tool", "call_prev", "2")
    assert again.content == "Now 15 * 7" and rec.include_usage is None
    assert rec.request_params["tool_choice"] == "required" and "messages" not in rec.request_params
    [answer] = rec.choices
    assert answer.tool_calls[0].parsed_arguments == {"expression": "15 * 7"} and answer.finish_reason == "tool_calls"


def test_model_list_and_ollama_admin_details() -> None:
    assert _load("model_list.json").details["models"] == ["qwen2.5", "llama3.2:3b", "all-minilm:l6-v2"]
    assert _load("model_list.json").test_id is None
    assert _load("ollama_ps.json").details["models"] == ["llama3.2:3b", "all-minilm:l6-v2"]


def test_embeddings_details_never_hold_vectors() -> None:
    rec = _load("embeddings.json")
    assert rec.details == {"count": 3, "dimensions": [4]}
    assert [m.content for m in rec.request_messages] == ["first document", "second document", "a query"]
    assert rec.request_params["input"] == ["first document", "second document", "a query"]  # the diff keys on it


def test_ollama_native_files() -> None:
    generate = _load("ollama_generate_stream.json")
    assert (generate.choices[0].content, generate.choices[0].finish_reason) == ("unsafe\nS1", "stop")
    assert generate.request_messages[0].content.startswith("<|begin_of_text|>")
    chat = _load("ollama_chat.json")
    [answer] = chat.choices
    assert (answer.content, answer.reasoning) == ("A cat on a sofa.", "Look at the image first.")
    assert answer.tool_calls[0].parsed_arguments == {"subject": "cat", "place": "sofa"}
    assert chat.request_messages[0].images == ("data:image/*;base64,iVBORw0KGgo=",)


def test_tool_and_file_processor_files() -> None:
    tool = _load("tool_web_search.json")
    assert tool.details["result"]["top_k"][1]["title"] == "MoE" and tool.details["kwargs"] == {
        "query": "Llama 4 Maverick model experts"
    }
    assert tool.tools == ("web_search",) and tool.error == "" and tool.details["error_message"] is None
    processor = _load("file_processor.json")
    assert [c.content for c in processor.choices] == ["Page one text.", "Page two text."]
    assert processor.test_id is None and processor.details["file_id"] == "file-371170885258"


def test_exception_file() -> None:
    rec = _load("exception.json")
    assert rec.summary.startswith("BadRequestError 400: Error code: 400") and "invalid image input" in rec.error
    assert (rec.status, rec.usage, rec.choices, rec.include_usage) == (400, None, (), True)
    assert rec.request_messages[0].images == ("data:image/png;base64,AAAA",)


def test_truncated_stream_is_an_exception_with_what_arrived() -> None:
    rec = _load("truncated.json")
    assert (rec.kind, rec.streaming, rec.chunk_count, rec.error) == (
        Kind.EXCEPTION,
        True,
        2,
        "Connection reset by peer",
    )
    assert rec.choices[0].content == "Once upon a time" and rec.summary.endswith("(truncated stream)")
    assert rec.details["note"] == "truncated stream: 2 chunks before the exception"


def test_anthropic_files() -> None:
    rec = _load("anthropic_json.json")
    assert [(m.role, m.content) for m in rec.request_messages] == [
        ("system", "You are exact."),
        ("user", "What is 15 * 7?"),
    ]
    assert rec.tools == ("calculator",) and rec.status == 200
    [answer] = rec.choices
    assert (answer.content, answer.reasoning, answer.finish_reason) == (
        "Let me compute that.",
        "Use the calculator.",
        "tool_use",
    )
    assert (answer.tool_calls[0].id, answer.tool_calls[0].arguments) == ("call_dg2g1ozz", '{"expression":"15 * 7"}')
    sse = _load("anthropic_sse.json")
    [answer] = sse.choices
    assert (answer.content, answer.reasoning, answer.finish_reason) == ("Checking", "Need the tool.", "tool_use")
    assert [(c.id, c.name, c.parsed_arguments) for c in answer.tool_calls] == [
        ("call_lima1", "get_weather", {"city": "Lima"})
    ]


def test_gemini_interaction_files() -> None:
    rec = _load("gemini_interactions.json")
    user, call, result, again = rec.request_messages
    assert (user.role, user.content) == ("user", "What is the weather in Tokyo?")
    assert call.role == "assistant" and call.tool_calls[0].parsed_arguments == {"location": "Tokyo"}
    assert (result.role, result.tool_call_id, result.name, result.content) == (
        "tool",
        "lsdifx64",
        "get_weather",
        '{"temperature_celsius":22}',
    )
    assert again.content == "And Paris?" and rec.tools == ("get_weather",)
    [answer] = rec.choices
    assert (answer.content, answer.finish_reason, answer.reasoning) == ("Checking Paris.", "requires_action", "")
    assert answer.tool_calls[0].parsed_arguments == {"location": "Paris"}
    [streamed] = _load("gemini_sse.json").choices
    assert (streamed.content, streamed.finish_reason) == ("Hi there!", "completed")


def test_http_error_is_not_an_exception() -> None:
    rec = _load("http_400.json")
    assert (rec.status, rec.error, rec.usage, rec.choices) == (
        400,
        "HTTP 400: Model 'nope' is not supported.",
        None,
        (),
    )


def test_genai_files() -> None:
    rec = _load("genai.json")
    user, call, result = rec.request_messages
    assert (user.content, call.role, call.tool_calls[0].parsed_arguments) == (
        "Weather in Paris?",
        "assistant",
        {"city": "Lyon"},
    )
    assert (result.role, result.name, result.content) == ("tool", "get_weather", '{"temp":18}')
    assert rec.tools == ("get_weather",)
    [answer] = rec.choices
    assert (answer.content, answer.finish_reason, answer.tool_calls[0].arguments) == (
        "Let me check.",
        "STOP",
        '{"city":"Paris"}',
    )
    streamed = _load("genai_stream.json")
    assert [m.role for m in streamed.request_messages] == ["system", "user"]
    assert streamed.choices[0].content == "One, two, three."


def test_rerank_file() -> None:
    rec = _load("rerank.json")
    assert rec.request_messages == (Message(role="user", content="What is a llama?"),)
    assert rec.details["results"][0]["relevance_score"] > 1 and rec.usage == Usage(14, None, 14)


def test_mapping_file_shows_the_normalized_id_everywhere() -> None:
    rec = _load("mapping.json")
    assert rec.request_messages[0].content == "Summarise file-1 please"
    assert rec.choices[0].tool_calls[0].parsed_arguments == {"file_id": "file-1"}
    assert "file-5efa8a5a4b414ce98726c4e133a18747" not in json.dumps(rec.raw)
    assert rec.raw["id_normalization_mapping"] == {}
    assert rec.details["id_normalization_mapping"] == {"file-1": "file-5efa8a5a4b414ce98726c4e133a18747"}


def test_mapping_replaces_in_key_order_and_inside_escaped_strings() -> None:
    raw = stream([chunk([delta(content='ids: abc-long and abc and "q\\"x"')])])
    raw["id_normalization_mapping"] = {"L": "abc-long", "S": "abc", "Q": '"q\\"x"'}
    assert parse(raw).choices[0].content == "ids: L and S and Q"
    raw["id_normalization_mapping"] = {"S": "abc", "L": "abc-long"}  # the shorter one first eats the longer
    assert parse(raw).choices[0].content.startswith("ids: S-long and S")


def test_mapping_changes_strings_only_never_numbers_or_the_files_syntax() -> None:
    """An id that also reads as a number ("15") or a JSON word ("true") is replaced in text only: token counts,
    flags and the file's syntax stay as recorded."""
    raw = stream([chunk([delta(content="run 15 true")]), chunk([], usage=usage(15, 3))])
    raw["id_normalization_mapping"] = {"id-A": "15", "id-B": "true", "id-C": "1"}
    rec = parse(raw)
    assert rec.error == "" and rec.kind == Kind.CHAT
    assert rec.choices[0].content == "run id-A id-B"
    assert rec.usage == Usage(15, 3, 18) and rec.raw["request"]["body"]["stream"] is True


def test_mapping_of_the_wrong_type_is_an_error() -> None:
    raw = stream([chunk([delta(content="x")])])
    raw["id_normalization_mapping"] = {"file-1": 5}
    rec = parse(raw)
    assert (
        rec.kind == Kind.INVALID
        and rec.error == "wrong type at id_normalization_mapping.file-1: expected a string, but it is a number"
    )


def test_invalid_files() -> None:
    rec = _load("not_an_object.json")
    assert (rec.kind, rec.error, rec.raw) == (
        Kind.INVALID,
        "not a recording: the top level is a list, not an object",
        [1, 2, 3],
    )
    rec = _load("wrong_types.json")
    assert rec.error == "wrong type at response.body[1].__data__.choices: expected a list, but it is a string"
    assert rec.raw["test_id"] == "tests/integration/x/test_x.py::test_wrong_types"


def test_script_in_content_stays_text() -> None:
    rec = _load("script_in_content.json")
    assert rec.choices[0].content == "<script>alert('x')</script><b>bold</b>"
    assert rec.request_messages[0].content == "Echo this: <script>alert('user')</script>"
    assert rec.tools == ("render<img src=x onerror=alert(1)>",)


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


def test_what_pythons_json_writes_is_read_exactly() -> None:
    """NaN, Infinity, lone surrogate escapes and integers beyond 64 bits: the recorder (Python's json) may
    write each; they are read, not refused, and nothing is rounded."""
    data = b'{"request": {}, "response": {"body": [], "is_streaming": true}, "x": NaN, "y": -Infinity}'
    assert loader.parse(data, path="nan.json").kind != Kind.INVALID
    lone = b'{"test_id": "tests/a.py::t\\ud800x", "request": {}, "response": {"body": null}}'
    rec = loader.parse(lone, path="lone.json")
    assert rec.test_id == "tests/a.py::t\\ud800x"  # kept, as visible text
    big = stream([chunk([], {"prompt_tokens": 2**70 + 1, "completion_tokens": 1, "total_tokens": 2})])
    rec = loader.parse(json.dumps(big).encode(), path="big.json")
    assert rec.usage is not None and rec.usage.prompt_tokens == 2**70 + 1  # exact, not a rounded float


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


def test_other_passthrough_urls_are_plain_http() -> None:
    req = {
        "test_id": TID,
        "url": "http://localhost:9000/v1/score",
        "method": "POST",
        "payload": {"model": "s", "text": "a"},
    }
    rec = parse(
        {"test_id": TID, "request": req, "response": {"status": 200, "is_streaming": False, "body": {"score": 0.5}}}
    )
    assert (rec.kind, rec.endpoint, rec.provider, rec.summary, rec.request_params) == (
        Kind.HTTP, "/v1/score", "localhost:9000", "HTTP 200", {"model": "s", "text": "a"})  # fmt: skip


def test_error_messages_say_what_is_wrong() -> None:
    assert loader.parse(b'{"a": "caf\xe9"}', path="x").error == "not valid UTF-8 text: byte 0xe9 at offset 10"
    assert loader.parse(b"  \n", path="x").error == "empty file"
    assert loader.parse(b'{"t": -Infinity}', path="x").error == "not a recording: no 'request' key"  # read
    assert loader.parse(b'{"t": "\\ud800"}', path="x").error == "not a recording: no 'request' key"  # read
    assert loader.parse(b'{"x": 1}', path="x").error == "not a recording: no 'request' key"
    wrong = stream([chunk([delta(content="x")])], stream_options={"include_usage": True})
    wrong["response"]["is_streaming"] = "yes"  # type: ignore[index]
    assert parse(wrong).error == "wrong type at response.is_streaming: expected true or false, but it is a string"
    wrong = stream([chunk([delta(content=5)])])
    assert (
        parse(wrong).error
        == "wrong type at response.body[0].__data__.choices[0].delta.content: expected a string, but it is a number"
    )
    wrong = stream([chunk([delta(tool_calls=[frag(0, "a", "f", "{}")])])], messages="hi")
    assert parse(wrong).error == "wrong type at request.body.messages: expected a list, but it is a string"


def test_invalid_recordings_keep_the_parsed_json() -> None:
    wrong = stream([chunk([delta(content="x")]), chunk([delta(content="y")])])
    wrong["response"]["body"][1] = ["not", "a", "chunk"]  # type: ignore[index]
    rec = parse(wrong)
    assert rec.error == "wrong type at response.body[1]: expected an object, but it is a list" and rec.raw == wrong
    wrong["response"]["body"] = [["a list of lists"]]  # type: ignore[index]
    assert parse(wrong).kind == Kind.UNKNOWN  # well-formed JSON of a shape nobody knows


def test_load_reads_files_and_caps_size(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(json.dumps(stream([chunk([delta(content="ok")])])).encode())
    assert loader.load(path, name="a.json").choices[0].content == "ok"
    big = loader.load(path, name="a.json", max_bytes=10)
    assert big.kind == Kind.INVALID and big.error == f"too large: {path.stat().st_size} bytes (limit 10)"
    assert loader.load(path, max_bytes=path.stat().st_size).kind == Kind.CHAT  # exactly at the limit is fine
    assert "cannot read" in loader.load(tmp_path / "missing.json").error
    assert loader.load(tmp_path).error == "cannot read: it is a folder, not a file"


def test_mapping_reaches_files_too_deep_to_re_serialise() -> None:
    deep = "[" * 600 + '"file-5efa"' + "]" * 600  # orjson reads 1,024 levels but writes only 255
    raw = stream([chunk([delta(content="see file-5efa")])])
    text = json.dumps({**raw, "id_normalization_mapping": {"file-1": "file-5efa"}}).replace(
        '"stream": true', f'"extra": {deep}'
    )
    rec = loader.parse(text.encode(), path="deep.json")
    assert rec.choices[0].content == "see file-1" and "file-5efa" not in json.dumps(rec.raw)
    too_deep = text.replace(deep, "[" * 1000 + "1" + "]" * 1000)
    assert loader.parse(too_deep.encode(), path="deep.json").error == "nested too deeply to read"


def test_anthropic_history_gives_one_tool_message_per_result() -> None:
    messages = [
        {"role": "user", "content": "Weather in Lima and Quito?"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "Two calls."},
                                          {"type": "tool_use", "id": "t1", "name": "w", "input": {"c": "Lima"}},
                                          {"type": "tool_use", "id": "t2", "name": "w", "input": {"c": "Quito"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "18C"},
                                     {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "12C"}]},
                                     {"type": "text", "text": "Compare them."}]},
    ]  # fmt: skip
    req = {"test_id": TID, "url": "http://0.0.0.0:11434/v1/messages", "method": "POST",
           "payload": {"model": "m", "messages": messages}}  # fmt: skip
    body = {"type": "message", "content": [{"type": "text", "text": "Lima is warmer."}], "stop_reason": "end_turn"}
    rec = parse({"test_id": TID, "request": req, "response": {"status": 200, "is_streaming": False, "body": body}})
    user, assistant, first, second, follow_up = rec.request_messages
    assert assistant.reasoning == "Two calls." and [c.parsed_arguments for c in assistant.tool_calls] == [
        {"c": "Lima"},
        {"c": "Quito"},
    ]
    assert [(m.role, m.tool_call_id, m.content) for m in (first, second)] == [
        ("tool", "t1", "18C"),
        ("tool", "t2", "12C"),
    ]
    assert (follow_up.role, follow_up.content) == ("user", "Compare them.")
