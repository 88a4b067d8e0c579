"""A bitset of documents as a Whoosh query, to bound what a ranking query walks.

Whoosh ranks by walking the union of every query word's postings, one document at a
time through a tree of matchers: at 100,000 items a long question walks most of the
index, a short prefix (pro*) the union of 64 common words. kb already knows, as
bitsets, which items match (indexer.matching), so:

* `candidates(ranking, bits)` ranks only those items: Whoosh steps through the few
  candidates and asks each word's postings to skip to them, instead of walking every
  posting of every word and filtering afterwards;
* `DocsQuery(bits, score)` stands for a prefix's matches with one score each, as
  Lucene ranks multi-term queries by default: the 64 words a prefix may stand for are
  not scored one by one;
* `NearBonus` is a phrase with a slop that checks positions only where it scores, for
  the bonus of a short query's words found near each other in its best candidates.
"""

from __future__ import annotations

from typing import Any, Iterator

from whoosh import query as wq
from whoosh.matching import ListMatcher, NullMatcher, WrappingMatcher
from whoosh.matching.wrappers import RequireMatcher
from whoosh.query.spans import SpanNear2

from indexer.bitsets import members


def offset_of(searcher: Any) -> int:
    """Where a segment's document numbers start in the whole index (0 for a one-segment searcher)."""
    parent = searcher.parent() if searcher.parent is not None else None
    if parent is None:
        return 0
    return parent._offset_for_subsearcher(searcher) or 0


class DocsQuery(wq.Query):
    """The documents of a bitset over the whole index, each scoring `score`."""

    def __init__(self, bits: int, score: float = 1.0, fieldname: str = "", text: str = ""):
        self.bits = bits
        self.score = score
        self.fieldname = fieldname  # for highlights: a prefix's field and text
        self.text = text
        self.boost = 1.0

    def __repr__(self) -> str:
        return f"DocsQuery({self.fieldname!r}, {self.text!r}, {self.score}, {hash(self.bits)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocsQuery) and (self.bits, self.score, self.text) == (other.bits, other.score, other.text)

    def __hash__(self) -> int:
        return hash((self.bits, self.score, self.text))

    def estimate_size(self, ixreader: Any) -> int:
        return self.bits.bit_count()

    def _local(self, searcher: Any) -> list[int]:
        size = searcher.doc_count_all()
        return members((self.bits >> offset_of(searcher)) & ((1 << size) - 1))

    def docs(self, searcher: Any) -> Iterator[int]:
        return iter(self._local(searcher))

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        ids = self._local(searcher)
        return ListMatcher(ids, all_weights=self.score * self.boost) if ids else NullMatcher()

    def with_boost(self, boost: float) -> DocsQuery:
        q = DocsQuery(self.bits, self.score, self.fieldname, self.text)
        q.boost = boost
        return q


class _Scored(RequireMatcher):
    """Documents of both matchers, scored by the first. Block-quality skipping is off: Whoosh's
    RequireMatcher.skip_to_quality can leave both sides on one document and fail an assertion, and
    stepping through a few candidates needs no skipping."""

    def supports_block_quality(self) -> bool:
        return False


class Candidates(wq.Require):
    """A ranking query that scores only some documents (the second query's)."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        scored = self.a.matcher(searcher, context)
        allowed = self.b.matcher(searcher, searcher.boolean_context())
        if not scored.is_active() or not allowed.is_active():
            return NullMatcher()
        return _Scored(scored, allowed)


def candidates(ranking: wq.Query, bits: int) -> wq.Query:
    """`ranking`, scoring only the documents of `bits`."""
    return Candidates(ranking, DocsQuery(bits))


class _NearWhereScored(SpanNear2.SpanNear2Matcher):
    """Moves as the documents holding every word do; scores as Whoosh's phrase matcher where the words
    are near each other in order, and 0 where they are not."""

    def _find_next(self) -> None:
        self._spans = None  # looked for when scored

    def spans(self) -> Any:
        if self._spans is None:
            self._spans = self._get_spans() if self.is_active() else []
        return self._spans

    def score(self) -> float:
        return self.child.score() if self.spans() else 0.0


class NearBonus(wq.Phrase):
    """Words near each other in order (a phrase with a slop), as a bonus for ranking a few candidates.

    Whoosh's phrase matcher looks for the next document where the words are near each other each
    time it moves: sent to a candidate where they are not, it reads the positions of every following
    document holding all the words. Ranking the best 100 of a two-word search at 100,000 items, that
    was half the search's time. This one moves over the documents holding all the words and reads
    positions only where it scores, adding 0 where the words are not near (so it only adds to scores:
    use it with queries that match the documents by themselves, as ranking.with_bonuses does).
    """

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if self.fieldname not in searcher.schema:
            return NullMatcher()
        field = searcher.schema[self.fieldname]
        reader = searcher.reader()
        terms = []
        for word in self.words:
            try:
                word = field.to_bytes(word)
            except ValueError:
                return NullMatcher()
            if (self.fieldname, word) not in reader:
                return NullMatcher()
            terms.append(wq.Term(self.fieldname, word))
        span_context = SpanNear2._span_context(context)
        near = _NearWhereScored([t.matcher(searcher, span_context) for t in terms], slop=self.slop, ordered=True,
                                mindist=1)
        return WrappingMatcher(near, boost=self.boost) if self.boost != 1.0 else near
