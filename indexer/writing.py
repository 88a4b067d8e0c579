"""Writing items into a Whoosh generation (kb.backend.GenerationWriter)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from whoosh import index as whoosh_index

from indexer import segmentsets
from indexer.generation import GenerationFolder
from indexer.postingblocks import BlockCodec
from indexer.schema import build_schema, item_document, related_kinds
from indexer.workers import worker_context
from kb.item import Item
from kb.vocabulary import Vocabulary

# The two sub-writers' pools together: at 10k items 256 -> 96 MB took the build's peak RSS from 549 to
# 353 MB in the same time; at 100k items 96 -> 64 MB took it from 514 to 465 MB (406 s, then 361 s).
WRITER_MEMORY_MB = 64
WORKERS = min(2, os.cpu_count() or 1)
# Below this many items a full build is faster in one process than with sub-writers.
PARALLEL_WRITE_FROM = 2000


def writer_options(items: int) -> dict[str, Any]:
    """Whoosh writer settings for a full build of `items` items.

    Big builds analyse documents in sub-processes, each writing its own segment
    (measured: 4,044 real pages 9.9 s -> 6.6 s on 2 cores). The segments are not
    merged: merging costs more than it saves, and kb uses no fuzzy or spelling
    queries, the ones that slow down with several segments. Segments are left as
    separate files (compound=False): Whoosh reads a compound segment through a
    BytesIO copy, so every open searcher held the whole postings and stored
    fields in memory (1.2 GB per web worker at 100k items).
    """
    if WORKERS > 1 and items >= PARALLEL_WRITE_FROM:
        return {"procs": WORKERS, "multisegment": True, "limitmb": WRITER_MEMORY_MB // WORKERS,
                "start_method": worker_context().get_start_method(), "compound": False}
    return {"limitmb": WRITER_MEMORY_MB, "compound": False}


class WhooshWriter:
    """Adds, replaces and deletes items in one generation; nothing shows before commit."""

    def __init__(self, index: Any, writer: Any, replace: bool):
        self.index = index
        self.writer = writer
        self.replace = replace  # an incremental run replaces documents by id; a full build only adds

    def put(self, items: Iterable[Item], vocabulary: Vocabulary, kind_of: Mapping[str, str]) -> int:
        add = self.writer.update_document if self.replace else self.writer.add_document
        count = 0
        for item in items:
            add(**item_document(item, vocabulary, related_kinds(item, kind_of)))
            count += 1
        return count

    def delete(self, item_ids: Iterable[str]) -> None:
        for item_id in item_ids:
            self.writer.delete_by_term("id", item_id)

    def commit(self) -> None:
        try:
            self.writer.commit()
        except BaseException:
            # a parallel build hands its last documents to the sub-writers here: a failure leaves its files
            # open and the sub-writers waiting for work
            with contextlib.suppress(Exception):
                self.cancel()
            raise
        # new segments' facet bitsets and dates, so the next process's first search need not read postings
        segmentsets.save(Path(self.index.storage.folder), self.index)

    def cancel(self) -> None:
        tasks = list(getattr(self.writer, "tasks", ()))
        try:
            self.writer.cancel()
        finally:
            # A parallel build's sub-writers are processes that Whoosh's cancel does not stop: left waiting
            # for work, they would keep the job from exiting (Python joins its children at exit).
            for task in tasks:
                if hasattr(task, "terminate") and task.is_alive():  # one that never started has nothing to stop
                    task.terminate()
                    task.join(10)


def create_generation(folder: GenerationFolder, expected_items: int) -> WhooshWriter:
    ix = whoosh_index.create_in(str(folder.path), build_schema())
    return WhooshWriter(ix, ix.writer(codec=BlockCodec(), **writer_options(expected_items)), replace=False)


def open_for_update(ix: Any) -> WhooshWriter:
    return WhooshWriter(ix, ix.writer(codec=BlockCodec(), limitmb=WRITER_MEMORY_MB, timeout=30.0, compound=False), replace=True)
