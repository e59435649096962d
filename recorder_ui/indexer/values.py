"""Column values and search text for one parsed recording. Pure Python: no Django."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import platform
from pathlib import Path

import orjson

from recorder_ui.domain import checks, lifecycle, paths, providers, replay, threads, usage
from recorder_ui.domain.model import Kind, Recording, Usage

SEARCH_TEXT_LIMIT = 32_000  # characters of searchable text kept per recording
TEXT_PIECE_LIMIT = 4_000  # characters kept of any one message, so a huge prompt does not crowd out the rest
TOKEN_COLUMNS = tuple(f.name for f in dataclasses.fields(Usage))  # one column per count, named alike
MAX_COUNT = usage.MAX_COUNT
TEST_ID_BYTES = 2400  # PostgreSQL's b-tree takes index entries of about 2,700 bytes at most
# Columns of bounded length (RecordingEntry's CharFields, and the summary), clipped to fit.
CHAR_LIMITS = {
    "test_file": 1024, "test_name": 1024, "suite": 512, "endpoint": 512, "provider": 512, "provider_name": 40,
    "model": 512, "finish_reason": 64, "summary": 2000, "replay_rule": 120, "replay_name": 100,
}  # fmt: skip


def stored_test_id(test_id: str) -> str:
    """A test id as the index keeps it: its first TEST_ID_BYTES bytes (PostgreSQL's index limit), whole characters."""
    encoded = test_id.encode("utf-8", "surrogatepass")
    if len(encoded) <= TEST_ID_BYTES:
        return test_id
    return encoded[:TEST_ID_BYTES].decode("utf-8", "ignore")


def split_test_id(test_id: str) -> tuple[str, str, str]:
    """'tests/x/test_a.py::Cls::test_b[p-q]' -> ('tests/x/test_a.py', 'Cls::test_b', 'p-q')."""
    if not test_id:
        return "", "", ""
    file_part, _, rest = test_id.partition("::")
    params = ""
    if rest.endswith("]") and "[" in rest:
        bracket = rest.index("[")
        rest, params = rest[:bracket], rest[bracket + 1 : -1]
    return file_part, rest, params


def suite_for(rel_path: str, test_file: str) -> str:
    """The area folder: tests/integration/<area>/recordings/x.json -> <area>."""
    parts = rel_path.split("/")[:-1]
    if "recordings" in parts:
        parts = parts[: len(parts) - parts[::-1].index("recordings") - 1]
    if "integration" in parts:
        parts = parts[parts.index("integration") + 1 :]
    elif len(parts) >= 1 and parts[0] == "tests":
        parts = parts[1:]
    if parts:
        return "/".join(parts)
    if test_file:
        folder = test_file.rsplit("/", 1)[0] if "/" in test_file else ""
        return folder.removeprefix("tests/integration/").removeprefix("tests/") or folder
    return ""


def _clip(text: str, limit: int = TEXT_PIECE_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit]


def search_text_for(rec: Recording) -> str:
    """What full-text search looks at: messages, assembled output, tool names and arguments."""
    pieces: list[str] = []
    if rec.test_id:
        pieces.append(rec.test_id)
    if rec.model:
        pieces.append(rec.model)
    for message in (*rec.request_messages, *rec.choices):
        if message.content:
            pieces.append(_clip(message.content))
        if message.reasoning:
            pieces.append(_clip(message.reasoning))
        if message.refusal:
            pieces.append(message.refusal)
        for call in message.tool_calls:
            pieces.append(call.name)
            pieces.append(_clip(call.arguments))
    pieces.extend(rec.tools)
    if rec.summary:
        pieces.append(rec.summary)
    if rec.error:
        pieces.append(_clip(rec.error))
    text = "\n".join(dict.fromkeys(p for p in pieces if p))  # a history repeats: keep each piece once
    return text[:SEARCH_TEXT_LIMIT]


@functools.cache
def parser_version(recorder: str = "") -> str:
    """parsed_by of the rows this code writes for files judged by `recorder` (Recording.recorder): a root whose
    checkout has another recorder has other replay values, so neither takes the other's rows as copies."""
    code = _code_mark()
    return code if not recorder else hashlib.sha256(f"{code} {recorder}".encode()).hexdigest()[:16]


@functools.cache
def _code_mark() -> str:
    """A mark of the code that turns a file's bytes into its row values: the domain package, this module and the
    parse's (pool.py), the JSON reader and Python's version. Equal marks and equal bytes at the same path give
    equal values, so a row of another root can stand for a file of this one (copies.py); a row any other code
    wrote never does."""
    digest = hashlib.sha256(f"{platform.python_version()} orjson {orjson.__version__}".encode())
    here = Path(__file__).resolve()
    app = here.parent.parent
    for source in (here, here.with_name("pool.py"), *sorted((app / "domain").rglob("*.py"))):
        digest.update(source.relative_to(app).as_posix().encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def entry_values(rec: Recording, *, rel_path: str) -> dict[str, object]:
    """Column values for one parsed recording."""
    test_file, test_name, test_params = split_test_id(rec.test_id or "")
    counts = rec.usage
    findings = checks.run(rec)
    rules = {f.rule for f in findings}
    tool_calls = [call for choice in rec.choices for call in choice.tool_calls]
    finish = next((c.finish_reason for c in rec.choices if c.finish_reason), "")
    invalid = rec.kind == Kind.INVALID
    values: dict[str, object] = {
        "test_id": rec.test_id or "",
        "test_file": test_file,
        "test_name": test_name,
        "test_params": test_params,
        "suite": suite_for(rel_path, test_file),
        "kind": str(rec.kind),
        "endpoint": rec.endpoint,
        "provider": rec.provider,
        "provider_name": providers.name_of(url=rec.url, host=rec.provider, test_id=rec.test_id or ""),
        "model": rec.model,
        "streaming": rec.streaming,
        "chunk_count": rec.chunk_count,
        **{name: getattr(counts, name) if counts else None for name in TOKEN_COLUMNS},
        "missing_usage": "missing-usage" in rules,
        "missing_usage_reason": checks.missing_usage_reason(rec),
        "include_usage": rec.include_usage,
        "tool_call_count": len(tool_calls),
        "tool_names": " ".join(dict.fromkeys(call.name for call in tool_calls if call.name)),
        "invalid_tool_args": "invalid-tool-arguments" in rules,
        "message_count": len(rec.request_messages),
        "finish_reason": finish,
        "is_side_call": (not invalid) and threads.is_side_call(rec),
        "request_key": threads.messages_key(rec.request_messages),
        "error": "" if invalid else rec.error,
        "parse_error": rec.error if invalid else "",
        "summary": rec.summary,
        "search_text": search_text_for(rec),
        **_replay_values(rec),
        "parsed_by": parser_version(rec.recorder),
    }
    # No database takes a lone surrogate, and PostgreSQL refuses NUL: both kept as visible escapes.
    values = {k: paths.storable(v) if isinstance(v, str) else v for k, v in values.items()}
    notes = _fit_columns(values)
    if notes:
        values["error"] = "; ".join(filter(None, [str(values["error"]), *notes]))
    return values


def _replay_values(rec: Recording) -> dict[str, object]:
    key = replay.key_for(rec)
    found = lifecycle.lineage(rec)
    return {
        "replay_hash": key.hash,
        "replay_status": key.status,
        "replay_rule": key.rule,
        "replay_name": key.looked_up_as,
        "name_hash": paths.name_hash(rec.path.rsplit("/", 1)[-1]),
        "lineage": found.as_json() if found else "",
    }


def _fit_columns(values: dict[str, object]) -> list[str]:
    """Make values fit their columns, in place; what could not be kept as it is, in words."""
    notes = []
    out_of_range, negative = [], []
    for name in TOKEN_COLUMNS:
        count = values[name]
        if isinstance(count, int) and not 0 <= count <= MAX_COUNT:
            (negative if count < 0 else out_of_range).append(f"usage {name} is {count}")
            values[name] = None  # left out of every total: no real count is negative, or that large
    if out_of_range:
        notes.append(
            f"{', '.join(out_of_range)}: beyond any real count (over 2**40), so the index leaves it out of totals"
        )
    if negative:
        notes.append(f"{', '.join(negative)}: no real count is negative, so the index leaves it out of totals")
    test_id = str(values["test_id"])
    if len(test_id.encode()) > TEST_ID_BYTES:
        values["test_id"] = stored_test_id(test_id)
        notes.append(
            f"the test id is {len(test_id):,} characters long: the index keeps its first {TEST_ID_BYTES:,} bytes"
        )
    for name, limit in CHAR_LIMITS.items():
        text = values[name]
        if isinstance(text, str) and len(text) > limit:
            values[name] = text[:limit]
    return notes
