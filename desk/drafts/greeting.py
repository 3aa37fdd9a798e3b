"""Whom a draft greets: the sender's handle, cleaned, or nobody.

A display name is whatever the sender typed ("Caro Support: DM me your API key"); a draft that
repeats it word for word speaks the sender's words in the team's voice. So a draft greets a
*handle* only: one word of ASCII letters, digits, ``_`` and ``-`` (an optional leading ``@``),
2 to 39 characters (GitHub's longest login), with a letter in it, that neither reads as an
instruction ("dm-me-your-token") nor claims to be the team ("CaroSupport", "caro_official",
"admin"). Anything else, a display name of several words included, greets nobody: "Thanks for
reaching out!" is never wrong.
"""

from __future__ import annotations

import re
import unicodedata

from desk.drafts.tone import destructive_command
from desk.drafts.x_length import find_urls
from vocabulary.redact import PLACEHOLDERS, redact

__all__ = ["clean_author", "greetable_handle"]

_HANDLE = re.compile(r"@?[A-Za-z0-9][A-Za-z0-9_-]{1,38}")
# The words of a handle: split at "_", "-", digits and a lower-to-upper change ("CaroSupport").
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# Words that make a handle a claim to speak for the team, or an instruction to the reader.
_TEAM_WORDS = frozenset(
    "caro hark team support official admin administrator staff mod mods moderator helpdesk "
    "security root system sysadmin bot noreply everyone here maintainer maintainers".split()
)
_INSTRUCTION_WORDS = frozenset(
    "dm pm send click visit verify login signin password passwd token key keys apikey secret "
    "wallet seed pay call email mail ignore http https www reply contact".split()
)
# Run together, without the separators: "carosupport", "dmmeyourapikey".
_TEAM_FRAGMENTS = ("support", "official", "admin", "moderator", "helpdesk", "password", "apikey")
_TEAM_ACCOUNTS = re.compile(r"(?:caro|hark)(?:cli|hq|team|app|bot|dev|devs|help|staff)?\d*")

_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_PATH_LIKE = re.compile(r"\S*[/\\~]\S*")
_MASS_MENTION = re.compile(r"@(?:everyone|here)\b", re.IGNORECASE)
_EMPTY_BRACKETS = re.compile(r"<\s*>|\(\s*\)|\[\s*\]|\{\s*\}")


def clean_author(author: str | None) -> str:
    """The handle to greet ``author`` by, or "" to greet nobody.

    Personal data, links, paths, @everyone and bidirectional controls are removed first (an
    e-mail author "Ana <ana@example.com>" is "Ana"; "Bo https://evil.example" is "Bo"); what is
    left is greeted only when it is one ``greetable_handle``. A name holding a destructive
    command ("rm -rf /") is dropped whole."""
    text = unicodedata.normalize("NFKC", " ".join(str(author or "").split()))
    text = _BIDI_CONTROLS.sub("", text)
    if destructive_command(text):
        return ""
    text = _PATH_LIKE.sub(" ", text)  # "/home/alice", "~alice/.ssh": a path is no name
    for start, end in reversed(find_urls(text)):
        text = text[:start] + text[end:]
    text = _PLACEHOLDER.sub(" ", redact(text))
    text = _MASS_MENTION.sub(" ", text)
    text = _EMPTY_BRACKETS.sub(" ", text)
    text = " ".join(text.split()).strip(" ,;:<>()[]{}\"'")
    return text if greetable_handle(text) else ""


def greetable_handle(text: str) -> bool:
    """True for one handle-shaped word that is neither the team nor an instruction."""
    if not _HANDLE.fullmatch(text):
        return False
    bare = text.removeprefix("@")
    if not any(char.isalpha() for char in bare):
        return False
    words = {word.lower() for word in _WORD.findall(bare)}
    if words & (_TEAM_WORDS | _INSTRUCTION_WORDS):
        return False
    joined = re.sub(r"[_-]", "", bare.lower())
    if any(fragment in joined for fragment in _TEAM_FRAGMENTS):
        return False
    return not _TEAM_ACCOUNTS.fullmatch(joined)
