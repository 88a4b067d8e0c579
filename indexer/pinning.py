"""A searcher's column files, opened with the searcher, so that a merge cannot take them away.

Whoosh opens a segment's column files (stored fields, lengths, dates) on first use, after asking
the folder whether each exists. An incremental run that merges segments deletes the merged
segments' files when it commits, while searchers opened before the commit are still reading them:
a search that needed, say, a merged segment's stored fields for the first time then failed inside
Whoosh (a TypeError: 1 of about 700 searches of a load during back-to-back one-file reindexes at
10,000 items), and a length column asked for first then read as missing. A file opened before its
deletion stays readable, so every column file of a searcher's segments is opened with it, and the
segment's reader answers from those.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec.whoosh3 import W3Codec

OPEN_TRIES = 10  # a commit between reading the table of contents and opening the files: open again


def open_searcher(index: Any, weighting: Any) -> Any:
    """A searcher on the index's latest commit, every column file of its segments open."""
    for _ in range(OPEN_TRIES - 1):
        searcher = index.searcher(weighting=weighting)
        if pin_columns(searcher):
            return searcher
        searcher.close()  # its commit was merged away meanwhile: the next one is newer
    searcher = index.searcher(weighting=weighting)
    pin_columns(searcher)
    return searcher


def pin_columns(searcher: Any) -> bool:
    """Open every column file of the searcher's segments; False when a segment's files are already gone."""
    listings: dict[int, list[str]] = {}  # a folder's files, listed once (a compound segment has its own)
    for leaf, _ in searcher.leaf_searchers():
        perdoc = getattr(leaf.reader(), "_perdoc", None)
        if perdoc is None or not hasattr(perdoc, "_colfiles") or not hasattr(perdoc, "_segment"):
            continue  # not a whoosh3 segment: left as Whoosh reads it
        storage = perdoc._storage
        listed = listings.get(id(storage))
        if listed is None:
            listed = listings[id(storage)] = list(storage.list())
        prefix, ext = perdoc._segment.segment_id() + ".", W3Codec.COLUMN_EXT
        columns = [name[len(prefix):-len(ext)] for name in listed if name.startswith(prefix) and name.endswith(ext)]
        if perdoc.doc_count_all() and "_stored" not in columns:
            return False
        try:
            for column in columns:
                if column not in perdoc._colfiles:
                    perdoc._colfiles[column] = perdoc._get_column_file(column)
        except OSError:
            return False
        exists = perdoc.has_column
        pinned = perdoc._colfiles
        perdoc.has_column = lambda name, pinned=pinned, exists=exists: name in pinned or exists(name)
    return True
