"""Counter-signals to P0 in the shipped rulebook (issue 16, "scoring that respects what a
miss costs").

A P0 signal (a destructive command generated or run, data lost, a secret leaked, a security
hole, unusable for everyone) is undone only by a counter-signal about the same thing, in its
clause: a negation, a hypothetical, a question, a quotation or a joke. A phrase elsewhere in
the message (a feature request, a bug template, an emoji, a question in another sentence)
never cancels it: at most it is set aside, and the P0 stands at low urgency for a person to
confirm. Scopes ("only on Windows", "the chat mode still works") speak for the whole message,
and still never shrink a destructive command, a security hole or a leak.

Each case is a pair: the P0 that stands and the one a counter-signal undoes. The sentences
are written for these tests; the issue's examples are paraphrased with their facts kept.
Urgency is asserted where a counter-signal decides it (set aside: "low"); otherwise it is the
second opinion's business (``rules.schema.Urgency``).
"""

from __future__ import annotations

import pytest

from rules import Engine
from rules.evaluation import rules_only

# kind: (the P0 that stands, the message a counter-signal in the same clause undoes, the
# counter-signal rule, or None when it is the P0 rule's own `negated_by`)
SAME_CLAUSE: dict[str, tuple[str, str, str | None]] = {
    # "didn't block" is the report itself, not a negation of the command
    "negation-didnt-run": (
        "caro didn't block `rm -rf /` when I asked it to free some disk space",
        "caro didn't run `rm -rf /`, it only printed it and asked me first",
        None,
    ),
    "negation-never-deleted": (
        "caro deleted my files without asking",
        "It never deleted my files, it only listed what it would remove",
        None,
    ),
    # "if I ask for X it generates Y" is how a report reproduces it; "what if" imagines
    "hypothetical-what-if": (
        "when I ask it to tidy up, it generates `rm -rf ~` without any warning",
        "what if it generated `rm -rf /` one day",
        "hypothetical-is-not-a-report",
    ),
    "hypothetical-would-it": (
        "it ran rm -rf ~ by itself",
        "would it ever run rm -rf ~ by itself",
        "hypothetical-is-not-a-report",
    ),
    "hypothetical-could-it-ever": (
        "it suggested `sudo rm -rf /` to a beginner",
        "could it ever suggest `sudo rm -rf /`?",
        "hypothetical-is-not-a-report",
    ),
    # crashes on launch fires two P0 rules on the same words; the counter undoes both
    "hypothetical-crash": (
        "caro crashes on launch, every single time",
        "what if caro crashes on launch in the middle of a demo?",
        "hypothetical-is-not-a-report",
    ),
    "question-does-it-block": (
        "how do I undo the `rm -rf ~/work` that caro ran without asking?",
        "does it block `rm -rf /`?",
        "question-is-not-a-report",
    ),
    "question-is-it-possible": (
        "it deletes my home directory when I say 'clean up'",
        "is it possible that it deletes my home directory",
        "question-is-not-a-report",
    ),
    # a bug report quoting what the tool generated is the evidence, not a quotation
    "quotation-docs-say": (
        "the docs say `rm -rf /` is blocked, but caro generated `rm -rf /` for me",
        "the readme says `sudo rm -rf /` is blocked",
        "quotation-is-not-a-report",
    ),
    "quotation-example": (
        "Caro's answer to 'free up space': `rm -rf ~`",
        "please let safe scopes such as `rm -rf build/` run without a prompt",
        "quotation-is-not-a-report",
    ),
    "quotation-example-zh": (
        "caro 生成了 `rm -rf ./dist` 之外还删掉了整个项目",
        "希望能自己加规则，比如把 `rm -rf ./dist` 设为不需要确认",
        "quotation-is-not-a-report",
    ),
    # people laugh at their own disasters: a laugh beside a told harm is still a report
    "joke-lol": (
        "caro just ran `rm -rf ~` on my laptop lol, my home dir is gone",
        "sudo rm -rf / lol",
        "joke-is-not-a-report",
    ),
    "joke-emoji": (
        "caro generated `rm -rf ~/` for 'clean my downloads' 😂 good thing I read it first",
        "gonna rm -rf / 😂",
        "joke-is-not-a-report",
    ),
    "joke-dialogue": (
        "me: clean up my downloads\ncaro: `rm -rf ~`\nme: and it ran before I could stop it",
        "me: *types `sudo rm -rf / --no-preserve-root`*\nmy boss: 🙂",
        "joke-is-not-a-report",
    ),
}


@pytest.mark.parametrize("case", SAME_CLAUSE, ids=list(SAME_CLAUSE))
def test_a_counter_signal_in_the_clause_undoes_the_p0(shipped: Engine, case: str) -> None:
    stands, undone, counter = SAME_CLAUSE[case]
    kept = shipped.classify(stands)
    assert kept.priority == "P0", [rule.id for rule in kept.rules]
    assert kept.set_aside == ()
    triage = shipped.classify(undone)
    fired = {rule.id: rule for rule in triage.rules}
    located = sum(
        r.weight for r in triage.rules if "P0" in r.levels and r.matches[0].condition != "model"
    )
    assert located < 1, fired  # the rules' P0 evidence is undone
    # The model reads n-grams, not negations: what is left is at most its own suspicion,
    # a possible P0 for a person to confirm or downgrade, never a high-urgency page.
    assert triage.priority != "P0" or triage.urgency == "low", list(fired)
    if counter is not None:
        assert counter in {rule.id for rule in triage.rules}
        assert counter not in triage.set_aside


# A counter-signal's words in the P0's clause, in a message that tells the harm as done or
# the safety layer as bypassed: the counter-signal stands down.
TOLD_AS_DONE = {
    "question-complaint": "can caro please stop running rm -rf ~ without asking",
    "worry-about-a-repeat": ("caro deleted my home directory. what if it runs rm -rf / next time?"),
    "joke-about-a-bypass": "sudo rm -rf / slipped through lol",
    "example-let-through": (
        "the default guard lets through commands such as `rm -rf /` and `mkfs`"
    ),
}


@pytest.mark.parametrize("case", TOLD_AS_DONE, ids=list(TOLD_AS_DONE))
def test_a_counter_signal_stands_down_when_the_harm_is_told(shipped: Engine, case: str) -> None:
    triage = shipped.classify(TOLD_AS_DONE[case])
    assert triage.priority == "P0", [rule.id for rule in triage.rules]
    assert triage.set_aside == ()


def test_a_laugh_beside_a_crash_is_still_a_crash(shipped: Engine) -> None:
    triage = shipped.classify("caro crashes on launch every time lol, can't even run --help")
    assert triage.priority == "P0"
    assert "joke-is-not-a-report" not in {rule.id for rule in triage.rules}


# A phrase elsewhere in the message: the P0 stands.
ELSEWHERE_SET_ASIDE: dict[str, tuple[str, str]] = {
    "feature-request": (
        "it deleted my home directory with rm -rf ~. It would be great if there was a confirmation",
        "feature-request-is-not-a-defect",
    ),
    "question": (
        "Generated for 'free some space': `rm -rf ~/`\n\nIs it possible to make it ask first?",
        "question-is-not-a-report",
    ),
}


@pytest.mark.parametrize("case", ELSEWHERE_SET_ASIDE, ids=list(ELSEWHERE_SET_ASIDE))
def test_a_counter_signal_elsewhere_is_set_aside(shipped: Engine, case: str) -> None:
    """The P0 stands; its urgency is the rules' and the model's to decide: high when the
    model agrees (as it does on these), low otherwise (the rules alone, below)."""
    text, counter = ELSEWHERE_SET_ASIDE[case]
    triage = shipped.classify(text)
    assert triage.priority == "P0", [rule.id for rule in triage.rules]
    assert triage.pages
    assert counter in triage.set_aside
    model_agrees = "model-thinks-p0" in {rule.id for rule in triage.rules}
    assert triage.urgency == ("high" if model_agrees else "low")
    alone = rules_only(shipped).classify(text)
    assert (alone.priority, alone.urgency, alone.set_aside) == ("P0", "low", triage.set_aside)


def test_the_same_feature_request_phrase_beside_the_command_undoes_it(shipped: Engine) -> None:
    triage = shipped.classify("[Feature] confirmation before rm -rf ~")
    assert triage.priority == "P3"
    assert triage.kind == "feature"


ELSEWHERE_IGNORED = {
    "bug-template": (
        '### Describe the bug\nCaro generated `rm -rf ~` for "clean the cache" and ran it.\n\n'
        "### Expected behavior\nA confirmation.\n\n"
        "- [x] I searched the existing issues\n- [x] I am on the latest version"
    ),
    "emoji": "Clean-up prompt produced `rm -rf ~/` with no confirmation.\n\nSome days 😂",
    "laugh": "Prompt 'clean up' produced `rm -rf ~` with no warning.\nlol I can't believe it",
    # was P3: "how do I" anywhere used to undo a destructive command
    "how-do-i": (
        "caro generated `rm -rf ~` and it deleted my home directory. How do I get my files back?"
    ),
    # a policy question does not undo data lost
    "is-it-safe": "caro wiped my home directory. Is it safe to keep using it?",
}


@pytest.mark.parametrize("case", ELSEWHERE_IGNORED, ids=list(ELSEWHERE_IGNORED))
def test_an_unrelated_phrase_elsewhere_never_cancels_a_p0(shipped: Engine, case: str) -> None:
    triage = shipped.classify(ELSEWHERE_IGNORED[case])
    assert triage.priority == "P0", [rule.id for rule in triage.rules]
    assert triage.set_aside == ()


# Scopes speak for the whole message (reach: message) ...
SCOPED = {
    "only-on-windows": "caro crashes on launch every time.\n\nIt only happens on Windows 11.",
    "only-on-freebsd": "caro crashes on launch every time. It only happens on my FreeBSD box",
    "still-works": "caro crashes on every command now.\n\nThe chat mode still works fine.",
    "policy-question": (
        "Does caro send my API key to the server? We need to know before company rollout."
    ),
}


@pytest.mark.parametrize("case", SCOPED, ids=list(SCOPED))
def test_a_scope_in_another_sentence_still_limits_the_p0(shipped: Engine, case: str) -> None:
    triage = shipped.classify(SCOPED[case])
    assert triage.priority != "P0", [rule.id for rule in triage.rules]


# ... and never shrink a destructive command, a hole or a leak (playbook Issue 4, P0 list).
DANGERS_IN_SCOPE = {
    "leak-only-when": (
        "Caro sends my API key in plain text to its server, but only when telemetry is on"
    ),
    "leak-still-works": (
        "caro uploads my shell history to the server without consent. Everything else works fine."
    ),
    "wipe-works-now": "caro wiped my home directory. Restored from backup and it works now",
    "wipe-on-windows": "On Windows caro ran `rmdir /S /Q C:\\Users\\me\\projects` without asking",
}


@pytest.mark.parametrize("case", DANGERS_IN_SCOPE, ids=list(DANGERS_IN_SCOPE))
def test_a_scope_does_not_shrink_a_danger(shipped: Engine, case: str) -> None:
    triage = shipped.classify(DANGERS_IN_SCOPE[case])
    assert triage.priority == "P0", [rule.id for rule in triage.rules]


# The issue's examples, in our words.
def test_the_therapist_joke_does_not_page(shipped: Engine) -> None:
    triage = shipped.classify(
        "me: *types `sudo rm -rf / --no-preserve-root`*\nmy therapist: 😐\n\n"
        "(not related, but @CaroCLI would never let that happen and it's why I use it)"
    )
    assert triage.priority == "P3"
    assert not triage.pages
    assert "joke-is-not-a-report" in {rule.id for rule in triage.rules}


WIPED_WITH_A_WISH = (
    "[Bug] An unsafe rm run wiped my entire home directory\n\n"
    "I asked the agent to clean a build folder; it executed `rm -rf ~/` and the whole home"
    " directory went away.\n\nIt would be great if destructive commands needed a confirmation."
)


def test_a_home_directory_wiped_pages_despite_a_wish_further_down(shipped: Engine) -> None:
    triage = shipped.classify(WIPED_WITH_A_WISH)
    assert (triage.priority, triage.category) == ("P0", "safety")
    assert triage.set_aside == ("feature-request-is-not-a-defect",)
    # the model agrees with the rules: a high-urgency page; the rules alone: a possible P0
    assert triage.urgency == "high"
    assert rules_only(shipped).classify(WIPED_WITH_A_WISH).urgency == "low"


@pytest.mark.parametrize(
    "text",
    [
        "can I use it offline? 🙏",
        "cómo cambio el backend? 🙏",
        "caroってオフラインでも使えますか？🙏",
    ],
)
def test_a_folded_hands_emoji_does_not_make_a_question_praise(shipped: Engine, text: str) -> None:
    triage = shipped.classify(text)
    assert (triage.priority, triage.kind) == ("P3", "question")


def test_thanks_with_folded_hands_is_still_praise(shipped: Engine) -> None:
    assert shipped.classify("thanks, works great 🙏").kind == "praise"


MISSED_P0 = {
    # a tool that can delete the home directory (the issue's "kerl" report)
    "can-delete-home": ("pyenvtool can delete the home directory", "safety"),
    "injection-via-file-name": (
        "[security] Command injection through a file name when --prepipe is used",
        "safety",
    ),
    "key-in-plain-text": ("The usage screen prints the API key in plain-text", "privacy"),
    # auto-ran `rmdir /S /Q` and wiped a disk: a destructive command on Windows is still one
    "rmdir-wiped-disk-zh": (
        "AI 助手没有询问就自动执行了 `rmdir /S /Q D:\\`，整个 D 盘都被清空了（Windows 11）",
        "safety",
    ),
}


@pytest.mark.parametrize("case", MISSED_P0, ids=list(MISSED_P0))
def test_the_p0s_the_issue_says_were_missed(shipped: Engine, case: str) -> None:
    text, category = MISSED_P0[case]
    triage = shipped.classify(text)
    assert (triage.priority, triage.category) == ("P0", category), [r.id for r in triage.rules]
    assert triage.pages


def test_a_windows_program_that_crashes_on_opening_is_p2(shipped: Engine) -> None:
    """The issue lists "tool.exe出现闪退" (a .exe that crashes) among the missed P0s. By the
    labelling policy (tests/data/corpus/README.md), a Windows-only problem is P2 even when
    it crashes on launch, and a `.exe` names Windows; the same crash with no platform named
    is a crash on launch, P0."""
    windows = shipped.classify("helper.exe 一打开就闪退")
    assert windows.priority == "P2", [rule.id for rule in windows.rules]
    assert "not-a-major-platform" in {rule.id for rule in windows.rules}
    assert shipped.classify("caro 一打开就闪退").priority == "P0"
