"""Messages that need no support answer: an unsubscribe request, an automatic reply, spam,
a message about something other than Caro the tool, or one with nothing in it.

``no_reply_reason(text)`` returns why (a ``NoReply``) or None. The rules are plain patterns,
kept narrow on purpose: a message wrongly called "no reply needed" leaves someone without an
answer, so spam and off-topic need a clear sign and no sign of a Caro problem (an error, a
command, a version, an install), and so does an unsubscribe request ("how do I unsubscribe
from telemetry?" is a question); an automatic reply is clear on its own.
The draft still comes from a template (``no-reply-needed``), and a person decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NoReply", "no_reply_reason"]

_MAX_SCAN = 4_000


@dataclass(frozen=True)
class NoReply:
    reason: str  # unsubscribe, auto-reply, spam, off-topic, no-content
    note: str  # what the manager reads beside the draft

    def __str__(self) -> str:
        return self.note


_UNSUBSCRIBE = re.compile(
    r"\bunsubscribe\b|\bremove\s+me\s+from\s+(?:this|the|your|these|all)\b"
    r"|\btake\s+me\s+off\s+(?:this|the|your)\b|\bstop\s+(?:sending|e-?mailing)\s+me\b"
    r"|\bopt\s+me\s+out\b|darme\s+de\s+baja|d[ée]sabonner|d[ée]sinscri|abbestellen"
    r"|vom\s+newsletter\s+abmelden|descadastr|cancelar\s+(?:a\s+)?inscri[cç][aã]o"
    r"|отписа|отпишите|退订|取消订阅|配信停止|登録解除",
    re.IGNORECASE,
)
_AUTO_REPLY = re.compile(
    r"^(?:subject:\s*)?(?:automatic\s+reply|auto-?reply|out\s+of\s+(?:the\s+)?office)\b"
    r"|\bI\s+am\s+(?:currently\s+)?out\s+of\s+(?:the\s+)?office\b"
    r"|abwesenheitsnotiz|r[ée]ponse\s+automatique|respuesta\s+autom[aá]tica"
    r"|resposta\s+autom[aá]tica|自動返信|自动回复",
    re.IGNORECASE | re.MULTILINE,
)
_SPAM = re.compile(
    r"\bairdrop\b|\bgiveaway\b|\bbacklinks?\b|\bguest\s+posts?\b|\bseo\s+(?:services|backlinks)"
    r"|\bcasino\b|\bviagra\b|\bforex\b|\bfree\s+(?:money|followers|crypto)\b|\bbuy\s+followers\b"
    r"|\bcontact\s+(?:us\s+)?on\s+(?:telegram|whatsapp)\b|\bprice\s+list\b|\$[A-Z]{3,6}\b"
    r"|\bguaranteed\s+(?:rank|traffic|income)\b",
    re.IGNORECASE,
)
# Caro is also a word ("expensive" in Spanish, Italian and Portuguese) and a name.
_OFF_TOPIC = re.compile(
    r"\b(?:caro|cara|car[ií]simo|car[ií]ssimo)\b.{0,60}\b(?:caff[eè]|caf[eé]|precio|prezzo"
    r"|pre[cç]o|alquiler|affitto|aluguel|inflaci[oó]n|inflazione|infla[cç][aã]o|euros?)\b"
    r"|\b(?:caff[eè]|caf[eé]|alquiler|affitto|precio|prezzo).{0,60}#?\b(?:caro|car[ií]simo)\b"
    r"|\bwrong\s+caro\b|\bcaro\s+emerald\b|\banyone\s+(?:here\s+)?play(?:s|ing)?\s+\w+",
    re.IGNORECASE | re.DOTALL,
)
# What makes a message about Caro the tool, whatever else it says.
_ABOUT_CARO = re.compile(
    r"`|\bcaro\s+(?:--?\w|\")|\b(?:error|panic|crash|bug|install|command|terminal|shell|cli"
    r"|version|backend|ollama|telemetry|flag|prompt|brew|cargo)\w*"
    r"|\b\d+\.\d+\.\d+\b|ошибк|コマンド|命令|错误|报错",
    re.IGNORECASE,
)
_HANDLES_AND_LINKS = re.compile(r"[@#][\w.-]+|https?://\S+")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def no_reply_reason(text: str) -> NoReply | None:
    """Why ``text`` needs no support answer, or None when it may need one."""
    text = (text or "")[:_MAX_SCAN]
    if not _LETTER_OR_DIGIT.search(_HANDLES_AND_LINKS.sub(" ", text)):
        return NoReply("no-content", "No reply needed: the message has no words to answer.")
    if _AUTO_REPLY.search(text):
        return NoReply("auto-reply", "No reply needed: an automatic reply (out of office).")
    about_caro = _ABOUT_CARO.search(text)
    if _UNSUBSCRIBE.search(text) and not about_caro:  # not "unsubscribe from telemetry"
        return NoReply(
            "unsubscribe",
            "No reply needed: an unsubscribe request, not a support question. Take the "
            "address off the mailing list, then dismiss.",
        )
    if _SPAM.search(text) and not about_caro:
        return NoReply("spam", "No reply needed: spam, not about Caro.")
    if _OFF_TOPIC.search(text) and not about_caro:
        return NoReply("off-topic", "No reply needed: off-topic, not about Caro the tool.")
    return None
