"""What a query's words may stand for: the spelling of words no item has ("did you mean"), and the
other form of acronyms the items define. Both count only items the reader may see: a word, or a
pair of forms, found only in items hidden from them is never offered or used.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from whoosh.searching import Searcher

from indexer.bitsets import docsets
from indexer.matching import STOPWORDS, clause_queries, text_fields
from indexer.words import acronyms, correct
from kb.query import Clause, ParsedQuery
from kb.notes import Note
from kb.spelling import correctable
from kb.text import fold
from kb.vocabulary import Vocabulary

if TYPE_CHECKING:
    from indexer.store import Generation

# Words of one query that "did you mean" tries to correct.
MAX_CORRECTED = 8


def acronyms_of(searcher: Searcher, generation: Generation, parsed: ParsedQuery,
                seen: int) -> tuple[dict[str, str], dict[str, str]]:
    """The acronyms the items define that the query uses, in either form (a short form in capitals):
    only pairs that some item the reader may see (`seen`) writes both forms of."""
    sets = docsets(searcher)

    def docs(form: Clause) -> int:
        matches = clause_queries(searcher, form, text_fields())[1]
        return sets.query(matches) if matches is not None else 0

    return defined_acronyms(generation.folder.words, parsed, seen if seen != sets.all else None, docs)


def defined_acronyms(words: Path, parsed: ParsedQuery, seen: int | None,
                     docs: Callable[[Clause], int]) -> tuple[dict[str, str], dict[str, str]]:
    """acronyms_of for any backend: `docs(clause)` gives the documents holding a word or phrase; `seen` the
    documents the reader may see (None: all of them)."""
    shorts = [c.text.upper() for c in parsed.positive if c.kind == "word" and sum(ch.isupper() for ch in c.text) >= 2]
    longs, found_shorts = acronyms(words, shorts, parsed.free_text)

    def shown(short: str, long: str) -> bool:
        return seen is None or bool(seen & docs(Clause("word", short)) & docs(Clause("phrase", long)))

    return ({s: l for s, l in longs.items() if shown(s, l)},
            {l: s for l, s in found_shorts.items() if shown(s, l)})


def find_corrections(searcher: Searcher, generation: Generation, parsed: ParsedQuery, text: str,
                     seconds: float = 10.0, seen: int | None = None) -> tuple[dict[str, str], str, list[str]]:
    """The likely spelling of words no item contains (searched too), the corrected query, and a note.

    At most MAX_CORRECTED words are looked at, within `seconds` (half the search's
    time limit): a long pasted question full of names must not spend its time here.
    Only items the reader may see (`seen`) count, for the word and for its correction.
    """
    sets = docsets(searcher)
    seen = sets.all if seen is None else seen

    def docs(word: str) -> int:
        matches = clause_queries(searcher, Clause("word", word), text_fields())[1]
        return 0 if matches is None else sets.query(matches) & seen

    return corrected(parsed, text, generation.vocabulary, generation.folder.words, docs, seconds)


def corrected(parsed: ParsedQuery, text: str, vocabulary: Vocabulary, words: Path, docs: Callable[[str], int],
              seconds: float = 10.0) -> tuple[dict[str, str], str, list[str]]:
    """find_corrections for any backend: `docs(word)` is the bitset of the items the reader may see that
    hold a word."""
    held = functools.lru_cache(maxsize=None)(docs)

    def in_sight(word: str) -> bool:
        return bool(held(word))

    together = context(parsed, held)
    corrections: dict[str, str] = {}
    labels: list[str] | None = None
    names: set[str] = set()
    deadline = time.perf_counter() + seconds
    looked = 0
    for clause in parsed.positive:
        if clause.kind != "word" or not correctable(clause.text) or clause.text in corrections:
            continue
        if stopword(clause.text):
            continue  # no item holds a stop word ("that", "during"): it is left out, not misspelt
        if looked >= MAX_CORRECTED or time.perf_counter() > deadline:
            break
        if in_sight(clause.text):
            continue  # some item the reader may see contains it
        if labels is None:
            labels = vocabulary.all_names()
            names = label_words(labels)
        looked += 1
        # A label is public; a word of the index is offered only if the reader may see an item that has it.
        better = correct(words, clause.text, labels,
                         usable=lambda word, names=names: word.lower() in names or in_sight(word), together=together)
        if better:
            corrections[clause.text] = better
    if not corrections:
        return {}, "", []
    said = ", ".join(f"“{c}”" for c in corrections.values())
    missing = ", ".join(f"“{w}”" for w in corrections)
    fixed = re.sub(r"[^\W\d_]+", lambda m: corrections.get(m.group(), m.group()), text)
    return corrections, fixed, [Note("No item contains %(missing)s; also searched for %(said)s.", missing=missing,
                                     said=said)]


def context(parsed: ParsedQuery, held: Callable[[str], int]) -> Callable[[str], float]:
    """How much a candidate spelling goes with the query's other words: the share of the items holding each
    other word that hold the candidate too, summed, so a rare, telling word ("augmented") weighs more than a
    common one ("federal")."""
    others = [clause.text for clause in parsed.positive if clause.kind == "word" and not stopword(clause.text)]

    def together(candidate: str) -> float:
        found = held(candidate)
        shares = 0.0
        for word in others:
            bits = held(word) if word != candidate else 0
            if bits:
                shares += (found & bits).bit_count() / bits.bit_count()
        return shares
    return together


def stopword(word: str) -> bool:
    return any(fold(word) in STOPWORDS[lang] for lang in STOPWORDS)


def label_words(labels: list[str]) -> set[str]:
    return {word for label in labels for word in label.lower().split()}
