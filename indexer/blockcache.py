"""Posting blocks decoded by recent searches of this process, for the searches that follow.

A block is one whoosh3 postings block: its document numbers and weights, kept compact (5 bytes a
posting: 4 for its number, 1 for its weight). Keys name the segment by its index folder and id: a segment's postings never change
once written (a deletion only hides a document, which what is counted and ranked leaves out), so a
block stays right for as long as it is kept. The words of one search come back in the next (a long
question's common words, `what have members written about`), and within one search the words read
to count the matches (indexer.bitsets) are read again to rank them (indexer.termscores).
"""

from __future__ import annotations

import os
from array import array
from itertools import accumulate
from typing import Any

from indexer.lru import LRU

Block = tuple[Any, Any]  # (document numbers, weights: an array, one float for all, or None for 1.0)

# About 45 MB of a process's memory when full (a block and its key take about 900 bytes, measured at
# 100,000 items). A quarter as many made the first run of a long question a third slower: the words of
# one question and its feedback, a few thousand blocks each, pushed out those of the others.
RECENT = LRU(49_152)


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
    """The block a whoosh3 leaf matcher is on, decoded (once: its own decoding is reused)."""
    if matcher._data is None:
        matcher._read_data()
    ids = matcher._ids if matcher._ids is not None else \
        (matcher._data[0] if matcher._byteids else accumulate(matcher._data[0]))
    weights = matcher._data[1]
    if isinstance(weights, tuple):
        # a word's weight in a document is its count there: one byte each, nearly always
        small = max(weights) < 256 and all(map(float.is_integer, map(float, weights)))
        weights = array("B", map(int, weights)) if small else array("f", weights)
    return array("I", ids), weights


def block(name: tuple[str, str] | None, field_name: str, text: bytes, matcher: Any) -> Block:
    """The block a word's matcher is on: kept, or decoded and kept (a segment without a name: decoded)."""
    if name is None:
        return decoded(matcher)
    key = (name, field_name, text, matcher._dataoffset)
    found = RECENT.get(key)
    if found is None:
        found = decoded(matcher)
        RECENT.put(key, found)
    return found


def block_ids(name: tuple[str, str] | None, field_name: str, text: bytes) -> Any:
    """A function giving the document numbers of the block a word's matcher is on (see `block`),
    or None when the segment cannot be named: the matcher then decodes as usual."""
    if name is None:
        return None
    return lambda matcher: block(name, field_name, text, matcher)[0]
