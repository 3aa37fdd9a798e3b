"""An incident's title from the report that opened it: what the on-call reads on the page and
in PagerDuty's summary, so one clean line rather than the report's raw text.

A report arrives as whatever its channel carries: a GitHub issue's title followed by its
template ("### Caro Version", code fences), an e-mail's "Subject:" line and body, a post with
markdown links and emphasis. ``clean_title`` keeps the words and drops the markup:

- an e-mail's subject, or a GitHub issue's title line, is the title when there is one (the
  first line, standing alone above a blank line); otherwise the whole text;
- headings, code fences (their content kept on one line), inline code ticks, links (their
  text kept), images, emphasis, quote markers, list bullets and issue-template labels
  ("Caro Version:", "**OS:**") go; "[Bug]:" and "Subject:" prefixes go;
- whitespace collapses, personal data is redacted (``vocabulary.redact``), and the text is
  cut at a word boundary with "…" when it is longer than the limit.

The function is idempotent: a title cleaned once comes back unchanged, so records stored with
a raw title can be cleaned when read.
"""

from __future__ import annotations

import re

from vocabulary.redact import redact

PAGE_TITLE_CHARS = 120  # the page's heading, the incident log, the stored title
PAGERDUTY_SUMMARY_CHARS = 1024  # payload.summary, Events API v2
ELLIPSIS = "…"

_FENCE = re.compile(r"^\s*(```|~~~)[^\n]*$", re.MULTILINE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^)\n]*)\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)([^\n]*?\S)\1(?![\w*])")
_TICKS = re.compile(r"`+")
_QUOTE_OR_BULLET = re.compile(r"^\s*(?:>+|[-*+]|\d+[.)])\s+", re.MULTILINE)
_PREFIX = re.compile(
    r"^\s*(?:(?:subject|betreff|asunto|assunto|objet|oggetto|件名|主题|тема)\s*[:：]\s*"
    r"|\[(?:bug|feature|question|security|help)\]\s*:?\s*)",
    re.IGNORECASE,
)
# An issue template's field label at the start of a line: "Caro Version:", "**OS:**",
# "### Operating System" (the heading mark already gone).
_LABEL = re.compile(
    r"^\s*(?:caro version|version|operating system|os|platform|bug description|description|"
    r"steps to reproduce|expected(?: behaviou?r)?|actual(?: behaviou?r)?|environment|"
    r"installation method|install method|logs?|additional context)\s*(?::\s*|$)",
    re.IGNORECASE | re.MULTILINE,
)


def clean_title(text: str, limit: int = PAGE_TITLE_CHARS) -> str:
    """``text`` as a one-line title of at most ``limit`` characters (see the module)."""
    source = _title_line(text)
    source = _FENCE.sub(" ", source)
    source = _HEADING.sub("", source)
    source = _IMAGE.sub(r"\1", source)
    source = _LINK.sub(r"\1", source)
    source = _EMPHASIS.sub(r"\2", source)
    source = _EMPHASIS.sub(r"\2", source)  # nested: **_word_**
    source = _TICKS.sub("", source)
    source = _QUOTE_OR_BULLET.sub("", source)
    source = _LABEL.sub(" ", source)
    source = _PREFIX.sub("", source)
    words = " ".join(redact(source).split())
    return cut_at_word(words, limit)


def cut_at_word(text: str, limit: int) -> str:
    """``text`` when it fits in ``limit`` characters, else its longest run of whole words
    that fits with "…" after it (a single overlong word is cut inside, with "…")."""
    if len(text) <= limit:
        return text
    room = text[: limit - len(ELLIPSIS) + 1]
    cut = room.rfind(" ")
    kept = room[:cut] if cut > 0 else room[: limit - len(ELLIPSIS)]
    return kept.rstrip(" ,.;:-–—(") + ELLIPSIS


def _title_line(text: str) -> str:
    """The line that names the report when it has one: the first line when a blank line
    follows it (an e-mail's subject, an issue's title), else the whole text."""
    stripped = text.strip()
    first, blank, rest = stripped.partition("\n\n")
    if blank and rest.strip() and "\n" not in first and not _FENCE.match(first):
        heading_only = _LABEL.fullmatch(_HEADING.sub("", first).strip() + "\n")
        if not heading_only:
            return first
    return stripped
