"""An incremental run: the files that changed, read again and written into the serving generation.

One commit, then the manifest: a run killed between the two redoes the same
changes next time, harmless because every write is keyed by item id.
"""

from __future__ import annotations

from typing import Iterable

from indexer import meaning
from indexer.content import Failure, document_of, read_files
from indexer.fullbuild import accept, entry_for, listing_of
from indexer.generation import GenerationFolder
from indexer.guards import check_deletions
from indexer.manifest import Changes, Entry, Owners, compare, load_manifest, load_stats, \
    manifest_size, save_manifest, vocabulary_hash
from indexer.reindex import Job
from indexer.runchecks import RunChecks
from indexer.unchanged import Look, look, nothing_changed
from indexer.warming import hold_readers
from indexer.words import WordCounts, add_words
from indexer.writing import WORKERS
from kb.item import Item


def run_incremental(job: Job, current: GenerationFolder, only: Iterable[str] | None = None,
                    seen: Look | None = None) -> None:
    summary, root = job.summary, job.root
    paths = None if only is None else sorted({document_of(p) for p in only})
    seen = seen or look(root, current, listed=paths is None)
    vocabulary_changed, listing = seen.vocabulary_changed, seen.listing
    unusable: list[tuple[str, str]] = []
    if seen.unchanged:
        # the folder lists exactly as when the manifest last matched it in full: nothing to read
        nothing_changed(summary, current).dry_run = job.dry_run
        return
    if listing is not None and seen.before is not None:
        paths = listing.changed_since(seen.before, unusable)  # the manifest matches every other file
    known = load_stats(current.manifest, paths)
    indexed = len(known) if paths is None else manifest_size(current.manifest)
    changes = compare(root, known, lambda differing: load_manifest(current.manifest, differing), paths, listing)
    summary.failed.extend(Failure(name, reason) for name, reason in [*unusable, *changes.unusable])
    summary.added, summary.updated, summary.deleted = changes.added, changes.updated, changes.deleted
    summary.unchanged = indexed - len(changes.updated) - len(changes.deleted)
    summary.generation, summary.items = current.name, indexed
    if vocabulary_changed:
        summary.notes.append("the vocabulary changed: topic hierarchy, labels and visibility re-derived for every item")
    check_deletions(len(changes.deleted), indexed, root, job.guards)
    if job.dry_run:
        summary.dry_run = True
        return
    if not (changes.to_read or changes.deleted or vocabulary_changed):
        # same content (some files may have new timestamps): only the manifest learns them
        matched = listing_of(listing, summary)
        if changes.touched or matched is not None:
            save_manifest(current.manifest, changes.touched, vocabulary_hash(root), listing=matched)
        return  # nothing changed: the index is not written
    manifest = load_manifest(current.manifest, [*changes.deleted, *changes.updated])  # their ids
    owners = Owners(current.manifest, [*changes.deleted, *changes.updated])
    job.progress.start(len(changes.to_read), "indexing")
    try:
        words = WordCounts()
        fresh, entries = collect(job, changes, owners, words)
    finally:
        job.progress.finish()
    summary.added = [p for p in summary.added if p in fresh]
    summary.updated = [p for p in summary.updated if p in fresh]
    stale_ids = {manifest[p].id for p in changes.deleted}
    stale_ids |= {manifest[p].id for p in changes.updated if p in fresh and fresh[p].id != manifest[p].id}
    stale_ids -= {item.id for item in fresh.values()}
    dependents, kind_of = rederive(job, fresh, stale_ids, vocabulary_changed)
    writer = job.store.update_generation()
    try:
        writer.delete(stale_ids)
        writer.put(fresh.values(), job.vocabulary, kind_of)
        summary.rederived = writer.put(dependents, job.vocabulary, kind_of)
    except BaseException:
        writer.cancel()
        raise
    committing = bool(fresh or stale_ids or summary.rederived)
    with hold_readers(job.store, current, committing) as warmer:
        if committing:
            writer.commit()
        else:
            writer.cancel()
        model = job.store.model
        if model is not None and (fresh or stale_ids):
            summary.meaning = meaning.change(current, meaning.passages(fresh.values(), model), stale_ids, model,
                                             lambda: meaning.passages(job.store.all_items(full=True), model))
        for path in {f.path for f in summary.failed} & set(known):
            summary.notes.append(f"{path}: kept the last indexed version")
        add_words(current.words, words)
        job.store.words_added(current.name, words)
        save_manifest(current.manifest, {**changes.touched, **entries}, vocabulary_hash(root), deleted=changes.deleted,
                      listing=listing_of(listing, summary))
        count = indexed - len(changes.deleted) + sum(1 for p in entries if p not in known)
        if vocabulary_changed:
            current.write_vocabulary(job.vocabulary)
        current.touch(count)
        if warmer is not None:
            summary.warmed = warmer.warm()
    summary.items = count
    checks = checks_of(job, fresh, dependents, vocabulary_changed)
    summary.warnings += checks.warnings(lambda item_id: stored_type(job, item_id, stale_ids))


def checks_of(job: Job, fresh: dict[str, Item], dependents: list[Item], vocabulary_changed: bool) -> RunChecks:
    """The files read again are checked in full. The items re-derived from the index are checked for their
    links (they link to an activity that changed or went), and in full when the vocabulary changed (then
    they are every item: a topic may have been deprecated under them)."""
    checks = RunChecks(job.vocabulary)
    for item in fresh.values():
        checks.add(item)
    for item in dependents:
        checks.add(item, links_only=not vocabulary_changed)
    return checks


def stored_type(job: Job, item_id: str, gone: set[str]) -> str | None:
    """The type of an item this run did not read, as the index holds it (None for an id the run deleted)."""
    if item_id in gone:
        return None
    item = job.store.find_item(item_id)
    return item.type if item is not None else None


def collect(job: Job, changes: Changes, owners: dict[str, str],
            words: WordCounts) -> tuple[dict[str, Item], dict[str, Entry]]:
    """Read the files that changed; return items by path and their manifest entries."""
    accepted: dict[str, Item] = {}
    entries: dict[str, Entry] = {}
    for read in read_files(job.root, changes.to_read, job.limits, WORKERS):
        job.progress.advance()
        item = accept(read, owners, job.summary)
        if item is not None:
            accepted[read.path] = item
            entries[read.path] = entry_for(read, changes)
            words.add(read)
    return accepted, entries


def rederive(job: Job, fresh: dict[str, Item], removed: set[str],
             vocabulary_changed: bool) -> tuple[list[Item], dict[str, str]]:
    """Stored items whose derived fields depend on what changed, and the activity kinds to derive them with.

    An item's activity kinds come from the activities it links to, and its
    topic ancestors from the vocabulary; both are re-derived from the stored
    item, without reading its file again. Only the activities involved are
    looked up, so a run that changes one file costs the same at any size.
    """
    store = job.store
    fresh_ids = {item.id for item in fresh.values()}
    if vocabulary_changed:
        dependents = store.all_items(full=True)
        activities = {item.id: item for item in dependents if item.is_activity}
    else:
        touched = {item.id for item in fresh.values() if item.is_activity} | removed
        stored = {a: store.find_item(a) for a in touched}
        activities = {a: item for a, item in stored.items() if item is not None and item.is_activity}
        changed = {a for a in touched if (activities[a].kind if a in activities else None)
                   != next((i.kind for i in fresh.values() if i.id == a and i.is_activity), None)}
        linked = {item.id: item for a in sorted(changed) for item in store.items_where("activity", a)}
        dependents = list(linked.values())
    for item_id in removed:
        activities.pop(item_id, None)
    for item in fresh.values():
        if item.is_activity:
            activities[item.id] = item
        else:
            activities.pop(item.id, None)
    dependents = [d for d in dependents if d.id not in fresh_ids and d.id not in removed]
    needed = {a for item in [*fresh.values(), *dependents] for a in item.activities} - set(activities)
    for activity_id in needed:  # activities linked to, unchanged: their stored kind
        item = store.find_item(activity_id)
        if item is not None and item.is_activity:
            activities[activity_id] = item
    return dependents, {item.id: item.kind for item in activities.values()}
