"""Replay misses read from what a user pastes: a hash, a hash prefix, or a CI log with the recorder's messages.

The recorder raises, in replay mode, one of (format doc 9.3 for the hashes):
- `Recording not found for request hash: <64 hex>` then `Model: <model> | Request: <METHOD> <url>` (inference);
- `Recording not found for genai request hash: <64 hex>` then `Model: <model> | Endpoint: <path>` (Google genai,
  whose requests the recorder stores with the URL `vertexai://<path>` and hashes as inference);
- `Recording not found for <provider>.<tool> | Request: {kwargs}` (tool runtime: no hash shown, but the kwargs
  are Python's repr of a dict, so the hash can be computed again);
- `Recording not found for rerank request | URL: <url>` and `Recording not found for httpx [stream ]POST <url>`
  (HTTP passthrough: neither hash nor payload shown).
pytest names the test in `FAILED <node id> - ...` summary lines and `____ <name> ____` section headers, and the
recorder's debug log in `Test context: <node id>`. Anything else in the paste is ignored: parse() never raises.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from typing import Any

from recorder_ui.domain import hashing, paths

MAX_INPUT_CHARS = 200_000  # a paste is read up to here; the rest is cut, and the answer says so
MAX_LINE_CHARS = 20_000  # a longer line is read in its first 20,000 characters
MAX_MISSES = 100  # misses looked up from one paste
MIN_PREFIX = 8  # hex digits a hash prefix needs: fewer match too many files to mean anything

INFERENCE = "inference"
TOOL = "tool"
HTTP = "http"
HASH = "hash"  # a hash or prefix typed in, with nothing else known

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LINE_PREFIX = re.compile(r"^(?:\d{4}-\d\d-\d\dT[\d:.]+Z\s+|##\[\w+\]|E\s+|>\s+)+")
_HASH_MISS = re.compile(r"Recording not found for (?:genai )?request hash:\s*([0-9a-fA-F]*)")
_MODEL_REQUEST = re.compile(r"Model: ([^|\n]{0,500}?) \| Request: ([A-Za-z]{1,10}) ([^\s'\"\\]{1,4000})")
_MODEL_ENDPOINT = re.compile(r"Model: ([^|\n]{0,500}?) \| Endpoint: (/[^\s'\"\\]{0,400})")  # genai
GENAI_URL = "vertexai://"  # + the endpoint: the URL the recorder stores for a genai request
_TOOL_MISS = re.compile(r"Recording not found for ([^\s.|]{1,200})\.([^\s|]{1,200}) \| Request: (.*)")
_RERANK_MISS = re.compile(r"Recording not found for rerank request \| URL: ([^\s'\"\\]{1,4000})")
_HTTPX_MISS = re.compile(r"Recording not found for httpx (?:stream )?POST ([^\s'\"\\]{1,4000})")
# pytest centres a section's name in underscores, down to one on each side for a long name; a traceback's
# frame separator ("_ _ _ _") is no header.
_HEADER = re.compile(r"^_+ (?:ERROR at (?:setup|teardown) of )?([^_\s].{0,2000}?) _+$")
_SUMMARY = re.compile(r"^={3,} .{0,40}short test summary info")
_CONTEXT = re.compile(r"Test context: (\S.{0,4000})$")
_DEBUG_HASH = re.compile(r"Request hash: ([0-9a-f]{64})\b")
_DEBUG_URL = re.compile(r"\bURL: (\S{1,4000})")
_DEBUG_MODEL = re.compile(r"\bModel: (\S.{0,500})$")
_NODE_ID = re.compile(r"^(?:FAILED|ERROR) (\S{1,2000}\.py::\S.*)$")
_BARE = re.compile(r"(?:models-)?([0-9a-fA-F]+)(?:-[0-9a-fA-F]{8})?(?:\.json)?")
_ANY_HASH = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
_CUT_NOTE = "The log shows only the start of the hash (the line was cut short): looked up as a prefix."
_CUT_NOTES = frozenset({_CUT_NOTE})
_PAIRED_NOTE = "The test is the FAILED line in the same place of the summary (its message was cut before the hash)."


@dataclass(frozen=True, slots=True)
class Miss:
    """One replay miss: what the paste tells about the request replay could not find."""

    kind: str  # INFERENCE, TOOL, HTTP, or HASH for a hash typed in
    hash: str  # 64 hex digits, a prefix of them (prefix=True), or "" when the log shows none
    prefix: bool = False
    model: str = ""  # as the message shows it ("unknown" when the request had none)
    method: str = ""
    url: str = ""
    test_id: str = ""  # the pytest node id, when the paste names it
    test_name: str = ""  # a section header's "TestClass.test_x[params]", when no node id is known
    tool: str = ""  # "<provider>.<tool name>"
    kwargs: str = ""  # the tool's kwargs as logged (Python's repr)
    line: int = 0  # the paste's line (1-based) that names the miss
    source: str = ""  # which line told us, in words
    notes: tuple[str, ...] = ()
    no_test: bool = False  # the recorder ran outside any test (its debug line says `Test context: None`)

    @property
    def url_path(self) -> str:
        """The URL's path, which inference hashes (its host is not hashed)."""
        return paths.url_path(self.url)

    @property
    def provider(self) -> str:
        return self.tool.partition(".")[0]

    @property
    def tool_name(self) -> str:
        return self.tool.partition(".")[2]


@dataclass(frozen=True, slots=True)
class Parsed:
    """What parse() read: the misses, how the input was taken, and what the user should know about it."""

    misses: tuple[Miss, ...]
    input_kind: str  # "hash", "prefix", "log", or "" when nothing could be read (error says why)
    error: str = ""
    notes: tuple[str, ...] = ()
    cut: bool = False  # the input was longer than MAX_INPUT_CHARS


def parse(text: object) -> Parsed:
    """The misses in a pasted hash, prefix or log. Never raises: input it cannot read gives an error in words."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    notes: list[str] = []
    cut = len(text) > MAX_INPUT_CHARS
    if cut:
        text = text[:MAX_INPUT_CHARS]
        notes.append(f"The input was cut at {MAX_INPUT_CHARS:,} characters (about 200 KB): only that much was read.")
    stripped = text.strip()
    if not stripped:
        return Parsed((), "", "Give a replay hash (64 hex digits, or a prefix of at least 8), or paste a CI log.")
    bare = _BARE.fullmatch(stripped)
    if bare is not None:
        return _bare(bare.group(1).lower(), notes, cut)
    misses = _read_log(text, notes)
    if not misses:
        found = list(dict.fromkeys(h.lower() for h in _ANY_HASH.findall(text)))[:MAX_MISSES]
        if found:
            notes.append(
                f"No replay miss message found; looked up the {len(found)} hash{'es' if len(found) > 1 else ''} "
                "the text holds."
            )
            misses = [Miss(HASH, h, source="a hash in the text") for h in found]
        else:
            return Parsed(
                (),
                "",
                "No replay miss found: paste the lines from `RuntimeError: Recording not found ...` (with the "
                "`FAILED ...` line or the `____ test ____` header that names the test), or give a hash.",
                tuple(notes),
                cut,
            )
    if len(misses) > MAX_MISSES:
        notes.append(f"The paste names {len(misses)} misses: only the first {MAX_MISSES} are looked up.")
        misses = misses[:MAX_MISSES]
    return Parsed(tuple(misses), "log", "", tuple(notes), cut)


def _bare(digits: str, notes: list[str], cut: bool) -> Parsed:
    if len(digits) > 64:
        return Parsed((), "", f"Not a replay hash: {len(digits)} hex digits (a hash has 64).", tuple(notes), cut)
    if len(digits) < MIN_PREFIX:
        return Parsed(
            (), "", f"A hash prefix needs at least {MIN_PREFIX} hex digits; {len(digits)} given.", tuple(notes), cut
        )
    kind = "hash" if len(digits) == 64 else "prefix"
    source = "the hash given" if kind == "hash" else "the hash prefix given"
    return Parsed((Miss(HASH, digits, prefix=kind == "prefix", source=source),), kind, "", tuple(notes), cut)


def _clean(line: str) -> str:
    if len(line) > MAX_LINE_CHARS:
        line = line[:MAX_LINE_CHARS]
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    return line.rstrip()


def _structure(line: str) -> str:
    """A line without the prefixes CI and pytest put before it (timestamps, `E   `)."""
    return _LINE_PREFIX.sub("", line.strip()).strip()


@dataclass(slots=True)
class _Section:
    """One pytest section (from a `____ name ____` header to the next), or the text before any header."""

    name: str = ""
    contexts: list[tuple[int, str]] = field(default_factory=list)  # (line, node id) of `Test context:` lines


def _read_log(text: str, notes: list[str]) -> list[Miss]:
    lines = [_clean(line) for line in text.splitlines()]
    found: list[tuple[Miss, int]] = []  # each miss with the index of its section
    sections: list[_Section] = [_Section()]
    failed: list[str] = []  # node ids of FAILED/ERROR summary lines
    cut: list[str] = []  # node ids of summary lines that name a miss too cut short to read
    for number, line in enumerate(lines, start=1):
        plain = _structure(line)
        header = _HEADER.match(plain)
        if header is not None:
            sections.append(_Section(name=header.group(1)))
            continue
        if _SUMMARY.match(plain):
            sections.append(_Section())
            continue
        context = _CONTEXT.search(line)
        if context is not None:
            sections[-1].contexts.append((number, context.group(1).strip()))
        node = _NODE_ID.match(plain)
        node_id = _node_id(node.group(1)) if node else ""
        if node_id:
            failed.append(node_id)
        if "not found" not in line:
            continue
        miss = _miss_in(line, lines, number)
        if miss is None:
            if node_id and "Recording not found" in line:
                cut.append(node_id)
            continue
        if node_id:
            miss = replace(miss, test_id=node_id, source="the FAILED summary line")
        found.append((miss, len(sections) - 1))
    misses = _merge([_with_test(miss, sections[index], failed) for miss, index in found], notes)
    return _pair_in_order(misses, cut)


def _pair_in_order(found: list[Miss], cut: list[str]) -> list[Miss]:
    """Misses no section names, and as many summary lines whose message was cut before the hash: pytest lists
    the summary in the order of the failures, so they pair one to one."""
    orphans = [i for i, m in enumerate(found) if not (m.test_id or m.test_name or m.no_test)]
    if not cut or len(orphans) != len(cut):
        return found
    for index, node_id in zip(orphans, cut, strict=True):
        found[index] = replace(found[index], test_id=node_id, notes=(*found[index].notes, _PAIRED_NOTE))
    return found


def _node_id(rest: str) -> str:
    """The node id at the start of `FAILED <node id> - <message>` (parameters may hold spaces and dashes)."""
    bracket = rest.find("[")
    dash = rest.find(" - ")
    if bracket != -1 and (dash == -1 or bracket < dash):
        end = rest.find("] - ", bracket)
        if end != -1:
            return rest[: end + 1]
        return rest if rest.endswith("]") else rest.split(" ", 1)[0]
    return rest[:dash] if dash != -1 else rest.split(" ", 1)[0]


def _miss_in(line: str, lines: list[str], number: int) -> Miss | None:
    """The miss a line names, with what the next lines add (the Model line of an inference miss)."""
    hashed = _HASH_MISS.search(line)
    if hashed is not None:
        return _inference(hashed.group(1).lower(), line[hashed.end() :], lines, number)
    if "[RECORDING DEBUG] Recording not found!" in line:
        return _debug_block(lines, number)
    tool = _TOOL_MISS.search(line)
    if tool is not None and tool.group(1) not in ("rerank", "httpx", "request"):
        return _tool(tool.group(1), tool.group(2), tool.group(3), number)
    rerank = _RERANK_MISS.search(line) or _HTTPX_MISS.search(line)
    if rerank is not None:
        return Miss(HTTP, "", method="POST", url=rerank.group(1), line=number, source="the recorder's message")
    return None


def _inference(digits: str, rest: str, lines: list[str], number: int) -> Miss | None:
    notes: tuple[str, ...] = ()
    if len(digits) == 64:
        prefix = False
    elif MIN_PREFIX <= len(digits) < 64:
        prefix, notes = True, (_CUT_NOTE,)
    else:
        return None
    model, method, url = "", "", ""
    # The Model line follows, on the next line or (in an exception's repr) after a literal "\n" on this one.
    for candidate in (rest, *lines[number : number + 3]):
        if candidate is not rest and "Recording not found" in candidate:
            break  # the next miss: its Model line is its own
        request = _MODEL_REQUEST.search(candidate)
        if request is not None:
            model, method, url = request.group(1).strip(), request.group(2).upper(), request.group(3)
            break
        genai = _MODEL_ENDPOINT.search(candidate)
        if genai is not None:
            model, method, url = genai.group(1).strip(), "POST", GENAI_URL + genai.group(2)
            break
    return Miss(
        INFERENCE, digits, prefix, model, method, url, line=number, source="the recorder's message", notes=notes
    )


def _debug_block(lines: list[str], number: int) -> Miss | None:
    """`[RECORDING DEBUG] Recording not found!` and the indented lines after it (hash, URL, model, test)."""
    digits, url, model, test_id, no_test = "", "", "", "", False
    for line in lines[number : number + 10]:
        if (hit := _DEBUG_HASH.search(line)) is not None:
            digits = hit.group(1)
        elif (hit := _DEBUG_URL.search(line)) is not None:
            url = hit.group(1)
        elif (hit := _DEBUG_MODEL.search(line)) is not None:
            model = hit.group(1).strip()
        elif (hit := _CONTEXT.search(line)) is not None:
            test_id = hit.group(1).strip()
            no_test = test_id == "None"
            test_id = "" if no_test else test_id
    if not digits:
        return None
    return Miss(INFERENCE, digits, False, model, "POST", url, test_id, line=number, source="the recorder's debug log",
                no_test=no_test)  # fmt: skip


def _tool(provider: str, tool_name: str, logged: str, number: int) -> Miss:
    logged = logged.strip()
    kwargs = literal_kwargs(logged)
    notes: tuple[str, ...] = ()
    digest = ""
    if kwargs is None:
        notes = ("The logged kwargs are not a plain Python dict, so the hash cannot be computed from them.",)
    else:
        try:
            digest = hashing.digest({"provider": provider, "tool_name": tool_name, "kwargs": kwargs})
        except (TypeError, ValueError, RecursionError):
            notes = ("The logged kwargs hold values JSON cannot write, so the hash cannot be computed from them.",)
    text = kwargs_text(logged)
    return Miss(TOOL, digest, tool=f"{provider}.{tool_name}", kwargs=text, line=number, method="",
                source="the recorder's message" + (" (hash computed from the logged kwargs)" if digest else ""),
                notes=notes)  # fmt: skip


def kwargs_text(logged: str) -> str:
    """The kwargs part of a tool miss, up to its closing brace (an exception's repr may follow with more)."""
    end = _dict_end(logged)
    return logged[:end] if end else logged[:2000]


def _dict_end(logged: str) -> int:
    """Where the first Python dict literal of logged ends (0 when it does not start with one)."""
    if not logged.startswith("{"):
        return 0
    depth, quote, escaped = 0, "", False
    for index, char in enumerate(logged):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
            if depth == 0:
                return index + 1
    return 0


def literal_kwargs(logged: str) -> dict[str, Any] | None:
    """The kwargs dict a tool miss logs (Python's repr), read safely; None when it is not a plain literal."""
    end = _dict_end(logged)
    if not end:
        return None
    try:
        value = ast.literal_eval(logged[:end])
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _with_test(miss: Miss, section: _Section, failed: list[str]) -> Miss:
    """Give a miss the test its section names: a debug `Test context:` line, else the FAILED line of the header."""
    if miss.test_id or miss.no_test:
        return miss
    if section.contexts:
        before = [c for c in section.contexts if c[0] <= miss.line]
        context = (before[-1] if before else section.contexts[0])[1]
        if context == "None":
            return replace(miss, no_test=True)
        return replace(miss, test_id=context)
    if section.name:
        for node_id in failed:
            if header_form(node_id) == section.name:
                return replace(miss, test_id=node_id)
        return replace(miss, test_name=section.name)
    return miss


def header_form(node_id: str) -> str:
    """How pytest heads a test's section: 'tests/a.py::Cls::test_x[p]' -> 'Cls.test_x[p]'."""
    rest = node_id.partition("::")[2]
    name, bracket, params = rest.partition("[")
    return name.replace("::", ".") + bracket + params


def split_header(name: str) -> tuple[str, str]:
    """A section header's test as the index splits it: 'Cls.test_x[p.q]' -> ('Cls::test_x', 'p.q')."""
    base, bracket, params = name.partition("[")
    if bracket and params.endswith("]"):
        params = params[:-1]
    return base.replace(".", "::"), params


def _key(miss: Miss) -> tuple[str, ...]:
    if miss.hash and not miss.prefix:
        return ("hash", miss.hash)
    if miss.kind == TOOL:
        return ("tool", miss.tool, miss.kwargs)
    if miss.kind == HTTP:
        return ("http", miss.url, miss.test_id or miss.test_name)
    return ("prefix", miss.hash, miss.test_id or miss.test_name)


def _merge(misses: list[Miss], notes: list[str]) -> list[Miss]:
    """One miss per request: the same miss shows in the traceback, the FAILED line and the debug log."""
    merged: dict[tuple[str, ...], Miss] = {}
    for miss in misses:
        key = _key(miss)
        if miss.prefix:  # a hash cut short in a summary line: the full one elsewhere in the paste
            full_key = next((k for k in merged if k[0] == "hash" and k[1].startswith(miss.hash)), None)
            key = full_key or key
        known = merged.get(key)
        merged[key] = miss if known is None else _combine(known, miss)
    for key, miss in list(merged.items()):
        if miss.prefix:  # a full hash that came after its cut-short copy
            full = next((m for k, m in merged.items() if k[0] == "hash" and m.hash.startswith(miss.hash)), None)
            if full is not None:
                merged[("hash", full.hash)] = _combine(full, miss)
                del merged[key]
    return list(merged.values())


def _combine(first: Miss, other: Miss) -> Miss:
    """What two sightings of one miss tell together; the full hash wins over a cut one."""
    main, extra = (other, first) if first.prefix and not other.prefix else (first, other)
    return replace(
        main,
        model=main.model or extra.model,
        method=main.method or extra.method,
        url=main.url or extra.url,
        test_id=main.test_id or extra.test_id,
        test_name="" if (main.test_id or extra.test_id) else (main.test_name or extra.test_name),
        line=min(main.line, extra.line),
        no_test=main.no_test or extra.no_test,
        notes=tuple(dict.fromkeys(n for n in (*main.notes, *extra.notes) if main.prefix or n not in _CUT_NOTES)),
    )
