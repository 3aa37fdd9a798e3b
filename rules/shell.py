"""Destructive shell commands, found after shell quoting is undone: the one detector behind
the rulebook's ``shell: [destructive]`` condition and the drafts' refusal to show a command.

Matching runs on the text as the shell would read it. ``unquote`` removes what the shell
removes before it runs a word: quotes (``r''m``, ``"rm"``, ``'-rf'``), backslash escapes
(``\\rm``, ``r\\m``) and line continuations, expansions that are empty or a space
(``$IFS``, ``${IFS}``, ``$@``, ``$1``), and brace lists (``{rm,-rf,/}`` runs ``rm -rf /``).
It keeps a map back to the original text, so that a match is reported where it was written.

What counts as destructive (``KINDS``), decided once for both users:

- ``rm -rf``: ``rm`` with recursive and force flags (any target), with ``--no-preserve-root``,
  or recursive on ``/``, ``~``, ``*``, ``.``/``..`` or a variable (which may be empty);
  ``sudo rm`` with any flag.
- ``find -delete``: ``find`` with ``-delete``, or ``-exec``/``-execdir``/``-ok`` running ``rm``,
  ``shred`` or ``unlink``.
- ``chmod/chown on /``: ``chmod``, ``chown`` or ``chgrp`` on ``/`` or ``/*``, or recursive on
  ``~``, ``$HOME`` or a top-level system folder.
- ``write to a disk``: ``dd of=/dev/<disk>`` or a redirection to one; ``mkfs``, ``mke2fs``,
  ``wipefs``, ``shred``; Windows' ``format X:``, ``rd /s /q``, ``del /f /s /q`` and
  PowerShell's ``Remove-Item -Recurse -Force``.
- ``fork bomb``: a function that pipes itself into itself in the background.
- ``pipe to a root shell``: a download (``curl``, ``wget``, ``fetch``, ``iwr``) piped into a
  shell run by ``sudo``/``doas``, a root shell reading a download (``sudo bash <(curl ...)``,
  ``sudo sh -c "$(curl ...)"``), or a download over plain http (or with no scheme, which
  curl reads as http) piped into any shell. A download over https piped into a user's shell
  is how Caro and most tools install (``curl -fsSL https://caro-cli.dev/install.sh | sh``):
  it is not destructive, or every installation report would read as a P0.
- ``git that destroys work``: ``git reset --hard``, ``git clean -f``, ``git push --force``:
  the rulebook has always counted them (uncommitted work and remote history are lost), so a
  reply does not tell anyone to run them either.
- ``drop table``: SQL ``DROP TABLE``/``DROP DATABASE``.

Patterns run on RE2 (linear time) over the normalized, unquoted text; the package stays pure.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from rules.normalize import normalize
from rules.regex import LinearRegex, RegexSet, char_offset

__all__ = ["KINDS", "Destructive", "destructive_command", "find_destructive", "unquote"]

_C = r"[^\n;&|]"  # a character of the same simple command
_END = r"(?:[^a-z0-9_.:/-]|$)"  # the end of a word
_RF = r"(?:-[a-z]*(?:r[a-z]*f|f[a-z]*r)[a-z]*|-r\s+-f|-f\s+-r)"
_R = r"(?:-[a-z]*r[a-z]*|--recursive)"
_F = r"(?:-[a-z]*f[a-z]*|--force)"
_RISKY_TARGET = r"(?:/\*?|~/?\*?|\*|\.\.?/?\*?|\$\{?[a-z_][a-z0-9_]*\}?/?\*?)"
_HOME_OR_SYSTEM = (
    r"(?:~|\$\{?home\}?|/(?:home|etc|usr|var|bin|sbin|lib|lib64|boot|opt|root|srv|sys|dev))"
)
_DISK = r"/dev/(?:sd|hd|vd|xvd|nvme|mmcblk|disk|rdisk|mapper/|md)[a-z0-9]"
_DOWNLOAD = r"\b(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)\b"
_SHELL = r"(?:/[a-z/]*/)?(?:ba|z|da|k|c|tc|fi|a)?sh\b"
_AS_ROOT = r"\b(?:sudo|doas|pkexec|su\s+-c)\b"

# (kind, RE2 patterns); the kinds are what a refusal names and the engine's explanation shows.
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "rm -rf",
        (
            rf"\brm\s(?:{_C}{{0,200}}\s)?{_RF}{_END}",
            rf"\brm\s(?:{_C}{{0,200}}\s)?{_R}\s(?:{_C}{{0,200}}\s)?{_F}{_END}",
            rf"\brm\s(?:{_C}{{0,200}}\s)?{_F}\s(?:{_C}{{0,200}}\s)?{_R}{_END}",
            rf"\brm\s(?:{_C}{{0,200}}\s)?{_R}\s(?:{_C}{{0,200}}\s)?{_RISKY_TARGET}(?:\s|$)",
            rf"\brm\s{_C}{{0,200}}--no-preserve-root\b",
            r"\bsudo\s+(?:-\S+\s+)*rm\s+-",
        ),
    ),
    (
        "find -delete",
        (
            rf"\bfind\s{_C}{{0,300}}\s-delete\b",
            rf"\bfind\s{_C}{{0,300}}\s-(?:exec|execdir|ok|okdir)\s+(?:sudo\s+)?(?:\S*/)?"
            r"(?:rm|shred|unlink)\b",
        ),
    ),
    (
        "chmod/chown on /",
        (
            rf"\b(?:chmod|chown|chgrp)\s(?:{_C}{{0,200}}\s)?/\*?(?:\s|$)",
            rf"\b(?:chmod|chown|chgrp)\s(?:{_C}{{0,200}}\s)?{_R}\s(?:{_C}{{0,200}}\s)?"
            rf"{_HOME_OR_SYSTEM}/?\*?(?:\s|$)",
        ),
    ),
    (
        "write to a disk",
        (
            rf"\bdd\s{_C}{{0,200}}\bof={_DISK}",
            rf">\s*{_DISK}",
            r"\bmkfs(?:\.[a-z0-9]+)?\b",
            r"\bmke2fs\b",
            r"\bwipefs\b",
            r"\bshred\s",
            r"\bformat\s+[a-z]:(?:\s|\\|$)",
            r"\b(?:rmdir|rd)\s+/[sq]\s+/[sq]\b",
            r"\bdel\s+(?:/[fsqa]\s+){2,}",
            r"\bremove-item\b[^\n]{0,80}-recurse\b[^\n]{0,40}-force\b",
        ),
    ),
    (
        "fork bomb",
        (
            r"(?:[a-z_][a-z0-9_]*|:)\s*\(\s*\)\s*\{\s*(?:[a-z_][a-z0-9_]*|:)\s*\|\s*"
            r"(?:[a-z_][a-z0-9_]*|:)\s*&\s*\}",
        ),
    ),
    (
        "pipe to a root shell",
        (
            rf"{_DOWNLOAD}{_C}{{0,300}}\|\s*{_AS_ROOT}{_C}{{0,40}}\b{_SHELL}",
            rf"{_DOWNLOAD}[^\n;&|]{{0,300}}\bhttp://{_C}{{0,300}}\|\s*{_SHELL}",
            rf"{_DOWNLOAD}\s(?:{_C}{{0,200}}\s)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{{2,}}/{_C}{{0,200}}"
            rf"\|\s*{_SHELL}",
            rf"{_AS_ROOT}\s+(?:-\S+\s+)*{_SHELL}\s+(?:-\S+\s+)*(?:<\s*\(|\$\()\s*{_DOWNLOAD}",
        ),
    ),
    (
        "git that destroys work",
        (
            rf"\bgit\s+push\s(?:{_C}{{0,100}}\s)?(?:--force|-f)\b",
            r"\bgit\s+reset\s+(?:\S+\s+)?--hard\b",
            rf"\bgit\s+clean\s(?:{_C}{{0,50}}\s)?-[a-z]*f",
        ),
    ),
    ("drop table", (r"\bdrop\s+(?:table|database)\b",)),
)

# What the shell removes or reads as a space before it runs a word (see the module docstring).
_UNQUOTING = re.compile(
    r"\\\n"  # a line continuation: the next line is the same command
    r"|\$\{ifs[^}\s]{0,8}\}|\$ifs(?:\$[0-9])?"  # the field separator: a space
    r"|\$[@*]|\$\{[0-9@*]\}|\$[0-9]"  # positional parameters: empty in an interactive shell
    r"|\\(?=\S)"  # a backslash escape: \rm is rm
    r"|['\"]"  # quotes: 'r''m' is rm
    r"|\{[^\s{},]{0,200},[^\s{}]{0,200}\}"  # a brace list: {rm,-rf,/} (linear: one way)
)


@dataclass(frozen=True)
class Destructive:
    """A destructive command found: its kind and its span in the text searched."""

    kind: str
    start: int
    end: int


class _Unquoted:
    """The text as the shell reads it, with the way back to the original's offsets (worked
    out only when asked: most texts hold no destructive command to locate)."""

    def __init__(self, text: str) -> None:
        self.original = text
        if "\\" not in text and "$" not in text and "{" not in text:
            self.text = text.replace("'", "").replace('"', "")  # quotes are the only edits
        else:
            self.text = _UNQUOTING.sub(_replace, text)
        self._out_starts: list[int] | None = None  # where each edit starts in ``text``
        self._edits: list[tuple[int, int, int]] = []  # (original start, end, unquoted length)

    def _map(self) -> list[int]:
        out_starts: list[int] = []
        shift = 0  # unquoted offset minus original offset, before the edit
        for found in _UNQUOTING.finditer(self.original):
            length = len(_replacement(found[0]))
            out_starts.append(found.start() + shift)
            self._edits.append((found.start(), found.end(), length))
            shift += length - (found.end() - found.start())
        self._out_starts = out_starts
        return out_starts

    def origin(self, offset: int, *, end: bool = False) -> int:
        """The original offset of ``offset`` in the unquoted text; inside an edit, the edit's
        start (or, for the ``end`` of a span, the edit's end)."""
        out_starts = self._out_starts if self._out_starts is not None else self._map()
        if not end:  # a span starting where edits start takes them in: "rm" shows its quote
            first = bisect_left(out_starts, offset)
            if first < len(out_starts) and out_starts[first] == offset:
                return self._edits[first][0]
        index = bisect_right(out_starts, offset) - 1
        if index < 0:
            return offset
        out_start = out_starts[index]
        start, stop, length = self._edits[index]
        if offset < out_start + length:
            return stop if end else start
        return stop + offset - out_start - length


def _replace(found: re.Match[str]) -> str:
    return _replacement(found[0])


def _replacement(found: str) -> str:
    """What the shell makes of one ``_UNQUOTING`` match."""
    if found.startswith("{"):  # {rm,-rf,/} -> " rm -rf / "
        return " " + found[1:-1].replace(",", " ") + " "
    if found == "\\\n" or "ifs" in found:
        return " "
    return ""  # a quote, an escaping backslash, an empty parameter


def unquote(text: str) -> str:
    """``text`` as the shell reads it: quotes, escapes, empty expansions and brace lists
    undone (``r''m -rf /`` is ``rm -rf /``)."""
    return _Unquoted(text).text


class _Detector:
    """Every kind's patterns in one RE2 set, each also compiled alone for its spans."""

    def __init__(self) -> None:
        entries = [(kind, pattern) for kind, patterns in KINDS for pattern in patterns]
        self._kinds = [kind for kind, _ in entries]
        self._set = RegexSet([pattern for _, pattern in entries])
        self._regexes = [LinearRegex(pattern) for _, pattern in entries]

    def find(self, normalized: str, limit: int) -> list[Destructive]:
        unquoted = _Unquoted(normalized)
        encoded = unquoted.text.encode("utf-8")
        found = []
        for index in self._set.matching(encoded):
            for start, end in self._regexes[index].spans(encoded, limit):
                if len(encoded) != len(unquoted.text):
                    start, end = char_offset(encoded, start), char_offset(encoded, end)
                found.append(
                    Destructive(
                        self._kinds[index],
                        unquoted.origin(start),
                        unquoted.origin(end, end=True),
                    )
                )
        return sorted(found, key=lambda hit: (hit.start, hit.end))


_DETECTOR = _Detector()  # compiled once: immutable after import


def find_destructive(normalized: str, limit: int = 20) -> list[Destructive]:
    """The destructive commands in ``normalized`` (text as ``rules.normalize`` gives it), with
    their spans in it, in text order; at most ``limit`` per pattern."""
    return _DETECTOR.find(normalized, limit)


def destructive_command(text: str) -> str | None:
    """The kind of the first destructive command in ``text`` (any text), or None."""
    found = find_destructive(normalize(text), limit=1)
    return found[0].kind if found else None
