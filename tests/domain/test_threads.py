"""threads.stitch: requests ordered by message-prefix growth, tool calls beside results, variants, side calls."""

from __future__ import annotations

from recorder_ui.domain import threads
from recorder_ui.domain.model import Kind, Message, Recording, ToolCall, Usage

U = Message(role="user", content="Find the weather in Oslo")


def _call(id: str, name: str = "get_weather", args: str = '{"city": "Oslo"}') -> ToolCall:
    import json

    return ToolCall(id=id, name=name, arguments=args, parsed_arguments=json.loads(args))


def _chat(path: str, messages: tuple[Message, ...], answer: Message, tokens: int = 10, **params: object) -> Recording:
    return Recording(path=path, kind=Kind.CHAT, test_id="t", model="gpt-4o", request_messages=messages,
                     request_params=dict(params), choices=(answer,), usage=Usage(total_tokens=tokens))  # fmt: skip


def _asks(call: ToolCall) -> Message:
    return Message(role="assistant", tool_calls=(call,), finish_reason="tool_calls")


def test_a_chain_orders_by_prefix_growth_and_pairs_results() -> None:
    call = _call("call_1")
    result = Message(role="tool", tool_call_id="call_1", content="sunny")
    one = _chat("a.json", (U,), _asks(call), 5)
    two = _chat("b.json", (U, Message(role="assistant", content="", tool_calls=(call,)), result),
                Message(role="assistant", content="It is sunny."), 7)  # fmt: skip
    stitched = threads.stitch([two, one])
    [thread] = stitched.threads
    assert [s.recording.path for s in thread.steps] == ["a.json", "b.json"]
    assert [s.link for s in thread.steps] == ["root", "exact"]
    [turn] = thread.steps[0].answer
    assert turn.results == ((call, result),)  # the call beside its result from the next request
    assert thread.steps[1].new_messages == ()  # the tool result is shown with its call, not again
    assert thread.tokens == 12


def test_a_request_whose_history_differs_from_the_parent_answer_is_probable() -> None:
    one = _chat("a.json", (U,), Message(role="assistant", content="Let me check."))
    two = _chat("b.json", (U, Message(role="assistant", content="Something else"), Message(role="user", content="and?")),
                Message(role="assistant", content="ok"))  # fmt: skip
    [thread] = threads.stitch([one, two]).threads
    assert [s.link for s in thread.steps] == ["root", "probable"]


def test_variants_of_one_step_are_labelled_by_the_parameters_that_differ() -> None:
    old = _chat("old.json", (U,), _asks(_call("c1")))
    new = _chat("new.json", (U,), _asks(_call("c2")), stream_options={"include_usage": True})
    [thread] = threads.stitch([old, new]).threads
    labels = {s.recording.path: s.variant_label for s in thread.steps}
    assert labels == {"old.json": "no stream_options", "new.json": 'stream_options={"include_usage":true}'}


def test_every_variant_says_what_sets_it_apart() -> None:
    """Any parameter that differs (not only the usual ones), else the tools, else that the request was recorded
    again: never "same parameters" for variants that do differ."""
    plain = _chat("a.json", (U,), _asks(_call("c1")), parallel_tool_calls=True)
    capped = _chat("b.json", (U,), _asks(_call("c2")), parallel_tool_calls=True, max_tokens=50)
    again = _chat("c.json", (U,), _asks(_call("c3")), parallel_tool_calls=True)
    [thread] = threads.stitch([plain, capped, again]).threads
    labels = {s.recording.path: s.variant_label for s in thread.steps}
    assert labels == {"a.json": "no max_tokens, recorded again", "b.json": "max_tokens=50",
                      "c.json": "no max_tokens, recorded again"}  # fmt: skip
    huge = [_chat(n, (U,), _asks(_call(n)), seed=s) for n, s in (("h1.json", 2**70), ("h2.json", 1))]
    [thread] = threads.stitch(huge).threads  # integers beyond 64 bits label like any other value
    assert {s.variant_label for s in thread.steps} == {f"seed={2**70}", "seed=1"}
    big = _call("b1", args=f'{{"n": {2**70}}}')  # and match a history's tool call to its answer
    history = Message(role="assistant", content="", tool_calls=(_call("other-id", args=f'{{"n": {2**70}}}'),))
    one = _chat("k1.json", (U,), _asks(big))
    two = _chat("k2.json", (U, history, Message(role="tool", tool_call_id="other-id", content="x")),
                Message(role="assistant", content="done"))  # fmt: skip
    [thread] = threads.stitch([one, two]).threads
    assert [s.link for s in thread.steps] == ["root", "exact"]
    twin = _chat("d.json", (U,), _asks(_call("c4")))
    [thread] = threads.stitch([_chat("e.json", (U,), _asks(_call("c5"))), twin]).threads
    assert {s.variant_label for s in thread.steps} == {"the same request, recorded again"}


def test_normalisation_ignores_empty_values() -> None:
    call = _call("call_1")
    one = _chat("a.json", (U,), _asks(call))
    history = Message(role="assistant", content="   ", tool_calls=(call,))  # "" or spaces where the answer had none
    two = _chat(
        "b.json",
        (U, history, Message(role="tool", tool_call_id="call_1", content="x")),
        Message(role="assistant", content="done"),
    )
    [thread] = threads.stitch([one, two]).threads
    assert thread.steps[1].link == "exact"


def test_side_calls_stand_apart_and_tool_runs_attach_to_their_call() -> None:
    call = _call("call_9", "web_search", '{"query": "llama 4"}')
    chat = _chat("a.json", (U,), _asks(call))
    guard = Recording(path="g.json", kind=Kind.CHAT, model="llama-guard3:1b", test_id="t",
                      request_messages=(Message(role="user", content=threads.SAFETY_PROMPT + "User'..."),),
                      choices=(Message(role="assistant", content="safe"),), usage=Usage(total_tokens=200))  # fmt: skip
    tool = Recording(
        path="w.json", kind=Kind.TOOL, test_id="t", details={"tool_name": "web_search", "kwargs": {"query": "llama 4"}}
    )
    models = Recording(path="m.json", kind=Kind.MODEL_LIST, test_id="t")
    stitched = threads.stitch([chat, guard, tool, models])
    assert [s.recording.path for t in stitched.threads for s in t.steps] == ["a.json"]
    side = {s.recording.path: (s.label, s.attached_to) for s in stitched.side_calls}
    assert side == {"g.json": ("safety check", ""), "w.json": ("tool run", "call_9"), "m.json": ("model list", "")}
    assert stitched.side_tokens == 200 and stitched.conversation_tokens == 10
    assert threads.is_safety_check(guard) and not threads.is_safety_check(chat)


def test_pair_tool_results_in_one_request_history() -> None:
    call = _call("c1")
    turns = threads.pair_tool_results(
        [U, _asks(call), Message(role="tool", tool_call_id="c1", content="r"), Message(role="user", content="thanks")]
    )
    assert [t.message.role for t in turns] == ["user", "assistant", "user"]
    assert turns[1].results[0][1].content == "r"  # type: ignore[union-attr]


def test_a_history_that_sends_the_answer_with_its_reasoning_tags_continues_it() -> None:
    """Bedrock streams reasoning as <reasoning>...</reasoning> in the text; the next request sends that text as
    it came, while the reassembled answer holds the reasoning apart: still the parent's answer, an exact link."""

    def links(answer: Message, sent: str) -> list[str]:
        """The links of a parent that gave `answer` and the request whose history sends it as `sent`."""
        parent = _chat("a.json", (U,), answer)
        child = _chat("b.json", (U, Message(role="assistant", content=sent), Message(role="user", content="And?")),
                      Message(role="assistant", content="ok"))  # fmt: skip
        [thread] = threads.stitch([parent, child]).threads
        return [s.link for s in thread.steps]

    sunny = Message(role="assistant", content="It is sunny.", reasoning="Check the sky.")
    assert links(sunny, "<reasoning>Check the sky.</reasoning>It is sunny.") == ["root", "exact"]
    only = Message(role="assistant", content="", reasoning="Just thinking.")
    assert links(only, "<think>Just thinking.</think>") == ["root", "exact"]
    assert links(only, "<think>Other.</think>") == ["root", "probable"]


def test_variants_that_differ_in_tool_definitions_or_messages_say_so() -> None:
    """Never "the same request, recorded again" for two requests that differ: the same tool names with other
    definitions (a `strict: null` dropped), or another earlier answer or tool result in the history."""
    call = _call("c1")
    first = _chat("a.json", (U,), _asks(call))
    asked = Message(role="assistant", content="", tool_calls=(call,))
    sunny, rainy = (Message(role="tool", tool_call_id="c1", content=text) for text in ("sunny", "rainy"))
    one = _chat("b.json", (U, asked, sunny), Message(role="assistant", content="Sunny."))
    two = _chat("c.json", (U, asked, rainy), Message(role="assistant", content="Rainy."))
    [thread] = threads.stitch([first, one, two]).threads
    assert {s.recording.path: s.variant_label for s in thread.steps[1:]} == {
        "b.json": "other messages", "c.json": "other messages"}  # fmt: skip
    strict, loose = (_chat(n, (U,), _asks(_call(n))) for n in ("d.json", "e.json"))
    offered = {"d.json": "aaaa", "e.json": "bbbb"}
    [thread] = threads.stitch([strict, loose], offered).threads
    assert {s.variant_label for s in thread.steps} == {"other tool definitions"}
    [thread] = threads.stitch([strict, loose], {"d.json": "aaaa", "e.json": None}).threads  # one not known
    assert {s.variant_label for s in thread.steps} == {"the same request, recorded again"}


def test_a_count_that_is_no_real_count_stays_out_of_the_threads_tokens() -> None:
    """As out of the index's totals: a total beyond 2**40, or negative, is shown as recorded on the recording's
    page, and a step, thread or side calls' tokens leave it out, so the test page's figures agree."""
    huge = _chat("a.json", (U,), Message(role="assistant", content="Hi."), tokens=10**30)
    negative = _chat("b.json", (U, Message(role="assistant", content="Hi."), U), Message(role="assistant", content="Yo."),
                     tokens=-5)  # fmt: skip
    check = Recording(path="c.json", kind=Kind.CHAT, test_id="t", model="llama-guard3:1b",
                      request_messages=(Message(role="user", content=threads.SAFETY_PROMPT + "x"),),
                      usage=Usage(total_tokens=2**63))  # fmt: skip
    stitched = threads.stitch([huge, negative, check])
    [thread] = stitched.threads
    assert [s.tokens for s in thread.steps] == [None, None] and thread.tokens == 0
    assert len(stitched.side_calls) == 1 and stitched.side_tokens == 0


def test_the_longest_prefix_whose_answer_the_request_carries_is_the_parent() -> None:
    """Format doc, section 8: of the recordings whose messages prefix a request, the longest whose answer the
    request carries is its parent (exact); only when none does is the longest prefix a probable link."""
    first = _chat("a.json", (U,), Message(role="assistant", content="Sunny."))
    ask = Message(role="user", content="And tomorrow?")
    second = _chat(
        "b.json", (U, Message(role="assistant", content="Sunny."), ask), Message(role="assistant", content="Rain.")
    )
    drifted = (U, Message(role="assistant", content="Sunny."), ask, Message(role="assistant", content="Snow."),
               Message(role="user", content="Sure?"))  # fmt: skip
    third = _chat("c.json", drifted, Message(role="assistant", content="Yes."))  # b's answer re-recorded: not b's
    stitched = threads.stitch([first, second, third])
    [thread] = stitched.threads
    links = {s.recording.path: (s.parent_path, s.link) for s in thread.steps}
    assert links == {"a.json": (None, "root"), "b.json": ("a.json", "exact"), "c.json": ("a.json", "exact")}
    alone = threads.stitch([second, third])  # no recording answers: the longest prefix, probable
    assert {s.recording.path: s.link for t in alone.threads for s in t.steps} == {
        "b.json": "root",
        "c.json": "probable",
    }


def test_two_requests_that_differ_only_by_an_image_are_not_one_prefix() -> None:
    photo = Message(role="user", content="What is this?", images=("data:image/png;base64,AAAA",))
    other = Message(role="user", content="What is this?", images=("data:image/png;base64,BBBB",))
    first = _chat("a.json", (photo,), Message(role="assistant", content="A cat."))
    second = _chat(
        "b.json", (other, Message(role="assistant", content="A cat."), U), Message(role="assistant", content="ok")
    )
    assert len(threads.stitch([first, second]).threads) == 2  # b does not continue a: its image is another
    assert threads.messages_key((photo,)) != threads.messages_key((other,))
