"""Search pages served by the Typesense cluster, with kb's matching, facets and ranking.

The cluster answers which items hold each word, phrase or prefix of the query (indexer.typesense.table);
kb decides the rest as it does on Whoosh, with the same code where the two can share it: how many
of the query's words make a match (indexer.matching), topic labels and names, filters and negation,
dates, disjunctive and hierarchical facet counts, visibility, the relaxations of a search with no
results. The ranking is BM25 computed in kb over the stems the cluster stores (indexer.typesense.
ranking), with the boosts of topics the query names, of types and places it names, and of the
query's language; a long question is ranked again with feedback from its first pass.

Read hosts need only the cluster: the serving generation, its vocabulary and a stamp that changes
with every commit come from the `{prefix}_meta` collection; the filter values of every item are
read once per stamp.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from indexer.corrections import corrected, defined_acronyms
from indexer.matching import (
    Plan,
    Unit,
    acronym_forms,
    cover,
    cover_with_names,
    query_languages,
    significant,
    unit_clauses,
)
from indexer.searching import (
    SNIPPET_CHARS,
    answer,
    any_of,
    count,
    label_notes,
    match_places,
    page_slices,
    split,
)
from indexer.snippets import snippet
from indexer.typesense.connection import Connection, retried
from indexer.typesense.docs import ClusterDocs, texts_by_id
from indexer.typesense.documents import analysed, card_of, item_of
from indexer.typesense.scoring import Ranking
from indexer.typesense.table import ClusterSets, Finder, analysis_language
from indexer.visibility import people_shown_in, visible_in
from kb.access import Viewer, shown_to
from kb.errors import IndexMissingError
from kb.query import Clause, parse_query
from kb.search import Hit, SearchRequest, SearchResult
from kb.vocabulary import Vocabulary, normalise_label

T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot:
    """What the cluster serves at one moment: a generation's collection, its vocabulary, its items' values."""

    generation: str
    stamp: str
    collection: str
    vocabulary: Vocabulary
    sets: ClusterSets


class ClusterSearch:
    """Searches of the generation the cluster serves, for one community (its collection prefix)."""

    def __init__(self, connection: Connection, results: Any, default_visibility: str = "public",
                 words: Callable[[Any, Snapshot], Path | None] = lambda client, snap: None):
        self.connection = connection
        self.words = words  # the serving generation's words table (did you mean, acronyms), or None
        self.alias = f"{connection.prefix}_items"
        self.meta = f"{connection.prefix}_meta"
        self.results = results
        self.default_visibility = default_visibility
        self._snapshot: Snapshot | None = None
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        """One client for all searches: it goes round the nodes, so a try that failed on one goes to the next."""
        with self._lock:
            if self._client is None:
                self._client = self.connection.client()
            return self._client

    def snapshot(self) -> Snapshot:
        """The serving generation as the meta collection names it; re-read when a commit changed it."""
        from typesense import exceptions

        client = self.client()
        try:
            # written just now, a follower may not hold it yet: another node is asked
            meta = retried(lambda: client.collections[self.meta].documents["serving"].retrieve(),
                           len(self.connection.urls), documents=True)
        except exceptions.ObjectNotFound:
            raise IndexMissingError(f"the Typesense cluster holds no index for {self.alias!r} yet: "
                                    "run kb reindex") from None
        stamp = meta.get("stamp") or meta.get("generation", "")
        with self._lock:
            known = self._snapshot
        if known is not None and (known.generation, known.stamp) == (meta["generation"], stamp):
            return known
        collection = f"{self.alias}__{meta['generation']}"
        sets = retried(lambda: ClusterSets.read(client, collection), len(self.connection.urls))
        vocabulary = Vocabulary.from_dict(json.loads(meta["vocabulary"]), source=f"{self.meta}/serving")
        fresh = Snapshot(meta["generation"], stamp, collection, vocabulary, sets)
        with self._lock:
            self._snapshot = fresh
        return fresh

    def search(self, request: SearchRequest, today: dt.date | None = None,
               max_query_length: int = 2000) -> SearchResult:
        """One search page; a cluster that does not answer is an index that cannot serve (503 on the web)."""
        return answering(lambda: self._search(request, today, max_query_length))

    def read(self, look: Callable[[ClusterDocs], T]) -> T:
        """What `look` reads of the documents the cluster serves (an item, its related items ...), tried again on
        the next node when one lags behind; a cluster that does not answer is an index that cannot serve."""
        return answering(lambda: retried(lambda: look(ClusterDocs(self.client(), self.snapshot())),
                                         len(self.connection.urls)))

    def _search(self, request: SearchRequest, today: dt.date | None, max_query_length: int) -> SearchResult:
        started = time.perf_counter()
        today = today or dt.date.today()
        request, cut_note = request.cut(max_query_length)
        snap = self.snapshot()
        key = ("typesense", snap.generation, snap.stamp, request.q, tuple(sorted(request.filters.items())),
               request.sort, request.page, request.page_size, request.role, self.default_visibility, today)
        result = self.results.get(key)
        cached = result is not None
        if result is None:
            words = self.words(self.client(), snap)
            # A node that lags behind (it lacks the collection yet) or is not ready: the next try goes elsewhere.
            result = retried(lambda: Page(self.client(), snap, request, today, self.default_visibility,
                                          words).result(), len(self.connection.urls))
            self.results.put(key, result)
        notes = (cut_note,) if cut_note else ()
        return dataclasses.replace(result, messages=notes + result.messages, seconds=time.perf_counter() - started,
                                   cached=cached)


def answering(call: Callable[[], T]) -> T:
    import requests
    from typesense import exceptions

    try:
        return call()
    except (exceptions.TypesenseClientError, requests.RequestException, OSError) as exc:
        raise IndexMissingError(f"the Typesense cluster does not answer searches ({exc})") from None


class Page(Ranking):
    """One search page over a snapshot: the cluster finds the words, kb does the rest."""

    def __init__(self, client: Any, snap: Snapshot, request: SearchRequest, today: dt.date, default_level: str,
                 words: Path | None = None):
        self.client, self.snap, self.request, self.words = client, snap, request, words
        self.sets = snap.sets
        self.finder = Finder(client, snap.collection, snap.sets)
        self.viewer = Viewer(request.role)
        self.seen = visible_in(self.sets, self.viewer, default_level)
        self.with_people = people_shown_in(self.sets, self.viewer)
        self.parsed = parse_query(request.q, snap.vocabulary, today=today)
        self.corrections: dict[str, str] = {}
        self.suggestion = ""
        self.notes: list[str] = []
        if self.parsed.clauses:  # every clause's documents in one batch (did you mean looks at each word)
            self.finder.docs(list(self.parsed.clauses))
        if words is not None:
            self.corrections, self.suggestion, self.notes = corrected(
                self.parsed, request.q, snap.vocabulary, words, self.held)
        # what is highlighted: the query's words, and the spelling of the units no item has
        languages = query_languages(self.parsed.free_text)
        self.text = " ".join([self.parsed.free_text, *(self.corrections[c.text] for c in self.parsed.positive
                                                       if c.text in self.corrections and significant(c, languages))])
        self.alternatives: list[list[str]] = []  # for each topic label named, the topic's other labels
        self.labels: list[tuple[str, str]] = []  # (the words, the topic) of each topic label the query names

    def held(self, word: str) -> int:
        """The items the reader may see that hold `word`."""
        return self.finder.docs([Clause("word", word)])[0] & self.seen

    def result(self) -> SearchResult:
        sets, parsed, request, vocabulary = self.sets, self.parsed, self.request, self.snap.vocabulary
        plan = self.plan()
        allowed = ~self.excluded() & self.seen
        full, partial = split(sets, plan) if plan.units else (sets.all, 0)
        counted = count(sets, parsed, request, full, partial, allowed, self.with_people)
        hits = self.hits(plan, (counted.final, counted.partial))
        return answer(request, parsed, counted, hits, full & allowed, vocabulary,
                      [*self.notes, *label_notes(plan, vocabulary)], self.suggestion)

    # -- which items match ---------------------------------------------------------------------------
    def plan(self) -> Plan:
        """The query's units and the items matching each (as indexer.matching.plan, the cluster finding words)."""
        parsed, vocabulary = self.parsed, self.snap.vocabulary
        clauses, _ = unit_clauses(parsed)
        spoken = " ".join(self.corrections.get(c.text, c.text) for c in parsed.positive)
        labels = [] if parsed.title_only else list(dict.fromkeys(vocabulary.match_labels(spoken)))
        self.labels = labels
        others: list[list[Clause]] = []  # for each label named, the topic's other labels
        for phrase, topic_id in labels:
            topic = vocabulary.topics.get(topic_id)
            others.append([Clause("phrase" if len(label.split()) > 1 else "word", label)
                           for label in (topic.all_labels() if topic else []) if normalise_label(label) != phrase])
        field = "stems_title" if parsed.title_only else "stems"
        forms = {c: [c] + ([Clause("word", self.corrections[c.text])] if c.text in self.corrections else [])
                 for c in clauses}
        alternatives = list(dict.fromkeys(c for group in others for c in group))
        spelt = [form for c in clauses for form in forms[c]]
        found = dict(zip(spelt + alternatives, self.finder.docs(spelt + alternatives, field)))
        titles = dict(zip(spelt, self.finder.docs(spelt, "stems_title")))
        units = []
        for clause in clauses:
            docs = title = 0
            for form in forms[clause]:
                docs, title = docs | found[form], title | titles[form]
            units.append(Unit(clause.text, self.corrections.get(clause.text, ""), docs=docs, text_docs=docs,
                              title_docs=title))
        result = Plan(None, units)
        self.alternatives = [[c.text for c in group] for group in others]
        for (phrase, topic_id), group in zip(labels, others):
            docs = self.sets.value("topics_all", topic_id)
            for other in group:
                docs |= found[other]
            cover(result, phrase, topic_id, docs)
        if not parsed.title_only:
            cover_with_names(self.sets, spoken, vocabulary, result, [])
            self.cover_with_acronyms(result)
        return result

    def cover_with_acronyms(self, result: Plan) -> None:
        """A short form also matches the items that write its long form, and the reverse (kb.acronyms), as on
        Whoosh (indexer.matching.cover_with_acronyms)."""
        if self.words is None:
            return
        docs = lambda form: self.finder.docs([form])[0]  # noqa: E731
        forms = acronym_forms(defined_acronyms(self.words, self.parsed, self.seen, docs), result.units)
        clauses = [form for form, _, _ in forms]
        found, titled = self.finder.docs(clauses), self.finder.docs(clauses, "stems_title")
        for (_, units, _), in_text, in_title in zip(forms, found, titled):
            for unit in units:
                unit.docs |= in_text
                unit.title_docs |= in_title

    def excluded(self) -> int:
        """Items left out by negated words and phrases and by excluded filter values."""
        bits = 0
        negative = list(self.parsed.negative)
        for docs in self.finder.docs(negative) if negative else []:
            bits |= docs
        for name, values in self.parsed.exclude.items():
            bits |= any_of(self.sets, name, values, self.with_people)
        return bits

    # -- the page of hits ----------------------------------------------------------------------------
    def hits(self, plan: Plan, groups: tuple[int, int]) -> tuple[Hit, ...]:
        """The requested page: the matches, then the partial matches, each ranked."""
        request = self.request
        relevance = request.sort == "relevance" and bool(plan.units)
        chosen: list[tuple[int, float, bool]] = []
        for group, partial, first, last in page_slices(request, groups):
            if relevance:
                pairs = self.ranked(plan, group, last)[first:last]
            else:
                pairs = [(d, 0.0) for d in self.sets.page_by_date(group, first, last - first,
                                                                   oldest=request.sort == "oldest")]
            chosen += [(docnum, score, partial) for docnum, score in pairs]
        items = self.items([self.sets.ids[docnum] for docnum, _, _ in chosen])
        places = match_places(plan)
        prefixes = {c.text for c in self.parsed.positive if c.kind == "prefix"}
        hits = []
        stems_in: dict[str, set[str]] = {}  # the query's words as each language's items hold them
        for docnum, score, partial in chosen:
            item = shown_to(items[self.sets.ids[docnum]], self.viewer)
            lang = analysis_language(item.lang)
            if lang not in stems_in:
                stems_in[lang] = set(analysed(self.text, lang))
            stems = stems_in[lang]
            text = snippet(item.text, item.lang, stems, prefixes, chars=SNIPPET_CHARS)
            matched = tuple(place for place, bits in places.items() if bits >> docnum & 1)
            light = dataclasses.replace(item, body="", html="", text="")
            hits.append(Hit(item=light, score=score, snippet=text, matched_in=matched, partial=partial))
        return tuple(hits)

    def items(self, item_ids: list[str]) -> dict[str, Any]:
        """The hits' items as cards; whole items from a collection written before cards were."""
        found = {doc["id"]: card for doc in self.documents(item_ids, "id,card") if (card := card_of(doc))}
        older = [i for i in item_ids if i not in found]
        if older:
            found.update((doc["id"], item_of(doc)) for doc in self.documents(older, "id,item"))
        return found

    def documents(self, item_ids: list[str], fields: str) -> list[dict[str, Any]]:
        return texts_by_id(self.finder, self.snap.collection, item_ids, fields)
