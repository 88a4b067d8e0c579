"""A vocabulary seen in one language: what a page in French or Spanish shows of it."""

from __future__ import annotations

from typing import Any

from kb.vocabulary import Vocabulary


class LabelledVocabulary:
    """A vocabulary seen in one language: its label methods answer in that language, the rest is the vocabulary."""

    def __init__(self, vocabulary: Vocabulary, lang: str) -> None:
        self.vocabulary = vocabulary
        self.lang = lang

    def __getattr__(self, name: str) -> Any:
        return getattr(self.vocabulary, name)

    def __bool__(self) -> bool:
        return bool(self.vocabulary)

    def label(self, topic_id: str) -> str:
        return self.vocabulary.label(topic_id, self.lang)

    def country_label(self, code: str) -> str:
        return self.vocabulary.country_label(code, self.lang)

    def kind_label(self, kind_id: str) -> str:
        return self.vocabulary.kind_label(kind_id, self.lang)

    def type_label(self, type_id: str) -> str:
        return self.vocabulary.type_label(type_id, self.lang)
