"""The reindex job: incremental by default, full rebuilds built aside and switched in.

Incremental runs (indexer.incremental) update the serving generation in place
with one commit (atomic: a killed run leaves the previous commit), then save
the manifest; a run killed between the two redoes the same changes next time,
which is harmless because every write is keyed by item id. Full runs
(indexer.fullbuild) build a new generation, check it (indexer.guards), and only
then switch to it. One writer at a time: every run holds the index's lock.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Protocol

from indexer.content import Failure, ReadLimits, content_root, load_vocabulary
from indexer.generation import GenerationFolder
from kb.errors import KbError
from kb.item import Item
from kb.vocabulary import Vocabulary

import logging

if TYPE_CHECKING:  # the job's modules are imported when it runs: a run with nothing to do needs none of them
    from indexer.indexfolder import IndexFolder
    from indexer.store import IndexStore
    from indexer.unchanged import Look

log = logging.getLogger(__name__)


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
    warmed: int = 0  # searches ranked on the new commit before readers moved to it (indexer.warming)
    failed: list[Failure] = field(default_factory=list)
    warnings: list[Failure] = field(default_factory=list)
    generation: str = ""
    items: int = 0
    seconds: float = 0.0
    recovered_lock: str = ""
    notes: list[str] = field(default_factory=list)
    meaning: dict[str, int] = field(default_factory=dict)  # passages embedded, reused, removed (semantic search)
    nice: int = 0  # the CPU priority the job ran at (KB_REINDEX_NICE, indexer.workers.lower_priority)

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
            "meaning": self.meaning or None,
            "nice": self.nice,
            "warmed": self.warmed,
        }
        if paths:
            data["paths"] = {"added": self.added, "updated": self.updated, "deleted": self.deleted}
        return data


@dataclass(frozen=True)
class Job:
    """Everything one run works with."""

    store: IndexStore
    root: Path
    vocabulary: Vocabulary
    summary: ReindexSummary
    guards: Guards
    limits: ReadLimits
    progress: Progress
    dry_run: bool = False


def reindex(content_path: str | os.PathLike[str], index: str | os.PathLike[str] | IndexStore, *,
            full: bool = False, dry_run: bool = False, guards: Guards = Guards(), wait: float = 0.0,
            limits: ReadLimits = ReadLimits(), progress: Progress | None = None) -> ReindexSummary:
    """Bring the index up to date with the content folder and return what was done."""
    from indexer.store import IndexStore

    store = index if isinstance(index, IndexStore) else IndexStore(index)
    root = content_root(content_path)
    with store.writer_lock(wait) as stale:
        return reindex_locked(store, root, stale=stale, full=full, dry_run=dry_run, guards=guards,
                              limits=limits, progress=progress)


def reindex_locked(store: IndexStore, root: Path, *, stale: str = "", full: bool = False, dry_run: bool = False,
                   guards: Guards = Guards(), limits: ReadLimits = ReadLimits(),
                   progress: Progress | None = None, only: Iterable[str] | None = None,
                   seen: Look | None = None) -> ReindexSummary:
    """The reindex job, for a caller that already holds the writer lock (a tag edit does).

    `only` limits an incremental run to some files (those a tag edit wrote), so it
    does not walk the whole content folder; `seen` is how the folder compared with the
    manifest when the caller already looked (indexer.unchanged).
    """
    from indexer.fullbuild import run_full
    from indexer.incremental import run_incremental

    started = time.perf_counter() - (seen.seconds if seen else 0.0)
    summary = begin(store.folder, stale)
    error = ""
    try:
        job = Job(store, root, load_vocabulary(root), summary, guards, limits, progress or NoProgress(), dry_run)
        current = store.folder.current()
        reason = full_rebuild_reason(current, full) or (store.rebuild_reason() if current is not None else "")
        if reason:
            summary.mode = "full"
            if reason != "asked":
                summary.notes.append(reason)
            run_full(job, current)
        else:
            assert current is not None
            run_incremental(job, current, only, seen)
    except BaseException as exc:
        error = describe_error(exc)
        raise
    finally:
        summary.seconds = time.perf_counter() - started
        summary.nice = niceness()
        if not dry_run:
            record(store.folder, summary, error)
    return summary


def niceness() -> int:
    """This process's nice value, the CPU priority it runs at (0 where there is none)."""
    return os.nice(0) if hasattr(os, "nice") else 0


def begin(folder: IndexFolder, stale: str) -> ReindexSummary:
    """A run's summary, with what it found left by a job that did not finish (a lock, unfinished builds)."""
    summary = ReindexSummary(recovered_lock=stale)
    if stale:
        summary.notes.append(f"recovered the lock of a job that did not finish ({stale}); this run completes its work")
    for name in folder.prune():
        summary.notes.append(f"removed {name}, left unfinished by an interrupted job")
    return summary


def full_rebuild_reason(current: GenerationFolder | None, asked: bool) -> str:
    if asked:
        return "asked"
    if current is None:
        return "no index yet: built from scratch"
    if not current.current_schema():
        return "the index was built by another version of kb: rebuilt from scratch"
    return ""


def problems(items: Iterable[Item], vocabulary: Vocabulary) -> list[Failure]:
    from kb.checks import check_items

    return [Failure(p.path, f"{p.severity}: {p.message}") for p in check_items(items, vocabulary)]


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, KbError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def record(folder: IndexFolder, summary: ReindexSummary, error: str) -> None:
    """Keep what the run did for `kb status` and /healthz: ok, partial (some files failed) or failed."""
    outcome = "failed" if error else "partial" if summary.failed else "ok"
    try:
        folder.record_run({**summary.to_dict(), "outcome": outcome, "error": error or None})
    except OSError as exc:  # a full disk: the run's own error, if any, is the one to report
        log.warning("the run's summary could not be recorded in %s: %s", folder.path, exc.strerror or exc)


def rollback(index: str | os.PathLike[str] | IndexStore, wait: float = 0.0) -> str:
    """Serve the previous generation again; return its name."""
    from indexer.store import IndexStore

    store = index if isinstance(index, IndexStore) else IndexStore(index)
    with store.writer_lock(wait):
        name = store.roll_back()
    store.folder.record_run({"mode": "rollback", "generation": name, "outcome": "ok", "error": None})
    return name
