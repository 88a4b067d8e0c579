"""Whoosh's pool of postings writes and reads its sorted runs a chunk of postings at a time.

A Whoosh writer keeps the postings of the items it adds in a pool; when the pool is full it sorts
them and writes them to a run file, and its commit merges the runs. Whoosh pickles each posting on
its own (one Python call to write it and one to read it back): a fifth of a writer's CPU time while
items are added and a quarter of its commit, measured on 5,000 items of the bench corpus. Here a run
holds pickled lists of CHUNK postings each, read back one list at a time: the same postings in the
same order, so the same index, and at most a chunk of each run in memory during the merge (Whoosh
merges at most 128 runs at once).

Whoosh's SegmentWriter makes its pool from `whoosh.writing.PostingPool` (it ignores its `poolclass`
argument), so this module puts its class there when it is imported: indexer.schema imports it, as
every process that writes an index does, Whoosh's spawned sub-writers included.
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from whoosh import writing

CHUNK = 2048  # postings per pickled list (about 300 KB in memory)


class ChunkedPostingPool(writing.PostingPool):
    """Whoosh's PostingPool, its runs written and read a list of CHUNK postings at a time."""

    def _write_run(self, f: BinaryIO, items: Iterable[Any]) -> None:
        items = iter(items)
        while chunk := list(itertools.islice(items, CHUNK)):
            pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
        f.close()

    def _read_run(self, path: str) -> Iterator[Any]:
        f = self._open_run(path)
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    return
                yield from chunk
        finally:
            f.close()
            self._remove_run(path)


def install() -> None:
    writing.PostingPool = ChunkedPostingPool  # type: ignore[misc]


install()
