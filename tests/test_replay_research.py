"""docs/replay-keys.md: every count in its tables, derived again from the corpus (and the upstream history).

The explanations are written out here on their own from the doc's words, not taken from replay.py, and the test
also checks that replay.py names the same explanation for each file; so neither the doc nor the code can drift.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from recorder_ui.domain import gitsource, jsontext, replay

DOC = Path(__file__).resolve().parent.parent / "docs" / "replay-keys.md"
ROW = re.compile(r"^\|\s*`([a-z0-9-]+)`\s*\|.*\|\s*([\d,]+)\s*\|\s*$", re.M)
HISTORY_ONLY = "history-"  # keys that need the upstream history start so

NAME = re.compile(r"(?:models-)?([0-9a-f]{64}|[0-9a-f]{12})(?:-[0-9a-f]{8})?\.json")
REC_ID = re.compile(r'"rec-([0-9a-f]{12})"')
REAL_FILE_ID = re.compile(r"file-[0-9a-f]{32}")
ANY_FILE_ID = re.compile(r"file-(?:[0-9a-f]{32}|[0-9]{6,})")
DECIMAL = re.compile(r"(-?\d+\.\d{4,})")
SCORE = re.compile(r"score:\s*[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")
ATTRIBUTES = re.compile(r",?\s*attributes:\s*\{[^}]*\}")
UUID = r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"
DOCUMENT_ID = re.compile(r"document_id:\s*" + UUID)
CITATION = re.compile(r"<\|" + UUID + r"\|>")
# The rename, as the doc lists it: (now, before), undone in this order.
RENAME_TEST_ID = [("rename-ogx-client", "ogx_client", "llama_stack_client")]
RENAME_TEXT = [
    ("rename-provider-header", "X-OGX-Provider-Data", "X-LlamaStack-Provider-Data"),
    ("rename-contributors", "The OGX Contributors", "Meta Llama"),
    ("rename-pdf-name", "ogx_and_models.pdf", "llama_stack_and_models.pdf"),
    ("rename-llama-stack", "OGX", "Llama Stack"),
]


CODE_RULE = {
    "": "",
    "explained-score-attributes": replay.RULE_SCORE_ATTRIBUTES,
    "explained-file-numbers": replay.RULE_FILE_NUMBERS,
}


def doc_counts() -> dict[str, int]:
    return {key: int(n.replace(",", "")) for key, n in ROW.findall(DOC.read_text())}


def H(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def N(v: Any, level: str, root: bool = True, bedrock: bool = False) -> Any:
    """9.3's N at a level: "today", "no-file-search", "score-attributes" (no document_id/citation), "raw"."""
    if level == "raw":
        return v
    if isinstance(v, dict):
        d = {k: N(x, level, root=False) for k, x in v.items()}
        if bedrock:
            d.pop("stream_options", None)
        for k in ("extra_body", "extra_query") if root else ():
            if isinstance(d.get(k), dict):
                d[k].pop("project_id", None)
        return d
    if isinstance(v, list):
        return [N(x, level) for x in v]
    if isinstance(v, float):
        return round(v, 5)
    if isinstance(v, str):
        if level in ("today", "score-attributes"):
            v = ATTRIBUTES.sub("", SCORE.sub("score: __NORMALIZED__", v))
        if level == "today":
            v = CITATION.sub("<|__NORMALIZED__|>", DOCUMENT_ID.sub("document_id: __NORMALIZED__", v))
        return DECIMAL.sub(lambda m: f"{float(m.group(0)):.5f}", v)
    return v


def strings(v: Any, f: Callable[[str], str]) -> Any:
    if isinstance(v, dict):
        return {k: strings(x, f) for k, x in v.items()}
    if isinstance(v, list):
        return [strings(x, f) for x in v]
    return f(v) if isinstance(v, str) else v


def inference_hash(raw: dict[str, Any], test_id: Any, body: Any, level: str) -> str:
    u = urllib.parse.urlparse(raw["request"]["url"])
    canon = {"method": "POST", "endpoint": u.path, "body": N(body, level, bedrock="bedrock" in u.netloc)}
    if u.path not in ("/api/tags", "/v1/models", "/v1/openai/v1/models"):
        canon["test_id"] = test_id
    return H(canon)


def undo_rename(raw: dict[str, Any]) -> tuple[Any, Any, list[str]]:
    """(test id, body) with the rename undone, and the keys of the pairs that changed something."""
    test_id, text, changed = raw.get("test_id"), json.dumps(raw["request"]["body"]), []
    for key, now, before in RENAME_TEST_ID:
        if isinstance(test_id, str) and now in test_id:
            test_id, changed = test_id.replace(now, before), [*changed, key]
    for key, now, before in RENAME_TEXT:
        if now in text:
            text, changed = text.replace(now, before), [*changed, key]

    def undo(s: str) -> str:
        for _, now, before in RENAME_TEXT:
            s = s.replace(now, before)
        return s

    return test_id, strings(raw["request"]["body"], undo), changed


def number_file_ids(body: Any) -> Any:
    order: dict[str, str] = {}
    for found in REAL_FILE_ID.findall(json.dumps(body)):
        order.setdefault(found, f"file-{len(order) + 1}")
    return strings(body, lambda s: REAL_FILE_ID.sub(lambda m: order[m.group(0)], s)) if order else None


def explanation(raw: dict[str, Any], want: str) -> tuple[str, list[str]]:
    """The doc's explanation of a name no rule gives for the request as it stands, in the doc's order."""
    if inference_hash(raw, raw.get("test_id"), raw["request"]["body"], "score-attributes") == want:
        return "explained-score-attributes", []
    test_id, body, changed = undo_rename(raw)
    if changed:
        for level in ("today", "no-file-search", "score-attributes", "raw"):
            if inference_hash(raw, test_id, body, level) == want:
                return f"rename-{level}", changed
    numbered = number_file_ids(raw["request"]["body"])
    if numbered is not None and inference_hash(raw, raw.get("test_id"), numbered, "raw") == want:
        return "explained-file-numbers", []
    return "", []


def without_metadata(raw: dict[str, Any]) -> str:
    request = {k: v for k, v in raw["request"].items() if k != "provider_metadata"}  # not hashed
    return json.dumps({"test_id": raw.get("test_id"), "request": request}, sort_keys=True)


def without_file_ids(raw: dict[str, Any]) -> str:
    """without_metadata with every file id, real or deterministic, written file-X."""
    return ANY_FILE_ID.sub("file-X", without_metadata(raw))


def rec_ids(raw: dict[str, Any]) -> set[str]:
    return set(REC_ID.findall(json.dumps(raw.get("response"))))


def derive_corpus(corpus: Path) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """The counts of the doc's corpus tables, and per unreproduced file what the history part needs."""
    counts: Counter[str] = Counter()
    files = sorted(corpus.rglob("recordings/*.json"))
    raws = {path: jsontext.loads(path.read_bytes()) for path in files}
    keys = {path: replay.key_of(raws[path], path.name) for path in files}
    by_request: dict[str, list[Path]] = {}
    by_file_ids: dict[str, list[Path]] = {}
    current_names: set[str] = set()
    for path in files:
        if "body" in raws[path]["request"]:
            by_request.setdefault(without_metadata(raws[path]), []).append(path)
            by_file_ids.setdefault(without_file_ids(raws[path]), []).append(path)
        if keys[path].status == replay.CURRENT:
            current_names.add(keys[path].hash)
    unreproduced: dict[str, dict[str, Any]] = {}
    for path in files:
        raw, key = raws[path], keys[path]
        counts[key.status] += 1
        if key.status == replay.CURRENT:
            counts[f"current-{key.kind}"] += 1
            if path.name.startswith("models-"):
                with_id = urllib.parse.urlparse(raw["request"]["url"]).path not in replay.MODEL_LIST_PATHS
                counts["models-with-test-id" if with_id else "models-without-test-id"] += 1
        elif key.status == replay.OLDER_RULE:
            counts[{replay.RULE_NO_FILE_SEARCH: "older-no-file-search", replay.RULE_RAW_BODY: "older-raw-body",
                    replay.RULE_SHORT: "older-short", replay.RULE_SHORT_FORM: "older-short-form"}[key.rule]] += 1  # fmt: skip
        if not (
            key.status in (replay.MISMATCH, replay.NONE) or key.rule in (replay.RULE_RAW_BODY, replay.RULE_SHORT_FORM)
        ):
            continue
        counts["unreproduced"] += 1
        rel = str(path.relative_to(corpus))
        info: dict[str, Any] = {"raw": raw, "name": path.name, "class": ""}
        unreproduced[rel] = info
        if key.rule == replay.RULE_RAW_BODY:
            info["class"] = "older-raw-body"
            continue
        if key.status == replay.NONE:
            counts["file-processor"] += raw["request"].get("api") == "file_processors"
            info["class"] = "file-processor"
            continue
        want = NAME.fullmatch(path.name).group(1)  # type: ignore[union-attr]
        found, changed = explanation(raw, want) if len(want) == 64 else ("", [])
        short_form = key.rule == replay.RULE_SHORT_FORM  # dead by its name's form, whatever its hash
        assert short_form or key.rule == CODE_RULE.get(found, replay.RULE_BEFORE_RENAME), rel  # replay.py agrees
        if found:
            info["class"] = found
            counts[found] += 1
            if found == "explained-score-attributes":
                counts["score-attributes-today-key-current"] += key.hash in current_names
            if found == "explained-file-numbers":
                twins = by_file_ids.get(without_file_ids(raw), [])
                counts["file-numbers-twin-deterministic-ids"] += any(
                    ANY_FILE_ID.search(json.dumps(raws[t]["request"]))
                    and not REAL_FILE_ID.search(json.dumps(raws[t]["request"]))
                    for t in twins
                )
            if found.startswith("rename-"):
                counts["explained-rename"] += 1
                counts.update(changed)
            continue
        info["class"] = "unexplained"
        counts["unexplained"] += 1
        recs = rec_ids(raw)
        if "test_id" not in raw:
            counts["legacy-no-test-id"] += 1
            u = urllib.parse.urlparse(raw["request"]["url"])
            short = H({"method": "POST", "endpoint": u.path, "body": N(raw["request"]["body"], "today")})[:12]
            if len(want) == 64 and recs == {short}:
                counts["legacy-rec-id-is-short-hash"] += 1
            if len(want) == 12 and recs == {want}:
                counts["legacy-short-name-is-rec-id"] += 1
                counts["legacy-short-toolcall-carries-name"] += f"toolcall-{want[:8]}-0" in json.dumps(raw["request"])
            continue
        counts["unexplained-with-test-id"] += 1
        counts["unexplained-rec-id-is-name"] += recs == {want[:12]}
        twins = [p for p in by_request.get(without_metadata(raw), []) if p != path]
        counts["duplicate-request"] += bool(twins)
        counts["today-key-served-by-current"] += key.hash in current_names
    return dict(counts), unreproduced


def test_the_doc_tables_add_up() -> None:
    counts = doc_counts()
    assert len(counts) >= 30, "the doc's count tables did not parse"
    assert counts["unreproduced"] == (
        counts["mismatch"] + counts["older-raw-body"] + counts["older-short-form"] + counts["file-processor"]
    )
    explained = sum(counts[k] for k in ("explained-score-attributes", "explained-rename", "explained-file-numbers"))
    assert (
        explained + counts["unexplained"] == counts["mismatch"] + counts["older-short-form"]
    )  # the 4 stay unexplained
    assert counts["explained-rename"] == sum(counts[f"rename-{x}"] for x in ("today", "no-file-search",
                                                                              "score-attributes", "raw"))  # fmt: skip


@pytest.mark.corpus
def test_corpus_counts_match_the_doc(corpus: Path) -> None:
    derived, _ = derive_corpus(corpus)
    stated = {k: v for k, v in doc_counts().items() if not k.startswith(HISTORY_ONLY)}
    assert {k: derived.get(k, 0) for k in stated} == stated
    assert not {k for k, v in derived.items() if v and k not in stated}, "a count the doc does not state"


def _old_versions(history: Path, rel: str) -> list[tuple[str, str, bytes]]:
    """(commit, path there, content) of every version the history holds of rel, following renames."""
    out = gitsource.git(history, "log", "--all", "--follow", "-M", "--name-only", "--format=@%H", "--", rel).decode()
    versions, commit = [], ""
    for line in out.splitlines():
        if line.startswith("@"):
            commit = line[1:]
        elif line.strip():
            try:
                versions.append((commit, line.strip(), gitsource.git(history, "show", f"{commit}:{line.strip()}")))
            except gitsource.GitError:  # deleted there
                continue
    return versions


@pytest.mark.corpus
@pytest.mark.history
def test_history_counts_match_the_doc(corpus: Path, history: Path) -> None:
    _, unreproduced = derive_corpus(corpus)
    counts: Counter[str] = Counter()
    for rel, info in unreproduced.items():
        versions = _old_versions(history, rel)
        if not versions:
            continue
        counts["history-present"] += 1
        raw = info["raw"]
        for _, old_path, blob in versions:
            old = jsontext.loads(blob)
            old_key = replay.key_of(old, old_path.rsplit("/", 1)[-1])
            test_id, body, _ = undo_rename(raw)
            undone = (
                (old.get("test_id"), old["request"].get("body"))
                == (test_id, body)
                != (raw.get("test_id"), raw["request"].get("body"))
            )
            if info["class"].startswith("rename-") and old_path == rel:
                counts["history-rename-present"] += 1
                reproduced = old_key.status in (replay.CURRENT, replay.OLDER_RULE)
                counts["history-rename-reproduced"] += undone and reproduced
            elif info["class"] == "unexplained" and old_path == rel and undone:
                counts["history-unexplained-rename-undone"] += 1
            elif info["class"] == "unexplained" and old_path != rel and old_key.status == replay.CURRENT:
                same_request = without_metadata({"request": old["request"]}) == without_metadata(
                    {"request": raw["request"]}
                )
                counts["history-renamed-by-hand"] += same_request and old.get("test_id") != raw.get("test_id")
            elif info["class"] == "unexplained" and old_path == rel and without_metadata(old) == without_metadata(raw):
                counts["history-unexplained-same-request"] += 1
    stated = {k: v for k, v in doc_counts().items() if k.startswith(HISTORY_ONLY)}
    assert {k: counts.get(k, 0) for k in stated} == stated
    assert not {k for k, v in counts.items() if v and k not in stated}, "a count the doc does not state"
