"""Readers held on the last commit while an incremental run ranks the most asked searches on its new one.

Every commit changes the key of every kept result (indexer.searching), so right after a run the
popular searches were all ranked again at once by the web workers, while members waited behind
them: at 100,000 items, a Zipf load answered 93% of searches from a cache while a process of the
same CPU use ran beside it, and 84% while 1-file runs committed.

So a run that commits first writes a hold into the generation's folder: the state readers serve
now (Whoosh's commit and the build's last update) and a time it ends. A reader that holds exactly
that state keeps it until the hold is gone or has expired; a reader that has to open a searcher
opens the latest commit, as always, and its results are keyed by what it opened. After the commit
the run ranks the searches most asked lately (noted by the readers in the shared results,
indexer.sharedresults) for at most `seconds`, which keeps their results under the new key, and
removes the hold. Readers then move to the new commit and find those searches ranked. Edits show
that much later, never more than the hold's end.

Runs that follow each other closely (every few seconds) still made readers start their results
again at each one: at 200 requests a second a request then cost twice the CPU. So readers move to
the runs' commits at most every `refresh_seconds` (KB_READERS_REFRESH), as a search engine's
refresh interval: a run that ends less than that after readers last moved leaves its hold in
force until that long after they moved, and a run that finds readers held by an earlier one
keeps them where they are. A run after a quiet while lets them move at its end, as before. A run
that commits without a hold, a tag edit made in the web, ends it: that edit shows at once.

A full rebuild ranks the same searches on its new generation before switching to it; it needs no
hold, since readers see a generation only once it is switched in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import pickle
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from indexer.generation import GenerationFolder
    from indexer.store import IndexStore

HOLD_FILE = "hold.json"
MOVED_FILE = "moved"  # its time: when readers last moved to the commit of a run that held them
# Searches asked within this many seconds count as asked lately.
ASKED_WINDOW = 600
# Most searches one run ranks again (the most asked first; the run's time bound stops it earlier).
MOST_WARMED = 500
# Searches asked fewer times lately are not ranked again: one asked once in ten minutes is rarely
# asked again in the next seconds (on a Zipf load of 5,000 distinct searches, about 400 qualify).
LEAST_ASKED = 2
# A hold ends this long after the run's warming time at the latest: time for the commit and the run's
# last writes, and the bound on what a killed run leaves behind.
HOLD_SLACK = 30.0
# A reader adds what it was asked to the shared file at most this often.
NOTE_EVERY = 2.0


@dataclass(frozen=True)
class Hold:
    commit: int  # Whoosh's generation number of the commit readers keep
    updated_at: str  # the build's last update they keep (build.json)
    until: float  # time.time() when it ends, whatever happens


def held(folder: Path) -> Hold | None:
    """The hold on the generation folder's readers, if one is in force."""
    try:
        data = json.loads((folder / HOLD_FILE).read_text(encoding="utf-8"))
        hold = Hold(int(data["commit"]), str(data["updated_at"]), float(data["until"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return hold if time.time() < hold.until else None


def held_until(folder: Path) -> str | None:
    """When the hold on the generation folder's readers ends at the latest (ISO 8601, UTC), if one is in force."""
    hold = held(folder)
    return None if hold is None else dt.datetime.fromtimestamp(hold.until, dt.timezone.utc).isoformat(timespec="seconds")


class AskedNotes:
    """What one process was asked, added to the shared file every NOTE_EVERY seconds."""

    def __init__(self) -> None:
        self.counts: Counter[bytes] = Counter()
        self.noted = time.monotonic()

    def note(self, request: Any, shared: Any) -> None:
        self.counts[pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)] += 1
        if time.monotonic() - self.noted >= NOTE_EVERY:
            counts, self.counts, self.noted = self.counts, Counter(), time.monotonic()
            shared.note_asked(counts, ASKED_WINDOW)


def asked_lately(store: Any) -> list[Any]:
    """The searches a run of `store` ranks: none unless the store warms (IndexStore.warm_seconds) and
    shares its results."""
    if getattr(store, "warm_seconds", 0.0) <= 0 or getattr(store, "shared", None) is None:
        return []
    return store.shared.most_asked(ASKED_WINDOW, MOST_WARMED, LEAST_ASKED)


def hold_readers(store: Any, folder: GenerationFolder, committing: bool) -> Any:
    """The hold of an incremental run (a context manager yielding a Warmer or None): only a run that commits,
    when searches were asked lately. A run that commits without one (a tag edit made in the web, kb watch)
    ends any hold an earlier run left: readers move to its commit at once."""
    asked = asked_lately(store) if committing else []
    if asked:
        return holding(store, folder, asked)
    if committing:
        release(folder.path)
    return contextlib.nullcontext()


@contextlib.contextmanager
def holding(store: IndexStore, folder: GenerationFolder, asked: list[Any]) -> Iterator[Warmer]:
    """Hold the readers of `folder` on the state they serve for the block; yields the Warmer of the `asked`
    searches, to call once the run's writes are done. Readers held by an earlier run stay where it keeps
    them; the hold ends with the block, or, if readers last moved less than `store.refresh_seconds` ago,
    that long after they moved."""
    now = time.time()
    kept = held(folder.path)
    if kept is None:
        generation = store.generation()
        kept = Hold(generation.index.latest_generation(), generation.build.get("updated_at", ""), 0.0)
    write_hold(folder.path, dataclasses.replace(kept, until=max(kept.until, now + store.warm_seconds + HOLD_SLACK)))
    store.holding = True  # this process's own reads see its writes
    try:
        yield Warmer(store, asked, store.warm_seconds)
    finally:
        store.holding = False
        ends = last_moved(folder.path) + store.refresh_seconds
        if time.time() < ends:
            write_hold(folder.path, dataclasses.replace(kept, until=ends))
        else:
            release(folder.path, noted=True)


def write_hold(folder: Path, hold: Hold) -> None:
    path = folder / HOLD_FILE
    temporary = path.with_name(f".{HOLD_FILE}.{os.getpid()}")
    temporary.write_text(json.dumps(dataclasses.asdict(hold)), encoding="utf-8")
    os.replace(temporary, path)


def release(folder: Path, noted: bool = False) -> None:
    """End the hold on the generation folder's readers: they move to its latest commit. `noted`: when is
    kept, for the next run's refresh time (a run that held them; not a tag edit's, which only ends a hold)."""
    with contextlib.suppress(FileNotFoundError):
        (folder / HOLD_FILE).unlink()
    if noted:
        with contextlib.suppress(OSError):
            (folder / MOVED_FILE).touch()


def last_moved(folder: Path) -> float:
    """When a run last let the generation folder's readers move to its commit (time.time(); 0: never)."""
    try:
        return (folder / MOVED_FILE).stat().st_mtime
    except OSError:
        return 0.0


def warm_new_generation(store: Any, name: str) -> int:
    """Before a full rebuild's generation `name` serves, rank on it the searches asked lately (no hold is
    needed: readers see it only once it is switched in); how many, within the store's warm_seconds."""
    asked = asked_lately(store)
    if not asked:
        return 0
    store.serving, store.holding = name, True
    try:
        return Warmer(store, asked, store.warm_seconds).warm()
    finally:
        store.serving, store.holding = None, False


class Warmer:
    """The searches asked lately, ranked through the store (its per-process and shared caches keep the
    results) until the time is up."""

    def __init__(self, store: IndexStore, asked: list[Any], seconds: float):
        self.store, self.asked, self.seconds = store, asked, seconds
        self.warmed = 0

    def warm(self) -> int:
        """Rank the asked searches on the latest commit, most asked first, for at most `seconds`; how many."""
        deadline = time.monotonic() + self.seconds
        for request in self.asked:
            if time.monotonic() >= deadline:
                break
            try:
                self.store.search(request)
            except Exception:  # noqa: BLE001 - a search that fails here fails for its reader too, and says why
                continue
            self.warmed += 1
        return self.warmed
