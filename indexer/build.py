"""The reindex job: incremental by default, full rebuilds built aside and switched in.

Incremental runs update the serving generation in place with one Whoosh commit
(atomic: a killed run leaves the previous commit), then save the manifest; a run
killed between the two redoes the same changes next time, which is harmless
because every write is keyed by item id. Full runs build a new generation, check
it, and only then switch CURRENT to it.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol

from whoosh import index as whoosh_index
from whoosh import query as wq

from indexer.content import Failure, Read, ReadLimits, content_root, load_vocabulary, read_files
from indexer.manifest import Changes, Entry, compare, load_manifest, manifest_vocabulary_hash, \
    save_manifest, vocabulary_hash
from indexer.schema import SCHEMA_VERSION, build_schema, item_document, related_kinds, title_field, unpack
from indexer.words import add_words
from indexer.workers import worker_context
from indexer.store import BUILD_FILE, Generation, IndexStore, now_iso, read_json, write_atomic
from kb.checks import check_items
from kb.errors import KbError, ValidationError
from kb.item import Item
from kb.vocabulary import Vocabulary

log = logging.getLogger(__name__)
WRITER_MEMORY_MB = 256
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


class Progress(Protocol):
    """Receives progress of the long steps; the CLI shows it as a bar."""

    def start(self, total: int, label: str) -> None: ...
    def advance(self, count: int = 1) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, total: int, label: str) -> None: ...
    def advance(self, count: int = 1) -> None: ...
    def finish(self) -> None: ...


@dataclass(frozen=True)
class Guards:
    """Checks a run must pass before it may change what searches see."""

    min_items: int = 1
    max_drop: float = 0.2  # a run may not remove more than this share of the items ...
    force: bool = False  # ... unless forced


@dataclass
class ReindexSummary:
    """What a reindex job did; printed as text or JSON."""

    mode: str = "incremental"
    dry_run: bool = False
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    rederived: int = 0
    failed: list[Failure] = field(default_factory=list)
    warnings: list[Failure] = field(default_factory=list)
    generation: str = ""
    items: int = 0
    seconds: float = 0.0
    recovered_lock: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def indexed(self) -> int:
        return len(self.added) + len(self.updated)

    def to_dict(self, paths: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mode": self.mode,
            "dry_run": self.dry_run,
            "indexed": self.indexed,
            "added": len(self.added),
            "updated": len(self.updated),
            "deleted": len(self.deleted),
            "unchanged": self.unchanged,
            "rederived": self.rederived,
            "failed": [f.to_dict() for f in self.failed],
            "warnings": [w.to_dict() for w in self.warnings],
            "generation": self.generation,
            "items": self.items,
            "seconds": round(self.seconds, 3),
            "recovered_lock": self.recovered_lock or None,
            "notes": self.notes,
        }
        if paths:
            data["paths"] = {"added": self.added, "updated": self.updated, "deleted": self.deleted}
        return data


def reindex(content_path: str | os.PathLike[str], index_path: str | os.PathLike[str], *,
            full: bool = False, dry_run: bool = False, guards: Guards = Guards(), wait: float = 0.0,
            limits: ReadLimits = ReadLimits(), progress: Progress | None = None) -> ReindexSummary:
    """Bring the index up to date with the content folder and return what was done."""
    store = IndexStore(index_path)
    root = content_root(content_path)
    with store.write_lock(wait) as stale:
        return reindex_locked(store, root, stale=stale, full=full, dry_run=dry_run, guards=guards,
                              limits=limits, progress=progress)


def reindex_locked(store: IndexStore, root: Path, *, stale: str = "", full: bool = False, dry_run: bool = False,
                   guards: Guards = Guards(), limits: ReadLimits = ReadLimits(),
                   progress: Progress | None = None) -> ReindexSummary:
    """The reindex job, for a caller that already holds the writer lock (a tag edit does)."""
    started = time.perf_counter()
    progress = progress or NoProgress()
    summary = ReindexSummary(recovered_lock=stale)
    if stale:
        summary.notes.append(f"recovered the lock of a job that did not finish ({stale}); this run completes its work")
    for name in store.prune():
        summary.notes.append(f"removed {name}, left unfinished by an interrupted job")
    error = ""
    try:
        vocabulary = load_vocabulary(root)
        current = store.current_path()
        reason = full_rebuild_reason(current, full)
        if reason:
            summary.mode = "full"
            if reason != "asked":
                summary.notes.append(reason)
            run_full(store, root, vocabulary, summary, dry_run, guards, limits, progress)
        else:
            run_incremental(store, current, root, vocabulary, summary, dry_run, guards, limits, progress)
    except BaseException as exc:
        error = describe_error(exc)
        raise
    finally:
        summary.seconds = time.perf_counter() - started
        if not dry_run:
            record(store, summary, error)
    return summary


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, KbError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def record(store: IndexStore, summary: ReindexSummary, error: str) -> None:
    """Keep what the run did for `kb status` and /healthz: ok, partial (some files failed) or failed."""
    outcome = "failed" if error else "partial" if summary.failed else "ok"
    try:
        store.record_run({**summary.to_dict(), "outcome": outcome, "error": error or None})
    except OSError as exc:  # a full disk: the run's own error, if any, is the one to report
        log.warning("the run's summary could not be recorded in %s: %s", store.path, exc.strerror or exc)


def full_rebuild_reason(current: Path | None, asked: bool) -> str:
    if asked:
        return "asked"
    if current is None:
        return "no index yet: built from scratch"
    build = read_json(current / BUILD_FILE) or {}
    if build.get("schema") != SCHEMA_VERSION:
        return "the index was built by another version of kb: rebuilt from scratch"
    return ""


# -- full rebuilds -------------------------------------------------------------

def run_full(store: IndexStore, root: Path, vocabulary: Vocabulary, summary: ReindexSummary, dry_run: bool,
             guards: Guards, limits: ReadLimits, progress: Progress) -> None:
    current = store.current_path()
    old_manifest = load_manifest(current) if current else {}
    changes = compare(root, old_manifest)
    present = sorted(changes.stats)
    summary.failed.extend(Failure(name, reason) for name, reason in changes.unusable)
    summary.added, summary.updated, summary.deleted = changes.added, changes.updated, changes.deleted
    summary.unchanged = len(changes.unchanged)
    if dry_run:
        summary.dry_run = True
        summary.generation = current.name if current else ""
        summary.items = len(present)
        return
    # a full run rewrites every item: report them all as indexed
    summary.updated = sorted(set(changes.updated) | set(changes.unchanged))
    summary.unchanged = 0
    path = store.new_generation_path()
    try:
        ix = whoosh_index.create_in(str(path), build_schema())
        writer = ix.writer(**writer_options(len(present)))
        try:
            progress.start(len(present), "indexing")
            words: Counter[str] = Counter()
            accepted, entries = stream(writer, root, present, changes, limits, summary, progress, vocabulary, words)
            carried = carry_over(current, old_manifest, summary, accepted, entries)
            kind_of = {item.id: item.kind for item in accepted.values() if item.is_activity}
            write_items(writer, carried, vocabulary, kind_of)
        except BaseException:
            writer.cancel()
            raise
        finally:
            progress.finish()
        writer.commit()
        add_words(path, words)
        finish_generation(path, len(accepted), entries, vocabulary, root)
        check_generation(Generation(path), current, guards, len(accepted))
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    store.publish(path)
    summary.generation, summary.items = path.name, len(accepted)
    summary.warnings += problems(accepted.values(), vocabulary)


def stream(writer: Any, root: Path, paths: list[str], changes: Changes, limits: ReadLimits, summary: ReindexSummary,
           progress: Progress, vocabulary: Vocabulary, words: Counter[str]) -> tuple[dict[str, Item], dict[str, Entry]]:
    """Read files and write each item as it arrives; return light copies of the items and their entries.

    Memory stays small at any size: only an item whose activity has not been read
    yet waits (its activity kind is derived from that activity), and what is kept
    for the checks has no body, HTML or text.
    """
    owners: dict[str, str] = {}
    light: dict[str, Item] = {}
    entries: dict[str, Entry] = {}
    kind_of: dict[str, str] = {}
    waiting: list[Item] = []
    for read in read_files(root, paths, limits, WORKERS):
        progress.advance()
        item = accept(read, owners, summary)
        if item is None:
            continue
        words.update(read.words)
        if item.is_activity:
            kind_of[item.id] = item.kind
        if all(a in kind_of for a in item.activities):
            write_items(writer, [item], vocabulary, kind_of)
        else:
            waiting.append(item)
        light[read.path] = dataclasses.replace(item, body="", html="", text="", extra={})
        entries[read.path] = entry_for(read, changes)
    write_items(writer, waiting, vocabulary, kind_of)
    return light, entries


def entry_for(read: Read, changes: Changes) -> Entry:
    stat = changes.stats[read.path]
    return Entry(read.item.id if read.item else "", stat.st_size, stat.st_mtime_ns, read.sha256)


def collect(root: Path, paths: list[str], changes: Changes, limits: ReadLimits, summary: ReindexSummary,
            progress: Progress, owners: dict[str, str], words: Counter[str]) -> tuple[dict[str, Item], dict[str, Entry]]:
    """Read files (the few an incremental run needs); return items by path and their manifest entries."""
    owners = dict(owners)
    accepted: dict[str, Item] = {}
    entries: dict[str, Entry] = {}
    for read in read_files(root, paths, limits, WORKERS):
        progress.advance()
        item = accept(read, owners, summary)
        if item is not None:
            accepted[read.path] = item
            entries[read.path] = entry_for(read, changes)
            words.update(read.words)
    return accepted, entries


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


def carry_over(current: Path | None, old_manifest: dict[str, Entry], summary: ReindexSummary,
               accepted: dict[str, Item], entries: dict[str, Entry]) -> list[Item]:
    """The last good version of files that fail now, so a bad edit loses nothing; they join `accepted`."""
    failed = [f.path for f in summary.failed if f.path in old_manifest and f.path not in accepted]
    if current is None or not failed:
        return []
    taken = {item.id for item in accepted.values()}
    carried = []
    with Generation(current).searcher() as (searcher, _):
        for path in failed:
            entry = old_manifest[path]
            stored = searcher.document(id=entry.id)
            if stored is not None and entry.id not in taken:
                item = unpack(stored["data"])
                carried.append(item)
                accepted[path] = item
                entries[path] = entry
                summary.notes.append(f"{path}: kept the last indexed version")
    summary.updated = [p for p in summary.updated if p not in failed]
    return carried


def write_items(writer: Any, items: Iterable[Item], vocabulary: Vocabulary, kind_of: dict[str, str],
                update: bool = False) -> int:
    """Add (or replace, keyed by id) the documents of `items`; `kind_of` maps activity ids to kinds."""
    add = writer.update_document if update else writer.add_document
    count = 0
    for item in items:
        add(**item_document(item, vocabulary, related_kinds(item, kind_of)))
        count += 1
    return count


def finish_generation(path: Path, count: int, entries: dict[str, Entry], vocabulary: Vocabulary,
                      root: Path) -> None:
    """Write the generation's side files; build.json last marks it complete."""
    save_manifest(path, entries, vocabulary_hash(root))
    write_atomic(path / "vocabulary.json", json.dumps(vocabulary.to_dict(), ensure_ascii=False))
    stamp = now_iso()
    build = {"built_at": stamp, "updated_at": stamp, "items": count, "content": str(root), "schema": SCHEMA_VERSION}
    write_atomic(path / BUILD_FILE, json.dumps(build))


def check_generation(new: Generation, current: Path | None, guards: Guards, count: int) -> None:
    """Refuse a new generation that is too small, much smaller than the current one, or cannot answer."""
    with new.searcher() as (searcher, _):
        if searcher.doc_count() != count:
            raise ValidationError(f"the new index holds {searcher.doc_count()} documents, expected {count}")
        canary_failures = run_canaries(searcher, count)
    if count < guards.min_items:
        raise ValidationError(f"the new index has {count} items, fewer than the minimum {guards.min_items}; "
                              "the previous index still serves")
    if current is not None and not guards.force:
        before = (read_json(current / BUILD_FILE) or {}).get("items") or 0
        if before and count < before * (1 - guards.max_drop):
            raise ValidationError(
                f"the new index has {count} items, {before - count} fewer than the {before} serving now "
                f"(more than {guards.max_drop:.0%}); the previous index still serves. Use --force if this is intended")
    if canary_failures:
        raise ValidationError("the new index failed its canary searches: " + "; ".join(canary_failures))


def run_canaries(searcher: Any, count: int) -> list[str]:
    """Find a few items by their id and by a word of their title; an index that cannot is refused."""
    if count == 0:
        return []
    failures = []
    step = max(1, count // 3)
    for docnum in range(0, count, step)[:3]:
        item = unpack(searcher.stored_fields(docnum)["data"])
        if searcher.document(id=item.id) is None:
            failures.append(f"item {item.id!r} is not found by its id")
            continue
        field = title_field(item.lang)
        words = [w for w in searcher.schema[field].process_text(item.title, mode="query")]
        if words:
            found = searcher.search(wq.Term(field, max(words, key=len)), limit=None, filter={docnum})
            if not len(found):
                failures.append(f"item {item.id!r} is not found by a word of its title")
    return failures


def problems(items: Iterable[Item], vocabulary: Vocabulary) -> list[Failure]:
    return [Failure(p.path, f"{p.severity}: {p.message}") for p in check_items(items, vocabulary)]


# -- incremental runs -----------------------------------------------------------

def run_incremental(store: IndexStore, current: Path, root: Path, vocabulary: Vocabulary, summary: ReindexSummary,
                    dry_run: bool, guards: Guards, limits: ReadLimits, progress: Progress) -> None:
    manifest = load_manifest(current)
    changes = compare(root, manifest)
    vocabulary_changed = vocabulary_hash(root) != manifest_vocabulary_hash(current)
    summary.failed.extend(Failure(name, reason) for name, reason in changes.unusable)
    summary.added, summary.updated, summary.deleted = changes.added, changes.updated, changes.deleted
    summary.unchanged = len(changes.unchanged)
    summary.generation, summary.items = current.name, len(manifest)
    if vocabulary_changed:
        summary.notes.append("the vocabulary changed: topic hierarchy and labels re-derived for every item")
    if not guards.force and manifest and len(changes.deleted) > guards.max_drop * len(manifest):
        raise ValidationError(
            f"{len(changes.deleted)} of {len(manifest)} indexed files are gone from {root} "
            f"(more than {guards.max_drop:.0%}); nothing was changed. Use --force if this is intended")
    if dry_run:
        summary.dry_run = True
        return
    if not (changes.to_read or changes.deleted or vocabulary_changed):
        if changes.touched:  # same content, new timestamps: only the manifest learns them
            save_manifest(current, changes.touched, vocabulary_hash(root))
        return  # nothing changed: the index is not written
    owners = {e.id: p for p, e in manifest.items() if p not in changes.deleted and p not in changes.updated}
    progress.start(len(changes.to_read), "indexing")
    try:
        words: Counter[str] = Counter()
        fresh, entries = collect(root, changes.to_read, changes, limits, summary, progress, owners, words)
    finally:
        progress.finish()
    failed_paths = {f.path for f in summary.failed}
    summary.added = [p for p in summary.added if p in fresh]
    summary.updated = [p for p in summary.updated if p in fresh]
    generation = Generation(current)
    writer = generation.index.writer(limitmb=WRITER_MEMORY_MB, timeout=30.0, compound=False)
    try:
        stale_ids = {manifest[p].id for p in changes.deleted}
        stale_ids |= {manifest[p].id for p in changes.updated if p in fresh and fresh[p].id != manifest[p].id}
        stale_ids -= {item.id for item in fresh.values()}
        for item_id in stale_ids:
            writer.delete_by_term("id", item_id)
        summary.rederived = apply_updates(writer, generation, fresh, stale_ids, vocabulary, vocabulary_changed)
    except BaseException:
        writer.cancel()
        raise
    if fresh or stale_ids or summary.rederived:
        writer.commit()
    else:
        writer.cancel()
    for path in failed_paths & set(manifest):
        summary.notes.append(f"{path}: kept the last indexed version")
    add_words(current, words)
    save_manifest(current, {**changes.touched, **entries}, vocabulary_hash(root), deleted=changes.deleted)
    count = len(manifest) - len(changes.deleted) + sum(1 for p in entries if p not in manifest)
    if vocabulary_changed:
        write_atomic(current / "vocabulary.json", json.dumps(vocabulary.to_dict(), ensure_ascii=False))
    build = read_json(current / BUILD_FILE) or {}
    # precise: readers reload the generation's vocabulary and counts when this changes
    build.update(updated_at=now_iso(precise=True), items=count)
    write_atomic(current / BUILD_FILE, json.dumps(build))
    summary.items = count
    summary.warnings += problems(fresh.values(), vocabulary)


def apply_updates(writer: Any, generation: Generation, fresh: dict[str, Item], removed: set[str],
                  vocabulary: Vocabulary, vocabulary_changed: bool) -> int:
    """Write changed items, and re-derive stored items whose derived fields depend on what changed.

    An item's activity kinds come from the activities it links to, and its
    topic ancestors from the vocabulary; both are re-derived from the stored
    item, without reading its file again.
    """
    with generation.searcher() as (searcher, _):
        activities = {item.id: item for item in (unpack(f["data"]) for f in _stored(searcher, wq.Term("type", "activity")))}
        old_kinds = {k: v.kind for k, v in activities.items()}
        for item_id in removed:
            activities.pop(item_id, None)
        for item in fresh.values():
            if item.is_activity:
                activities[item.id] = item
            else:
                activities.pop(item.id, None)
        changed_activities = {a for a in set(old_kinds) | set(activities)
                              if old_kinds.get(a) != (activities[a].kind if a in activities else None)}
        if vocabulary_changed:
            dependents = [unpack(f["data"]) for f in searcher.all_stored_fields()]
        elif changed_activities:
            q = wq.Or([wq.Term("activity", a) for a in changed_activities])
            dependents = [unpack(f["data"]) for f in _stored(searcher, q)]
        else:
            dependents = []
    fresh_ids = {item.id for item in fresh.values()}
    dependents = [d for d in dependents if d.id not in fresh_ids and d.id not in removed]
    kind_of = {item.id: item.kind for item in activities.values()}
    write_items(writer, fresh.values(), vocabulary, kind_of, update=True)
    return write_items(writer, dependents, vocabulary, kind_of, update=True)


def _stored(searcher: Any, q: wq.Query) -> list[dict[str, Any]]:
    return [hit.fields() for hit in searcher.search(q, limit=None)]


def rollback(index_path: str | os.PathLike[str], wait: float = 0.0) -> str:
    """Serve the previous generation again; return its name."""
    store = IndexStore(index_path)
    with store.write_lock(wait):
        name = store.rollback()
    store.record_run({"mode": "rollback", "generation": name})
    return name


def status(index_path: str | os.PathLike[str]) -> dict[str, Any]:
    return IndexStore(index_path).status()
