"""What each index generation holds: one entry per content file, to find what changed.

Size and modification time are the fast path; the content hash is the truth, so a
file touched without changes is not reindexed, and a file changed within the same
second and size is.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from indexer.content import content_files

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Entry:
    """One indexed file: its item id and the state it was indexed in."""

    id: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass
class Changes:
    """The difference between the content folder and a manifest."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # unchanged content but a new size/mtime: only the manifest needs the new stat
    touched: dict[str, Entry] = field(default_factory=dict)
    stats: dict[str, os.stat_result] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def to_read(self) -> list[str]:
        return self.added + self.updated

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.deleted or self.touched)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(generation: Path) -> dict[str, Entry]:
    """Read a generation's manifest; an empty one if it has none."""
    try:
        raw = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {path: Entry(**entry) for path, entry in raw.get("files", {}).items()}


def save_manifest(generation: Path, entries: dict[str, Entry], vocabulary_hash: str) -> None:
    """Write the manifest atomically (temp file, fsync, rename)."""
    from indexer.store import write_atomic

    data = {
        "vocabulary_sha256": vocabulary_hash,
        "files": {path: vars(entry) for path, entry in sorted(entries.items())},
    }
    write_atomic(generation / MANIFEST, json.dumps(data, separators=(",", ":")))


def manifest_vocabulary_hash(generation: Path) -> str:
    try:
        return json.loads((generation / MANIFEST).read_text(encoding="utf-8")).get("vocabulary_sha256", "")
    except FileNotFoundError:
        return ""


def compare(root: Path, manifest: dict[str, Entry]) -> Changes:
    """Walk the content folder and sort every file into added, updated, deleted, unchanged."""
    changes = Changes()
    present = content_files(root)
    for relative_path in present:
        path = root / relative_path
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished while walking; the next run sees it as deleted
        changes.stats[relative_path] = stat
        entry = manifest.get(relative_path)
        if entry is None:
            changes.added.append(relative_path)
            continue
        if entry.size == stat.st_size and entry.mtime_ns == stat.st_mtime_ns:
            changes.unchanged.append(relative_path)
            continue
        try:
            digest = file_hash(path)
        except OSError:
            changes.updated.append(relative_path)
            continue
        changes.hashes[relative_path] = digest
        if digest == entry.sha256:
            changes.unchanged.append(relative_path)
            changes.touched[relative_path] = Entry(entry.id, stat.st_size, stat.st_mtime_ns, digest)
        else:
            changes.updated.append(relative_path)
    seen = set(present)
    changes.deleted = sorted(p for p in manifest if p not in seen)
    return changes


def vocabulary_hash(root: Path) -> str:
    """Hash of the vocabulary file ('' when there is none)."""
    from indexer.content import VOCABULARY_FILES

    for name in VOCABULARY_FILES:
        if (root / name).is_file():
            return file_hash(root / name)
    return ""
