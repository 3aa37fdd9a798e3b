"""What a reply must not say: the playbook's forbidden phrases, and destructive commands.

``tone_problems(text)`` lists the phrases Caro's support playbook (support-strategy.md, Support
Principles and Values) rules out, each with the phrase and the playbook's reason. The template
loader treats them as errors in a template; the reply queue shows them as warnings while a
person edits a draft. Matching is case-insensitive and on whole words: "readthedocs.io" is not
"read the docs", "unjustly" is not "just".

``destructive_command(text)`` finds a command that destroys data or a system (``rm -rf``,
``find / -delete``, ``curl ... | sudo bash``, ``chmod -R 777 /``, a fork bomb), shell quoting
undone first (``r''m -rf /``): a public reply must never show one, not even quoted back to the
person who reported it. It is ``rules.shell.destructive_command``, the detector behind the
rulebook's destructive-command signal, so that a draft refuses what triage reads as a P0.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from rules.shell import destructive_command

__all__ = ["ToneProblem", "destructive_command", "find_tone_problems", "tone_problems"]

_PATIENT = 'the playbook\'s support values: "Patient: never make users feel stupid"'
_DOCUMENTED = (
    'the playbook says never say "This is documented", even if it is: link the page and '
    "apologize for it not being clear (Support Principle 1: users are helping us, not "
    "bothering us)"
)
_READ_DOCS = (
    "the playbook's example of a bad response: users are helping us, not bothering us, so "
    "link the exact page and explain instead of sending them away (Support Principle 1)"
)
_REINSTALL = (
    'the playbook\'s "Support (Bad)" answer: understand before answering; ask the '
    "troubleshooting questions, or say in the same sentence why reinstalling would help "
    "(Support Principles 2 and 3: explain the why)"
)

# (name, pattern, reason). Earlier entries win where matches overlap, so the specific
# "read the documentation before" is reported instead of the general "read the docs".
_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "this is documented",
        r"\b(?:this|that|it)(?:\s+is|'s)\s+(?:already\s+|clearly\s+|well\s+|all\s+)?documented\b",
        _DOCUMENTED,
    ),
    (
        "please read the documentation before",
        r"\b(?:please\s+)?read\s+the\s+(?:docs|documentation|readme|faq|manual)\s+"
        r"(?:before|first)\b",
        _READ_DOCS,
    ),
    (
        "read the docs",
        r"\bread\s+the\s+(?:docs|f\w*\s+manual|manual)\b",
        _READ_DOCS,
    ),
    ("RTFM", r"\brtf[dm]\b", _READ_DOCS),
    (
        "try reinstalling",
        r"\b(?:try|just)\s+(?:re-?installing|to\s+re-?install|a\s+re-?install|re-?install)\b",
        _REINSTALL,
    ),
    ("obviously", r"\bobviously\b", f"condescending; {_PATIENT}"),
    (
        'just + "read"',
        r"\bjust\s+(?:read|google|search|rtfm|look\s+(?:it\s+up|at\s+the\s+(?:docs|readme|manual))"
        r"|check\s+the\s+(?:docs|readme|manual|faq))\b",
        f"blames the user (as if the answer were easy to find); {_PATIENT}, and teach, "
        "don't just tell (Support Principle 3)",
    ),
    (
        "as I said",
        r"\b(?:as|like)\s+(?:I|we)(?:'ve)?\s+(?:already\s+|previously\s+|just\s+)?"
        r"(?:said|mentioned|explained|stated|told\s+you)\b"
        r"|\bas\s+(?:already|previously)\s+(?:said|mentioned|explained|stated)\b",
        f"impatient: restate the answer instead of pointing back to it; {_PATIENT}",
    ),
)
# The same rules in the languages drafts are translated into (es, pt, fr, de, ru, zh, ja):
# the plain phrasings only. English-only: "just + read", "as I said", and the exception for
# "try reinstalling" with a reason in the same sentence (a translated one is always flagged).
_TRANSLATED_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "this is documented",
        r"\b(?:ya\s+)?est[aá]\s+(?:bien\s+|claramente\s+)?documentad[oa]\b"
        r"|\bc'est\s+(?:d[ée]j[aà]\s+)?document[ée]\b|\b(?:ist|steht)\s+(?:doch\s+)?"
        r"(?:dokumentiert|in\s+der\s+doku(?:mentation)?)\b|\bэто\s+(?:уже\s+)?"
        r"(?:задокументировано|есть\s+в\s+документации)|文档里(?:已经)?(?:写|有)|"
        r"ドキュメントに(?:書いて|記載)",
        _DOCUMENTED,
    ),
    (
        "read the docs",
        r"\b(?:lee|lea|leia|lisez|lis|lies|lesen\s+sie)\s+(?:la|el|a|o|die|das)\s+"
        r"(?:documentaci[oó]n|documenta[cç][aã]o|documentation|doc|doku|dokumentation|"
        r"manual|handbuch)\b|\b(?:про|по)?читай(?:те)?\s+(?:документацию|доку|мануал)"
        r"|(?:先|去)看(?:看)?文档|ドキュメントを読んで",
        _READ_DOCS,
    ),
    (
        "try reinstalling",
        r"\b(?:intenta|prueba|pruebe|intente|tente|tenta)\s+reinstalar\b"
        r"|\b(?:essayez|essaie)\s+de\s+r[ée]installer\b|\bneu\s+zu\s+installieren\b"
        r"|\bпопробуй(?:те)?\s+переустановить|(?:试试|尝试)重(?:新)?(?:安装|装)"
        r"|再インストールしてみて",
        _REINSTALL,
    ),
    (
        "obviously",
        r"\b(?:obviamente|[ée]videmment|offensichtlich|очевидно)\b|显然|明らかに",
        f"condescending; {_PATIENT}",
    ),
)
_COMPILED = tuple(
    (name, re.compile(pattern, re.IGNORECASE), why)
    for name, pattern, why in (*_RULES, *_TRANSLATED_RULES)
)

# "I just read your report" is not an order: a subject before "just" makes it a statement.
_SUBJECT_BEFORE = re.compile(
    r"\b(?:i|we|you|they|he|she|i've|we've|you've|they've|who|have|has|had)\s+\Z", re.IGNORECASE
)
# A reason in the same sentence makes "try reinstalling" advice rather than a brush-off.
_REASON = re.compile(
    r"\b(?:because|since|due\s+to|so\s+that|so\s+(?:it|the|you|your|that)|which|that\s+(?:will|"
    r"should|replaces|fixes|restores)|to\s+(?:fix|get|pick\s+up|replace|restore|repair|clear|"
    r"refresh|update)|fixes|fixed\s+in|the\s+fix)\b",
    re.IGNORECASE,
)
_MAX_PROBLEMS = 50
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|\Z)|\n")
# Typographic apostrophes are read as ASCII ones; one character for one, so offsets hold.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'"})


@dataclass(frozen=True)
class ToneProblem:
    start: int
    end: int
    phrase: str  # the rule's name, e.g. "read the docs"
    found: str  # the text that matched, e.g. "Read the docs"
    reason: str

    def __str__(self) -> str:
        if self.found.lower() == self.phrase.lower():
            return f'"{self.found}": {self.reason}'
        return f'"{self.found}" ({self.phrase}): {self.reason}'


def _sentence_around(text: str, ends: list[int], start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``, given where sentences end."""
    before = bisect.bisect_right(ends, start)
    begin = ends[before - 1] if before else 0
    after = bisect.bisect_left(ends, end)
    return text[begin : ends[after] if after < len(ends) else len(text)]


def find_tone_problems(text: str) -> list[ToneProblem]:
    """Every forbidden phrase in ``text`` with its span, in text order (at most 50)."""
    plain = text.translate(_APOSTROPHES)
    found: list[ToneProblem] = []
    ends: list[int] | None = None
    for name, pattern, reason in _COMPILED:
        for match in pattern.finditer(plain):
            start, end = match.span()
            if len(found) >= _MAX_PROBLEMS:
                break
            if any(start < other.end and other.start < end for other in found):
                continue
            if name.startswith("just") and _SUBJECT_BEFORE.search(plain, max(0, start - 12), start):
                continue
            if name == "try reinstalling" and pattern.pattern.startswith(r"\b(?:try"):
                if ends is None:  # "1.2.0" ends no sentence
                    ends = [m.end() for m in _SENTENCE_END.finditer(plain)]
                if _REASON.search(_sentence_around(plain, ends, start, end)):
                    continue
            found.append(ToneProblem(start, end, name, text[start:end], reason))
    return sorted(found, key=lambda problem: problem.start)


def tone_problems(text: str) -> list[str]:
    """The playbook's forbidden phrases in ``text``, one message each (empty when fine)."""
    return [str(problem) for problem in find_tone_problems(text)]
