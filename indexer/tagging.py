"""Tag items: change topics, activities and type in the item's own file, log it, reindex it at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from indexer import audit
from indexer.reindex import reindex_locked
from indexer.content import ReadLimits, hash_file, load_vocabulary
from indexer.editing import Edit, apply_edit, plan_edit, plan_sidecar_edit
from indexer.readers import SIDECAR, decode, front_matter_in_file, parse_sidecar, split_front_matter
from indexer.store import IndexStore
from kb.notes import Note, message_of
from kb.errors import ConflictError, KbError, QueryError, StorageError
from kb.metadata import clean_list, clean_text
from kb.vocabulary import Vocabulary

EDITABLE = ("topics", "activities", "type")


@dataclass(frozen=True)
class Change:
    """What to do to one item's tags; empty parts leave that key alone."""

    add_topics: tuple[str, ...] = ()
    remove_topics: tuple[str, ...] = ()
    set_topics: tuple[str, ...] | None = None
    add_activities: tuple[str, ...] = ()
    remove_activities: tuple[str, ...] = ()
    set_activities: tuple[str, ...] | None = None
    set_type: str | None = None


@dataclass
class TagResult:
    item_id: str
    path: str
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    written: bool = False


def current_values(root: Path, relative_path: str) -> dict[str, Any]:
    """The tags as the file says now: its front matter, or its sidecar for other formats."""
    if front_matter_in_file(relative_path):
        text, _ = decode(relative_path, (root / relative_path).read_bytes())
        metadata, _ = split_front_matter(relative_path, text)
    else:
        sidecar = root / (relative_path + SIDECAR)
        metadata = parse_sidecar(relative_path + SIDECAR, sidecar.read_bytes()) if sidecar.exists() else {}
    return {
        "topics": list(clean_list(metadata.get("topics"), lower=True)),
        "activities": list(clean_list(metadata.get("activities"))),
        "type": clean_text(metadata.get("type")) or None,
    }


def check_topics(topics: Iterable[str], vocabulary: Vocabulary) -> None:
    """Refuse topics that are not in the vocabulary, or deprecated ones."""
    if not vocabulary.topics:
        return
    for topic_id in topics:
        topic = vocabulary.topics.get(topic_id)
        if topic is None:
            raise QueryError(Note("topic '%(topic)s' is not in the vocabulary", topic=topic_id), field="topics")
        if topic.deprecated:
            raise QueryError(Note("topic '%(topic)s' is deprecated; use '%(replacement)s'", topic=topic_id,
                                  replacement=topic.replaced_by) if topic.replaced_by
                             else Note("topic '%(topic)s' is deprecated", topic=topic_id), field="topics")


def plan(root: Path, relative_path: str, change: Change, vocabulary: Vocabulary,
         expected: str | None = None) -> Edit:
    """Work out the new values from the file as it is now, and the edit that writes them.

    `expected` is the item's version (its file and sidecar) the editor saw; if the
    item changed since, ConflictError and nothing is planned.
    """
    if expected is not None and hash_file(root, relative_path) != expected:
        raise ConflictError(Note("%(relative_path)s changed since it was loaded; reload it and make the change "
                                 "again",
                                 relative_path=relative_path))
    now = current_values(root, relative_path)
    updates: dict[str, Any] = {}
    topics = list(change.set_topics) if change.set_topics is not None else list(now["topics"])
    topics += [t for t in change.add_topics if t not in topics]
    topics = [t for t in topics if t not in change.remove_topics]
    if topics != now["topics"]:
        check_topics([t for t in topics if t not in now["topics"]], vocabulary)
        updates["topics"] = topics
    activities = list(change.set_activities) if change.set_activities is not None else list(now["activities"])
    activities += [a for a in change.add_activities if a not in activities]
    activities = [a for a in activities if a not in change.remove_activities]
    if activities != now["activities"]:
        updates["activities"] = activities
    if change.set_type and change.set_type != now["type"]:
        if vocabulary.types and change.set_type not in vocabulary.types:
            raise QueryError(Note("type '%(set_type)s' is not one of %(choices)s",
                                  set_type=change.set_type, choices=', '.join(vocabulary.types)), field="type")
        updates["type"] = change.set_type
    if front_matter_in_file(relative_path):
        return plan_edit(root, relative_path, updates)
    return plan_sidecar_edit(root, relative_path + SIDECAR, updates)


def tag(store: IndexStore, root: Path, data: Path, item_id: str, change: Change, *, who: str,
        expected: str | None = None, wait: float = 10.0, limits: ReadLimits = ReadLimits()) -> TagResult:
    """Apply a change to one item's file and reindex that file; `expected` is the file version the editor saw."""
    path = store.get_item(item_id).path
    with store.writer_lock(wait):
        edit = plan(root, path, change, load_vocabulary(root), expected)
        result = TagResult(item_id, path, edit.changes)
        if edit.changed:
            write_logged(root, data, edit, who, item_id, "tag")
            reindex_locked(store, root, limits=limits, only=[edit.path])
            result.written = True
    return result


def write_logged(root: Path, data: Path, edit: Edit, who: str, item_id: str, action: str) -> None:
    """Record the change in the audit log, then make it: no change is ever made without its record."""
    entry = audit.append(data, who, item_id, edit.path, edit.changes, action=action)
    try:
        apply_edit(root, edit)
    except (KbError, OSError) as exc:
        audit.not_applied(data, entry, str(exc))
        if isinstance(exc, OSError):
            raise StorageError(f"{edit.path} cannot be written ({exc.strerror or exc}); it was not changed") from None
        raise


@dataclass
class BulkOutcome:
    """What happened to each item of a bulk change."""

    written: list[TagResult] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (item id, reason)


def bulk_plan(store: IndexStore, root: Path, item_ids: Iterable[str], change: Change) -> list[tuple[str, Edit | str]]:
    """Plan one change for many items, without writing: an Edit per item, or the reason it cannot be made."""
    vocabulary = load_vocabulary(root)
    planned: list[tuple[str, Edit | str]] = []
    for item_id in item_ids:
        try:
            planned.append((item_id, plan(root, store.get_item(item_id).path, change, vocabulary)))
        except KbError as exc:
            planned.append((item_id, message_of(exc)))
    return planned


def bulk_tag(store: IndexStore, root: Path, data: Path, versions: dict[str, str], change: Change, *,
             who: str, wait: float = 10.0, limits: ReadLimits = ReadLimits()) -> BulkOutcome:
    """Apply one change to many items, each only if its file is still the version that was previewed;
    one reindex of the written files at the end."""
    outcome = BulkOutcome()
    with store.writer_lock(wait):
        vocabulary = load_vocabulary(root)
        written: list[str] = []
        for item_id, version in versions.items():
            try:
                path = store.get_item(item_id).path
                edit = plan(root, path, change, vocabulary, expected=version)
                if not edit.changed:
                    outcome.unchanged.append(item_id)
                    continue
                write_logged(root, data, edit, who, item_id, "bulk-tag")
            except KbError as exc:
                outcome.refused.append((item_id, message_of(exc)))
                continue
            outcome.written.append(TagResult(item_id, path, edit.changes, True))
            written.append(edit.path)
        if written:
            reindex_locked(store, root, limits=limits, only=written)
    return outcome
