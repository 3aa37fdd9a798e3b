"""What a message already told us, so that its draft does not ask for it again.

The playbook's troubleshooting questions are the Caro version, the platform, the command
that was run and the error it gave. ``facts_given(text)`` says which of the four a message
holds, from its (redacted) text; the templates see the answer as ``gave.version``,
``gave.os``, ``gave.command`` and ``gave.error`` and skip those questions.

Only whether a fact was given is kept, never the fact itself: a reply does not quote the
message. The patterns are deliberately narrow where a false "given" would cost most:

* a version is version-shaped text next to Caro or a version word (``caro 1.2.0``,
  ``v1.2.0``, ``version 1.2.0``, ``версия 1.2.0``, GitHub's "### Caro Version" field), never
  a bare dotted number, so an IP address (``10.1.2.3``) or "Ubuntu 22.04.4" is no version;
* the platform is a named operating system or ``uname`` output;
* the command is a ``caro`` invocation (``caro "list files"``, ``caro --version``) or a
  shell prompt line (``$ ...``);
* the error is error text: a panic, a segfault, ``Error: ...``, an exit code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

__all__ = ["FACTS", "Given", "facts_given"]

FACTS = ("version", "os", "command", "error")
_MAX_SCAN = 20_000  # the facts sit in the first screens of a message; a huge one is cut

_SEMVER = r"\d{1,3}\.\d{1,3}\.\d{1,3}(?:-[0-9A-Za-z.]+)?(?!\.?\d)"
_VERSION_WORDS = (
    r"version|versión|versão|versione|versi[oó]n|версия|версии|версию|版本|バージョン|ver\."
)
_SMALL_SEMVER = r"[0-9]\.\d{1,2}\.\d{1,3}(?!\.?\d)"  # Caro's own: a one-digit major version
_BARE_VERSION = re.compile(rf"(?<![\w.\-/]){_SMALL_SEMVER}")
# A bare "1.2.0" is Caro's unless a name stands before it ("python 3.11.4", "rustc 1.80.0"):
# the words that may stand before Caro's version without naming another program.
_BEFORE_BARE = frozenset(
    "to is in on at of for from since after before with and or but was are the my "
    "upgraded updated installed running using on auf nach seit mit von zu на в с до после "
    "a para desde con em de la el à depuis vers en sur 在 升级到 更新到".split()
)
_WORD_BEFORE = re.compile(r"(\S*)\s*\Z")
_VERSION = re.compile(
    rf"(?<![\d.])(?:"
    rf"\bcaro[\s@:-]+v?{_SEMVER}"  # caro 1.2.0, caro@1.2.0, caro-v1.2.2
    rf"|(?<![\w.])v{_SEMVER}"  # v1.2.0
    rf"|(?:{_VERSION_WORDS})[^\S\n]*[:：]?[^\S\n]*(?:\*\*)?[^\S\n]*v?{_SEMVER}"  # Versão:** 1.2.2
    rf"|^#+\s*caro\s+version\s*\n\s*(?:caro\s+)?v?{_SEMVER}"  # GitHub's issue form
    rf")",
    re.IGNORECASE | re.MULTILINE,
)
_OS = re.compile(
    r"\b(?:mac\s?os|macbook|os\s?x|darwin|apple\s+silicon|m[1-4](?:\s+(?:pro|max|ultra))?\s+mac"
    r"|linux|ubuntu|debian|fedora|arch(?:\s+linux)?|manjaro|mint|pop!?_?os|nixos|alpine|centos"
    r"|rhel|red\s?hat|opensuse|suse|gentoo|void\s+linux|raspbian|raspberry\s+pi|wsl2?"
    r"|windows(?:\s+\d+)?|win(?:10|11)|freebsd|openbsd|netbsd|termux|android)\b"
    r"|^#+\s*operating\s+system\b|\buname\s+-a\b.*\n.*\b(?:x86_64|aarch64|arm64)\b"
    r"|(?<![\w-])(?:x86_64|aarch64|arm64)-(?:unknown|apple|pc)-",
    re.IGNORECASE | re.MULTILINE,
)
_COMMAND = re.compile(
    r"`(?:brew|cargo|curl|wget|sudo|apt(?:-get)?|npm|pip|sh|bash|\./install\S*)\s[^`\n]+`"
    r"|(?:^|[\s`'\"(→>:：])caro\s+(?:\"[^\"\n]+\"|'[^'\n]+'|“[^”\n]+”|「[^」\n]+」|--?[a-z][\w-]*)"
    r"|^\s*(?:\$|>|PS\s?>|%)\s+\S+"
    r"|^#+\s*(?:command|steps\s+to\s+reproduce|prompt)\b",
    re.IGNORECASE | re.MULTILINE,
)
_ERROR = re.compile(
    r"panicked|\bpanic(?:s|ked)?\b|segmentation\s+fault|segfault|core\s+dumped|sigsegv|sigkill"
    r"|speicherzugriffsfehler|ошибка\s+сегментирования|\bkilled\b"
    r"|\b(?:error|fatal|erreur|fehler|ошибка|エラー|错误|报错)\s*[:：]"
    r"|\b[A-Z]\w*(?:Error|Exception)\b|traceback|exit\s+(?:code|status)\s+\d+|\bexit\s+\d{1,3}\b"
    r"|illegal\s+option|unrecognized\s+(?:option|subcommand)|unknown\s+(?:option|flag|tool)"
    r"|command\s+not\s+found|no\s+such\s+file|permission\s+denied|returned\s+error"
    r"|\b(?:404|500)\b\s*(?:not\s+found)?|^#+\s*(?:error|logs?|stack\s*trace)\b",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class Given:
    """Which troubleshooting facts a message gave (templates read ``gave.version``...)."""

    version: bool = False
    os: bool = False
    command: bool = False
    error: bool = False

    def names(self) -> tuple[str, ...]:
        """The facts given, in the playbook's order ("version", "os", "command", "error")."""
        return tuple(field.name for field in fields(self) if getattr(self, field.name))

    @property
    def all(self) -> bool:
        return all(getattr(self, field.name) for field in fields(self))

    @property
    def any(self) -> bool:
        return bool(self.names())


NOTHING = Given()
EVERYTHING = Given(version=True, os=True, command=True, error=True)


def facts_given(text: str) -> Given:
    """Which of the version, the platform, the command and the error ``text`` gives.
    Pass the redacted text: no fact is kept, but nothing personal needs reading either."""
    text = text[:_MAX_SCAN]
    return Given(
        version=bool(_VERSION.search(text)) or _bare_caro_version(text),
        os=bool(_OS.search(text)),
        command=bool(_COMMAND.search(text)),
        error=bool(_ERROR.search(text)),
    )


def _bare_caro_version(text: str) -> bool:
    """A bare one-digit-major version ("1.2.0 crashes") not named as another program's."""
    for match in _BARE_VERSION.finditer(text):
        before = _WORD_BEFORE.search(text, 0, match.start())
        word = (before.group(1) if before else "").lower()
        if not word or word.startswith("@") or not word[-1].isalpha() or word in _BEFORE_BARE:
            return True
    return False
