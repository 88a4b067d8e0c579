"""What every importer shares: Markdown items written into the content folder, safely.

Imports write ordinary Markdown files with front matter, so files stay the source
of truth. Re-importing the same export updates the same files (same paths) and
leaves unchanged ones alone. A file edited since kb last wrote it (a manager
tagged it, someone fixed a typo) is never overwritten: it is reported instead.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from indexer.content import content_root, load_vocabulary
from indexer.files import sha256, write_atomic
from indexer.textfiles import load_mapping as yaml_mapping
from kb.errors import ConfigError, ContentError

STATE = "imports.json"


@dataclass
class NewItem:
    """One item an importer produced: where it goes, its front matter and its Markdown body."""

    path: str
    metadata: dict[str, Any]
    body: str


@dataclass
class ImportReport:
    """What an import did (or would do, in a dry run)."""

    source: str
    dry_run: bool = False
    written: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_local_edits: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> how many records
    unmapped_tags: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)  # records that could not be used, with where and why
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "dry_run": self.dry_run, "written": len(self.written),
                "updated": len(self.updated), "unchanged": len(self.unchanged),
                "kept_local_edits": self.kept_local_edits, "skipped": dict(self.skipped),
                "unmapped_tags": dict(self.unmapped_tags.most_common()), "problems": self.problems,
                "counts": self.counts,
                "paths": {"written": self.written, "updated": self.updated}}


def slug(text: str, limit: int = 60) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:limit].rstrip("-") or "item"


def person_id(name: str, prefix: str = "") -> str:
    return (prefix + slug(name, 40)) if name else ""


def load_mapping(path: str | Path | None, root: Path) -> dict[str, list[str]]:
    """Forum tag -> vocabulary topic ids, from a YAML file `{tags: {brewing: [topic], taste: null}}`."""
    if path is None:
        return {}
    try:
        data = yaml_mapping(str(path), Path(path).read_text(encoding="utf-8"), "the mapping file")
    except OSError as exc:
        raise ConfigError(f"mapping file {path}: {exc.strerror or exc}") from None
    except ContentError as exc:
        raise ConfigError(str(exc)) from None
    tags = data.get("tags", data) if isinstance(data, dict) else None
    if not isinstance(tags, dict):
        raise ConfigError(f"mapping file {path}: expected 'tags:' with forum tag -> topic ids")
    vocabulary = load_vocabulary(root)
    mapping: dict[str, list[str]] = {}
    for tag, topics in tags.items():
        topics = [topics] if isinstance(topics, str) else list(topics or [])
        for topic in topics:
            if vocabulary.topics and topic not in vocabulary.topics:
                raise ConfigError(f"mapping file {path}: tag {tag!r} maps to {topic!r}, which is not in the vocabulary")
        mapping[str(tag)] = [str(t) for t in topics]
    return mapping


def map_tags(tags: Iterable[str], mapping: dict[str, list[str]], report: ImportReport) -> list[str]:
    topics: list[str] = []
    for tag in tags:
        if tag in mapping:
            topics += [t for t in mapping[tag] if t not in topics]
        else:
            report.unmapped_tags[tag] += 1
    return topics


def render(item: NewItem) -> bytes:
    front = yaml.safe_dump(item.metadata, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=None)
    return f"---\n{front}---\n{item.body.rstrip()}\n".encode("utf-8")


def write_items(content: str | Path, data: str | Path, items: Iterable[NewItem], report: ImportReport) -> ImportReport:
    """Write items into the content folder: new, updated, unchanged, or kept because edited locally."""
    root = content_root(content)
    state_path = Path(data) / STATE
    try:
        state: dict[str, str] = json.loads(state_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        state = {}
    for item in items:
        target = root / item.path
        new = render(item)
        digest = sha256(new)
        if target.exists():
            current = target.read_bytes()
            if current == new:
                report.unchanged.append(item.path)
                continue
            if state.get(item.path) != sha256(current):
                report.kept_local_edits.append(item.path)
                continue
            report.updated.append(item.path)
        else:
            report.written.append(item.path)
        if not report.dry_run:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, new.decode("utf-8"))
            state[item.path] = digest
    if not report.dry_run:
        Path(data).mkdir(parents=True, exist_ok=True)
        write_atomic(state_path, json.dumps(state, indent=1, sort_keys=True))
    return report
