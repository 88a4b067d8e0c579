"""Sets of documents as Python integers (bit n set = document n matches).

Counting facets over every match is the expensive part of a search page: Whoosh's
grouping scores every matching document and rebuilds each facet's document map on
every search. Here each facet value's documents are read once per searcher into an
integer bitset; a facet count is then `(matches & value).bit_count()`, microseconds
even at 100,000 documents, and disjunctive counts are a few more ANDs.
"""

from __future__ import annotations

import os
from array import array
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from whoosh import query as wq
from whoosh.idsets import DocIdSet
from whoosh.searching import Searcher

from indexer.blockcache import leaf_postings, numpy, postings, segment_name
from indexer.lru import LRU

CACHE_SIZE = 512
# Each segment's documents of recent words (DocSets.term), as local bitsets weighed by their bytes and
# about 300 for the entry and its key: 12 KB for the commonest words in a segment of 100,000 items.
def kept_bytes(bits: int) -> int:
    """What a kept bitset weighs in an LRU: its bytes and about 300 for the entry and its key."""
    return 300 + (bits.bit_length() >> 3)


SEGMENT_TERMS = LRU(8_000_000, weigh=kept_bytes)
# Words recently looked for in a segment that lacks them, about 200 bytes each: a small segment that
# incremental runs added lacks most words of most searches, and each lookup reads Whoosh's tables.
ABSENT = LRU(20_000)
SCORERS = 8192


def bitset(docnums: Iterable[int], size: int) -> int:
    """Build a bitset from document numbers (an array of them, or any iterable)."""
    np = numpy()
    if isinstance(docnums, np.ndarray):
        numbers = docnums
    elif isinstance(docnums, array):
        numbers = np.frombuffer(docnums, dtype=docnums.typecode) if docnums else np.zeros(0, dtype=np.int64)
    else:
        numbers = np.fromiter(docnums, dtype=np.int64)
    flags = np.zeros(((size >> 3) + 1) << 3, dtype=np.bool_)
    flags[numbers] = True
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def members(bits: int, limit: int | None = None) -> list[int]:
    """The document numbers in a bitset, in order (at most `limit`)."""
    if not bits:
        return []
    np = numpy()
    raw = np.frombuffer(bits.to_bytes((bits.bit_length() + 7) >> 3, "little"), dtype=np.uint8)
    found = np.flatnonzero(np.unpackbits(raw, bitorder="little"))
    return (found if limit is None else found[:limit]).tolist()


def at_least(sets: list[int], k: int) -> int:
    """The documents in at least `k` of the bitsets."""
    if k <= 1:
        anywhere = 0
        for bits in sets:
            anywhere |= bits
        return anywhere
    return reaching(tally([(bits, 1) for bits in sets]), k)


def tally(weighted: list[tuple[int, int]]) -> list[int]:
    """Each document's sum of the weights of the bitsets it is in, as one bitset per binary digit.

    A ripple-carry adder over whole bitsets: a weight w adds the bitset at each binary digit of w,
    a few big-integer operations per set, whatever the number of documents.
    """
    digits: list[int] = []
    for bits, weight in weighted:
        position = 0
        while weight:
            if weight & 1:
                while len(digits) < position:
                    digits.append(0)
                carry = bits
                at = position
                while carry:
                    if at == len(digits):
                        digits.append(carry)
                        break
                    digits[at], carry = digits[at] ^ carry, digits[at] & carry
                    at += 1
            weight >>= 1
            position += 1
    return digits


def reaching(digits: list[int], k: int) -> int:
    """The documents whose tallied sum (see tally) is at least k (k >= 1), compared digit by digit."""
    anywhere = 0
    for digit in digits:
        anywhere |= digit
    above, equal = 0, anywhere  # documents whose sum is already greater / so far equal to k's digits
    for position in range(max(len(digits), k.bit_length()) - 1, -1, -1):
        digit = digits[position] if position < len(digits) else 0
        if k >> position & 1:
            equal &= digit
        else:
            above |= equal & digit
            equal &= ~digit
    return above | equal


class BitSets:
    """Bitsets over numbered documents: each value of the filter fields, date order, queries.

    Subclasses say where the documents come from (a Whoosh searcher, a cluster's collection):
    `size`, `all`, `_read_values(field)` and `_dates()`.
    """

    size: int
    all: int

    def __init__(self) -> None:
        self._values: dict[str, dict[str, int]] = {}
        self._orders: tuple[list[int], list[int]] | None = None
        self._days: list[str] | None = None
        self.memo: dict[str, dict] = {}  # what readers of these documents keep as long as they are (relating)

    def _read_values(self, field: str) -> dict[str, int]:
        raise NotImplementedError

    def _dates(self) -> list[str]:
        """Each document's date as YYYY-MM-DD ('' when undated), by document number."""
        raise NotImplementedError

    def values(self, field: str) -> dict[str, int]:
        """Every value of a keyword field with the bitset of its documents (built once)."""
        if field not in self._values:
            self._values[field] = self._read_values(field)
        return self._values[field]

    def value(self, field: str, value: str) -> int:
        return self.values(field).get(value, 0)

    def day(self, docnum: int) -> str:
        """A document's date as YYYY-MM-DD ('' when undated)."""
        if self._days is None:
            self._days = self._dates()
        return self._days[docnum]

    def order(self, oldest: bool = False) -> list[int]:
        """All document numbers by date, newest (or oldest) first, undated last; read once."""
        if self._orders is None:
            if self._days is None:
                self._days = self._dates()
            days = self._days
            # a stable sort by day alone: the same day keeps document order (oldest first), reversed for newest
            dated = sorted((docnum for docnum in range(self.size) if days[docnum]), key=days.__getitem__)
            undated = [docnum for docnum in range(self.size) if not days[docnum]]
            self._orders = (dated[::-1] + undated, dated + undated)
        return self._orders[1 if oldest else 0]

    def page_by_date(self, bits: int, offset: int, count: int, oldest: bool = False) -> list[int]:
        """Documents `offset` to `offset + count` of `bits` in date order."""
        raw = bits.to_bytes((self.size >> 3) + 1, "little")
        found: list[int] = []
        for docnum in self.order(oldest):
            if raw[docnum >> 3] >> (docnum & 7) & 1:
                found.append(docnum)
                if len(found) >= offset + count:
                    break
        return found[offset:]

    def where(self, predicate: Callable[[str], bool], field: str) -> int:
        """Documents whose value of `field` satisfies `predicate` (e.g. a date range)."""
        bits = 0
        for value, docs in self.values(field).items():
            if predicate(value):
                bits |= docs
        return bits


class DocSets(BitSets):
    """Bitsets of one searcher: all live documents, each facet value, and cached query results.

    Facet values and dates come from the segments' stored sets when the writer left them
    (indexer.segmentsets), else from the postings.
    """

    def __init__(self, searcher: Searcher):
        from indexer.segmentsets import StoredSets  # it builds on this module's bitset()

        super().__init__()
        self.searcher = searcher
        self.size = searcher.doc_count_all()
        index = getattr(searcher, "_ix", None)
        folder = getattr(getattr(index, "storage", None), "folder", None)
        self.folder = os.path.abspath(folder) if folder else folder
        self.stored = StoredSets(Path(folder) if folder else None, searcher.reader())
        self.all = self.stored.live()
        self._queries: OrderedDict[str, int] = OrderedDict()
        self._terms: OrderedDict[tuple[str, Any], int] = OrderedDict()
        self.scorers = LRU(SCORERS)  # indexer.termscores: each word's scorer in each segment, or False

    def _read_values(self, field: str) -> dict[str, int]:
        return {value: bits & self.all for value, bits in self.stored.values(field).items()}

    def _dates(self) -> list[str]:
        return self.stored.dates()

    def query(self, q: wq.Query) -> int:
        """The documents matching a query, cached by the query's text."""
        key = repr(q)
        cached = self._queries.get(key)
        if cached is not None:
            self._queries.move_to_end(key)
            return cached
        bits = self._evaluate(q) & self.all
        self._remember(self._queries, key, bits)
        return bits

    def _evaluate(self, q: wq.Query) -> int:
        """Words, ORs and ANDs of them from each word's own documents, each read once per searcher:
        walking Whoosh's tree of matchers costs several times more per document, and the common
        words of one query come back in the next. Anything else (phrases) is asked of Whoosh."""
        if type(q) is wq.Term:
            return self.term(q.fieldname, q.text)
        if isinstance(q, wq.Or) and not q.minmatch:
            bits = 0
            for sub in q.subqueries:
                bits |= self._evaluate(sub)
            return bits
        if isinstance(q, wq.And):
            bits = self.all
            for sub in q.subqueries:
                bits &= self._evaluate(sub)
                if not bits:
                    break
            return bits
        if type(q) is wq.Phrase:
            return self.phrase(q.fieldname, q.words, q.slop)
        return bitset(self.searcher.docs_for_query(q), self.size)

    def phrase(self, field: str, words: list[str], slop: int = 1) -> int:
        """The documents where the words stand together (as Whoosh's phrase matcher finds them), whatever
        the phrase's boost: counting a query finds them, and ranking it scores them. An exact phrase
        is read from its words' positions (indexer.phrases)."""
        from indexer.phrases import adjacent  # (it imports this module)

        cached = self.counted_phrase(field, words, slop)
        if cached is not None:
            return cached
        key = (field, ("phrase", tuple(words), slop))
        bits = adjacent(self, field, list(words)) if slop == 1 and len(words) > 1 else None
        if bits is None:
            bits = bitset(self.searcher.docs_for_query(wq.Phrase(field, list(words), slop=slop)), self.size)
        self._remember(self._terms, key, bits)
        return bits

    def counted_phrase(self, field: str, words: list[str], slop: int = 1) -> int | None:
        """The documents of a phrase this searcher found already, else None."""
        key = (field, ("phrase", tuple(words), slop))
        cached = self._terms.get(key)
        if cached is not None:
            self._terms.move_to_end(key)
        return cached

    def term(self, field: str, text: str | bytes) -> int:
        """The documents holding one term (deleted ones included: callers AND with `all`)."""
        key = (field, text)
        cached = self._terms.get(key)
        if cached is not None:
            self._terms.move_to_end(key)
            return cached
        bits = 0
        # the postings of a ranked word are kept for ranking it (indexer.termscores reads them again)
        ranked = field in self.searcher.schema and self.searcher.schema[field].scorable
        word = text.encode("utf-8") if isinstance(text, str) else text
        for leaf, offset in self.searcher.reader().leaf_readers():
            local = self._segment_term(leaf, field, text, word, ranked)
            if local:
                bits |= local << offset
        self._remember(self._terms, key, bits)
        return bits

    def _segment_term(self, leaf: Any, field: str, text: str | bytes, word: bytes, ranked: bool) -> int:
        """One segment's documents of a word, as a bitset of its own numbers (0: the segment lacks it)."""
        name = segment_name(self.folder, leaf)
        # a segment's documents of a word never change: a commit that adds a segment reads its own only
        key = (name, field, word)
        local = SEGMENT_TERMS.get(key) if name is not None else None
        if local is not None:
            return local
        if name is not None and ABSENT.get(key):
            return 0
        if (field, text) not in leaf:
            if name is not None:
                ABSENT.put(key, True)
            return 0
        kept = postings(leaf, name, field, word) if ranked else None
        ids = kept[0] if kept is not None else posting_ids(leaf_postings(leaf, field, text))
        local = bitset(ids, leaf.doc_count_all())
        if name is not None:
            SEGMENT_TERMS.put(key, local)
        return local

    @staticmethod
    def _remember(cache: OrderedDict, key: Any, bits: int) -> None:
        cache[key] = bits
        if len(cache) > CACHE_SIZE:
            cache.popitem(last=False)


def posting_ids(matcher: Any) -> Iterator[int]:
    """The document numbers of one segment's postings of a term (indexer.blockcache.leaf_postings:
    deleted documents included), a block at a time.

    Whoosh's all_ids() steps through a posting list one document at a time; its
    whoosh3 leaf matcher holds each block's numbers as one tuple, read here whole.
    The words that are ranked read their blocks through indexer.blockcache instead:
    blocks kept from earlier searches, and kept for ranking this one.
    """
    if not hasattr(matcher, "_next_block"):
        yield from matcher.all_ids()
        return
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        yield from matcher._ids[matcher._i:]
        matcher._next_block()


def docsets(searcher: Searcher) -> DocSets:
    """The DocSets of a searcher, built on first use and kept with it."""
    sets = getattr(searcher, "_kb_docsets", None)
    if sets is None:
        sets = DocSets(searcher)
        searcher._kb_docsets = sets  # type: ignore[attr-defined]
    return sets


class BitsetFilter(DocIdSet):
    """A bitset as a Whoosh filter: membership tests without building a set of every number."""

    def __init__(self, bits: int, size: int):
        self.raw = bits.to_bytes((size >> 3) + 1, "little")
        self.bits = bits

    def __contains__(self, docnum: object) -> bool:
        return isinstance(docnum, int) and 0 <= docnum < len(self.raw) * 8 \
            and bool(self.raw[docnum >> 3] >> (docnum & 7) & 1)

    def __iter__(self) -> Iterator[int]:
        return iter(members(self.bits))

    def __len__(self) -> int:
        return self.bits.bit_count()


def as_filter(bits: int, size: int) -> BitsetFilter:
    """A Whoosh filter argument for a bitset."""
    return BitsetFilter(bits, size)
