"""Which old recording a new one re-records (format doc 9.2): by path, by request, at the same step, or renamed.

Rules, in order; each sees only what the earlier ones left:
1. `same path`: the file was rewritten in place.
2. `same request`: same test id, shape, model and normalised messages (or prompt, input, query, kwargs); for a
   call outside any test (a null test id) also the same provider host and endpoint. Such calls have no steps.
   `model changed`: the same, recorded with another model (the test id kept).
3. `approximate`: the same step of the same test (same shape, the same role sequence and the same messages up
   to the last turn) whose last turn or parameters changed. A one-message request never pairs with a
   three-message one. When candidates are equally good, none is paired: each side lists the others as
   possible partners.
4. `test renamed`: another test id, the same request content and tools, model, endpoint and provider host; calls
   without request content (model lists) never pair across test ids.
5. `model renamed`: another test id and another model, where each test id names its model and the two are
   the same once the model's name is taken out (`...[txt=bedrock/openai.gpt-oss-20b-1:0-True]` and
   `...[txt=bedrock/openai.gpt-oss-20b-True]`), with the same request content, tools and endpoint; the provider
   host may change with the model. A suite that moves a test to a new model id re-records it so.
Beyond MAX_SCORED x MAX_SCORED candidates for one key none is chosen: the files stay added and removed.
Where a key has several candidates (a step recorded more than once), the most similar request wins (the
fewest differing fields: other parameters, tool results; then the fewest differing test-id parts, so a
renamed parametrisation keeps its client fixture and provider) and the pair is marked ambiguous, with the
others closest first. For `approximate`, `test renamed` and `model renamed`, which are inferences, a tie on
both counts leaves every file of the tie unpaired, each listing every one it ties with; `same request` ties are
identical calls, so one is taken and the pair is marked ambiguous.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import orjson

from recorder_ui.domain import jsontext
from recorder_ui.domain.model import Message, Recording
from recorder_ui.domain.residue import leaf_paths, request_of

# Beyond this many candidates for one key, similarity is not scored (every one would be compared to every one).
MAX_SCORED = 40
MAX_LISTED = 8  # candidates named beside an ambiguous pair, closest first
# How a pair was made, in the order the rules run (a Pair's `how`; "" for a file left added or removed).
HOW = ("same path", "same request", "model changed", "approximate", "test renamed", "model renamed")


@dataclass(frozen=True, slots=True)
class Pair:
    old: Recording | None
    new: Recording | None
    how: str  # one of HOW, "" for added/removed
    ambiguous: bool = False  # several candidates had the same key: the most similar was taken
    candidates: tuple[str, ...] = ()  # the other candidates' paths (for an unpaired file: its possible partners)
    candidate_sides: tuple[str, ...] = ()  # "old" or "new", one for each of candidates


def message_key(message: Message) -> dict[str, object]:
    """A request message normalised for pairing: empty values dropped, tool-call ids ignored."""
    parts: dict[str, object] = {"role": message.role}
    if message.content.strip():
        parts["content"] = message.content.strip()
    if message.tool_calls:
        parts["calls"] = [
            (c.name, c.parsed_arguments if c.arguments_valid else c.arguments) for c in message.tool_calls
        ]
    if message.images:
        parts["images"] = list(message.images)
    return parts


def _dumps(value: object) -> bytes:
    return jsontext.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)


def _extra(rec: Recording) -> dict[str, object]:
    return {k: v for k, v in rec.request_params.items() if k in ("input", "prompt", "query", "kwargs", "payload")}


def _caller(rec: Recording) -> object:
    """Who makes the call: its test; for a call outside any test (a null test id: session fixtures, model lists
    in common/), which every such call shares, the server and endpoint it went to, so that Azure's and
    OpenAI's, or Ollama's and vLLM's model lists, are never taken for each other."""
    return rec.test_id if rec.test_id else ["no test", rec.provider, rec.endpoint]


def request_key(rec: Recording) -> bytes:
    messages = [message_key(m) for m in rec.request_messages]
    return _dumps([_caller(rec), str(rec.kind), rec.model, messages, _extra(rec)])


def step_key(rec: Recording) -> Hashable:
    """The step of a test a request belongs to: its role sequence and every message before the last.

    A call without messages (embeddings, model lists, tool runs) has no steps, nor has a call outside any test
    (a null test id): neither ever pairs approximately.
    """
    messages = rec.request_messages
    if not messages or not rec.test_id:  # outside a test, calls share no steps: two prompts are two calls
        return ("no step", id(rec))
    return _dumps([rec.test_id, str(rec.kind), [m.role for m in messages], [message_key(m) for m in messages[:-1]]])


def model_free_key(rec: Recording) -> bytes:
    """The request key without the model: the same call of the same test, recorded with another model."""
    messages = [message_key(m) for m in rec.request_messages]
    return _dumps([_caller(rec), str(rec.kind), rec.endpoint, messages, _extra(rec)])


def content_key(rec: Recording) -> Hashable:
    """What a renamed test still sends: shape, model, endpoint, provider host and request content.

    A call with no request content (a model list, /api/ps) says nothing a renamed test would keep: it is
    never paired across test ids.
    """
    extra = _extra(rec)
    if not rec.request_messages and not extra:
        return ("no content", id(rec))
    messages = [message_key(m) for m in rec.request_messages]
    # The tools offered too: a test that sends the same prompt with other tools (or none) is another test.
    return _dumps([str(rec.kind), rec.model, rec.endpoint, rec.provider, messages, extra, sorted(rec.tools)])


def renamed_model_key(rec: Recording) -> Hashable:
    """What a test parametrised by its model still sends when the model is renamed: its test id with the
    model's name taken out, shape, endpoint, request content and tools (not the model, nor the host, which a
    new model id often brings: Bedrock's runtime and mantle endpoints)."""
    test_id, model = rec.test_id or "", rec.model
    extra = _extra(rec)
    if not model or model not in test_id or (not rec.request_messages and not extra):
        return ("no model in the test id", id(rec))
    messages = [message_key(m) for m in rec.request_messages]
    return _dumps([str(rec.kind), rec.endpoint, test_id.replace(model, "\x00"), messages, extra, sorted(rec.tools)])


_TEST_ID_PARTS = re.compile(r"::|[\[\]\-/=:,\s]+")


def _test_id_distance(a: str, b: str) -> int:
    """How many parts of two test ids (file, class, test, each parameter) differ."""
    left, right = [p for p in _TEST_ID_PARTS.split(a) if p], [p for p in _TEST_ID_PARTS.split(b) if p]
    matched = sum(
        block.size for block in difflib.SequenceMatcher(None, left, right, autojunk=False).get_matching_blocks()
    )
    return len(left) + len(right) - 2 * matched


def distance(a: Recording, b: Recording) -> tuple[int, int]:
    """How many request fields differ, then how many test-id parts: the smaller, the more alike."""
    left, right = request_of(a.raw), request_of(b.raw)
    left.pop("test_id", None)
    right.pop("test_id", None)
    return sum(1 for _ in leaf_paths(left, right)), _test_id_distance(a.test_id or "", b.test_id or "")


class _Pairer:
    def __init__(self, old: Sequence[Recording], new: Sequence[Recording]) -> None:
        self.pairs: list[Pair] = []
        self.old = list(old)
        self.new = list(new)
        self.partners: dict[int, set[int]] = {}  # id(rec) -> ids of equally good partners left unpaired
        self.by_id = {id(r): r for r in [*old, *new]}

    def by_path(self) -> None:
        new_by_path = {r.path: r for r in self.new}
        rest = []
        for rec in self.old:
            match = new_by_path.pop(rec.path, None)
            if match is None:
                rest.append(rec)
            else:
                self.pairs.append(Pair(rec, match, "same path"))
        self.old, self.new = rest, list(new_by_path.values())

    def by_key(self, key_of: Callable[[Recording], Hashable], how: str, *, ties_unpaired: bool) -> None:
        groups: dict[Hashable, tuple[list[Recording], list[Recording]]] = {}
        for rec in self.old:
            groups.setdefault(key_of(rec), ([], []))[0].append(rec)
        for rec in self.new:
            if (group := groups.get(key_of(rec))) is not None:
                group[1].append(rec)
        taken: set[int] = set()
        for olds, news in groups.values():
            if news:
                taken |= self._match(olds, news, how, ties_unpaired=ties_unpaired)
        self.old = [r for r in self.old if id(r) not in taken]
        self.new = [r for r in self.new if id(r) not in taken]

    def _match(self, olds: list[Recording], news: list[Recording], how: str, *, ties_unpaired: bool) -> set[int]:
        crowded = len(olds) > 1 or len(news) > 1
        if len(olds) * len(news) > MAX_SCORED * MAX_SCORED:
            return set()  # too many candidates to weigh: none is chosen, the files stay added and removed
        scores = sorted((distance(o, n), i, j) for i, o in enumerate(olds) for j, n in enumerate(news))
        score_of = {(i, j): score for score, i, j in scores}
        used_old: set[int] = set()
        used_new: set[int] = set()
        taken: set[int] = set()
        for score, i, j in scores:
            if i in used_old or j in used_new:
                continue
            rivals = [
                (i2, j2)
                for s2, i2, j2 in scores
                if s2 == score and (i2, j2) != (i, j) and (i2 == i or j2 == j)
                if i2 not in used_old and j2 not in used_new
            ]
            if rivals and ties_unpaired:
                tied_old = {i2 for i2, _ in [(i, j), *rivals]}
                tied_new = {j2 for _, j2 in [(i, j), *rivals]}
                for i2, j2 in ((a, b) for a in tied_old for b in tied_new if score_of[a, b] == score):
                    self.partners.setdefault(id(olds[i2]), set()).add(id(news[j2]))
                    self.partners.setdefault(id(news[j2]), set()).add(id(olds[i2]))
                used_old |= tied_old
                used_new |= tied_new
                continue
            used_old.add(i)
            used_new.add(j)
            others = [(s2, olds[i2].path, "old") for s2, i2, j2 in scores if j2 == j and i2 != i]
            others += [(s2, news[j2].path, "new") for s2, i2, j2 in scores if i2 == i and j2 != j]
            closest = list(dict.fromkeys((path, side) for _, path, side in sorted(others)))[:MAX_LISTED]
            self.pairs.append(
                Pair(olds[i], news[j], how, ambiguous=crowded, candidates=tuple(p for p, _ in closest),
                     candidate_sides=tuple(side for _, side in closest))
            )  # fmt: skip
            taken |= {id(olds[i]), id(news[j])}
        return taken

    def rest(self) -> None:
        left = {id(r) for r in [*self.old, *self.new]}  # a partner a later rule paired is no partner any more
        for rec, side in [*((r, "old") for r in self.old), *((r, "new") for r in self.new)]:
            partners = tuple(sorted(self.by_id[p].path for p in self.partners.get(id(rec), ()) if p in left))
            old, new = (rec, None) if side == "old" else (None, rec)
            other = "new" if side == "old" else "old"  # a file's possible partners are on the other side
            self.pairs.append(
                Pair(
                    old,
                    new,
                    "",
                    ambiguous=bool(partners),
                    candidates=partners,
                    candidate_sides=(other,) * len(partners),
                )
            )


def pair(old: Sequence[Recording], new: Sequence[Recording]) -> tuple[Pair, ...]:
    """Pair old and new recordings by the rules of the module docstring; the rest are added or removed."""
    pairer = _Pairer(old, new)
    pairer.by_path()
    pairer.by_key(request_key, "same request", ties_unpaired=False)
    pairer.by_key(model_free_key, "model changed", ties_unpaired=False)
    pairer.by_key(step_key, "approximate", ties_unpaired=True)
    pairer.by_key(content_key, "test renamed", ties_unpaired=True)
    pairer.by_key(renamed_model_key, "model renamed", ties_unpaired=True)
    pairer.rest()
    return tuple(pairer.pairs)
