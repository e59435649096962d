"""OpenAI wire formats (format doc 4.1 to 4.5): chat completions, legacy completions, embeddings, model lists."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from recorder_ui.domain import stream
from recorder_ui.domain.model import Kind, Message
from recorder_ui.domain.readers import _DATA, _arr, _chunk_data, _data, _Fields, _plural, _str, _text_or_dump, _Where
from recorder_ui.domain.requests import _prompt_messages
from recorder_ui.domain.stream import _reassemble
from recorder_ui.domain.usage import WrongType


def _chat(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    if isinstance(body, list):
        chunks = _chunk_data(body)
        model = fields["model"] or next((m for c in chunks if isinstance(m := c.get("model"), str) and m), "")
        return {"kind": Kind.CHAT, "choices": _reassemble(chunks), "chunk_count": len(chunks), "model": model}
    data = _data(body, ("response", "body"))
    where = ("response", "body", "__data__", "choices")
    choices = []
    for number, choice in enumerate(_arr(data.get("choices"), where)):
        if not isinstance(choice, dict):
            raise WrongType((*where, number), "an object", choice)
        choices.append(stream.chat_message(choice, (*where, number)))
    model = fields["model"] or _str(data.get("model"), ("response", "body", "__data__", "model"))
    return {"kind": Kind.CHAT, "choices": tuple(choices), "model": model}


def _completion(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    elements = body if isinstance(body, list) else [body]
    texts: dict[int, list[str]] = {}
    finish: dict[int, str] = {}
    model = ""
    for number, element in enumerate(elements):
        path: _Where = ("response", "body", number) if isinstance(body, list) else ("response", "body")
        data = _data(element, path)
        model = model or _text_or_dump(data.get("model"))
        for position, choice in enumerate(_arr(data.get("choices"), (*path, "__data__", "choices"))):
            where = (*path, "__data__", "choices", position)
            if not isinstance(choice, dict):
                raise WrongType(where, "an object", choice)
            index = choice.get("index") or 0
            if not isinstance(index, int):
                raise WrongType((*where, "index"), "a whole number", index)
            texts.setdefault(index, []).append(_str(choice.get("text"), (*where, "text")))
            if choice.get("finish_reason"):
                finish[index] = _str(choice["finish_reason"], (*where, "finish_reason"))
    choices = tuple(
        Message(role="assistant", content="".join(parts), index=index, finish_reason=finish.get(index, ""))
        for index, parts in sorted(texts.items())
    )
    return {
        "kind": Kind.COMPLETION,
        "choices": choices,
        "chunk_count": len(elements) if isinstance(body, list) else 0,
        "model": fields["model"] or model,
    }


def _embeddings(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    data = _data(body, ("response", "body"))
    vectors = _arr(data.get("data"), ("response", "body", "__data__", "data"))
    dims = sorted(
        {len(v["embedding"]) for v in vectors if isinstance(v, dict) and isinstance(v.get("embedding"), list)}
    )
    inputs = fields["request_params"].get("input")
    return {
        "kind": Kind.EMBEDDINGS,
        "summary": f"{_plural(len(vectors), 'embedding')} × {'/'.join(map(str, dims)) or '?'} dimensions",
        "details": {"count": len(vectors), "dimensions": dims},
        "request_messages": fields["request_messages"] or _prompt_messages(inputs, "input"),
        "model": fields["model"] or _text_or_dump(data.get("model")),
    }


_ID = itemgetter("id")


def _model_list(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    entries = _arr(body, ("response", "body"))
    try:  # 17,732 entries in the corpus: one C-level pass when every entry is a typed object with a string id
        ids = list(map(_ID, map(_DATA, entries)))
        if not all(type(i) is str for i in ids):
            raise TypeError
    except (TypeError, KeyError):
        ids = [_text_or_dump(_data(e, ("response", "body", n)).get("id")) for n, e in enumerate(entries)]
    return {"kind": Kind.MODEL_LIST, "summary": _plural(len(ids), "model"), "details": {"models": ids}}
