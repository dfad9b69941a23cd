"""Typed facts: decisions by maintainers, workarounds, proposals, folded traces, figures, links."""

from __future__ import annotations

from pathlib import Path

import pytest

from drafter.sources import distill, load_source
from drafter.sources.context import Comment, Fact, IssueContext
from drafter.sources.facts import LIMITS, fold_traces

from .conftest import make_settings

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "corpus"


def _corpus(name: str) -> IssueContext:
    return load_source(str(CORPUS / f"{name}.json"), make_settings())


def _of(ctx: IssueContext, kind: str) -> list[Fact]:
    return [f for f in ctx.facts if f.kind == kind]


def test_hikaricp_decisions_name_the_option_and_the_maintainer() -> None:
    ctx = _corpus("brettwooldridge__HikariCP__664")
    decisions = {(f.status, f.text.split(":", 1)[0]) for f in _of(ctx, "decision")}
    assert ("declined", "(2)") in decisions and ("deferred", "(2)") in decisions
    assert ("declined", "(3)") in decisions and ("agreed", "(1)") in decisions
    assert ("closed", "Closing") in decisions
    assert all(f.author in ("jtorrance", "") for f in _of(ctx, "decision"))
    # A participant's preference is a proposal, never a decision.
    proposals = _of(ctx, "proposal")
    assert any(f.author == "ana-petrescu" and "option 2" in f.text for f in proposals)
    assert all(f.role == "maintainer" for f in _of(ctx, "decision") if f.author)


def test_kubevirt_deferral_and_workarounds() -> None:
    ctx = _corpus("kubevirt__kubevirt__9565")
    deferred = [f for f in _of(ctx, "decision") if f.status == "deferred"]
    assert any("design proposal in kubevirt/community" in f.text for f in deferred)
    assert any("more CPU" in f.text and "No code changes needed" in f.text for f in _of(ctx, "workaround"))
    assert any(f.text.startswith("about 1,800 items") for f in _of(ctx, "figure"))
    assert not any(f.author == "kubevirt-bot" for f in ctx.facts)  # its comments were dropped


def test_a_workaround_list_after_its_intro_line() -> None:
    ctx = _corpus("vitejs__vite-plugin-react__109")
    workarounds = [f.text for f in _of(ctx, "workaround")]
    assert any(t.startswith("Import hooks by deep path") for t in workarounds)
    assert any(t.startswith("Give commons separate entry points") for t in workarounds)
    declined = [f for f in _of(ctx, "decision") if f.status == "declined"]
    assert any(f.author == "sdupre" and "can't change this" in f.text for f in declined)
    assert [f.text[:12] for f in _of(ctx, "expected")] == ["What I expec"]
    assert any(f.text == "Run yarn start" for f in _of(ctx, "repro"))


def test_readyset_roadmap_answer_is_deferred_and_the_bump_is_noise() -> None:
    ctx = _corpus("readysettech__readyset__5")
    (decision,) = _of(ctx, "decision")
    assert decision.status == "deferred" and decision.author == "greg-mckeon"
    assert "Any news?" not in [c.body for c in ctx.comments]


def test_duplicate_close_is_recorded_with_its_reason() -> None:
    ctx = _corpus("drizzle-team__drizzle-orm__3530")
    texts = [(f.status, f.text) for f in _of(ctx, "decision")]
    assert (
        "closed",
        "Closing; this is tracked in https://github.com/drizzle-team/drizzle-orm/issues/1595 instead.",
    ) in texts
    assert ("closed", "The issue was closed as duplicate.") in texts
    assert "https://github.com/drizzle-team/drizzle-orm/issues/1595" in [f.text for f in _of(ctx, "link")]


def test_java_trace_folds_to_exception_and_first_and_last_frames() -> None:
    trace = (
        "Caused by: java.lang.NullPointerException\n"
        "\tat com.zaxxer.hikari.pool.PoolBase.setNetworkTimeout(PoolBase.java:464)\n"
        "\tat com.zaxxer.hikari.pool.PoolBase.isConnectionAlive(PoolBase.java:131)\n"
        "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:171)\n"
        "\t... 61 more\n"
    )
    (folded,) = fold_traces(trace)
    assert folded.startswith("Caused by: java.lang.NullPointerException: first frame `at com.zaxxer")
    assert "PoolBase.java:464" in folded and "HikariPool.java:171" in folded and "(3 frames)" in folded
    assert "isConnectionAlive" not in folded


def test_python_and_go_traces_fold_too() -> None:
    python = (
        "Traceback (most recent call last):\n"
        '  File "app.py", line 3, in <module>\n'
        '  File "lib/pool.py", line 88, in get\n'
        "KeyError: 'widget'\n"
    )
    folded = fold_traces(python)
    assert folded[0].startswith('Traceback (most recent call last):: first frame `File "app.py", line 3')
    assert "KeyError: 'widget'" in folded
    go = "panic: runtime error: invalid memory address\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:12 +0x1d\n"
    assert any("main.go:12" in line for line in fold_traces(go))


def test_quoted_words_are_not_the_quoters_decision() -> None:
    lead = Comment(
        "1",
        "lead",
        "> We won't add this flag.\n\nThat was the old answer; let's revisit this later.",
        association="MEMBER",
    )
    ctx = distill(IssueContext(title="t", body="b", repo="a/b", author="r", comments=(lead,)))
    texts = [f.text for f in _of(ctx, "decision")]
    assert "We won't add this flag." not in texts and any("revisit" in t for t in texts)


def test_a_participants_no_is_not_a_decision_when_roles_are_known() -> None:
    comments = (
        Comment("1", "user", "We won't need this, honestly.", association="NONE"),
        Comment("2", "lead", "Agreed, closing this.", association="MEMBER"),
    )
    ctx = distill(IssueContext(title="t", body="b", repo="a/b", author="r", comments=comments))
    assert [(f.author, f.status) for f in _of(ctx, "decision")] == [("lead", "closed")]


def test_without_roles_anyone_but_the_reporter_may_decide() -> None:
    comments = (
        Comment("1", "r", "Closing, I found my typo."),
        Comment("2", "someone", "We won't add this flag."),
    )
    ctx = distill(IssueContext(title="t", body="b", author="r", comments=comments))
    assert not ctx.roles_known
    assert [(f.author, f.status) for f in _of(ctx, "decision")] == [("someone", "declined")]


def test_identifiers_are_code_not_plain_words() -> None:
    body = "Pods stay `Running`; the key is `namespace/name`, see `virt-controller` and `STATE_IN_USE` in `src/pool.go`."
    ctx = distill(IssueContext(title="t", body=body))
    idents = [f.text for f in _of(ctx, "identifier")]
    assert "`Running`" not in idents
    assert {"`virt-controller`", "`STATE_IN_USE`", "`src/pool.go`"} <= set(idents)


def test_each_kind_is_capped() -> None:
    body = "\n\n".join(f"See https://example.org/page/{i} for case {i}." for i in range(60))
    ctx = distill(IssueContext(title="t", body=body))
    assert len(_of(ctx, "link")) == LIMITS["link"]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        # Words that describe events, hedges, questions and negations decide nothing.
        ("I haven't agreed to this yet.", None),
        ("I'm not sure this makes sense.", None),
        ("Has this been merged?", None),
        ("Not merged yet.", None),
        ("Could you revisit the test?", None),
        ("I'll take a look tomorrow.", None),
        ("Closing the socket twice triggers the NPE.", None),
        ("The server rejected the request with a 403.", None),
        ("The declined payments table grows without bound.", None),
        ("In the future please use the issue template.", None),
        ("This was fixed in 1.2 but regressed in 1.3.", None),
        ("Done with my review; two questions below.", None),
        ("I will not be available next week.", None),
        ("You don't want to do that in production.", None),
        ("The job landed on node 3 and OOMed.", None),
        # A maintainer's workaround is a workaround, not a deferral.
        ("For now, you can pin to 1.2 as a workaround.", ("workaround", "")),
        ("Workaround: downgrade to 2.5.0 for now.", ("workaround", "")),
        # The project's own voice.
        ("Duplicate of #123.", ("decision", "closed")),
        ("Agreed, closing this.", ("decision", "closed")),
        ("This isn't something we want.", ("decision", "declined")),
        ("We're not going to support Python 2.", ("decision", "declined")),
        ("Agreed that it's a bug, but we won't fix it in 1.x.", ("decision", "declined")),
        (
            "It isn't on our roadmap at the moment, but we'll discuss it next quarter.",
            ("decision", "deferred"),
        ),
        ("We decided to go with option B.", ("decision", "agreed")),
        ("Sounds like a plan, I'll open a PR.", ("decision", "agreed")),
        ("PRs welcome!", ("decision", "agreed")),
    ],
)
def test_what_a_maintainer_says_and_what_it_decides(said: str, expected: tuple[str, str] | None) -> None:
    lead = Comment("1", "lead", said, association="MEMBER")
    ctx = distill(IssueContext(title="t", body="b", repo="a/b", author="r", comments=(lead,)))
    found = [(f.kind, f.status) for f in ctx.facts if f.kind in ("decision", "workaround", "proposal")]
    assert found == ([expected] if expected else [])


def test_the_latest_decisions_are_kept_when_there_are_many() -> None:
    comments = tuple(
        Comment(str(i), "lead", f"We won't add flag number {i}.", association="MEMBER") for i in range(30)
    )
    ctx = distill(IssueContext(title="t", body="b", repo="a/b", author="r", comments=comments))
    decisions = [f for f in ctx.facts if f.kind == "decision"]
    assert len(decisions) == LIMITS["decision"]
    assert (
        decisions[-1].source == "comment:29" and decisions[0].source == f"comment:{30 - LIMITS['decision']}"
    )


def test_pathological_lines_are_linear() -> None:
    # Unbounded repetition before "#" or in a dotted exception name used to be quadratic or worse.
    dashes = IssueContext(title="t", body="-" * 100_000 + "#12")
    dotted = IssueContext(title="t", body="a.B" * 100_000 + "Exception")
    assert distill(dashes).body and distill(dotted).body
