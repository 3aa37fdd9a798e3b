"""The language a message is written in, so that its draft answers in it.

The channel's own word comes first: X labels every post (``lang``: "ja", "und" for
undetermined). Otherwise the text is identified with ``py3langid`` (a maintained fork of
langid.py; its model, 4.6 MB, ships inside the wheel): after what would mislead it is taken
out (code blocks, inline code, links, @handles and #tags, Markdown headings such as GitHub's
"### Caro Version", version numbers), since a German issue written in GitHub's English
form, with an English panic, must read as German. Kana means Japanese and Hangul Korean
whatever the model says: a short Japanese post written mostly in kanji reads as Chinese to it.
A text with too few letters to tell (an emoji, "@CaroCLI .") has no language (None).

The model is loaded once per process, on the first message that needs it (about 0.6 s and
80 MB); see the README's dependency table for the measurements.
"""

from __future__ import annotations

import functools
import re
from typing import Protocol

__all__ = ["LANGUAGE_NAMES", "TEMPLATE_LANGUAGES", "detect_language", "writer_language"]

# The languages the rulebook covers, for which drafts are translated.
TEMPLATE_LANGUAGES = ("en", "es", "pt", "fr", "de", "ru", "zh", "ja")
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "fr": "French",
    "de": "German",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
    "it": "Italian",
    "ko": "Korean",
    "tr": "Turkish",
    "pl": "Polish",
    "nl": "Dutch",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "ar": "Arabic",
    "hi": "Hindi",
    "id": "Indonesian",
    "cs": "Czech",
    "sv": "Swedish",
}
# The model's labels for varieties that read as one of ours; "zxx": no linguistic content.
_SAME_AS = {"wuu": "zh", "yue": "zh", "nb": "no", "nn": "no"}
_NOT_A_LANGUAGE = frozenset({"zxx", "la"})
_MIN_LETTERS = 6
_MIN_CONFIDENCE = 0.25
_MAX_CHARS = 4_000  # the first screens say which language it is; a huge message is cut

_NOISE = (
    re.compile(r"```.*?(?:```|\Z)", re.DOTALL),
    re.compile(r"`[^`\n]*`"),
    re.compile(r"https?://\S+|www\.\S+"),
    re.compile(r"^\s*#{1,6}\s.*$", re.MULTILINE),
    re.compile(r"^\s*>.*$", re.MULTILINE),  # quoted replies of an e-mail thread
    re.compile(r"[@#][\w.-]+"),
    re.compile(r"\[[a-z]+\]"),  # redaction placeholders: [email], [ip]...
    re.compile(r"\bv?\d+(?:[.,]\d+)+\b"),
)
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_LETTER = re.compile(r"[^\W\d_]")


class _Identifier(Protocol):
    def classify(self, text: str) -> tuple[str, float]: ...


@functools.cache
def _identifier() -> _Identifier:
    """py3langid's identifier with normalized probabilities, loaded once per process."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    identifier: _Identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return identifier


def prose(text: str) -> str:
    """``text`` without the parts written in no human language (code, links, handles...)."""
    text = text[:_MAX_CHARS]
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    return " ".join(text.split())


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or None when it cannot be
    told (too few letters, or the model is unsure)."""
    words = prose(text or "")
    if len(_LETTER.findall(words)) < _MIN_LETTERS:
        return None
    if _KANA.search(words):
        return "ja"
    if _HANGUL.search(words):
        return "ko"
    code, confidence = _identifier().classify(words)
    code = _SAME_AS.get(code, code)
    if code in _NOT_A_LANGUAGE or confidence < _MIN_CONFIDENCE:
        return None
    return code


def writer_language(text: str, declared: str | None = None) -> str | None:
    """The writer's language: the channel's label when it gives one (X's ``lang``, BCP 47:
    "pt-BR" is "pt"; "und" and X's own codes such as "qme" say nothing), else detected."""
    code = (declared or "").strip().lower().replace("_", "-").split("-", 1)[0]
    if code in LANGUAGE_NAMES or (len(code) == 2 and code.isalpha()):
        return code
    return detect_language(text)
