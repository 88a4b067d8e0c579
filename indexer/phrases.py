"""The documents where a phrase's words stand one after the other, read from their positions.

Whoosh finds a phrase's documents with its span matchers: each document holding every word is
reached by stepping each word's matcher to it, and its positions become Span objects compared
pair by pair, about 30 microseconds a document (a third of a second for two common words at
100,000 items). Here the documents holding every word come from their bitsets (kept per searcher
for counting), and only those documents' positions are read, block by block, and compared as sets.
An exact phrase (Whoosh's slop 1) is read this way, and two words near each other (the ranking
bonus of a short query, among its candidates only); a looser phrase of more words is left to Whoosh.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate
from pickle import loads
from typing import TYPE_CHECKING, Any, Sequence

from whoosh.formats import Positions

from indexer.bitsets import bitset, kept_bytes, members
from indexer.blockcache import leaf_postings, segment_name
from indexer.lru import LRU

if TYPE_CHECKING:
    from indexer.bitsets import DocSets


# Each segment's documents of recent exact phrases, as local bitsets weighed by their bytes and about
# 300 for the entry and its key: 12 KB for a phrase of common words in a segment of 100,000 items.
SEGMENTS_BYTES = 4_000_000
SEGMENTS = LRU(SEGMENTS_BYTES, weigh=kept_bytes)


def adjacent(sets: DocSets, field: str, words: list[str], within: int | None = None, slop: int = 1,
             read: dict | None = None) -> int | None:
    """The documents (of `within`, else of all) where `words` stand one after the other in `field`, as
    Whoosh's phrase matcher with slop 1 finds them; with a larger slop, two words with the second 1 to
    `slop` positions after the first (its phrase matcher with that slop, in order). None when the
    field's postings cannot be read this way, or for a slop over more than two words. Positions
    already in `read` are not read again, and those read are added to it (the bonus of a three-word
    query reads its middle word for both of its pairs)."""
    schema = sets.searcher.schema
    if field not in schema or not schema[field].format or not schema[field].format.supports("positions"):
        return None
    if slop > 1 and len(words) != 2:
        return None
    fmt = schema[field].format
    try:
        texts = [schema[field].to_bytes(word) for word in words]
    except ValueError:
        return 0
    every = None
    steps = range(1, slop + 1)
    found = 0
    for leaf, offset in sets.searcher.reader().leaf_readers():
        size = leaf.doc_count_all()
        # A whole segment's answer is kept: its documents never change (deleted ones are left out by
        # callers), so a commit that adds a segment reads the new segment's positions only.
        name = segment_name(sets.folder, leaf) if within is None and read is None else None
        key = (name, field, tuple(texts), slop)
        kept = SEGMENTS.get(key) if name is not None else None
        if kept is not None:
            found |= kept << offset
            continue
        if every is None:
            every = sets.all if within is None else within
            for word in words:
                every &= sets.term(field, word)
        local = members((every >> offset) & ((1 << size) - 1))
        if not local:
            if name is not None:
                SEGMENTS.put(key, 0)
            continue
        places = {text: _positions(leaf, (offset, field, text), local, fmt, read) for text in dict.fromkeys(texts)}
        first, *rest = [places[text] for text in texts]
        held = []
        for at, docnum in enumerate(local):
            if slop > 1:  # the second word 1 to `slop` places after the first
                near = not {start + step for start in first[at] for step in steps}.isdisjoint(rest[0][at])
            else:  # the places where a word starts that the following words continue
                starts = set(first[at])
                for step, places in enumerate(rest, 1):
                    starts.intersection_update([place - step for place in places[at]])
                near = bool(starts)
            if near:
                held.append(docnum)
        bits = bitset(held, size)
        if name is not None:
            SEGMENTS.put(key, bits)
        found |= bits << offset
    return found


def _positions(leaf: Any, key: tuple, local: list[int], fmt: Any, read: dict | None) -> list[Sequence[int]]:
    """positions() of a segment's word (`key`: its offset, field and word), taking what `read` holds."""
    if read is None:
        return positions(leaf_postings(leaf, key[1], key[2]), local, fmt)
    known = read.setdefault(key, {})
    missing = [docnum for docnum in local if docnum not in known]
    if missing:
        known.update(zip(missing, positions(leaf_postings(leaf, key[1], key[2]), missing, fmt)))
    return [known[docnum] for docnum in local]


def positions(matcher: Any, local: list[int], fmt: Any) -> list[Sequence[int]]:
    """The positions of a word in each document of `local` (sorted local numbers, each holding it)."""
    found: list[Sequence[int]] = [()] * len(local)  # one shared empty tuple: local may hold 10,000 items
    if not hasattr(matcher, "_read_data"):  # a short list kept in the term's own record
        while matcher.is_active():
            at = bisect_left(local, matcher.id())
            if at < len(local) and local[at] == matcher.id():
                found[at] = fmt.decode_positions(matcher.value())
            matcher.next()
        return found
    decode = _decode if type(fmt) is Positions else fmt.decode_positions
    first = 0
    while matcher.is_active() and first < len(local):
        last = bisect_right(local, matcher._maxid, first)
        if last > first:  # the block's numbers run up to _maxid: these documents fall in it
            if matcher._data is None:
                matcher._read_data()
            if matcher._values is None:
                matcher._read_values()
            # kb's codec reads the numbers with the block (indexer.postingblocks); Whoosh 3's codec, which
            # wrote the generation an upgraded kb serves until its first run, one Python step each
            ids = matcher._ids if matcher._ids is not None else list(accumulate(matcher._data[0]))
            values = matcher._values
            for at in range(first, last):
                where = bisect_left(ids, local[at])
                if where < len(ids) and ids[where] == local[at]:
                    found[at] = decode(values[where])
            first = last
        matcher._next_block()
    return found


def _decode(value: bytes) -> list[int]:
    """whoosh.formats.Positions.decode_positions, without its Python loop: the gaps between
    positions, pickled after the count (4 bytes), added up."""
    return list(accumulate(loads(value[4:] if value.endswith(b".") else value[4:] + b".")))
