"""docs/ci.md: its workflow parses, and calls only the commands, flags and --format values that exist."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import get_commands, load_command_class

from recorder_ui.domain import checks, diff

DOC = Path(__file__).resolve().parent.parent / "docs" / "ci.md"
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```$", re.S | re.M)
CONTINUATION = re.compile(r"\\\n[ \t]*")
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
OPERATOR_CHARS = frozenset("|&;<>()")
# The names each command's --fail-on accepts; a wrong one is a CommandError only when CI runs it.
FAIL_ON_NAMES = {"check_recordings": frozenset(checks.RULES), "diff_recordings": frozenset(diff.CATEGORIES)}


@dataclass(frozen=True, slots=True)
class Invocation:
    step: str
    command: str
    args: tuple[str, ...]  # variables of the workflow's env expanded; the shell's own ones left as written

    def value(self, flag: str) -> str | None:
        """The value given to flag (as `--flag X` or `--flag=X`), or None when the flag is not used."""
        for i, arg in enumerate(self.args):
            if arg == flag and i + 1 < len(self.args):
                return self.args[i + 1]
            if arg.startswith(flag + "="):
                return arg.partition("=")[2]
        return None


def workflow_text(doc: str) -> str:
    """The one ```yaml block of the doc."""
    blocks = YAML_BLOCK.findall(doc)
    assert len(blocks) == 1, f"docs/ci.md should hold exactly one ```yaml block, found {len(blocks)}"
    return blocks[0]


def load_workflow(text: str) -> dict[Any, Any]:
    workflow = yaml.safe_load(text)
    assert isinstance(workflow, dict), "the yaml block is not a mapping"
    return workflow


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1, which PyYAML reads, takes a bare `on` key for the boolean true.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict), "the workflow has no `on:` mapping"
    return on


def expand(word: str, env: dict[str, str]) -> str:
    """Replace $NAME and ${NAME} that the workflow's env defines; leave the others (RUNNER_TEMP, ...) as written."""
    return VARIABLE.sub(lambda m: env.get(m[1] or m[2], m[0]), word)


def invocations(script: str, *, env: dict[str, str], step: str) -> list[Invocation]:
    """Every `manage.py COMMAND ARGS...` of a shell script, up to the next shell operator (|, >, ||, ;, ...)."""
    found = []
    for line in CONTINUATION.sub(" ", script).splitlines():
        if "manage.py" not in line:
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        for i, word in enumerate(words):
            if not word.endswith("manage.py") or i + 1 >= len(words):
                continue
            args: list[str] = []
            for arg in words[i + 2 :]:
                if set(arg) <= OPERATOR_CHARS:
                    break
                args.append(expand(arg, env))
            found.append(Invocation(step=step, command=words[i + 1], args=tuple(args)))
    return found


def problems(inv: Invocation) -> list[str]:
    """What `manage.py` would refuse in one invocation: an unknown command, flag, --format or --fail-on name."""
    apps = get_commands()
    if inv.command not in apps:
        return [f"{inv.step}: no command {inv.command!r}"]
    parser = load_command_class(apps[inv.command], inv.command).create_parser("manage.py", inv.command)
    options = parser._option_string_actions
    found = []
    args = list(inv.args)
    while args:
        arg = args.pop(0)
        if not arg.startswith("-") or arg == "-":
            continue
        flag, has_inline, inline = arg.partition("=")
        action = options.get(flag)
        if action is None:
            found.append(f"{inv.step}: {inv.command} has no option {flag}")
            continue
        if action.nargs == 0:
            continue
        value = inline if has_inline else (args.pop(0) if args else None)
        if value is None:
            found.append(f"{inv.step}: {inv.command} {flag} has no value")
        elif action.choices is not None and value not in action.choices:
            found.append(f"{inv.step}: {inv.command} {flag} {value!r} is none of {sorted(action.choices)}")
        elif flag == "--fail-on" and inv.command in FAIL_ON_NAMES:
            if "$" in value:
                found.append(f"{inv.step}: {inv.command} --fail-on {value!r} cannot be checked")
                continue
            names = [name.strip() for name in value.split(",") if name.strip()]  # as the commands read it
            unknown = [name for name in names if name not in FAIL_ON_NAMES[inv.command]]
            found += [f"{inv.step}: {inv.command} --fail-on: no such name {name!r}" for name in unknown]
    return found


def workflow_invocations(workflow: dict[Any, Any]) -> list[Invocation]:
    """The manage.py invocations of every run: step of every job, with workflow, job and step env merged."""
    found = []
    for job_name, job in workflow["jobs"].items():
        for number, step in enumerate(job.get("steps", []), start=1):
            if "run" not in step:
                continue
            env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
            env = {name: "" if value is None else str(value) for name, value in env.items()}
            name = f"{job_name} step {number} ({step.get('name', 'unnamed')})"
            found += invocations(step["run"], env=env, step=name)
    return found


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return load_workflow(workflow_text(DOC.read_text(encoding="utf-8")))


def _glob(pattern: str) -> re.Pattern[str]:
    """A GitHub paths filter as a regex: ** crosses folders, * and ? do not."""
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    table = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(table.get(part, re.escape(part)) for part in parts) + r"\Z")


def test_ci_workflow_runs_on_pull_requests_that_touch_recordings(workflow: dict[Any, Any]) -> None:
    paths = triggers(workflow)["pull_request"]["paths"]
    matches = [_glob(p) for p in paths]
    for changed in (
        "tests/integration/inference/recordings/0a1b.json",
        "tests/integration/responses/recordings/models-abc.json",
        "tests/integration/agents/nested/recordings/c2d3.json",
    ):
        assert any(m.match(changed) for m in matches), f"{changed} triggers no run"
    assert not any(m.match("src/llama_stack/core/server.py") for m in matches)


def test_ci_workflow_job_can_comment_and_read_only(workflow: dict[Any, Any]) -> None:
    (job,) = workflow["jobs"].values()
    assert job.get("permissions", workflow.get("permissions")) == {"contents": "read", "pull-requests": "write"}
    checkouts = [s.get("with", {}) for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert any(c.get("fetch-depth") == 0 and "repository" not in c for c in checkouts), "no full-history checkout"
    assert any("repository" in c for c in checkouts), "recorder-ui is not checked out"
    uses = {step["uses"].partition("@")[0]: step.get("with", {}) for step in job["steps"] if "uses" in step}
    assert str(uses["actions/setup-python"]["python-version"]) == "3.12"
    assert "review/" in uses["actions/upload-artifact"]["path"]
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pip install -r requirements.txt" in scripts
    # One comment per pull request, found by its marker and edited (never another workflow's), else created.
    assert "<!-- recordings-review -->" in scripts and 'startswith("<!-- recordings-review -->")' in scripts
    assert "gh api --method PATCH" in scripts and "gh pr comment" in scripts and "--edit-last" not in scripts


def test_ci_workflow_runs_the_lint_and_both_diffs(workflow: dict[Any, Any]) -> None:
    calls = workflow_invocations(workflow)
    lints = [c for c in calls if c.command == "check_recordings"]
    assert lints and all(c.value("--fail-on") is not None for c in lints)
    assert any(c.value("--fail-on") for c in lints), "no lint fails on any rule"
    diffs = {c.value("--format"): c for c in calls if c.command == "diff_recordings"}
    assert {"markdown", "html"} <= diffs.keys()
    for call in diffs.values():
        assert call.args[:2] == ("origin/${{ github.base_ref }}", "HEAD")
        assert call.value("--repo")
    assert diffs["html"].value("--output")


def test_every_manage_py_invocation_in_the_ci_workflow_exists(workflow: dict[Any, Any]) -> None:
    calls = workflow_invocations(workflow)
    assert calls
    assert [p for call in calls for p in problems(call)] == []


def test_the_check_catches_a_misspelled_flag_across_line_continuations() -> None:
    script = (
        'rc=0\npython manage.py diff_recordings "origin/$BASE" HEAD \\\n  --repo "$REPO" --format markdown \\\n'
        "  --fial-on content-changed > out.md || rc=$?\n"
    )
    (call,) = invocations(script, env={"BASE": "main"}, step="s")
    assert call.args[0] == "origin/main" and call.args[-1] == "content-changed"
    assert problems(call) == ["s: diff_recordings has no option --fial-on"]


def test_the_check_catches_a_wrong_format_command_or_rule() -> None:
    script = (
        "python manage.py check_recordings . --format=yaml --fail-on missing-usage,parse-eror\n"
        "python manage.py check_recording .\n"
        'python manage.py check_recordings . --fail-on "$RULES"  # a variable the workflow does not define\n'
    )
    first, second, third = invocations(script, env={}, step="s")
    assert problems(first) == [
        "s: check_recordings --format 'yaml' is none of ['json', 'text']",
        "s: check_recordings --fail-on: no such name 'parse-eror'",
    ]
    assert problems(second) == ["s: no command 'check_recording'"]
    assert problems(third) == ["s: check_recordings --fail-on '$RULES' cannot be checked"]


def test_ci_doc_names_every_rule_and_category() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in (*checks.RULES, *diff.CATEGORIES) if f"`{name}`" not in text]
    assert missing == [], f"docs/ci.md does not name {missing}"
