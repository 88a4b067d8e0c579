"""Whether an incremental run has anything to do, asked before the search engine is loaded.

Most `kb reindex` runs from cron find the folder as the last run left it. Listing the
folder (indexer.listing) and comparing it with the listing the manifest keeps decides
that, and costs less than starting Whoosh, the readers and the embedder. So the
command's incremental run starts here, with this module's light imports, and loads the
rest (indexer.reindex's job) only when the folder may hold a change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from indexer.content import content_root
from indexer.generation import GenerationFolder
from indexer.indexfolder import IndexFolder
from indexer.listing import Listing, read_listing
from indexer.manifest import manifest_listing, manifest_size, manifest_vocabulary_hash, vocabulary_hash
from indexer.reindex import ReindexSummary, begin, niceness, record
from kb.settings import Settings


@dataclass(frozen=True)
class Look:
    """The folder as listed now, as the manifest last matched it in full, and whether the vocabulary moved."""

    listing: Listing | None
    before: Listing | None
    vocabulary_changed: bool
    seconds: float = 0.0  # what looking took, counted in the run's time

    @property
    def unchanged(self) -> bool:
        return (self.listing is not None and self.before is not None and self.listing.raw == self.before.raw
                and not self.vocabulary_changed)


def look(root: Path, current: GenerationFolder, listed: bool = True) -> Look:
    """Compare the content folder with the serving generation's manifest (`listed=False`: the vocabulary only)."""
    started = time.perf_counter()
    vocabulary_changed = vocabulary_hash(root) != manifest_vocabulary_hash(current.manifest)
    listing = read_listing(root) if listed else None
    before = manifest_listing(current.manifest) if listing is not None else None
    return Look(listing, before, vocabulary_changed, time.perf_counter() - started)


def nothing_changed(summary: ReindexSummary, current: GenerationFolder) -> ReindexSummary:
    """The summary of a run that found every item of the serving generation unchanged."""
    summary.generation, summary.items = current.name, manifest_size(current.manifest)
    summary.unchanged = summary.items
    return summary


def reindex_unless_unchanged(settings: Settings, job: Callable[[str, Look | None], ReindexSummary],
                             wait: float = 0.0) -> ReindexSummary:
    """An incremental run of the Whoosh index: ended and recorded at once when the folder lists as the
    manifest last matched it; otherwise `job(stale, look)` runs the whole job under the same lock."""
    started = time.perf_counter()
    root = content_root(settings.content)
    folder = IndexFolder(settings.index)
    with folder.write_lock(wait) as stale:
        current = folder.current()
        if current is None or not current.current_schema():
            return job(stale, None)
        seen = look(root, current)
        if not seen.unchanged:
            return job(stale, seen)
        summary = nothing_changed(begin(folder, stale), current)
        summary.seconds = time.perf_counter() - started
        summary.nice = niceness()
        record(folder, summary, "")
    return summary
