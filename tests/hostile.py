"""Builders for hostile recording folders: every kind of bad file the indexer and the pages must survive."""

from __future__ import annotations

import copy
import json
import os
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests.builders import stream_recording

SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HUGE_BYTES = 60 * 1024 * 1024
# For each kind of JSON value, one of another kind to put in its place.
WRONG = {dict: 7, list: "not a list", str: 12345, int: "12", float: [1.5], bool: "yes", type(None): {"x": 1}}


@dataclass(frozen=True, slots=True)
class Tree:
    root: Path  # the folder to index
    recordings: Path  # the recordings folder inside it, where the bad files are
    outside: Path  # a recording outside the root, reachable only through a symlink
    failing: dict[str, str]  # file name -> a piece of the error it must get
    readable: tuple[str, ...]  # odd files that are still recordings and must index without an error
    wrong_types: dict[str, str]  # file name -> the field of a good recording given a value of the wrong type
    odd_names: tuple[str, ...]  # file names (surrogate-escaped where not UTF-8) that must each be an entry
    extreme: dict[str, str]  # file name -> "field=value" of a good recording given a value no column holds


def good() -> dict[str, Any]:
    return stream_recording(
        test_id="tests/integration/hostile/test_h.py::test_ok[param]", text="fine", tool=("lookup", '{"q": "x"}')
    )


Where = tuple[str | int, ...]


def _places(value: Any, where: Where = (), *, last: bool = False) -> Iterator[tuple[Where, Any]]:
    """Every place in a recording with its value: all keys of objects, the first three elements of lists
    (they say enough) and, with last, a list's last element too (a stream's usage chunk)."""
    yield where, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*where, key), last=last)
    elif isinstance(value, list):
        indexes = {*range(min(3, len(value)))} | ({len(value) - 1} if last and value else set())
        for index in sorted(indexes):
            yield from _places(value[index], (*where, index), last=last)


def _with(recording: dict[str, Any], where: Where, replacement: Any) -> dict[str, Any]:
    """A copy of recording with the value at where replaced."""
    variant = copy.deepcopy(recording)
    parent = variant
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = replacement
    return variant


def _dotted(where: Where) -> str:
    return ".".join(str(step) for step in where)


def wrong_type_variants(recording: dict[str, Any], *, limit: int = 400) -> Iterator[tuple[str, dict[str, Any]]]:
    """Copies of recording, each with one value (at any depth) swapped for a value of another JSON type."""
    places = [(where, value) for where, value in _places(recording) if where][:limit]
    for where, value in places:
        yield _dotted(where), _with(recording, where, WRONG[type(value)])


EXTREME_NUMBERS = (2**70, -(2**70), 1e308, float("nan"))
EXTREME_TEXT = ("lone \ud800 surrogate", "nul \x00 char")


def extreme_variants(recording: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Copies of recording, each with one number (at any depth) given 2**70, -2**70, 1e308 or NaN, or one
    string given a lone surrogate or a NUL."""
    for where, value in _places(recording, last=True):
        if not where or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            replacements: tuple[Any, ...] = EXTREME_NUMBERS
        elif isinstance(value, str):
            replacements = EXTREME_TEXT
        else:
            continue
        for replacement in replacements:
            yield f"{_dotted(where)}={replacement!r}", _with(recording, where, replacement)


def build(tmp_path: Path, *, huge: bool = True) -> Tree:
    """A llama-stack-like checkout whose recordings folder holds every kind of bad file."""
    root = tmp_path / "checkout"
    recordings = root / "tests" / "integration" / "hostile" / "recordings"
    recordings.mkdir(parents=True)
    base = good()

    def put(name: str, data: bytes | str) -> None:
        (recordings / name).write_bytes(data if isinstance(data, bytes) else data.encode())

    failing = {
        "empty.json": "empty file",
        "truncated.json": "not valid JSON",
        "binary.json": "not valid",
        "latin1.json": "UTF-8",
        "not-object.json": "top level is a list",
        "scalar.json": "top level",
        "wrong-types.json": "",
        "deep.json": "nested too deeply",
    }
    put("empty.json", b"")
    put("truncated.json", json.dumps(base)[:200])
    put("binary.json", bytes(range(256)) * 4)
    put("latin1.json", '{"test_id": "caf\xe9"}'.encode("latin-1"))
    put("not-object.json", "[1, 2, 3]")
    put("scalar.json", '"just a string"')
    put("wrong-types.json", json.dumps({"test_id": 5, "request": "x", "response": [], "id_normalization_mapping": 7}))
    put("deep.json", "[" * 10_000 + "]" * 10_000)
    put("nan.json", '{"test_id": "t", "request": {"body": {"temperature": NaN}}, "response": {"body": null}}')
    put("surrogate.json", '{"test_id": "\\ud800", "request": {}, "response": {"body": null}}')

    big = copy.deepcopy(base)
    big["request"]["body"]["messages"] = [{"role": "user", "content": "y" * (5 * 1024 * 1024)}]  # a 5 MB string
    put("big-string.json", json.dumps(big))
    put("dupes.json", '{"test_id": "a", ' + json.dumps({**base, "test_id": "b"})[1:])
    put("bom.json", b"\xef\xbb\xbf" + json.dumps(base).encode())
    put("name with spaces ünïcødé.json", json.dumps(base))
    markup = stream_recording(
        test_id=f"tests/integration/a/test_{XSS}.py::test_{XSS}[{XSS}]", text=XSS,
        tool=(f"tool{XSS}", json.dumps({"q": XSS})), model=f"model{XSS}",
    )  # fmt: skip
    markup["request"]["body"]["messages"] = [{"role": "user", "content": [
        {"type": "text", "text": XSS}, {"type": "image_url", "image_url": {"url": f"javascript:alert(1)//{XSS}"}},
        {"type": "image_url", "image_url": {"url": "https://tracker.example.org/pixel.png"}}]}]  # fmt: skip
    markup["response"]["body"][0]["__type__"] = f"x.{XSS}"
    put(f"markup{XSS.replace('/', '')}.json", json.dumps(markup))
    # Nested as deep as the parser reads, but deeper than Python's recursion limit allows a recursive writer:
    # tool-call arguments the pages pretty-print, and a file the Raw tab shows as text.
    deep_args = stream_recording(test_id="tests/integration/hostile/test_deep.py::test_deep_args[990]",
                                 tool=("deep", "[" * 990 + "]" * 990))  # fmt: skip
    put("deep-args.json", json.dumps(deep_args))
    put("deep-list.json", "[" * 1000 + "]" * 1000)
    failing["deep-list.json"] = "top level is a list"
    # Integers beyond 64 bits where the loader dumps a value to text: tool kwargs, an exception's message, a
    # provider, an Ollama tool call's arguments object.
    put("tool-bigint.json", '{"test_id": "t", "request": {"provider": "tavily", "tool_name": "web_search", '
        '"kwargs": {"x": 1180591620717411303424}}, "response": {"body": {"__type__": "x.ToolInvocationResult", '
        '"__data__": {"content": "{\\"n\\": 1180591620717411303425}"}}, "is_streaming": false}}')  # fmt: skip
    big_args = stream_recording(test_id="tests/integration/hostile/test_big.py::test_big",
                                tool=("big", '{"n": 18446744073709551617}'))  # fmt: skip
    put("args-bigint.json", json.dumps(big_args))
    # A mapping that would grow a small file to gigabytes (a short id to a long one, found 200,000 times).
    amplified = {**copy.deepcopy(base), "pad": "e" * 200_000, "id_normalization_mapping": {"Z" * 100_000: "e"}}
    put("mapping-bomb.json", json.dumps(amplified))
    failing["mapping-bomb.json"] = "id_normalization_mapping would grow the file"
    readable = [
        "big-string.json",
        "dupes.json",
        "bom.json",
        "name with spaces ünïcødé.json",
        "nan.json",
        "surrogate.json",
        "deep-args.json",
        "tool-bigint.json",
        "args-bigint.json",
    ]

    # File names Linux allows that are not plain text: each must be its own entry.
    odd_names = [os.fsdecode(b"latin1-" + bytes([byte]) + b"-name.json") for byte in range(0x80, 0x100)]
    odd_names += ["new\nline.json", "tab\there.json", "x" * 250 + ".json", ".json", "back\\slash-\\xe9.json"]
    odd_names += [unicodedata.normalize("NFC", "caf\u00e9.json"), unicodedata.normalize("NFD", "caf\u00e9.json")]
    for name in odd_names:
        (recordings / os.fsencode(name).decode("utf-8", "surrogateescape")).write_bytes(json.dumps(base).encode())
        readable.append(name)
    # Values no database column holds, anywhere in a recording.
    values = {}
    every = list(extreme_variants(base))
    step = max(1, len(every) // 120)  # a spread of about 120: every shape of field, each kind of value
    for number, (field, variant) in enumerate(every[::step] + [v for v in every if "usage.prompt_tokens" in v[0]]):
        name = f"extreme-{number:03d}.json"
        put(name, json.dumps(variant))  # Python's json writes NaN, and lone surrogates as \\udXXX escapes
        values[name] = field

    wrong_types = {}
    for number, (field, variant) in enumerate(wrong_type_variants(base)):
        name = f"wrong-type-{number:03d}.json"
        put(name, json.dumps(variant))
        wrong_types[name] = field

    (recordings / "x.json").mkdir()  # a folder with a recording's name
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(stream_recording(test_id="tests/x.py::test_secret", text=SECRET)))
    os.symlink(outside, recordings / "link-out.json")
    os.symlink(tmp_path, recordings / "folder-out")  # a folder outside the root
    os.symlink(recordings / "loop.json", recordings / "loop.json")  # a symlink to itself
    os.symlink(recordings, recordings / "subdir-loop")  # a folder that contains itself
    if huge:
        failing["huge.json"] = "too large"
        with open(recordings / "huge.json", "wb") as handle:  # 60 MB, over any cap the tests set
            handle.write(b'{"test_id": "t", "pad": "')
            chunk = b"z" * (1024 * 1024)
            for _ in range(HUGE_BYTES // len(chunk)):
                handle.write(chunk)
            handle.write(b'"}')
    return Tree(
        root=root, recordings=recordings, outside=outside, failing=failing, readable=readable,
        wrong_types=wrong_types, odd_names=tuple(odd_names), extreme=values,
    )  # fmt: skip


class OpenWatch:
    """Records every attempt of this process to open one of the watched files (Python's "open" audit event),
    directly or through symlinks that the open would follow.

    Audit hooks cannot be removed, so one hook serves every test and only acts while a watch is active.
    """

    _active: list[OpenWatch] = []
    _installed = False

    def __init__(self, *paths: Path) -> None:
        self.watched = {os.path.realpath(p) for p in paths} | {str(p) for p in paths}
        self.opened: list[str] = []

    def __enter__(self) -> OpenWatch:
        if not OpenWatch._installed:
            sys.addaudithook(OpenWatch._hook)
            OpenWatch._installed = True
        OpenWatch._active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        OpenWatch._active.remove(self)

    @staticmethod
    def _hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not OpenWatch._active or not args or isinstance(args[0], int):
            return
        try:
            name = os.fsdecode(args[0])
        except TypeError:
            return
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        if flags & getattr(os, "O_NOFOLLOW", 0):  # the kernel refuses a symlink as the last part of the path
            reached = os.path.join(os.path.realpath(os.path.dirname(name) or "."), os.path.basename(name))
        else:
            reached = os.path.realpath(name)
        for watch in OpenWatch._active:
            if name in watch.watched or reached in watch.watched:
                watch.opened.append(name)


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>: an event handler")
            if name in ("src", "href", "action", "formaction") and (value or "").strip().lower().startswith(
                ("javascript:", "vbscript:")
            ):
                self.problems.append(f"<{tag} {name}={value!r}>: a script URL")
            if tag == "img" and name == "src" and not (value or "").startswith(("/", "data:image/")):
                self.problems.append(f"<img src={value!r}>: a remote image")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"<script src={src!r}>: not our own static script")
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script: {data[:80]!r}")


def markup_problems(html: str) -> list[str]:
    """What in a page could run or fetch something: event handlers, script URLs, inline or foreign scripts."""
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.problems
