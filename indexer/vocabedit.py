"""Rename, merge and split topics: the vocabulary file and every tagged file, in one job.

The vocabulary file is edited with a round-trip YAML library (its comments,
order and layout are kept); item files get the same key-level edits as tagging.
Old ids and labels stay findable: a renamed or merged topic remains in the
vocabulary as deprecated with `replaced_by`, and its labels become alternative
labels of the topic that replaces it. A dry run lists every file that would change.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from indexer.reindex import reindex_locked
from indexer.content import VOCABULARY_FILES, ReadLimits
from indexer.editing import Edit, plan_edit, plan_sidecar_edit
from indexer.readers import SIDECAR, front_matter_in_file
from indexer.files import write_atomic
from indexer.store import IndexStore
from indexer.tagging import current_values, write_logged
from kb.errors import KbError, QueryError, StorageError
from kb.notes import Note, message_of
from kb.vocabulary import TOPIC_ID_RULE, Vocabulary, is_topic_id, normalise_label, slug


@dataclass
class Plan:
    """What an operation will do: the new vocabulary text, and an edit (or a refusal) per tagged file."""

    operation: str
    summary: list[str] = field(default_factory=list)
    vocabulary_file: str = ""
    vocabulary_text: str = ""
    edits: list[Edit] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # file path -> item id, for the audit log


def _yaml() -> YAML:
    parser = YAML()
    parser.preserve_quotes = True
    parser.width = 4096
    parser.indent(mapping=2, sequence=4, offset=2)
    return parser


def _load(root: Path) -> tuple[str, Any]:
    for name in VOCABULARY_FILES:
        if (root / name).is_file():
            return name, _yaml().load((root / name).read_text(encoding="utf-8"))
    raise QueryError(Note("the content folder has no vocabulary.yml to change"))


def _dump(tree: Any) -> str:
    out = io.StringIO()
    _yaml().dump(tree, out)
    return out.getvalue()


def _entry(tree: Any, topic_id: str, field: str) -> CommentedMap:
    for entry in tree.get("topics") or []:
        if str(entry.get("id")) == topic_id:
            return entry
    raise QueryError(Note("topic '%(topic)s' is not in the vocabulary", topic=topic_id), field=field)


def check_new_id(topic_id: str, field: str) -> None:
    """Refuse a new topic id that is not an id, proposing one made from the text."""
    if not is_topic_id(topic_id):
        proposal = slug(topic_id)
        if proposal:
            raise QueryError(Note("'%(topic)s' is not a topic id: an id is %(rule)s; for example '%(proposal)s'",
                                  topic=topic_id, rule=TOPIC_ID_RULE, proposal=proposal), field=field)
        raise QueryError(Note("'%(topic)s' is not a topic id: an id is %(rule)s", topic=topic_id, rule=TOPIC_ID_RULE),
                         field=field)


def _add_alt_labels(entry: CommentedMap, names: list[str]) -> None:
    labels = entry.setdefault("alt_labels", CommentedMap())
    english = labels.setdefault("en", CommentedSeq())
    if isinstance(english, CommentedSeq):
        english.fa.set_flow_style()
    known = {normalise_label(str(n)) for values in labels.values() for n in (values or [])}
    known.add(normalise_label(str(entry.get("label", ""))))
    for name in names:
        if normalise_label(name) not in known:
            english.append(name)
            known.add(normalise_label(name))


def _labels_of(entry: CommentedMap) -> list[str]:
    names = [str(entry.get("label", "")), *(str(v) for v in (entry.get("labels") or {}).values())]
    for values in (entry.get("alt_labels") or {}).values():
        names += [str(v) for v in values or []]
    return [n for n in names if n]


def _retarget(tree: Any, old: str, new: str) -> None:
    for entry in tree.get("topics") or []:
        for key in ("broader", "replaced_by"):
            if str(entry.get(key, "")) == old:
                entry[key] = new


def _deprecate(entry: CommentedMap, replaced_by: str) -> None:
    entry["deprecated"] = True
    entry["replaced_by"] = replaced_by
    for key in ("broader", "priority"):
        entry.pop(key, None)


def plan_operation(store: IndexStore, root: Path, operation: str, source: str, target: str = "",
                   label: str = "", parts: list[tuple[str, str]] | None = None) -> Plan:
    """Plan rename (source -> target), merge (source into target) or split (source into parts).

    The files to change are the items the index has under the topic; each edit is
    worked out from the file as it is now.
    """
    name, tree = _load(root)
    plan = Plan(operation, vocabulary_file=name)
    if operation in ("add", "alias"):  # the vocabulary alone changes: no file is tagged yet
        _add_or_alias(tree, plan, operation, source, target, label)
        plan.vocabulary_text = _dump(tree)
        Vocabulary.from_dict(_yaml().load(plan.vocabulary_text), source=name)
        return plan
    entry = _entry(tree, source, "source")
    if entry.get("deprecated") and operation != "merge":
        raise QueryError(Note("topic '%(source)s' is deprecated; merge it into its replacement instead",
                              source=source), field="source")
    if operation == "rename":
        if not target or target == source:
            raise QueryError(Note("rename needs a new, different topic id"), field="target")
        check_new_id(target, "target")
        if any(str(e.get("id")) == target for e in tree["topics"]):
            raise QueryError(Note("topic '%(target)s' already exists; use merge", target=target), field="target")
        new = CommentedMap(entry)
        new["id"] = target
        if label:
            new["label"] = label
        _add_alt_labels(new, _labels_of(entry))
        tree["topics"].insert(tree["topics"].index(entry) + 1, new)
        _retarget(tree, source, target)
        _deprecate(entry, target)
        entry.pop("alt_labels", None)
        entry.pop("labels", None)  # the new topic carries the translations
        plan.summary.append(Note("topic %(source)s is renamed %(target)s; %(source)s stays as a deprecated alias",
                                 source=source, target=target))
        mapping = lambda topics, text: _swap(topics, source, [target])  # noqa: E731
    elif operation == "merge":
        if not target or target == source:
            raise QueryError(Note("merge needs another topic to merge into"), field="target")
        into = _entry(tree, target, "target")
        _add_alt_labels(into, _labels_of(entry))
        _retarget(tree, source, target)
        _deprecate(entry, target)
        plan.summary.append(Note("topic %(source)s is merged into %(target)s; its labels become alternative labels of "
                                 "%(target)s", source=source, target=target))
        mapping = lambda topics, text: _swap(topics, source, [target])  # noqa: E731
    elif operation == "split":
        parts = parts or []
        if len(parts) < 2:
            raise QueryError(Note("split needs at least two new topics (id and label each)"), field="parts")
        existing = {str(e.get("id")) for e in tree["topics"]}
        at = tree["topics"].index(entry)
        for offset, (part_id, part_label) in enumerate(parts, 1):
            check_new_id(part_id, "parts")
            if part_id in existing:
                raise QueryError(Note("topic '%(part_id)s' already exists", part_id=part_id), field="parts")
            new = CommentedMap([("id", part_id), ("label", part_label)])
            if entry.get("broader"):
                new["broader"] = entry["broader"]
            if entry.get("priority"):
                new["priority"] = entry["priority"]
            tree["topics"].insert(at + offset, new)
        _retarget(tree, source, parts[0][0])
        _deprecate(entry, parts[0][0])
        plan.summary.append(Note("topic %(source)s is split into %(parts)s; each item gets the new topics whose labels "
                                 "its text mentions (all of them if none)", source=source,
                                 parts=", ".join(p for p, _ in parts)))
        mapping = lambda topics, text: _swap(topics, source, _parts_for(text, parts))  # noqa: E731
    else:
        raise QueryError(Note("operation: '%(operation)s' is not add, alias, rename, merge or split",
                              operation=operation), field="operation")
    plan.vocabulary_text = _dump(tree)
    Vocabulary.from_dict(_yaml().load(plan.vocabulary_text), source=name)  # the result must still be valid
    for item in store.items_where("topic", source):
        if source not in item.topics:
            continue  # tagged with a narrower topic only
        try:
            topics = current_values(root, item.path)["topics"]
            updates = {"topics": mapping(topics, f"{item.title} {item.text}")}
            if front_matter_in_file(item.path):
                plan.edits.append(plan_edit(root, item.path, updates))
            else:  # a document: its sidecar holds the topics
                plan.edits.append(plan_sidecar_edit(root, item.path + SIDECAR, updates))
            plan.ids[plan.edits[-1].path] = item.id
        except KbError as exc:
            plan.refused.append((item.path, message_of(exc)))
    return plan


def _add_or_alias(tree: Any, plan: Plan, operation: str, source: str, target: str, label: str) -> None:
    """A new topic (target, label, under the broader topic `source` if one is given), or `label` as a
    new alternative label of the topic `source`: how a need no topic covers becomes part of the vocabulary."""
    if not label.strip():
        raise QueryError(Note("give the words of the need as the label"), field="label")
    if operation == "alias":
        entry = _entry(tree, source, "source")
        if normalise_label(label) in {normalise_label(n) for n in _labels_of(entry)}:
            raise QueryError(Note("“%(label)s” is already a label of %(source)s",
                                  label=label, source=source), field="label")
        _add_alt_labels(entry, [label.strip()])
        plan.summary.append(Note("“%(label)s” becomes an alternative label of topic %(source)s: searches and needs "
                                 "that use these words count for it", label=label.strip(), source=source))
        return
    check_new_id(target, "target")
    if any(str(e.get("id")) == target for e in tree["topics"]):
        raise QueryError(Note("topic '%(target)s' already exists", target=target), field="target")
    new = CommentedMap([("id", target), ("label", label.strip())])
    if source:
        parent = _entry(tree, source, "source")
        if parent.get("deprecated"):
            raise QueryError(Note("topic '%(source)s' is deprecated; choose its replacement",
                                  source=source), field="source")
        new["broader"] = source
    tree["topics"].append(new)
    plan.summary.append(Note("topic %(target)s (“%(label)s”) is added under %(source)s", target=target,
                             label=label.strip(), source=source) if source
                        else Note("topic %(target)s (“%(label)s”) is added", target=target, label=label.strip()))


def _swap(topics: list[str], old: str, new: list[str]) -> list[str]:
    result: list[str] = []
    for topic in topics:
        for replacement in (new if topic == old else [topic]):
            if replacement not in result:
                result.append(replacement)
    return result


def _parts_for(text: str, parts: list[tuple[str, str]]) -> list[str]:
    words = set(normalise_label(text).split())
    chosen = [pid for pid, plabel in parts if set(normalise_label(plabel).split()) <= words]
    return chosen or [pid for pid, _ in parts]


def apply_operation(store: IndexStore, root: Path, data: Path, plan: Plan, *, who: str,
                    wait: float = 10.0, limits: ReadLimits = ReadLimits()) -> list[str]:
    """Write the vocabulary and the files of a plan, log each change, reindex them; return files not changed."""
    skipped = [path for path, _ in plan.refused]
    with store.writer_lock(wait):
        try:
            write_atomic(root / plan.vocabulary_file, plan.vocabulary_text)
        except OSError as exc:
            raise StorageError(f"{plan.vocabulary_file} cannot be written ({exc.strerror or exc}); "
                               "nothing was changed") from None
        written: list[str] = []
        try:
            for edit in plan.edits:
                try:
                    write_logged(root, data, edit, who, plan.ids.get(edit.path, edit.path),
                                 f"topics-{plan.operation}")
                    written.append(edit.path)
                except KbError as exc:  # this file stays as it was; the others go on
                    skipped.append(edit.path)
                    plan.refused.append((edit.path, message_of(exc)))
        finally:  # whatever was written is indexed, even when a write failed half-way
            reindex_locked(store, root, limits=limits, only=written)
    return skipped
