"""Postings decoded by recent searches of this process, for the searches that follow.

Keys name the segment by its index folder and id: a segment's postings never change once written (a
deletion only hides a document, which what is counted and ranked leaves out), so what is kept stays
right for as long as it is kept. Postings are kept compact, as numpy arrays (5 bytes a posting: 4
for its number, 1 for its weight), in two ways:

- a word's postings whole (WORDS): counting the matches reads every block of a word
  (indexer.bitsets), ranking reads them again (indexer.termscores), and the words of one search
  come back in the next (a long question's common words, `what have members written about`). A word
  kept whole is found with one lookup, without opening its postings;
- single blocks (RECENT): ranking a few candidates by a word nothing counted (a long question's
  feedback words) reads only the blocks that hold them, a tenth of a common word's.
"""

from __future__ import annotations

import functools
import os
from array import array
from typing import Any

from indexer.lru import LRU

# (document numbers, weights): numpy arrays; a block's weights may also be one float for all, or None
# for 1.0 each, a whole word's are always an array
Block = tuple[Any, Any]

# Words kept, by the bytes of their arrays: about 30 MB of a process's memory when full (a word and its
# key take about 300 bytes beside its arrays).
WORDS_BYTES = 30_000_000
WORD_OVERHEAD = 300
WORDS = LRU(WORDS_BYTES, weigh=lambda block: block[0].nbytes + block[1].nbytes + WORD_OVERHEAD)
# Single blocks: about 15 MB when full (a block and its key take about 900 bytes at 100,000 items).
RECENT = LRU(16_384)
MAPS = LRU(16_384)  # where the blocks of recent words are: 20 bytes a block, a few MB in all


def numpy() -> Any:
    """numpy, imported on first use: a reindex forks its readers before it counts or scores anything,
    and they have no use for it (about 13 MB each)."""
    import numpy as np

    return np


def segment_name(folder: Any, reader: Any) -> tuple[str, str] | None:
    """The name of a segment reader's postings, or None when it cannot be named (kept for a page only)."""
    segment = reader.segment() if hasattr(reader, "segment") else None
    if segment is None or not folder:
        return None
    # A relative folder depends on the working directory; an absolute one is normalised once per process
    # (a search met for the first time names segments thousands of times, and searchers name their folder
    # absolutely: indexer.bitsets.DocSets).
    return (_normalised(folder) if os.path.isabs(folder) else os.path.abspath(folder)), segment.segment_id()


@functools.lru_cache(maxsize=64)
def _normalised(folder: str) -> str:
    return os.path.abspath(folder)


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
    """The block a leaf matcher is on, decoded (once: its own decoding is reused), as numpy arrays,
    which searches read whole (indexer.termscores)."""
    np = numpy()
    if matcher._data is None:
        matcher._read_data()
    if hasattr(matcher, "block_weights"):  # kb's codec (indexer.postingblocks): arrays seen without a copy
        weights = matcher.block_weights()
        if isinstance(weights, array):
            weights = np.frombuffer(weights, dtype=np.uint8 if weights.typecode == "B" else np.float32)
        return np.frombuffer(matcher._ids, dtype=np.uint32), weights
    # Whoosh 3's codec: the generation an upgraded kb serves until its first run rebuilds it
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


def kept(name: tuple[str, str] | None, field_name: str, text: bytes) -> Block | None:
    """A word's postings in a segment, if they are kept whole."""
    return WORDS.get((name, field_name, text)) if name is not None else None


def postings(reader: Any, name: tuple[str, str] | None, field_name: str, text: bytes) -> Block | None:
    """A word's postings in a segment (deleted documents included), kept or read whole and kept; None
    when the segment holds the word's few postings in the word's own record, without blocks (callers
    read them through leaf_postings). A segment without a name (`name` None) keeps nothing."""
    found = kept(name, field_name, text)
    if found is None:
        matcher = leaf_postings(reader, field_name, text)
        if not hasattr(matcher, "_read_data"):
            return None
        found = whole(matcher)
        if name is not None:
            WORDS.put((name, field_name, text), found)
    return found


def whole(matcher: Any) -> Block:
    """Every block of a whoosh3 leaf matcher, from the one it is on, in one pair of arrays: weights
    one byte each when every block's fit (a word's count in a document, nearly always), else floats."""
    blocks = []
    while matcher.is_active():
        blocks.append(decoded(matcher))
        matcher._next_block()
    return joined(blocks)


def joined(blocks: list[Block]) -> Block:
    """Blocks in one pair of arrays (see whole); none, two empty ones."""
    np = numpy()
    if not blocks:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint8)
    ids = np.concatenate([numbers for numbers, _ in blocks])
    weights = [_weights(np, numbers, weights) for numbers, weights in blocks]
    small = all(w.dtype == np.uint8 for w in weights)
    return ids, np.concatenate(weights if small else [w.astype(np.float64) for w in weights])


def _weights(np: Any, numbers: Any, weights: Any) -> Any:
    """A block's weights as an array: its own, or one weight for all, or none (1.0 each)."""
    if isinstance(weights, np.ndarray):
        return weights
    weight = 1.0 if weights is None else float(weights)
    if weight == int(weight) and 0 <= weight < 256:
        return np.full(len(numbers), int(weight), dtype=np.uint8)
    return np.full(len(numbers), weight, dtype=np.float64)


Map = tuple[array, array, array]  # each block's last document number, header offset and data offset


def block_map(name: tuple[str, str], field_name: str, text: bytes, matcher: Any) -> Map | None:
    """Where each block of a word's postings is, read from their headers once and kept (None for a
    matcher without blocks). Stepping from block to block reads a pickled header each time."""
    if not hasattr(matcher, "_baseoffset"):
        return None
    key = (name, field_name, text)
    found = MAPS.get(key)
    if found is None:
        found = (array("I"), array("Q"), array("Q"))
        position = matcher._baseoffset
        matcher._goto(position)
        while True:
            found[0].append(matcher._maxid)
            found[1].append(position)
            found[2].append(matcher._dataoffset)
            if matcher._lastblock:
                break
            position = matcher._nextoffset
            matcher._goto(position)
        MAPS.put(key, found)
    return found


def block_at(name: tuple[str, str], field_name: str, text: bytes, matcher: Any, where: Map, n: int) -> Block:
    """Block `n` of a word's map: kept, or decoded and kept."""
    key = (name, field_name, text, where[2][n])
    found = RECENT.get(key)
    if found is None:
        matcher._goto(where[1][n])
        found = decoded(matcher)
        RECENT.put(key, found)
    return found
