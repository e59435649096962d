"""Which recordings a newer recording of the same call supersedes (format doc, sections 8 and 9).

Variants are one step of a test recorded more than once: the same test id (or none), shape, model, host and
messages, other parameters. Tests also branch on purpose (parallel versus sequential tool calls), and the files cannot
tell the two apart, so a variant is called superseded only when another one looks like its re-recording:
- it sets every parameter the older one sets, to the same value, and more besides (e.g. `include_usage`
  where the older had no `stream_options`, or `service_tier` added on top of `parallel_tool_calls`);
- and nothing marks it as older: not a missing `id_normalization_mapping` or `test_id` key the older has,
  not an older SDK version in `provider_metadata`.
Two variants that set one parameter to different values (`parallel_tool_calls` true and false, or any other
parameter of the request: `max_tokens`, `top_p`), or one streamed and one not, are branches: neither supersedes
the other. Only a variant replay serves (its name carries its recorder's hash) supersedes: one replay never opens
is no live successor. The verdict is an inference from content, and says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from recorder_ui.domain import checks, jsontext, replay, threads
from recorder_ui.domain.model import Kind, Recording


@dataclass(frozen=True, slots=True)
class Lineage:
    """What a recording says about its own age and parameters, small enough to keep per index row."""

    params: dict[str, Any]  # the variant parameters it sets (threads.VARIANT_KEYS)
    has_mapping: bool  # the file has an id_normalization_mapping key (later writers add it)
    has_test_id: bool  # the file has a test_id key
    sdk: tuple[int, ...]  # provider_metadata's SDK version, () when absent
    tools: str | None = None  # a digest of the tool definitions it offers ("" for none); None: not known (older rows)
    # The request's other parameters (not messages, tools or VARIANT_KEYS), each as a digest of its value; None: not
    # known (older rows).
    others: dict[str, str] | None = None

    def as_json(self) -> str:
        data = {"params": self.params, "mapping": self.has_mapping, "test_id": self.has_test_id, "sdk": list(self.sdk)}
        if self.tools is not None:
            data["tools"] = self.tools
        if self.others is not None:
            data["others"] = self.others
        return jsontext.dumps(data, option=orjson.OPT_SORT_KEYS, default=str).decode()

    @classmethod
    def from_json(cls, text: str) -> Lineage | None:
        try:
            data = jsontext.loads(text.encode()) if text else None
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
            return None
        sdk = tuple(v for v in data.get("sdk") or () if isinstance(v, int))
        tools, others = data.get("tools"), data.get("others")
        return cls(
            data["params"], bool(data.get("mapping")), bool(data.get("test_id")), sdk,
            tools if isinstance(tools, str) else None,
            {str(k): str(v) for k, v in others.items()} if isinstance(others, dict) else None,
        )  # fmt: skip


def lineage(rec: Recording) -> Lineage | None:
    """The lineage of a chat recording that can have variants; None for side calls and other shapes."""
    if rec.kind != Kind.CHAT or not rec.request_messages or threads.is_side_call(rec):
        return None
    raw = rec.raw if isinstance(rec.raw, dict) else {}
    request = raw.get("request") if isinstance(raw.get("request"), dict) else {}
    metadata = request.get("provider_metadata") if isinstance(request, dict) else None
    if not isinstance(metadata, dict):
        metadata = {}
    versions = [v for k, v in metadata.items() if k.endswith("_version") and isinstance(v, str)]
    sdk = tuple(int(part) if part.isdigit() else 0 for part in versions[0].split(".")[:4]) if versions else ()
    params = {k: rec.request_params[k] for k in threads.VARIANT_KEYS if rec.request_params.get(k) is not None}
    body = request.get("body") if isinstance(request, dict) else None
    offered = body.get("tools") if isinstance(body, dict) else None
    tools = hashlib.sha256(_canonical(offered)).hexdigest()[:16] if offered else ""
    others = {
        k: hashlib.sha256(_canonical(v)).hexdigest()[:16]
        for k, v in rec.request_params.items()
        if k not in threads.VARIANT_KEYS and k not in _NOT_PARAMETERS and v is not None
    }
    return Lineage(params, "id_normalization_mapping" in raw, "test_id" in raw, sdk, tools, others)


# Body keys that are no parameter of the call: the group holds the model, and stream (streamed or not) besides.
_NOT_PARAMETERS = frozenset({"model", "stream"})


def _canonical(value: Any) -> bytes:
    return jsontext.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)


def supersedes(new: Lineage, old: Lineage) -> bool:
    """Does new look like the re-recording of old: a superset of its parameters, and nothing older about it?"""
    if new.params.keys() <= old.params.keys():
        return False  # sets nothing more
    if any(_canonical(new.params.get(k)) != _canonical(v) for k, v in old.params.items()):
        return False  # another value for a parameter both set: a branch, not a re-recording
    if new.others is not None and old.others is not None and any(new.others.get(k) != v for k, v in old.others.items()):
        return False  # another parameter of the request differs, or is gone: another call, not a re-recording
    if (old.has_mapping and not new.has_mapping) or (old.has_test_id and not new.has_test_id):
        return False
    return not (old.sdk and new.sdk and new.sdk < old.sdk)


@dataclass(frozen=True, slots=True)
class Superseded:
    path: str
    by: str  # the newer recording's path
    added: tuple[str, ...]  # the parameters the newer one adds
    by_has_usage: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    """One recording as the supersede check needs it: its group and lineage."""

    path: str
    group: tuple[str, ...]  # (root, test id, shape, streamed, model, host, messages digest): variants share it
    lineage: Lineage
    has_usage: bool
    served: bool = True  # replay serves it (its replay status is current): only such a variant supersedes


def candidate(rec: Recording, *, root: str = "") -> Candidate | None:
    """A chat recording that can have variants, in its group. The host is part of the call: a call made outside
    any test to Azure is no re-recording of the same call to OpenAI (a test names its provider in its id)."""
    found = lineage(rec)
    if found is None:
        return None
    group = (
        root,
        rec.test_id or "",
        str(rec.kind),
        "streamed" if rec.streaming else "",
        rec.model,
        rec.provider,
        threads.messages_key(rec.request_messages),
    )
    return Candidate(rec.path, group, found, rec.usage is not None, replay.key_for(rec).status == replay.CURRENT)


def superseded(candidates: Iterable[Candidate]) -> dict[str, Superseded]:
    """path -> what supersedes it, for every candidate some other candidate of its group supersedes.

    The newest-looking superseding variant is named: the one with the most parameters, then the newest SDK.
    """
    groups: dict[tuple[str, ...], list[Candidate]] = {}
    for item in candidates:
        groups.setdefault(item.group, []).append(item)
    found: dict[str, Superseded] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        for old in members:
            newer = [new for new in members if new is not old and new.served and supersedes(new.lineage, old.lineage)]
            if not newer:
                continue
            best = max(newer, key=lambda n: (len(n.lineage.params), n.lineage.sdk, n.has_usage, n.path))
            added = tuple(sorted(best.lineage.params.keys() - old.lineage.params.keys()))
            if None not in (old.lineage.tools, best.lineage.tools) and old.lineage.tools != best.lineage.tools:
                added += (OTHER_TOOLS,)  # said, not weighed: a test that changed its tools changed its request too
            found[old.path] = Superseded(old.path, best.path, added, best.has_usage)
    return found


# In Superseded.added, beside the parameters the newer variant adds: it offers other tool definitions too.
OTHER_TOOLS = "other-tools"


def _sets(added: Iterable[str]) -> str:
    """The parameters a newer variant adds, in words, and that it offers other tools when it does."""
    added = tuple(added)
    words = ", ".join(a for a in added if a != OTHER_TOOLS)
    return words + ", and offers other tools" if OTHER_TOOLS in added else words


def describe(item: Superseded) -> str:
    """In words, for pages and lint messages."""
    return (
        f"superseded by {item.by}: a newer variant of the same call (same test and messages) that also sets "
        f"{_sets(item.added)}; replay serves that one when the test sends it. Probably stale: delete this file "
        "once no test sends its request (an inference from the files, not a certainty)."
    )


def lineage_of_row(values: Mapping[str, Any]) -> Lineage | None:
    text = values.get("lineage")
    return Lineage.from_json(text) if isinstance(text, str) else None


# What to do with a stream that misses usage (format doc 6), by what replay does with it.
NEVER_REPLAYED = "never-replayed"
SUPERSEDED = "superseded"
LIVE = "live"
FATES = {
    NEVER_REPLAYED: "never replayed: delete",
    SUPERSEDED: "superseded by a variant with usage (an inference): delete the old one once no test sends it",
    LIVE: "live: the code does not ask for usage: fix it",
}


# Why a file is on the Cleanup page: the certain reason first, then the inference, then a name no rule explains.
UNREACHABLE = "unreachable"
NAME_MISMATCH = "name-mismatch"


def cleanup_reason(*, replay_status: str, superseded: bool) -> str:
    """unreachable (an older rule's name), superseded (says more than a mismatching name), name-mismatch, or ""."""
    if replay_status == "older-rule":
        return UNREACHABLE
    if superseded:
        return SUPERSEDED
    if replay_status == "mismatch":
        return NAME_MISMATCH
    return ""


def superseded_sentence(added: Iterable[str]) -> str:
    return f"a newer variant of the same call sets {_sets(added)} too"


def usage_fate(*, replay_status: str, superseded_by: Superseded | None) -> str:
    """never-replayed (its name carries an older rule's hash), superseded (a variant with usage replaced it), live."""
    if replay_status == "older-rule":
        return NEVER_REPLAYED
    if superseded_by is not None and superseded_by.by_has_usage:
        return SUPERSEDED
    return LIVE


def fate_message(fate: str, superseded_by: Superseded | None, reason: str) -> str:
    """The missing-usage message for a lint finding, led by what to do."""
    if fate == NEVER_REPLAYED:
        why = checks.without_advice(reason)  # nothing to re-record: the file goes
        return "never replayed: no test reaches this file (its name carries an older rule's hash); delete it. " + why
    if fate == SUPERSEDED and superseded_by is not None:
        return (
            f"superseded by a variant with usage ({superseded_by.by}): delete this one once no test sends its request "
            "(an inference from the files, not a certainty). " + checks.without_advice(reason)
        )
    return "live: " + reason
