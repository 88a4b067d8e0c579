"""The reindex job: read the content folder, build a generation aside, switch to it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

from whoosh import index as whoosh_index

from indexer.content import Content, Failure, load_content
from indexer.schema import build_schema, item_document, related_kinds
from indexer.store import IndexStore
from kb.checks import check_items
from kb.item import Item

log = logging.getLogger(__name__)
WRITER_MEMORY_MB = 256


@dataclass
class ReindexSummary:
    """What a reindex job did; printed as text or JSON."""

    indexed: int = 0
    failed: list[Failure] = field(default_factory=list)
    warnings: list[Failure] = field(default_factory=list)
    generation: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "indexed": self.indexed,
            "failed": [f.to_dict() for f in self.failed],
            "warnings": [w.to_dict() for w in self.warnings],
            "generation": self.generation,
            "seconds": round(self.seconds, 3),
        }


def reindex(content_path: str | os.PathLike[str], index_path: str | os.PathLike[str],
            *, max_bytes: int = 20_000_000, wait: float = 0.0) -> ReindexSummary:
    """Rebuild the index from the content folder and switch searches to it."""
    started = time.perf_counter()
    store = IndexStore(index_path)
    with store.write_lock(wait):
        content = load_content(content_path, max_bytes=max_bytes)
        generation = write_generation(store, content)
    problems = [Failure(p.path, f"{p.severity}: {p.message}") for p in check_items(content.items, content.vocabulary)]
    return ReindexSummary(
        indexed=len(content.items),
        failed=content.failed,
        warnings=content.warnings + problems,
        generation=generation,
        seconds=time.perf_counter() - started,
    )


def write_generation(store: IndexStore, content: Content) -> str:
    """Write every item into a new generation and publish it; return its name."""
    path = store.new_generation_path()
    try:
        ix = whoosh_index.create_in(str(path), build_schema())
        writer = ix.writer(limitmb=WRITER_MEMORY_MB)
        try:
            add_items(writer, content.items, content)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        (path / "vocabulary.json").write_text(json.dumps(content.vocabulary.to_dict(), ensure_ascii=False), encoding="utf-8")
        build = {
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "items": len(content.items),
            "failed": len(content.failed),
            "content": str(content.root),
        }
        (path / "build.json").write_text(json.dumps(build), encoding="utf-8")
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    store.publish(path)
    log.info("published generation %s with %d items", path.name, len(content.items))
    return path.name


def add_items(writer: Any, items: list[Item], content: Content) -> None:
    kind_of = {item.id: item.kind for item in items if item.is_activity}
    for item in items:
        writer.add_document(**item_document(item, content.vocabulary, related_kinds(item, kind_of)))
