"""The Whoosh schema: per-language text fields, facet fields, and item <-> document."""

from __future__ import annotations

import json
import zlib
from typing import Any

import Stemmer
from whoosh import fields
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter

import indexer.workers  # noqa: F401  (sub-writers unpickling the schema get the die-with-parent hook)
from kb.item import Item
from kb.text import fold
from kb.vocabulary import Vocabulary

# Each item's text is indexed in the fields of its own language, stemmed by that
# language's rules; items in other languages fall back to English analysis.
LANGUAGES = {"en": "english", "fr": "french", "es": "spanish", "pt": "portuguese"}
# The text field holds the title too, so it scores the whole item as one text; the
# title field adds a bonus for words in the title. Tuned on CISI (bench/eval_cisi.py).
TITLE_BOOST = 0.5
# (When fields or derived values change, bump indexer.generation.SCHEMA_VERSION: older indexes
# are then rebuilt from scratch.)
# filter/facet name -> index field
FILTER_FIELDS = {
    "topic": "topics_all",
    "type": "type",
    "kind": "kind",
    "country": "country",
    "year": "year",
    "lang": "lang",
    "activity": "activity",
    "person": "person",
    "community": "community",
}


class SnowballStem:
    """A picklable stemming function backed by PyStemmer (Snowball, in C)."""

    def __init__(self, language: str):
        self.language = language
        self._stemmer: Any = None

    def __call__(self, word: str) -> str:
        if self._stemmer is None:
            self._stemmer = Stemmer.Stemmer(self.language)
        return self._stemmer.stemWord(word)

    def __getstate__(self) -> dict[str, str]:
        return {"language": self.language}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.language = state["language"]
        self._stemmer = None


class FoldFilter(Filter):
    """Words without accents, folded as kb folds every text it compares (kb.text)."""

    def __call__(self, tokens: Any) -> Any:
        for token in tokens:
            token.text = fold(token.text)
            yield token


def text_analyzer(lang: str) -> Any:
    """Tokenise, lower-case, drop stop words, stem, then fold accents (financement = Financement)."""
    stoplang = lang if lang in LANGUAGES else "en"
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | StopFilter(lang=stoplang)
        | StemFilter(stemfn=SnowballStem(LANGUAGES.get(lang, "english")), cachesize=100_000)
        | FoldFilter()
    )


def text_field(lang: str) -> str:
    return f"text_{lang if lang in LANGUAGES else 'en'}"


def title_field(lang: str) -> str:
    return f"title_{lang if lang in LANGUAGES else 'en'}"


def build_schema() -> fields.Schema:
    """Return the index schema."""
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        date=fields.ID(stored=True, sortable=True),
        topics=fields.KEYWORD(commas=True, scorable=True),
        topics_all=fields.KEYWORD(commas=True),
        type=fields.KEYWORD(commas=True),
        kind=fields.KEYWORD(commas=True),
        country=fields.KEYWORD(commas=True),
        year=fields.KEYWORD(commas=True),
        lang=fields.KEYWORD(commas=True),
        activity=fields.KEYWORD(commas=True),
        person=fields.KEYWORD(commas=True),
        community=fields.KEYWORD(commas=True),
        path=fields.ID(),
        attachment=fields.KEYWORD(commas=True),  # files an activity lists as its attachments
        data=fields.STORED(),
    )
    for lang in LANGUAGES:
        analyzer = text_analyzer(lang)
        schema.add(title_field(lang), fields.TEXT(analyzer=analyzer, field_boost=TITLE_BOOST))
        schema.add(text_field(lang), fields.TEXT(analyzer=analyzer))
    return schema


def pack(item: Item) -> bytes:
    """Serialise an item for the index's stored field."""
    return zlib.compress(json.dumps(item.to_dict(), ensure_ascii=False).encode("utf-8"), 1)


def unpack(data: bytes) -> Item:
    """Rebuild an item from its stored form."""
    return Item.from_dict(json.loads(zlib.decompress(data)))


def _keywords(values: Any) -> str:
    return ",".join(v.replace(",", " ") for v in values if v)


def item_document(item: Item, vocabulary: Vocabulary, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Return the Whoosh document for an item; `kinds` are the activity kinds it relates to."""
    topics = vocabulary.resolve(item.topics)
    return {
        "id": item.id,
        "date": item.date.isoformat() if item.date else "",
        "topics": _keywords(topics),
        "topics_all": _keywords(vocabulary.with_ancestors(topics)),
        "type": item.type,
        "kind": _keywords(kinds),
        "country": _keywords(item.countries),
        "year": item.year,
        "lang": item.lang,
        "activity": _keywords(item.activities + ((item.id,) if item.is_activity else ())),
        "person": _keywords(item.people),
        "community": item.community,
        "path": item.path,
        "attachment": _keywords(attachments_of(item)),
        "data": pack(item),
        title_field(item.lang): item.title,
        text_field(item.lang): f"{item.title}\n{item.text}",
    }


def attachments_of(item: Item) -> tuple[str, ...]:
    """The files an activity lists under `attachments:` (paths in the content folder)."""
    listed = item.extra.get("attachments") if item.is_activity else None
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list):
        return ()
    return tuple(str(p).strip().lstrip("/") for p in listed if isinstance(p, (str, int)) and str(p).strip())


def related_kinds(item: Item, kind_of: dict[str, str]) -> tuple[str, ...]:
    """Activity kinds an item belongs to: its own kind and those of the activities it links."""
    kinds = [item.kind] if item.is_activity and item.kind else []
    kinds.extend(kind_of[a] for a in item.activities if kind_of.get(a))
    return tuple(dict.fromkeys(kinds))
