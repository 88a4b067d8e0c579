"""The Whoosh schema: per-language text fields, facet fields, and item <-> document."""

from __future__ import annotations

import functools
import json
import re
import zlib
from typing import Any

import Stemmer
from math import log

from whoosh import fields, formats, scoring
from whoosh.analysis import Filter, RegexTokenizer, StemFilter, StopFilter

import indexer.workers  # noqa: F401  (sub-writers unpickling the schema get the die-with-parent hook)
import indexer.postingruns  # noqa: F401  (every writer, sub-writers too, writes its runs a chunk at a time)
from kb.access import indexed_level, non_attributable, withhold_names
from kb.item import Item
from kb.links import link_value, typed_links
from kb.text import fold
from kb.vocabulary import Vocabulary

# Each item's text is indexed in the fields of its own language, stemmed by that
# language's rules; items in other languages fall back to English analysis.
LANGUAGES = {"en": "english", "fr": "french", "es": "spanish", "pt": "portuguese"}
# The text field holds the title TITLE_WEIGHT times, the summary and other prose of the front
# matter, then the body: one field, one length and one idf for the whole item, so title words
# weigh more before BM25's saturation, as in BM25F. The title field serves in:title and shows
# where an item matched; it is not ranked. Tuned on CISI and the known-item lookups (make eval).
TITLE_WEIGHT = 2
# Front matter keys whose prose describes the item (Hugo pages have `deck` and `description`).
PROSE_KEYS = ("deck", "description", "subtitle", "lede", "excerpt", "abstract")
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
    "link": "links",  # typed links, as "complements:forum-2020-session-1" (kb.links)
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


# A word, or single letters joined by "/" or "&" (A/B, Q&A, R&D): members type those as one
# word ("ab test"), and apart their letters are stop words or noise.
WORD_PATTERN = r"[^\W\d_](?:[/&][^\W\d_])+(?![\w/&])|\w+(?:\.?\w+)*"


class FoldFilter(Filter):
    """Words in lower case and without accents, folded as kb folds every text it compares
    (kb.text); letters joined by "/" or "&" become one word (a/b -> ab)."""

    def __call__(self, tokens: Any) -> Any:
        for token in tokens:
            text = token.text.lower()
            if not text.isascii():
                text = fold(text)
            if "/" in text or "&" in text:
                text = text.replace("/", "").replace("&", "")
            token.text = text
            yield token


def stop_words(lang: str) -> frozenset[str]:
    """The stop words of a language, folded as the words they are compared with."""
    from whoosh.lang.stopwords import stoplists

    return frozenset(fold(word) for word in stoplists[lang if lang in LANGUAGES else "en"])


def text_analyzer(lang: str) -> Any:
    """Tokenise (WORD_PATTERN), lower-case, fold accents, drop stop words, stem.

    Folding comes before stemming, on the index and the query alike, so a word
    typed without its accents (flexibilite) is the same word as with them
    (flexibilité) in every language, whatever the stemmer does with accents.
    """
    return (
        RegexTokenizer(WORD_PATTERN)
        | FoldFilter()
        | StopFilter(stoplist=stop_words(lang))
        | StemFilter(stemfn=SnowballStem(LANGUAGES.get(lang, "english")), cachesize=100_000)
    )


@functools.lru_cache(maxsize=None)
def _plain_analysis(lang: str) -> tuple[re.Pattern[str], frozenset[str], Any]:
    return re.compile(WORD_PATTERN), stop_words(lang), Stemmer.Stemmer(LANGUAGES.get(lang, "english"))


def index_words(lang: str, text: str) -> list[str]:
    """The words text_analyzer(lang) indexes for `text`, in order, without Whoosh's token objects:
    five generators a word made feedback's reading of ten items a quarter of a long question's time."""
    return indexed_words(lang, text)[1]


def indexed_words(lang: str, text: str) -> tuple[int, list[str]]:
    """index_words, with the position Whoosh gives the first of them: the number of words before it
    (stop words and single letters), as its StopFilter renumbers only the words after the first kept."""
    pattern, stops, stemmer = _plain_analysis(lang)
    # lower-cased in one call: words joined by a space, which no word holds, keep their own casing rules
    lowered = " ".join(pattern.findall(text)).lower()
    words = lowered.split(" ") if lowered else []
    if not lowered.isascii():
        words = [word if word.isascii() else fold(word) for word in words]
    if "/" in lowered or "&" in lowered:
        words = [word.replace("/", "").replace("&", "") for word in words]
    kept = [word for word in words if len(word) >= 2 and word not in stops]
    first = next((n for n, word in enumerate(words) if len(word) >= 2 and word not in stops), 0)
    return first, stemmer.stemWords(kept)


# Whoosh's encoding of the positions of a word found once in an item, kept by position (the first
# ONE_POSITION_KEPT, a few hundred KB at most): most of an item's words are found once.
ONE_POSITION_KEPT = 4096
ONE_POSITION: dict[int, bytes] = {}


class WordPositions(formats.Positions):
    """Whoosh's Positions format of a text field of `lang`, whose words are found in one pass when an
    item is indexed (indexed_words) rather than through text_analyzer's chain of generators, about a
    sixth of the time Whoosh spent adding an item. The postings are the same; any other call (a query's
    words, a value that is not one string) goes through the chain."""

    def __init__(self, lang: str, field_boost: float = 1.0, **options: Any) -> None:
        super().__init__(field_boost=field_boost, **options)
        self.lang = lang

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or kwargs != {"mode": "index"}:
            yield from super().word_values(value, analyzer, **kwargs)
            return
        first, words = indexed_words(self.lang, value)
        positions: dict[str, list[int]] = {}
        for position, word in enumerate(words, first):
            positions.setdefault(word, []).append(position)
        boost, encode, once = self.field_boost, self.encode, ONE_POSITION
        for word, found in positions.items():
            if len(found) == 1 and found[0] < ONE_POSITION_KEPT:  # most words of an item
                value = once.get(found[0])
                if value is None:
                    value = once[found[0]] = encode(found)
                yield word, 1, boost, value
            else:
                yield word, len(found), float(len(found)) * boost, encode(found)


class Bm25Weighting(scoring.BM25F):
    """BM25 with its usual idf, ln(1 + (N - df + 0.5) / (df + 0.5)), one idf per word for all languages.

    Whoosh's own idf, ln(N / (df + 1)) + 1, is flatter: common words weighed too
    much against rare ones (measured on CISI). And each language's field has its
    own statistics: a French word quoted in an English page would be rare among
    English pages and weigh as if it were the page's subject. So a word's
    document frequency is counted over the text (or title) fields of every
    language together, as if the collection were one field (as BM25F does).
    """

    def idf(self, searcher: Any, fieldname: str, text: str) -> float:
        parent = searcher.get_parent()
        kind, _, lang = fieldname.rpartition("_")
        if kind in ("text", "title") and lang in LANGUAGES:
            df = sum(parent.doc_frequency(f"{kind}_{other}", text) for other in LANGUAGES)
        else:
            df = parent.doc_frequency(fieldname, text)
        n = parent.doc_count_all()
        return log(1 + (n - df + 0.5) / (df + 0.5))


WEIGHTING = Bm25Weighting()


DEFAULT_LEVEL = "default"  # the visibility field of an item left to the site's default level
WITHHELD_PEOPLE = "withheld"


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
        visibility=fields.KEYWORD(),  # its level, or "default" for the site's (kb.access)
        attribution=fields.KEYWORD(),  # "withheld" for a non-attributable item
        links=fields.KEYWORD(commas=True),
        data=fields.STORED(),
    )
    for lang in LANGUAGES:
        analyzer = text_analyzer(lang)
        for name in (title_field(lang), text_field(lang)):
            field = fields.TEXT(analyzer=analyzer)
            field.format = WordPositions(lang, field.format.field_boost)
            schema.add(name, field)
    return schema


def pack(item: Item) -> bytes:
    """Serialise an item for the index's stored field, without its source text (`body`).

    Pages show the rendered HTML, snippets and highlights read the plain text; the
    source stays in the content folder, where editing reads it. Leaving it out of
    the stored copy made the stored fields 15% smaller (35 -> 30 MB at 10,000 items of the bench corpus).
    """
    data = item.to_dict()
    del data["body"]
    return zlib.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"), 1)


def unpack(data: bytes) -> Item:
    """Rebuild an item from its stored form."""
    return Item.from_dict(json.loads(zlib.decompress(data)))


def _keywords(values: Any) -> str:
    return ",".join(v.replace(",", " ") for v in values if v)


def item_document(item: Item, vocabulary: Vocabulary, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Return the Whoosh document for an item; `kinds` are the activity kinds it relates to."""
    topics = vocabulary.resolve(item.topics)
    hides_people = non_attributable(item) and bool(item.people)
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
        "links": _keywords(link_value(key, target) for key, target in typed_links(item)),
        "visibility": indexed_level(item, vocabulary.visibility) or DEFAULT_LEVEL,
        "attribution": WITHHELD_PEOPLE if hides_people else "",
        "data": pack(item),
        # A non-attributable item is not found by the names of its people (kb.access).
        title_field(item.lang): withhold_names(item.title, item.people, " ") if hides_people else item.title,
        text_field(item.lang): withhold_names(ranked_text(item), item.people, " ") if hides_people else ranked_text(item),
    }


def ranked_text(item: Item) -> str:
    """What ranks an item: its title (TITLE_WEIGHT times), its summary and prose front matter, its text."""
    prose = [str(item.extra[key]) for key in PROSE_KEYS if isinstance(item.extra.get(key), str)]
    summary = [item.summary] if item.summary and not item.text.startswith(item.summary.rstrip(" …")) else []
    return "\n".join([item.title] * TITLE_WEIGHT + summary + prose + [item.text])


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
