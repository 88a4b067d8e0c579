"""Watching the content folder: the files that change are reindexed as they change.

A run from cron learns that nothing changed by a stat of every file of the folder (at 100,000 files,
most of its time). A watch learns it from the kernel (inotify, through watchdog): a quiet folder costs
nothing, and a saved file is read again on its own, without a walk of the folder, a fraction of a
second after its editor wrote it. What a watch cannot pin to a few files (a folder moved, created or
deleted, the vocabulary or the people registry, events the kernel dropped, a name the walk would
report as unusable) runs the ordinary incremental job over the whole folder, which sorts it out.

Runs take the writer lock like any other job; when a cron run or a tag edit holds it, the batch
waits and is tried again, so nothing seen is lost. A run that fails is logged and the watch goes on;
the next change, or the next cron run, brings the index up to date.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.content import PEOPLE_FILES, VOCABULARY_FILES, readable_name
from indexer.readers import READERS, SIDECAR
from kb.errors import IndexLockedError, KbError

if TYPE_CHECKING:
    from indexer.library import Library

log = logging.getLogger(__name__)

QUIET = 0.25  # seconds without events before a batch is indexed: one save is several events
RETRY = 1.0  # seconds before a batch that found the writer lock taken is tried again
LOCK_WAIT = 5.0  # seconds a batch waits for the writer lock before it is put back
IGNORED = ("opened", "closed_no_write")  # events that change nothing


def watched(relative_path: str) -> bool | None:
    """True for a content file the walk would index (kb reindex's rules: indexer.content.scan), False for
    a file it would skip, None for a file that changes what every item derives (vocabulary, people)."""
    parts = relative_path.split("/")
    if any(part.startswith(".") for part in parts) or any(part.startswith("_build") for part in parts[:-1]):
        return False
    name = parts[-1]
    if name in VOCABULARY_FILES or name in PEOPLE_FILES:
        return None if len(parts) == 1 else False
    return name.endswith(SIDECAR) or name.lower().endswith(tuple(READERS))


class Watch:
    """Reindexes what changes under the library's content folder, in a thread of its own."""

    def __init__(self, library: Library, quiet: float = QUIET,
                 reported: Callable[[Any], None] = lambda summary: None):
        self.library = library
        self.root = Path(library.settings.content).resolve()
        self.quiet = quiet
        self.reported = reported  # called with each run's summary (the CLI prints it)
        self._pending: set[str] = set()
        self._everything = False
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._observer: Any = None
        self._thread = threading.Thread(target=self._loop, name="kb-watch", daemon=True)

    def start(self) -> Watch:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watch = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                watch.seen(event)

        # The kernel drops events when its queue overflows; watchdog then only logs it: that record
        # makes the next run walk the whole folder.
        logging.getLogger("watchdog.observers.inotify_c").addFilter(self._dropped)
        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.root), recursive=True)
        self._observer.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._changed.set()
        logging.getLogger("watchdog.observers.inotify_c").removeFilter(self._dropped)
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
        self._thread.join()

    # -- what changed --------------------------------------------------------
    def seen(self, event: Any) -> None:
        if event.event_type in IGNORED:
            return
        if event.is_directory:
            if event.event_type == "modified":
                return  # a file in it changed: its own event says which
            self._note(everything=True)  # a folder came, went or moved: its files are not listed
            return
        for path in (event.src_path, getattr(event, "dest_path", "")):
            relative = self._relative(path)
            if relative is None:
                continue
            kind = watched(relative)
            if kind is None or not readable_name(relative):
                self._note(everything=True)
            elif kind:
                self._note(relative)

    def _dropped(self, record: logging.LogRecord) -> bool:
        if "overflow" in str(record.msg):
            self._note(everything=True)
        return True

    def _relative(self, path: str | bytes) -> str | None:
        if not path:
            return None
        path = os.fsdecode(path)
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _note(self, relative: str = "", everything: bool = False) -> None:
        with self._lock:
            if relative:
                self._pending.add(relative)
            self._everything = self._everything or everything
        self._changed.set()

    # -- indexing ------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._changed.wait()
            while not self._stopping.is_set():  # until `quiet` seconds pass without an event
                self._changed.clear()
                if not self._changed.wait(self.quiet):
                    break
            if self._stopping.is_set():
                return
            with self._lock:
                paths, everything = sorted(self._pending), self._everything
                self._pending, self._everything = set(), False
            if not self._index(paths, everything):
                with self._lock:  # tried again later, with what came meanwhile
                    self._pending.update(paths)
                    self._everything = self._everything or everything
                self._stopping.wait(RETRY)
                self._changed.set()

    def _index(self, paths: list[str], everything: bool) -> bool:
        """One run; False when the writer lock stayed taken (the batch is kept for later)."""
        if not paths and not everything:
            return True
        # A file that is not a regular one (a pipe with a content file's name) is reported by the walk.
        everything = everything or any(os.path.exists(self.root / p) and not os.path.isfile(self.root / p)
                                       for p in paths)
        try:
            if everything:
                summary = self.library.reindex(wait=LOCK_WAIT)
            else:
                with self.library.backend.writer_lock(LOCK_WAIT):
                    summary = self.library.reindex_files(paths)
        except IndexLockedError:
            log.info("the index is being written by another job: the %d changed files wait", len(paths))
            return False
        except KbError as exc:
            log.warning("reindexing what changed failed: %s", exc)
            return True
        except Exception:  # the watch must outlive any one run; the next change or cron run retries
            log.exception("reindexing what changed failed")
            return True
        self.reported(summary)
        return True
