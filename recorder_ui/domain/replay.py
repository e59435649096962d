"""The replay key of a recording (format doc 9.3): the hash the recorder computes for its request, the file name
replay looks that request up by, and whether this file's name carries it.

Replay never lists a folder: it hashes the request a test sends and opens that one name. A file whose name
carries another hash for its own request is never served. Statuses:
- `current`: the name carries the hash today's recorder computes;
- `older-rule`: the name carries the hash of a documented older rule (`rule` says which): no test reaches it;
- `mismatch`: no rule of today's or an older recorder gives the name for the request as it stands (the file may
  have been edited after recording, or renamed): not known to be dead. When the name carries the hash of this
  request as it was before a known in-place edit, or under a rule seen only in such files, `rule` names that
  explanation (EXPLANATIONS, docs/replay-keys.md) and `why` says it; the status stays `mismatch`, since after a hand
  edit we cannot know what a test sends today;
- `none`: the recorder does not name this kind of file by hash (a file whose name is no hash at all, for a
  request it names by hash, is a `mismatch`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder_ui.domain import folders, paths
from recorder_ui.domain.hashing import digest, normalise
from recorder_ui.domain.model import Recording

CURRENT = "current"
OLDER_RULE = "older-rule"
MISMATCH = "mismatch"
NONE = "none"
STATUSES = (CURRENT, OLDER_RULE, MISMATCH, NONE)

# Rule names, as shown to users.
RULE_CURRENT = "today's recorder"
RULE_NO_FILE_SEARCH = "before 2026-04-09: no file_search placeholders"
RULE_CHECKOUT = "this checkout's recorder (before 2026-04-09: no file_search placeholders)"
RULE_NEWER = "from 2026-04-09 on: file_search placeholders (a newer recorder than this checkout's)"

# The recorders replay may judge a file by (Recording.recorder): today's, unless the file's checkout holds a recorder
# of its own that hashes as before 2026-04-09 (upstream #5173), whose replay opens that rule's names.
TODAY = ""
BEFORE_FILE_SEARCH = "before-file-search"
RECORDERS = (TODAY, BEFORE_FILE_SEARCH)
RULE_RAW_BODY = "no body normalisation"
RULE_SHORT = "12 hex digits, no test id (before test isolation, October 2025)"
RULE_WRONG_FORM = "today's hash, in the other name form (a model list's, or a single recording's)"
RULE_SHORT_FORM = "a 12-hex name of October 2025 whose hash we do not reproduce; replay opens 64-hex names only"

# Explanations of `mismatch` names (docs/replay-keys.md), each reproducing names exactly from the file's own content.
RULE_SCORE_ATTRIBUTES = "score and attributes placeholders only (no document_id or citation placeholders)"
RULE_BEFORE_RENAME = "before the ogx rename rewrote it in place"
RULE_FILE_NUMBERS = "file ids numbered file-1, file-2, ... and no body normalisation"
EXPLANATIONS = (RULE_SCORE_ATTRIBUTES, RULE_BEFORE_RENAME, RULE_FILE_NUMBERS)

# What the project rename (llama-stack to ogx) wrote into recordings in place, as (now, before), undone in this
# order. Seen in the upstream history's diffs, except "OGX" for "Llama Stack" in file_search text, which the names
# themselves show.
RENAME_IN_TEST_IDS = (("ogx_client", "llama_stack_client"),)
RENAME_IN_TEXT = (
    ("X-OGX-Provider-Data", "X-LlamaStack-Provider-Data"),
    ("The OGX Contributors", "Meta Llama"),
    ("ogx_and_models.pdf", "llama_stack_and_models.pdf"),
    ("OGX", "Llama Stack"),
)
_REAL_FILE_ID = re.compile(r"file-[0-9a-f]{32}")

MODEL_LIST_PATHS = frozenset({"/api/tags", "/v1/models", "/v1/openai/v1/models"})
# The two names replay opens: `<hash>.json`, and for a model list every `models-<hash>-*.json` (a glob).
_HASH_NAME = re.compile(r"(?:models-([0-9a-f]{64})-.*|([0-9a-f]{64}))\.json", re.DOTALL)
_SHORT_NAME = re.compile(r"([0-9a-f]{12})\.json")


@dataclass(frozen=True, slots=True)
class ReplayKey:
    hash: str  # the 64 hex digits the file's recorder computes for this request; "" when it names no such file
    status: str  # one of STATUSES
    rule: str  # the rule whose hash the name carries: "" for none, and for mismatch unless EXPLANATIONS has one
    looked_up_as: str  # the file name replay opens for this request: "<hash>.json", "models-<hash>-*.json"
    kind: str  # "inference", "http", "tool", or "" when the recorder does not hash this kind
    why: str  # one sentence for a user

    @property
    def reachable(self) -> bool | None:
        """True when replay opens this file, False when it never can, None when we cannot tell."""
        return {CURRENT: True, OLDER_RULE: False}.get(self.status)


def _url(request: Any) -> urllib.parse.ParseResult:
    """The request's URL parsed; an unparsable one (a bad IPv6 host) as empty, never an exception."""
    return _parsed_url(str(request.get("url", "")) if isinstance(request, dict) else "")


@functools.lru_cache(maxsize=256)
def _parsed_url(url: str) -> urllib.parse.ParseResult:
    # A key asks for its URL three times or more, and a corpus has a few hundred URLs (the result is a tuple).
    return paths.url_parts(url)


def _inference_canon(request: dict[str, Any], test_id: Any, body: Any) -> dict[str, Any]:
    path = _url(request).path
    canon: dict[str, Any] = {"method": "POST", "endpoint": path, "body": body}
    if path not in MODEL_LIST_PATHS:
        canon["test_id"] = test_id
    return canon


def recorder_of(source: str) -> str:
    """Which of RECORDERS a recorder's source (its api_recorder.py) hashes as: today's, unless it has no
    file_search placeholders (format doc 9.3, rule (a))."""
    newer = ("__NORMALIZED__", "document_id", "attributes:")
    return TODAY if any(mark in source for mark in newer) else BEFORE_FILE_SEARCH


def _rules(raw: dict[str, Any], recorder: str = TODAY) -> tuple[str, list[tuple[str, Callable[[], str]]]]:
    """The kind of key and its rules, the recorder's own first: (name, function giving the hash). For a checkout
    whose recorder is older than today's, today's rule comes last as RULE_NEWER: a name it gives is not dead."""
    older = recorder == BEFORE_FILE_SEARCH
    request = raw.get("request")
    if not isinstance(request, dict):
        return "", []
    test_id = raw.get("test_id")
    if "tool_name" in request and "kwargs" in request:
        tool = {
            "provider": request.get("provider"),
            "tool_name": request.get("tool_name"),
            "kwargs": request.get("kwargs"),
        }
        return "tool", [(RULE_CURRENT, lambda: digest(tool))]
    if "payload" in request and "url" in request:
        url, payload = request.get("url"), request.get("payload")
        http = {"test_id": test_id, "url": url, "method": "POST"}
        return "http", [
            (
                RULE_CHECKOUT if older else RULE_CURRENT,
                lambda: digest({**http, "payload": normalise(payload, file_search=not older)}),
            ),
            *([(RULE_NEWER, lambda: digest({**http, "payload": normalise(payload)}))] if older else []),
        ]
    if "url" in request and "body" in request:
        body = request["body"]
        bedrock = "bedrock" in _url(request).netloc

        def rule(**options: bool) -> Callable[[], str]:
            return lambda: digest(
                _inference_canon(request, test_id, normalise(body, drop_stream_options=bedrock, **options))
            )

        raw_body = (RULE_RAW_BODY, lambda: digest(_inference_canon(request, test_id, body)))
        if older:
            return "inference", [(RULE_CHECKOUT, rule(file_search=False)), raw_body, (RULE_NEWER, rule())]
        return "inference", [(RULE_CURRENT, rule()), (RULE_NO_FILE_SEARCH, rule(file_search=False)), raw_body]
    return "", []


def hash_for_test(raw: Any, test_id: str, recorder: str = TODAY) -> str:
    """The hash the recorder gives this recording's request when a test of another id sends it (a test renamed,
    or its parameters' ids changed, since it was recorded); "" for a kind whose hash holds no test id."""
    if not isinstance(raw, dict):
        return ""
    kind, rules = _rules({**raw, "test_id": test_id}, recorder)
    if kind not in ("inference", "http"):
        return ""
    try:
        return rules[0][1]()
    except (TypeError, ValueError, RecursionError):
        return ""


def looked_up_as(raw: dict[str, Any], current: str) -> str:
    """The file name replay opens for this request."""
    request = raw.get("request") if isinstance(raw.get("request"), dict) else {}
    path = _url(request).path if isinstance(request, dict) else ""
    if path.endswith(("/models", "/api/tags")):
        return f"models-{current}-*.json"
    return f"{current}.json"


@dataclass(frozen=True, slots=True)
class _Named:
    """The hash a file's name carries, and whether in a model list's form."""

    hash: str
    models: bool


def key_of(raw: Any, file_name: str, recorder: str = TODAY) -> ReplayKey:
    """The replay key of one recording file: raw is its whole JSON, file_name its base name, recorder the one
    whose replay judges it (RECORDERS)."""
    if not isinstance(raw, dict):
        return ReplayKey("", NONE, "", "", "", "Not a readable recording, so it has no replay key.")
    kind, rules = _rules(raw, recorder)
    if not rules:
        return ReplayKey("", NONE, "", "", "", "The recorder does not name this kind of file by a hash we know.")
    try:
        current = rules[0][1]()
    except (TypeError, ValueError, RecursionError):  # a body json.dumps refuses (NaN keys, odd types, depth)
        return ReplayKey("", NONE, "", "", kind, "The request cannot be hashed as the recorder hashes it.")
    lookup = looked_up_as(raw, current)
    matched = _HASH_NAME.fullmatch(file_name)
    named = _Named(matched.group(1) or matched.group(2), matched.group(1) is not None) if matched else None
    short = _SHORT_NAME.fullmatch(file_name)
    if named is None and short is None:
        why = (
            f"The file name carries no hash, so replay never opens this file by its name: it looks this request up "
            f"as {lookup}. Renamed by hand, probably: re-record the test, or give the file that name; not known "
            "to be dead."
        )
        return ReplayKey(current, MISMATCH, "", lookup, kind, why)
    if named is not None and named.hash == current and named.models != lookup.startswith("models-"):
        shape = "a model list's (models-<hash>-*.json)" if named.models else "a single recording's (<hash>.json)"
        why = f"This file's name carries the hash of its request, but in {shape} form: replay opens {lookup}, not it."
        return ReplayKey(current, MISMATCH, RULE_WRONG_FORM, lookup, kind, why)
    if named is not None and named.hash == current:
        by = " (by this checkout's recorder, which hashes as before 2026-04-09)" if rules[0][0] == RULE_CHECKOUT else ""
        why = f"Replay{by} looks this request up as {lookup}: this file."
        return ReplayKey(current, CURRENT, rules[0][0], lookup, kind, why)
    for name, rule in rules[1:]:
        try:
            if named is not None and rule() == named.hash:
                if name == RULE_NEWER:
                    return ReplayKey(current, MISMATCH, name, lookup, kind, _newer(lookup))
                return ReplayKey(current, OLDER_RULE, name, lookup, kind, _unreachable(lookup, name))
        except (TypeError, ValueError, RecursionError):
            continue
    if short is not None:  # today's replay opens only 64-hex names: dead, whether or not we reproduce the hash
        form = RULE_SHORT if kind == "inference" and _short_hash(raw) == short.group(1) else RULE_SHORT_FORM
        return ReplayKey(current, OLDER_RULE, form, lookup, kind, _unreachable(lookup, form))
    explained = _explain(raw, named.hash) if named is not None and kind == "inference" else None
    if explained is not None:
        explanation, how = explained
        why = f"Replay looks this request up as {lookup}; this file's name carries the hash of {how}."
        return ReplayKey(current, MISMATCH, explanation, lookup, kind, why)
    return ReplayKey(
        current,
        MISMATCH,
        "",
        lookup,
        kind,
        f"Replay looks this request up as {lookup}, but no rule we know gives this file's name: it may have been "
        "edited after recording (a test id rewritten in place) or renamed by hand, so it is not known to be dead.",
    )


def _strings(value: Any, change: Callable[[str], str]) -> Any:
    """value with change applied to every string in it (not to keys)."""
    if isinstance(value, dict):
        return {k: _strings(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v, change) for v in value]
    return change(value) if isinstance(value, str) else value


def _undo(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for now, before in pairs:
        text = text.replace(now, before)
    return text


def _applied(text: str, pairs: tuple[tuple[str, str], ...]) -> list[str]:
    """The pairs that undoing changes in text, in words ("X for Y": the rename wrote X where Y was)."""
    applied = []
    for now, before in pairs:
        if now in text:
            applied.append(f"{now} for {before}")
            text = text.replace(now, before)
    return applied


def _number_file_ids(body: Any) -> Any:
    """body with each real file id (file- and 32 hex digits) written file-1, file-2, ... in order of appearance."""
    numbers: dict[str, str] = {}
    for found in _REAL_FILE_ID.findall(json.dumps(body)):
        numbers.setdefault(found, f"file-{len(numbers) + 1}")
    if not numbers:
        return None
    return _strings(body, lambda text: _REAL_FILE_ID.sub(lambda m: numbers[m.group(0)], text))


def _explain(raw: dict[str, Any], name_hash: str) -> tuple[str, str] | None:
    """Which explanation (EXPLANATIONS) reproduces name_hash from this inference request, and how, in words."""
    request, test_id = raw["request"], raw.get("test_id")
    body = request["body"]
    bedrock = "bedrock" in _url(request).netloc
    rules: tuple[tuple[str, Callable[[Any], Any]], ...] = (
        ("today's rule", lambda b: normalise(b, drop_stream_options=bedrock)),
        (RULE_NO_FILE_SEARCH, lambda b: normalise(b, drop_stream_options=bedrock, file_search=False)),
        (RULE_SCORE_ATTRIBUTES, lambda b: normalise(b, drop_stream_options=bedrock, file_search_ids=False)),
        (RULE_RAW_BODY, lambda b: b),
    )

    def carries(tid: Any, normalised: Any) -> bool:
        try:
            return digest(_inference_canon(request, tid, normalised)) == name_hash
        except (TypeError, ValueError, RecursionError):
            return False

    if carries(test_id, rules[2][1](body)):
        return RULE_SCORE_ATTRIBUTES, (
            f"this request under a rule known only from such files ({RULE_SCORE_ATTRIBUTES}), not today's: "
            "not known to be dead"
        )
    before_body = _strings(body, lambda text: _undo(text, RENAME_IN_TEXT))
    before_id = _undo(test_id, RENAME_IN_TEST_IDS) if isinstance(test_id, str) else test_id
    if (before_body, before_id) != (body, test_id):
        edits = ", ".join(_applied(str(test_id), RENAME_IN_TEST_IDS) + _applied(json.dumps(body), RENAME_IN_TEXT))
        for rule_name, rule in rules:
            if carries(before_id, rule(before_body)):
                return RULE_BEFORE_RENAME, (
                    f"this request ({rule_name}) before the project rename wrote {edits} into it: edited after "
                    "recording, so what a test sends today is not known, nor that the file is dead"
                )
    numbered = _number_file_ids(body)
    if numbered is not None and carries(test_id, numbered):
        return (
            RULE_FILE_NUMBERS,
            "this request with its file ids numbered file-1, file-2, ... and no body normalisation, a rule known only "
            "from such files: not known to be dead",
        )
    return None


_last: tuple[object, ReplayKey] | None = None  # the last recording asked about: lint and index both ask


def key_for(rec: Recording) -> ReplayKey:
    """The replay key of a parsed recording (its raw JSON and the base name of its path)."""
    global _last
    last = _last
    if last is not None and last[0] is rec:
        return last[1]
    key = key_of(rec.raw, rec.path.rsplit("/", 1)[-1], rec.recorder)
    if key.status == CURRENT and key.kind in ("inference", "http") and (note := folders.elsewhere(rec)):
        key = dataclasses.replace(key, why=f"Replay looks this request up as {key.looked_up_as}, its name, {note}")
    _last = (rec, key)
    return key


def _short_hash(raw: dict[str, Any]) -> str:
    request = raw["request"]
    path = _url(request).path
    try:
        return digest({"method": "POST", "endpoint": path, "body": normalise(request.get("body"))})[:12]
    except (TypeError, ValueError, RecursionError):
        return ""


def _newer(lookup: str) -> str:
    return (
        f"This checkout's recorder (before 2026-04-09) looks this request up as {lookup}; this file's name carries "
        f"the hash of the newer recorder's rule ({RULE_NEWER}): replay serves it once the checkout has that recorder, "
        "so it is not known to be dead."
    )


def _unreachable(lookup: str, rule: str) -> str:
    return (
        f"Replay looks this request up as {lookup}; this file's name carries the hash of an older rule ({rule}), "
        "so no test reaches it."
    )
