"""The learned second opinion: a priority model trained on labelled messages.

``rules/`` asks it through ``rules.second_opinion.SecondOpinion``; this package trains it
(``classifier.train``), stores and checks its file (``classifier.model_file``) and measures
it alone (``classifier.evaluate``). See classifier/README.md.
"""

from classifier.model_file import (
    ModelFileError,
    RulebookVocabulary,
    TriageModel,
    load_model,
    save_model,
    shipped_model_path,
)

__all__ = [
    "ModelFileError",
    "RulebookVocabulary",
    "TriageModel",
    "load_model",
    "save_model",
    "shipped_model_path",
]
