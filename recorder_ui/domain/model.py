"""Frozen value types shared by the domain modules: what a recording is, once understood."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """The shape of a recording, decided by section 3 of the format doc."""

    CHAT = "chat"  # OpenAI chat completion, streamed or not
    COMPLETION = "completion"  # legacy /v1/completions
    EMBEDDINGS = "embeddings"
    MODEL_LIST = "model-list"
    OLLAMA_GENERATE = "ollama-generate"
    OLLAMA_CHAT = "ollama-chat"
    OLLAMA_EMBED = "ollama-embed"
    OLLAMA_ADMIN = "ollama-admin"  # /api/ps, /api/tags, /api/pull
    TOOL = "tool"  # tool runtime invocation (web search)
    FILE_PROCESSOR = "file-processor"
    EXCEPTION = "exception"
    ANTHROPIC_MESSAGES = "anthropic-messages"
    GEMINI_INTERACTIONS = "gemini-interactions"
    RERANK = "rerank"
    HTTP = "http"  # another raw HTTP passthrough
    GENAI = "genai"  # Google genai (Vertex AI)
    UNKNOWN = "unknown"  # a well-formed recording of a shape we do not know: show raw JSON
    INVALID = "invalid"  # not a recording at all: bad JSON, wrong types; `error` says why


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call, its argument fragments joined."""

    id: str
    name: str
    arguments: str  # the raw text as recorded (joined fragments); objects are dumped to JSON text
    parsed_arguments: Any = None  # the JSON value when `arguments` parses
    arguments_valid: bool = True  # False when `arguments` is not valid JSON (empty counts as valid: {})
    index: int = 0


@dataclass(frozen=True, slots=True)
class Message:
    """A request message, or an assistant answer (one per choice) reassembled from the response."""

    role: str
    content: str = ""  # text parts joined; reasoning tags stay out of it when split off
    reasoning: str = ""
    refusal: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""  # on role "tool" messages
    name: str = ""
    images: tuple[str, ...] = ()  # image URLs in content parts: data: URLs or remote links (never fetched)
    index: int = 0  # choice index (responses only)
    finish_reason: str = ""  # responses only; "" when the provider sent none
    has_logprobs: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one recording: the last non-null usage object, mapped to OpenAI names."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """One stream element (chunk, SSE event, genai piece) as the Chunks tab shows it."""

    index: int
    choice_index: int | None = None
    role: str = ""
    text: str = ""
    reasoning: str = ""
    tool_fragment: str = ""  # e.g. "#0 get_weather {\"ci"
    finish_reason: str = ""
    usage: Usage | None = None
    note: str = ""  # e.g. "no choices (Azure prompt filter)", "event: message_start"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem a check rule found in one recording."""

    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Recording:
    """One recording file, parsed, classified and reassembled. Never raised about: errors live in `error`."""

    path: str  # as given to the loader (relative to its root when the caller passes a relative name)
    kind: Kind
    streaming: bool = False
    test_id: str | None = None
    endpoint: str = ""
    url: str = ""
    provider: str = ""  # host of request.url ("api.openai.com"), "vertexai", or a tool provider ("tavily")
    model: str = ""
    request_messages: tuple[Message, ...] = ()
    request_params: dict[str, Any] = field(default_factory=dict)  # request body minus messages and tools
    tools: tuple[str, ...] = ()  # names of the tools the request offers
    choices: tuple[Message, ...] = ()  # the reassembled answer, one per choice
    usage: Usage | None = None
    include_usage: bool | None = None  # request.body.stream_options.include_usage; None when absent
    chunk_count: int = 0  # stream elements
    status: int | None = None  # HTTP status of passthrough recordings
    error: str = ""  # exception message, HTTP error, or why the file is not a valid recording
    summary: str = ""  # one line for non-chat kinds: "3 embeddings, 1536 dimensions", "42 models", ...
    details: dict[str, Any] = field(default_factory=dict)  # kind-specific extras (tool result, model ids, ...)
    raw: Any = None  # the whole file as JSON (mapping applied); None for unreadable files
    # The recorder whose replay judges the file (replay.RECORDERS): "" for today's, else its checkout's own.
    recorder: str = ""
