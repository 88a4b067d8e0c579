"""A full rebuild: every file read into a new generation beside the serving one, checked, switched in."""

from __future__ import annotations

import shutil
import sys

from indexer import meaning
from indexer.content import Failure, Read, read_files
from indexer.generation import GenerationFolder
from indexer.guards import check_generation
from indexer.listing import Listing, read_listing
from indexer.warming import warm_new_generation
from indexer.manifest import Changes, Entry, compare, load_manifest, save_manifest, vocabulary_hash
from indexer.reindex import Job, ReindexSummary
from indexer.runchecks import RunChecks
from indexer.words import WordCounts, add_words
from indexer.writing import WORKERS
from kb.backend import GenerationWriter
from kb.item import Item


def run_full(job: Job, current: GenerationFolder | None) -> None:
    summary = job.summary
    old_manifest = load_manifest(current.manifest) if current else {}
    listing = read_listing(job.root)
    changes = compare(job.root, {path: (e.size, e.mtime_ns) for path, e in old_manifest.items()},
                      lambda paths: {path: old_manifest[path] for path in paths}, listing=listing)
    present = sorted(changes.stats)
    summary.failed.extend(Failure(name, reason) for name, reason in changes.unusable)
    summary.added, summary.updated, summary.deleted = changes.added, changes.updated, changes.deleted
    summary.unchanged = len(changes.unchanged)
    if job.dry_run:
        summary.dry_run = True
        summary.generation = current.name if current else ""
        summary.items = len(present)
        return
    folder, writer = job.store.new_generation(len(present))
    try:
        try:
            job.progress.start(len(present), "indexing")
            words = WordCounts()
            passages: list[tuple[str, str]] = []
            checks = RunChecks(job.vocabulary)
            kind_of, entries = stream(job, writer, present, changes, words, passages, checks)
            carried = carry_over(job, current, old_manifest, entries)
            for item in carried:
                checks.add(item)
                if item.is_activity:
                    kind_of[item.id] = item.kind
            writer.put(carried, job.vocabulary, kind_of)
            if job.store.model is not None:
                passages.extend(meaning.passages(carried, job.store.model))
        except BaseException:
            writer.cancel()
            raise
        finally:
            job.progress.finish()
        writer.commit()
        if job.store.model is not None:
            summary.meaning = meaning.build(folder, current, passages, job.store.model)
        add_words(folder.words, words)
        job.store.words_added(folder.name, words)
        save_manifest(folder.manifest, entries, vocabulary_hash(job.root), listing=listing_of(listing, summary))
        folder.write_vocabulary(job.vocabulary)
        folder.finish(len(entries), job.root)  # written last: the generation is complete
        check_generation(job.store.reader(folder.name), current, job.guards, len(entries))
    except BaseException:
        shutil.rmtree(folder.path, ignore_errors=True)
        raise
    summary.warmed = warm_new_generation(job.store, folder.name)
    job.store.switch(folder.name)
    # a full run rewrites every item: report them all as indexed, the files that failed apart
    summary.added = [p for p in changes.added if p in entries]
    summary.updated = sorted(p for p in set(changes.updated) | set(changes.unchanged) if p in entries
                             and p not in {f.path for f in summary.failed})
    summary.unchanged = 0
    summary.generation, summary.items = folder.name, len(entries)
    summary.warnings += checks.warnings()


def listing_of(listing: Listing | None, summary: ReindexSummary) -> Listing | None:
    """The listing to keep with the manifest, when the manifest now matches every file it lists: not when
    a file failed (the next run must try it again)."""
    return listing if not summary.failed else None


def stream(job: Job, writer: GenerationWriter, paths: list[str], changes: Changes, words: WordCounts,
           passages: list[tuple[str, str]], checks: RunChecks) -> tuple[dict[str, str], dict[str, Entry]]:
    """Read files and write each item as it arrives; return the activities' kinds and the manifest entries
    (with each item's id).

    Memory stays small at any size: only an item whose activity has not been read
    yet waits (its activity kind is derived from that activity), and nothing else
    of an item is kept but its id, its links and problems (`checks`) and its entry.
    """
    owners: dict[str, str] = {}
    entries: dict[str, Entry] = {}
    kind_of: dict[str, str] = {}
    waiting: list[Item] = []
    for read in read_files(job.root, paths, job.limits, WORKERS):
        job.progress.advance()
        item = accept(read, owners, job.summary)
        if item is None:
            continue
        words.add(read)
        checks.add(item)
        if job.store.model is not None:
            passages.append((item.id, job.store.model.passage_text(item.title, item.text)))
        if item.is_activity:
            kind_of[item.id] = sys.intern(item.kind)
        if all(a in kind_of for a in item.activities):
            writer.put([item], job.vocabulary, kind_of)
        else:
            waiting.append(item)
        entries[read.path] = entry_for(read, changes)
    writer.put(waiting, job.vocabulary, kind_of)
    return kind_of, entries


def entry_for(read: Read, changes: Changes) -> Entry:
    stat = changes.stats[read.path]
    return Entry(read.item.id if read.item else "", stat.st_size, stat.st_mtime_ns, read.sha256)


def accept(read: Read, owners: dict[str, str], summary: ReindexSummary) -> Item | None:
    """Keep a read item unless it failed or its id belongs to another file."""
    if read.failure is not None or read.item is None:
        summary.failed.append(read.failure or Failure(read.path, "not read"))
        return None
    owner = owners.get(read.item.id)
    if owner is not None and owner != read.path:
        summary.failed.append(Failure(read.path, f"id {read.item.id!r} is already used by {owner}"))
        return None
    owners[read.item.id] = read.path
    summary.warnings.extend(Failure(read.path, w) for w in read.warnings)
    return read.item


def carry_over(job: Job, current: GenerationFolder | None, old_manifest: dict[str, Entry],
               entries: dict[str, Entry]) -> list[Item]:
    """The last good version of files that fail now, so a bad edit loses nothing; they join `entries`."""
    failed = [f.path for f in job.summary.failed if f.path in old_manifest and f.path not in entries]
    if current is None or not failed:
        return []
    taken = {entry.id for entry in entries.values()}
    reader = job.store.reader(current.name)
    carried = []
    for path in failed:
        entry = old_manifest[path]
        item = reader.find_item(entry.id)
        if item is not None and entry.id not in taken:
            carried.append(item)
            entries[path] = entry
            job.summary.notes.append(f"{path}: kept the last indexed version")
    return carried
