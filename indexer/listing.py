"""The content folder listed by GNU find: one process walks the folder and stats every file in C.

At 100,000 files the walk in Python (indexer.content.scan: a scandir per folder,
a stat per file) is most of an incremental run that changes a few files. find
lists the same files and times for a fraction of the CPU, and its raw listing
(one record per entry: type, size, time, path) can be kept: a run that indexed
everything it listed stores it with the manifest, and the next run compares
records as bytes. The same listing means no file was added, removed, resized or
touched since; otherwise only the entries whose records differ are looked at.

`stats()` gives what `scan()` gives, by the same rules (hidden entries, `_build`
folders, sidecars, names that are not UTF-8, pipes). `read_listing` returns None,
and the caller walks in Python, where find cannot stand in: no GNU find (others
have no -printf), an error (an unreadable folder, a file gone mid-walk), or a
symbolic link anywhere (find reports the link's own time, scan the target's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from indexer.content import NOT_A_FILE, UNREADABLE_NAME, VOCABULARY_FILES, FileStat, readable_name, \
    shown_name, with_sidecars
from indexer.readers import READERS, SIDECAR
from indexer.workers import available_cores

# type, size, modification time (seconds.fraction), path (./ and the path under the root); NUL ends
# a record, as no file name can hold one.
FORMAT = "%y %s %T@ %p\\0"
SUFFIXES = tuple(READERS)


class Listing:
    """find's raw output for one folder."""

    def __init__(self, raw: bytes):
        self.raw = raw

    def records(self) -> list[bytes]:
        return self.raw.split(b"\0")[:-1]

    def stats(self, unusable: list[tuple[str, str]] | None = None) -> dict[str, FileStat]:
        """Readable content files by relative path, with their stat: what indexer.content.scan returns."""
        found: dict[str, FileStat] = {}
        sidecars: dict[str, FileStat] = {}
        for kind, size, mtime, path in entries(self.records(), unusable):
            if path.endswith(SIDECAR):
                sidecars[path[: -len(SIDECAR)]] = FileStat(int(size), nanoseconds(mtime))
            else:
                found[path] = FileStat(int(size), nanoseconds(mtime))
        return with_sidecars(found, sidecars)

    def changed_since(self, before: Listing, unusable: list[tuple[str, str]]) -> list[str] | None:
        """The content files whose record is new, changed or gone since `before` (a sidecar's counts as its
        file's); entries new since then that cannot be indexed go to `unusable`. None if `before` holds a
        record that is not find's (damaged): then only a walk of the whole folder can tell."""
        added, gone = differing(before.records(), self.records())
        found: list[tuple[str, str]] = []
        try:
            changed = [*entries(sorted(added), found), *entries(gone, None)]
        except ValueError:
            return None
        unusable.extend(found)
        return sorted({path[: -len(SIDECAR)] if path.endswith(SIDECAR) else path for _, _, _, path in changed})


def differing(old: list[bytes], new: list[bytes]) -> tuple[set[bytes], set[bytes]]:
    """The records of `new` not in `old`, and of `old` not in `new`.

    find lists a folder in the same order each time, so where files were only edited the two
    lists differ at a few positions; comparing position by position then costs a quarter of
    building two sets of 100,000 records. Records are unique (one per path), so a record at a
    position where the lists agree is in both, and the rest is decided among the others.
    """
    if len(old) == len(new):
        at = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
        if len(at) <= 1000:
            was, now = {old[i] for i in at}, {new[i] for i in at}
            return now - was, was - now
    was, now = set(old), set(new)
    return now - was, was - now


def entries(records: Iterable[bytes], unusable: list[tuple[str, str]] | None) -> Iterator[tuple[bytes, bytes, bytes, str]]:
    """The records of content files and sidecars, as (type, size, time, path), by scan's rules; entries
    that cannot be indexed (a name that is not UTF-8, a pipe with a content file's name) go to `unusable`."""
    for record in records:
        kind, size, mtime, raw_path = record.split(b" ", 3)
        path = os.fsdecode(raw_path[2:])  # find's paths start at ./, the folder it ran in
        parent, _, name = path.rpartition("/")
        if parent and ("/_build" in "/" + parent or not parent.isascii() and not all(
                readable_name(part) for part in parent.split("/"))):
            continue  # inside a folder that is not walked
        if not name.isascii() and not readable_name(name):
            if unusable is not None:
                unusable.append((shown_name(path), UNREADABLE_NAME))
            continue
        if kind == b"d":
            continue
        if name.endswith(SIDECAR):
            yield kind, size, mtime, path
        elif name.lower().endswith(SUFFIXES) and name not in VOCABULARY_FILES:
            if kind != b"f":  # reading a pipe would wait for ever
                if unusable is not None:
                    unusable.append((path, NOT_A_FILE))
                continue
            yield kind, size, mtime, path


def nanoseconds(seconds: bytes) -> int:
    """find's `%T@` as an int of nanoseconds: whole seconds rounded down, a dot, ten digits of which the
    first nine are the nanoseconds past them (1.5 s before 1970 is "-2.5000000000")."""
    whole, _, fraction = seconds.partition(b".")
    return int(whole) * 1_000_000_000 + int(fraction[:9].ljust(9, b"0"))


def read_listing(root: Path, processes: int | None = None) -> Listing | None:
    """The folder's listing, or None where the Python walk must do (see the module's note).

    The entries at the top of the folder are shared out among `processes` finds (one
    per core by default) that run at once, each writing to a file of its own, so that
    the stats of a large folder take the time of its largest share.
    """
    find = shutil.which("find")
    if find is None:
        return None
    try:
        names = sorted(os.fsencode(entry.name) for entry in os.scandir(root) if not entry.name.startswith("."))
    except OSError:
        return None
    count = min(len(names), processes or available_cores())
    shares = [names[start::count] for start in range(count)]
    outputs, running = [], []
    try:
        for share in shares:
            output = tempfile.TemporaryFile()
            outputs.append(output)
            running.append(subprocess.Popen(
                [find, *(b"./" + name for name in share), "-name", ".*", "-prune", "-o", "-printf", FORMAT],
                cwd=root, stdout=output, stderr=subprocess.DEVNULL))
        if any(process.wait() != 0 for process in running):  # an unreadable folder, a file gone mid-walk
            return None
        raw = b"".join(read_all(output) for output in outputs)
    except OSError:
        return None
    finally:
        for process in running:
            if process.poll() is None:
                process.kill()
                process.wait()
        for output in outputs:
            output.close()
    if raw.startswith(b"l ") or b"\0l " in raw:
        return None
    return Listing(raw)


def read_all(output: Any) -> bytes:
    output.seek(0)
    return output.read()
