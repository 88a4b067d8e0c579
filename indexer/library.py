"""One community's knowledge base, opened once from its settings: what the CLI and the web UI call.

`Library.open(settings)` holds the content folder, the search backend (one
IndexStore for the index folder, shared by every search and every write of the
process) and the data folder (accounts, logs), and offers the operations both
edges use. Neither edge builds paths, stores or limits of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from indexer import audit, mapping, meaning, searchlog, suggest
from indexer.content import ReadLimits, content_root, document_of, hash_file, load_content, load_vocabulary
from indexer.editing import Edit
from indexer.reindex import Guards, Progress, ReindexSummary, reindex, reindex_locked, rollback
from indexer.store import IndexStore
from indexer.textfiles import load_mapping
from indexer.tagging import BulkOutcome, Change, TagResult, bulk_plan, bulk_tag, current_values, plan, tag
from kb.access import Viewer
from kb.backend import SearchBackend
from kb.checks import Attention, staleness, tagging_queue
from kb.contentmap import ContentMap, TopicValue
from kb.notes import Note
from kb.errors import KbError, NotFoundError, QueryError
from kb.health import Health, community_health
from kb.gaps import GAP_STATUSES, decide as decide_gap
from kb.item import Item
from kb.people import Contribution, Person, contributions, known_topics, person_name
from kb.links import LINK_TYPES, link_value, typed_links
from kb.related import RelatedPanels
from kb.search import SearchRequest, SearchResult
from kb.settings import Settings
from kb.vocabulary import Vocabulary

if TYPE_CHECKING:  # imported where used: YAML writers that a reindex from the command line does without
    from indexer.vocabedit import Plan

COMMUNITY_FILE = "community.yml"  # the community's name and purpose, for the home page


@dataclass
class Library:
    settings: Settings
    backend: Any  # kb.backend.SearchBackend: the Whoosh IndexStore of settings.index, or another engine

    @classmethod
    def open(cls, settings: Settings, backend: SearchBackend | None = None) -> Library:
        if backend is None:
            options = {"cache_size": settings.search_cache, "shared_cache_mb": settings.search_cache_shared,
                       "time_limit": settings.search_time_limit,
                       "model": meaning.embedder(settings.semantic), "semantic_weight": settings.semantic_weight,
                       "default_visibility": settings.default_visibility}
            if settings.backend == "typesense":
                from indexer.typesense.connection import Connection
                from indexer.typesense.store import ClusterStore
                backend = ClusterStore(settings.index, Connection.from_settings(settings), **options)
            else:
                backend = IndexStore(settings.index, **options)
        return cls(settings, backend)

    def close(self) -> None:
        self.backend.close()

    # -- places ------------------------------------------------------------
    @cached_property
    def root(self) -> Path:
        """The content folder (ConfigError naming it if it does not exist)."""
        return content_root(self.settings.content)

    @property
    def data(self) -> Path:
        return Path(self.settings.data)

    @property
    def limits(self) -> ReadLimits:
        return ReadLimits.from_settings(self.settings)

    # -- reading -----------------------------------------------------------
    def search(self, request: SearchRequest, today: dt.date | None = None) -> SearchResult:
        return self.backend.search(request, today, max_query_length=self.settings.max_query_length)

    def log_search(self, result: SearchResult) -> None:
        """Keep a first-page web search in the anonymous search log (if the log is on)."""
        request = result.request
        if self.settings.search_log_days and request.page == 1:
            searchlog.record(self.data, request.q, request.filters, result.total)

    # A `viewer` (kb.access) sees only what their role may see; without one, everything (the operator).
    def item(self, item_id: str, viewer: Viewer | None = None) -> Item:
        return self.backend.get_item(item_id, viewer)

    def find_item(self, item_id: str, viewer: Viewer | None = None) -> Item | None:
        return self.backend.find_item(item_id, viewer)

    def items_where(self, field: str, value: str, limit: int | None = None,
                    viewer: Viewer | None = None) -> list[Item]:
        return self.backend.items_where(field, value, limit, viewer)

    def all_items(self) -> list[Item]:
        return self.backend.all_items()

    def attachments(self, activity: Item, viewer: Viewer | None = None) -> list[Item]:
        return self.backend.attachments(activity, viewer)

    def related(self, item: Item, limit: int | None = None, viewer: Viewer | None = None) -> RelatedPanels:
        """Related activities and content, the first `limit` of each (KB_RELATED_LIMIT), and their totals."""
        return self.backend.related_panels(item, limit or self.settings.related_limit, viewer)

    def typed_links(self, item: Item, viewer: Viewer | None = None) -> list[tuple[str, list[Item]]]:
        """The item's typed links (kb.links) in their own words, both ways: ("Complements", [session]),
        ("Complemented by", [roundtable]); only items the viewer may see."""
        groups: dict[str, list[Item]] = {}
        for key, target in typed_links(item):
            found = self.find_item(target, viewer)
            if found is not None:
                groups.setdefault(LINK_TYPES[key].forward, []).append(found)
        for key, kind in LINK_TYPES.items():
            for other in self.items_where("link", link_value(key, item.id), viewer=viewer):
                groups.setdefault(kind.backward, []).append(other)
        return list(groups.items())

    def who_can_help(self, topic_id: str, viewer: Viewer | None = None, limit: int = 10) -> list[Contribution]:
        """People ranked by what they did on a topic and its narrower topics (kb.people), in what the viewer
        may see (the people of non-attributable items only for managers)."""
        items = self.items_where("topic", topic_id, viewer=viewer)
        return contributions(items, self.vocabulary().person_name)[:limit]

    def person(self, person_id: str, viewer: Viewer | None = None) -> tuple[Person, list[Item], list[tuple[str, int]]]:
        """A person's page: who they are, the items and activities they took part in (newest first) and the
        topics of those; NotFoundError when the viewer may see nothing of them (a manager: unless listed)."""
        vocabulary = self.vocabulary()
        items = self.items_where("person", person_id, viewer=viewer)
        listed = vocabulary.people.get(person_id)
        if not items and (listed is None or (viewer is not None and not viewer.sees_everything)):
            raise NotFoundError(Note("no person with id '%(person_id)s'", person_id=person_id))
        person = listed or Person(id=person_id, name=person_name(person_id))
        return person, items, known_topics(items, vocabulary.current)

    def community(self) -> dict[str, str]:
        """The community's name and purpose, from community.yml in the content folder (a name of
        "Knowledge base" and no purpose without one)."""
        path = Path(self.settings.content) / COMMUNITY_FILE
        data: Any = None
        if path.is_file():
            try:
                data = load_mapping(COMMUNITY_FILE, path.read_text(encoding="utf-8-sig"), "the community file")
            except (OSError, UnicodeDecodeError, KbError):
                data = None  # the home page still works; kb check names the file
        data = data if isinstance(data, dict) else {}
        return {"id": str(data.get("id") or ""), "name": str(data.get("name") or "Knowledge base"),
                "purpose": str(data.get("purpose") or "")}

    def vocabulary(self) -> Vocabulary:
        return self.backend.vocabulary()

    def status(self) -> dict[str, Any]:
        return self.backend.health()

    # -- the index ---------------------------------------------------------
    def reindex(self, *, full: bool = False, dry_run: bool = False, guards: Guards = Guards(), wait: float = 0.0,
                progress: Progress | None = None) -> ReindexSummary:
        return reindex(self.root, self.backend, full=full, dry_run=dry_run, guards=guards, wait=wait,
                       limits=self.limits, progress=progress)

    def reindex_looked(self, stale: str, seen: Any, *, guards: Guards = Guards(),
                       progress: Progress | None = None) -> ReindexSummary:
        """An incremental run for a caller that holds the writer lock and has compared the folder with
        the manifest (indexer.unchanged, `seen`)."""
        return reindex_locked(self.backend, self.root, stale=stale, guards=guards, limits=self.limits,
                              progress=progress, seen=seen)

    def reindex_files(self, paths: Iterable[str]) -> ReindexSummary:
        """Reindex some files (under the writer lock the caller holds), without walking the folder."""
        return reindex_locked(self.backend, self.root, limits=self.limits, only=list(paths))

    def rollback(self, wait: float = 0.0) -> str:
        return rollback(self.backend, wait)

    def check(self, workers: int = 1) -> Any:
        """Every file of the content folder read and checked (kb check)."""
        return load_content(self.settings.content, self.limits, workers=workers)

    # -- tagging -----------------------------------------------------------
    def version(self, path: str) -> str:
        """The version of the item whose file (or sidecar) is `path`, as an editor saw it; a change is
        refused if the file moved on since."""
        return hash_file(self.root, document_of(path))

    def current_tags(self, item: Item) -> dict[str, Any]:
        return current_values(self.root, item.path)

    def plan_tag(self, item_id: str, change: Change) -> Edit:
        return plan(self.root, self.item(item_id).path, change, load_vocabulary(self.root))

    def tag(self, item_id: str, change: Change, *, who: str, expected: str | None = None,
            wait: float = 10.0) -> TagResult:
        return tag(self.backend, self.root, self.data, item_id, change, who=who, expected=expected, wait=wait,
                   limits=self.limits)

    def plan_bulk(self, item_ids: Iterable[str], change: Change) -> list[tuple[str, Edit | str]]:
        return bulk_plan(self.backend, self.root, item_ids, change)

    def bulk_tag(self, versions: dict[str, str], change: Change, *, who: str, wait: float = 10.0) -> BulkOutcome:
        return bulk_tag(self.backend, self.root, self.data, versions, change, who=who, wait=wait, limits=self.limits)

    def plan_topics(self, operation: str, source: str, **options: Any) -> Plan:
        from indexer.vocabedit import plan_operation

        return plan_operation(self.backend, self.root, operation, source, **options)

    def apply_topics(self, plan: Plan, *, who: str, wait: float = 10.0) -> list[str]:
        from indexer.vocabedit import apply_operation

        return apply_operation(self.backend, self.root, self.data, plan, who=who, wait=wait, limits=self.limits)

    def audit_log(self, item_id: str | None = None, limit: int | None = None) -> audit.Log:
        return audit.read(self.data, item_id, limit)

    def suggestions(self, item: Item) -> tuple[list[suggest.Suggestion], list[str]]:
        return suggest.suggestions(self.backend, self.data, item)

    def decide_suggestion(self, item_id: str, topic: str, accepted: bool) -> None:
        suggest.decide(self.data, item_id, topic, "accepted" if accepted else "rejected")

    def link_suggestions(self, item: Item) -> list[Item]:
        """Activities the item's text names by title without linking them, not yet accepted or rejected."""
        decided = suggest.load_decisions(self.data).get(item.id, {})
        return [a for a in self.backend.named_activities(item) if f"activity:{a.id}" not in decided]

    def decide_link(self, item_id: str, activity_id: str, accepted: bool) -> None:
        suggest.decide(self.data, item_id, f"activity:{activity_id}", "accepted" if accepted else "rejected")

    def candidate_topics(self) -> list[tuple[str, int]]:
        return suggest.candidate_topics(self.backend)

    # -- maps and reports --------------------------------------------------
    def content_map(self, by: str = "kind") -> ContentMap:
        return mapping.content_map(self.backend, by)

    def shared_value(self) -> list[TopicValue]:
        return mapping.shared_value(self.backend, self.data, self.gap_register())

    def unmet_needs(self) -> list[mapping.UnmetNeed]:
        """Needs no topic covers yet: from surveys, one-on-one requests and searches with no results."""
        return mapping.shared_value_and_unmet(self.backend, self.data, self.gap_register())[1]

    def gap_register(self) -> dict:
        """The managers' decisions about gaps (gaps.yml); none when the content folder is not here
        (a report run beside the index only)."""
        from indexer.gapfile import read_gaps

        folder = Path(self.settings.content)
        return read_gaps(folder) if folder.is_dir() else {}

    def decide_gap(self, topic: str, status: str, *, activity: str = "", note: str = "", who: str) -> None:
        """Record a manager's decision about a gap in the register (gaps.yml), audit log first."""
        from indexer.gapfile import GAPS_FILE, gaps_lock, read_gaps, write_gaps

        if topic not in self.vocabulary().topics:
            raise QueryError(Note("topic '%(topic)s' is not in the vocabulary", topic=topic), field="topic")
        if status not in GAP_STATUSES:
            raise QueryError(Note("status '%(status)s' is not one of %(choices)s",
                                  status=status, choices=', '.join(GAP_STATUSES)), field="status")
        if status == "planned" and (not activity or self.find_item(activity) is None
                                    or not self.find_item(activity).is_activity):
            raise QueryError(Note("a planned gap names the activity that will answer it"), field="activity")
        with gaps_lock(self.data):
            decisions = read_gaps(self.root)
            before = decisions.get(topic)
            changed = decide_gap(decisions, topic, status, activity=activity, note=note.strip()[:500], by=who)
            audit.append(self.data, who, f"gap:{topic}", GAPS_FILE,
                         {"status": (before.status if before else None, status),
                          "activity": (before.activity if before else None, activity or None)}, action="gap")
            write_gaps(self.root, changed)

    def health(self) -> Health:
        """Community health figures from the content (kb.health)."""
        vocabulary = self.vocabulary()
        roles = {person_id: person.role for person_id, person in vocabulary.people.items()}
        return community_health(self.all_items(), roles, vocabulary.current)

    def tagging_queue(self) -> list[Attention]:
        return tagging_queue(self.all_items(), self.vocabulary())

    def staleness(self, today: dt.date | None = None) -> list[Attention]:
        return staleness(self.all_items(), today or dt.date.today())

    def search_report(self, days: int, limit: int) -> dict[str, Any]:
        searchlog.prune(self.data, self.settings.search_log_days)
        return searchlog.report(self.data, days, limit)
