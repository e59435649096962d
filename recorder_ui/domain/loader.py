"""Read one recording file and understand it: classify its shape, let its wire format (formats/) read the answer,
find its usage."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from recorder_ui.domain import jsontext, usage
from recorder_ui.domain.formats.exceptions import _exception
from recorder_ui.domain.formats.genai import _genai
from recorder_ui.domain.formats.ollama import _ollama_admin, _ollama_embed, _ollama_native
from recorder_ui.domain.formats.openai import _chat, _completion, _embeddings, _model_list
from recorder_ui.domain.formats.passthrough import _passthrough
from recorder_ui.domain.formats.tools import _file_processor, _tool
from recorder_ui.domain.model import Kind, Recording
from recorder_ui.domain.readers import _class_name, _Fields, _obj
from recorder_ui.domain.requests import _inference_request
from recorder_ui.domain.usage import WrongType, type_name

_Shape = Callable[[dict[str, Any], dict[str, Any], Any, _Fields], _Fields]


class RecordingError(ValueError):
    """The file is not a valid recording; the message says why."""


def load(path: Path, *, name: str | None = None, max_bytes: int | None = None, recorder: str = "") -> Recording:
    """Read one file (read-only) and parse it. Never raises: problems come back as an INVALID recording.
    recorder: the one whose replay judges the file (Recording.recorder)."""
    label = name if name is not None else str(path)
    try:
        with open(path, "rb") as handle:
            if max_bytes is None:
                data = handle.read()
            else:
                size = os.fstat(handle.fileno()).st_size
                if size > max_bytes:
                    return _invalid(label, f"too large: {size} bytes (limit {max_bytes})")
                # Ask for the size we expect (read(n) allocates n bytes up front), then for the rest if it grew.
                data = handle.read(size + 1)
                if size < len(data) <= max_bytes:
                    data += handle.read(max_bytes + 1 - len(data))
                if len(data) > max_bytes:  # it grew after the size check: still never read more than the cap
                    return _invalid(label, f"too large: over {max_bytes} bytes (limit {max_bytes})")
    except IsADirectoryError:
        return _invalid(label, "cannot read: it is a folder, not a file")
    except OSError as exc:
        return _invalid(label, f"cannot read: {exc.strerror or exc}")
    return parse(data, path=label, recorder=recorder)


def parse(data: bytes, *, path: str, recorder: str = "") -> Recording:
    """Parse the bytes of one recording file. Never raises: a file that is not a recording comes back INVALID."""
    rec = _parse(data, path)
    return dataclasses.replace(rec, recorder=recorder) if recorder else rec


def _parse(data: bytes, path: str) -> Recording:
    try:
        raw = _decode(data)
    except RecordingError as exc:
        return _invalid(path, str(exc))
    if not isinstance(raw, dict):
        return _invalid(path, f"not a recording: the top level is {type_name(raw)}, not an object", raw=raw)
    try:
        raw, applied = _apply_mapping(raw)
        return _understand(raw, path, applied)
    except (RecordingError, WrongType) as exc:
        return _invalid(path, str(exc), raw=raw)
    except RecursionError:
        return _invalid(path, "nested too deeply to read", raw=raw)
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
        # The safety net: the shape code checks types where it reads them, so this is a case it did not foresee.
        return _invalid(path, f"unexpected value in the recording ({type(exc).__name__}: {exc})", raw=raw)


def parse_mapping(raw: Mapping[str, Any], *, path: str) -> Recording:
    """Understand an already-decoded recording."""
    return parse(jsontext.dumps(raw), path=path)


def _invalid(path: str, error: str, raw: Any = None) -> Recording:
    return Recording(path=path, kind=Kind.INVALID, error=error, raw=raw)


_TOO_DEEP = "nested too deeply to read: over 1,024 levels of JSON (the parser's limit)"


def _decode(data: bytes) -> Any:
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]  # a UTF-8 byte-order mark: harmless, so read past it
    try:
        return jsontext.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _refusal(data, exc) from None
    except UnicodeDecodeError as bad:
        raise RecordingError(f"not valid UTF-8 text: byte 0x{data[bad.start]:02x} at offset {bad.start}") from None
    except RecursionError:
        raise RecordingError(_TOO_DEEP) from None
    except ValueError as exc:  # the standard library's reader
        raise RecordingError(f"not valid JSON: {exc}") from None


def _refusal(data: bytes, exc: orjson.JSONDecodeError) -> RecordingError:
    """The RecordingError that says, in words, why orjson refused data."""
    message = str(exc)
    if not data.strip():
        return RecordingError("empty file")
    if "UTF-8" in message or "utf-8" in message:
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError as bad:
            return RecordingError(f"not valid UTF-8 text: byte 0x{data[bad.start]:02x} at offset {bad.start}")
        return RecordingError(f"not valid UTF-8 text: {message}")
    if "depth limit" in message or "recursion" in message:
        return RecordingError(_TOO_DEEP)
    return RecordingError(f"not valid JSON: {message}")


def _apply_mapping(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply id_normalization_mapping (format doc 2.3): substring replacement on the serialised file, in key order."""
    mapping = raw.get("id_normalization_mapping")
    if mapping is None or mapping == {}:
        return raw, {}  # the usual case: nothing to re-serialise
    if not isinstance(mapping, dict):
        raise WrongType(("id_normalization_mapping",), "an object", mapping)
    for normalized, original in mapping.items():
        if not isinstance(original, str):
            raise WrongType(("id_normalization_mapping", normalized), "a string", original)
    pairs = [(original, normalized) for normalized, original in mapping.items() if original]
    # Every string (keys too) walked, rather than a replacement on the serialised file: an id that also reads as
    # a number or a JSON word ("1", "true") would otherwise rewrite token counts or break the file's syntax.
    result = _replace_in_strings(raw, pairs, _Growth(len(jsontext.dumps(raw))))
    result["id_normalization_mapping"] = {}  # applied: from here on it counts as empty
    return result, dict(mapping)


class _Growth:
    """How much applying a mapping may grow a file: a short id mapped to a long one and found thousands of times
    would make gigabytes of a small file. Up to 4 times its size and 1 MB more; beyond, the file is not read."""

    def __init__(self, size: int) -> None:
        self.left = 3 * size + 1_000_000

    def check(self, text: str, old: str, new: str) -> None:
        if len(new) > len(old) and (grown := text.count(old) * (len(new) - len(old))):
            self.left -= grown
            if self.left < 0:
                raise RecordingError(
                    "id_normalization_mapping would grow the file to over 4 times its size (a short id mapped to a "
                    "long one, found many times): not applied, so the file is not read"
                )


def _replace_in_strings(value: Any, pairs: list[tuple[str, str]], growth: _Growth) -> Any:
    """The mapping applied to every string (keys too), each id in turn in the mapping's order."""
    if isinstance(value, str):
        for original, normalized in pairs:
            growth.check(value, original, normalized)
            value = value.replace(original, normalized)
        return value
    if isinstance(value, dict):
        return {_replace_in_strings(k, pairs, growth): _replace_in_strings(v, pairs, growth) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_in_strings(v, pairs, growth) for v in value]
    return value


# Classification (format doc, section 3) -------------------------------------------------------------------


def _understand(raw: dict[str, Any], path: str, applied: dict[str, str]) -> Recording:
    for key in ("request", "response"):
        if raw.get(key) is None:
            problem = f"{key} is null" if key in raw else f"no {key!r} key"
            raise RecordingError(f"not a recording: {problem}")
    request = _obj(raw["request"], ("request",))
    response = _obj(raw["response"], ("response",))
    test_id = raw.get("test_id")
    if test_id is not None and not isinstance(test_id, str):
        raise WrongType(("test_id",), "a string or null", test_id)
    for flag in ("is_streaming", "is_exception"):
        if response.get(flag) is not None and not isinstance(response[flag], bool):
            raise WrongType(("response", flag), "true or false", response[flag])
    status = response.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise WrongType(("response", "status"), "a whole number", status)
    body = response.get("body")

    shape: _Shape
    fields: _Fields = {"streaming": response.get("is_streaming") is True, "status": status}
    if response.get("is_exception") is True:
        shape = _exception
    elif "payload" in request:
        shape = _passthrough
    elif "tool_name" in request:
        shape = _tool
    elif "file_id" in request:
        shape = _file_processor
    else:
        fields.update(_inference_request(request))
        if fields["url"].startswith("vertexai:"):
            shape = _genai
        else:
            shape = _HANDLERS.get(_class_name(body[0] if isinstance(body, list) and body else body), _unknown)
    fields.update(shape(request, response, body, fields))
    kind: Kind = fields["kind"]
    if kind != Kind.EXCEPTION:
        fields["usage"] = usage.for_body(kind=kind, body=body, status=status)
    if applied:
        fields["details"] = {**fields.get("details", {}), "id_normalization_mapping": applied}
    return Recording(path=path, test_id=test_id or None, raw=raw, **fields)


def _unknown(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    """A well-formed recording of a shape this reader does not know (e.g. /v1/responses): show the raw JSON."""
    first = body[0] if isinstance(body, list) and body else body
    name = _class_name(first)
    if name:
        what = f"response type {name}"
    elif body is None:
        what = "an empty response body"
    elif isinstance(body, list) and not body:
        what = "an empty response list"
    else:
        what = f"a response body that is {type_name(first)} without __type__"
    return {"kind": Kind.UNKNOWN, "summary": f"unknown shape: {what}"}


_HANDLERS: dict[str, _Shape] = {
    "ChatCompletion": _chat,
    "ChatCompletionChunk": _chat,
    "Completion": _completion,
    "CreateEmbeddingResponse": _embeddings,
    "Model": _model_list,
    "ListResponse": _ollama_admin,
    "ProcessResponse": _ollama_admin,
    "ProgressResponse": _ollama_admin,
    "GenerateResponse": _ollama_native,
    "ChatResponse": _ollama_native,
    "EmbedResponse": _ollama_embed,
}
