"""Posting blocks decoded by recent searches of this process, for the searches that follow.

A block is one whoosh3 postings block: its document numbers and weights, kept compact (5 bytes a
posting: 4 for its number, 1 for its weight). Keys name the segment by its index folder and id: a
segment's postings never change once written (a deletion only hides a document, which what is
counted and ranked leaves out), so a block stays right for as long as it is kept. The words of one
search come back in the next (a long question's common words, `what have members written about`),
and within one search the words read to count the matches (indexer.bitsets) are read again to rank
them (indexer.termscores). Where each block of a word lies is kept as well (block_map), so a search
whose blocks are kept reads no block header either."""

from __future__ import annotations

import os
from array import array
from typing import Any, Iterator

from indexer.lru import LRU

Block = tuple[Any, Any]  # (document numbers, weights: a numpy array, one float for all, or None for 1.0)

# About 45 MB of a process's memory when full (a block and its key take about 900 bytes, measured at
# 100,000 items). A quarter as many made the first run of a long question a third slower: the words of
# one question and its feedback, a few thousand blocks each, pushed out those of the others.
RECENT = LRU(49_152)
MAPS = LRU(16_384)  # where the blocks of recent words are: 20 bytes a block, a few MB in all


def numpy() -> Any:
    """numpy, imported on first use: a reindex forks its readers before it counts or scores anything,
    and they have no use for it (about 13 MB each)."""
    import numpy as np

    return np


def segment_name(folder: Any, reader: Any) -> tuple[str, str] | None:
    """The name of a segment reader's postings, or None when it cannot be named (kept for a page only)."""
    segment = reader.segment() if hasattr(reader, "segment") else None
    return (os.path.abspath(folder), segment.segment_id()) if segment is not None and folder else None


def leaf_postings(reader: Any, field_name: str, text: str | bytes) -> Any:
    """A segment's postings of a word, deleted documents included: callers read the blocks of live
    documents only. Whoosh wraps a segment with deletions in a filter that steps one posting at a time
    and decodes the first block to start with, even when that block is kept here."""
    terms = getattr(reader, "_terms", None)
    if terms is not None and not reader.is_closed and field_name in reader.schema:
        return terms.matcher(field_name, reader._text_to_bytes(field_name, text), reader.schema[field_name].format)
    matcher = reader.postings(field_name, text)
    while not hasattr(matcher, "_read_data") and hasattr(matcher, "child"):
        matcher = matcher.child
    return matcher


def decoded(matcher: Any) -> Block:
    """The block a whoosh3 leaf matcher is on, decoded (once: its own decoding is reused), as numpy
    arrays, which searches read whole (indexer.termscores)."""
    np = numpy()
    if matcher._data is None:
        matcher._read_data()
    if matcher._ids is not None or matcher._byteids:
        ids = np.array(matcher._ids if matcher._ids is not None else matcher._data[0], dtype=np.uint32)
    else:  # gaps between numbers
        ids = np.cumsum(np.array(matcher._data[0], dtype=np.int64)).astype(np.uint32)
    weights = matcher._data[1]
    if isinstance(weights, tuple):
        # a word's weight in a document is its count there: one byte each, nearly always
        exact = np.array(weights, dtype=np.float64)
        small = bool((exact < 256).all() and (exact == np.floor(exact)).all())
        weights = exact.astype(np.uint8) if small else exact.astype(np.float32)
    return ids, weights


Map = tuple[array, array, array]  # each block's last document number, header offset and data offset


def block_map(name: tuple[str, str] | None, field_name: str, text: bytes, matcher: Any) -> Map | None:
    """Where each block of a word's postings is, read from their headers once and kept (None for a
    segment without a name). Stepping from block to block reads a pickled header each time: a third
    of the time of a long question whose blocks are all kept."""
    if name is None or not hasattr(matcher, "_baseoffset"):
        return None
    key = (name, field_name, text)
    found = MAPS.get(key)
    if found is None:
        found = (array("I"), array("Q"), array("Q"))
        for _ in _headers(matcher, found):
            pass
        MAPS.put(key, found)
    return found


def _headers(matcher: Any, where: Map) -> Iterator[None]:
    """Move a matcher from its first block to its last, noting each block in `where`; yield at each."""
    position = matcher._baseoffset
    matcher._goto(position)
    while True:
        where[0].append(matcher._maxid)
        where[1].append(position)
        where[2].append(matcher._dataoffset)
        yield
        if matcher._lastblock:
            return
        position = matcher._nextoffset
        matcher._goto(position)


def block_at(name: tuple[str, str], field_name: str, text: bytes, matcher: Any, where: Map, n: int) -> Block:
    """Block `n` of a word's map: kept, or decoded and kept."""
    key = (name, field_name, text, where[2][n])
    found = RECENT.get(key)
    if found is None:
        matcher._goto(where[1][n])
        found = decoded(matcher)
        RECENT.put(key, found)
    return found


def block_ids(name: tuple[str, str] | None, field_name: str, text: bytes, matcher: Any) -> Iterator[Any] | None:
    """The document numbers of every block of a word's postings, block by block: kept, or decoded
    and kept (the blocks' map too, see block_map); None when the segment cannot be named: the matcher
    then decodes as usual."""
    if name is None or not hasattr(matcher, "_baseoffset"):
        return None
    where = MAPS.get((name, field_name, text))
    if where is not None:
        return (block_at(name, field_name, text, matcher, where, n)[0] for n in range(len(where[0])))
    return _mapped(name, field_name, text, matcher)


def _mapped(name: tuple[str, str], field_name: str, text: bytes, matcher: Any) -> Iterator[Any]:
    """Every block's numbers, from the first header to the last, and the map of the blocks kept at the end."""
    where: Map = (array("I"), array("Q"), array("Q"))
    for _ in _headers(matcher, where):
        key = (name, field_name, text, matcher._dataoffset)
        found = RECENT.get(key)
        if found is None:
            found = decoded(matcher)
            RECENT.put(key, found)
        yield found[0]
    MAPS.put((name, field_name, text), where)
