"""The learned second opinion as the engine sees it: anything that gives a message's
probability of each priority, and the words that moved one of them.

``rules/`` stays pure: the model is trained, stored and loaded elsewhere (``classifier/``,
``hark/rulebook_files.py``) and handed to ``Engine`` already loaded. The rulebook decides
what its opinion is worth through ``model:`` rules (``rules.schema.ModelCondition``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class SecondOpinion(Protocol):
    def probabilities(self, text: str) -> Mapping[str, float]:
        """The probability of each priority ("P0".."P3") for ``text``; they sum to 1."""
        ...

    def probabilities_batch(self, texts: Sequence[str]) -> list[Mapping[str, float]]:
        """``probabilities`` for many texts at once (one vectorization pass)."""
        ...

    def reasons(self, text: str, level: str, limit: int = 8) -> list[tuple[str, float]]:
        """The n-grams of ``text`` that moved ``level``'s score most, with their signed
        contributions, strongest first."""
        ...
