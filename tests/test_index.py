"""Searching a real on-disk index of the sample community."""

import datetime as dt
import threading

import pytest

from indexer.reindex import reindex
from indexer.searching import search
from indexer.store import IndexStore
from kb.errors import IndexLockedError, IndexMissingError, NotFoundError
from kb.item import Item
from kb.search import SearchRequest
from kb.vocabulary import Vocabulary
from tests.conftest import write


def run(store, q="", **kw):
    return search(store, SearchRequest(q=q, **{"role": "manager", **kw}), today=dt.date(2020, 12, 31))


def ids(result):
    return [h.item.id for h in result.hits]


def test_natural_language_question_finds_the_roundtable_notes(backend):
    result = run(backend, "what did the roundtable on strategic purchasing conclude?")
    assert "sessions/roundtable-1-paying-providers-notes" in ids(result)[:5]
    assert result.total > 10  # OR-ed, not AND-ed into nothing


def test_stemming_matches_other_word_forms(backend):
    assert run(backend, "purchasers").total == run(backend, "purchaser").total > 0
    assert "discussions/paying-private-providers-covid-19-testing" in ids(run(backend, "paying provider", page_size=20))


def test_phrase_is_stricter_than_words(backend):
    words = set(ids(run(backend, "spending emergency", page_size=100)))
    phrase = set(ids(run(backend, '"emergency spending"', page_size=100)))
    assert phrase and phrase < words


def test_a_quoted_topic_label_also_finds_the_topics_items(backend):
    tagged = set(ids(run(backend, "topic:budget-flexibility", page_size=100)))
    phrase = set(ids(run(backend, '"budget flexibility"', page_size=100)))
    assert tagged <= phrase


def test_negation_removes_items(backend):
    with_ghana = set(ids(run(backend, "budget", page_size=100)))
    without = set(ids(run(backend, "budget -ghana", page_size=100)))
    assert without and without < with_ghana
    for item_id in without:
        assert "ghana" not in backend.get_item(item_id).text.lower()


def test_filters_and_facet_counts_for_multi_valued_fields(backend):
    result = run(backend, "", filters={"type": ("document",)}, page_size=100)
    docs = [h.item for h in result.hits]
    assert result.total == len(docs) >= 7
    topic_counts = {f.value: f.count for f in result.facets["topic"]}
    # every topic of every document is counted, including broader topics (hierarchy)
    for topic in {t for d in docs for t in d.topics}:
        assert topic_counts[topic] == sum(topic in _ancestors_of(backend, d) for d in docs)
    assert sum(topic_counts.values()) > len(docs)  # items count under several topics


def _ancestors_of(store, item):
    vocabulary = store.generation().vocabulary
    # the item's topics, the replacements of deprecated ones, and all their broader topics
    return set(vocabulary.with_ancestors(vocabulary.resolve(item.topics)))


def test_disjunctive_facets_keep_other_values_countable(backend):
    plain = run(backend, "budget")
    type_counts = {f.value: f.count for f in plain.facets["type"]}
    selected = run(backend, "budget", filters={"type": ("discussion",)})
    assert selected.total == type_counts["discussion"]
    assert {f.value: f.count for f in selected.facets["type"]} == type_counts
    both = run(backend, "budget", filters={"type": ("discussion", "document")})
    assert both.total == type_counts["discussion"] + type_counts["document"]


def test_selected_value_stays_visible_at_zero(backend):
    result = run(backend, "capitation", filters={"country": ("ZZ",)})
    assert result.total == 0
    assert ("ZZ", 0) in [(f.value, f.count) for f in result.facets["country"]]


def test_topic_filter_includes_narrower_topics(backend):
    parent = {h.item.id for h in run(backend, "topic:public-financial-management", page_size=100).hits}
    child = {h.item.id for h in run(backend, "topic:budget-flexibility", page_size=100).hits}
    assert child and child < parent


def test_vocabulary_label_ranks_tagged_items_first(backend):
    result = run(backend, "flexibilité budgétaire", page_size=10)
    top = [backend.get_item(i) for i in ids(result)[:5]]
    assert all("budget-flexibility" in item.topics for item in top)
    assert "topic" in result.hits[0].matched_in


def test_french_stemming_and_accent_folding(backend):
    accented = ids(run(backend, "financement des formations sanitaires", page_size=20))
    plain = ids(run(backend, "FINANCEMENT des formations sanitaires", page_size=20))
    assert accented == plain
    assert "sessions/roundtable-4-financement-direct-notes" in accented[:5]
    assert ids(run(backend, "réaffectation")) == ids(run(backend, "reaffectation"))


def test_date_filters_and_sorting(backend):
    after = run(backend, "after:2020-10-01", sort="oldest", page_size=100)
    dates = [h.item.date for h in after.hits]
    assert dates and all(d >= dt.date(2020, 10, 1) for d in dates)
    assert dates == sorted(dates)
    newest = run(backend, "budget", sort="newest", page_size=20)
    new_dates = [h.item.date for h in newest.hits]
    assert new_dates == sorted(new_dates, reverse=True)
    before = run(backend, "before:2020-04", page_size=100)
    assert all(h.item.date < dt.date(2020, 4, 1) for h in before.hits) and before.total > 0


def test_highlights_show_original_words_and_escape_html(backend):
    result = run(backend, "virements")
    snippet = result.hits[0].snippet
    assert '<mark class="match term' in snippet
    assert "virement" in snippet.lower()
    assert "<script" not in snippet


def test_pagination(backend):
    first = run(backend, "budget", page=1, page_size=5)
    second = run(backend, "budget", page=2, page_size=5)
    assert len(first.hits) == 5 and not set(ids(first)) & set(ids(second))
    assert first.pages == -(-first.total // 5)


def test_prefix_and_title_only(backend):
    assert run(backend, "provid*").total >= run(backend, "provider").total > 0
    title_only = run(backend, "in:title roundtable", page_size=100)
    assert title_only.total > 0
    assert all("roundtable" in h.item.title.lower() for h in title_only.hits)
    assert title_only.total < run(backend, "roundtable", page_size=100).total


def test_lookups(store):
    item = store.get_item("forum-2020-roundtable-1")
    assert item.is_activity and item.kind == "roundtable"
    with pytest.raises(NotFoundError):
        store.get_item("no/such/item")
    members = [i.id for i in store.items_where("activity", "forum-2020-roundtable-1")]
    assert "sessions/roundtable-1-paying-providers-notes" in members


def test_related_items_both_directions_with_reasons(store):
    note = store.get_item("sessions/roundtable-1-paying-providers-notes")
    related = {r.item.id: r for r in store.related_items(note, limit=20)}
    assert "this item belongs to this activity" in related["forum-2020-roundtable-1"].reasons
    roundtable = store.get_item("forum-2020-roundtable-1")
    back = {r.item.id: r for r in store.related_items(roundtable, limit=20)}
    # The activity's page lists its notes as its content: they are not repeated as related.
    assert "sessions/roundtable-1-paying-providers-notes" not in back and back
    assert any(reason.startswith("shares topics") for r in related.values() for reason in r.reasons)
    similar = [reason for r in related.values() for reason in r.reasons if reason.startswith("similar text")]
    assert similar and all(reason.startswith("similar text: ") for reason in similar)  # it says which words


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissingError, match="run 'kb reindex' first"):
        run(IndexStore(tmp_path / "nothing"), "x")


def test_rebuild_switches_generations_and_keeps_one_previous(tmp_path):
    content = tmp_path / "c"
    write(content / "a.md", "---\ntitle: Alpha\n---\nfirst words")
    index = tmp_path / "ix"
    store = IndexStore(index)
    first = reindex(content, index).generation
    # a reader that opened the first generation and is still using it
    old_searcher = store.generation().index.searcher()
    write(content / "b.md", "---\ntitle: Beta\n---\nsecond words")
    second = reindex(content, index, full=True).generation
    third = reindex(content, index, full=True).generation
    assert len({first, second, third}) == 3
    # the first generation is retired, kept a while for readers like this one, then removed
    assert sorted(p.name for p in index.glob("gen-*")) == sorted([first, second, third])
    assert (index / first / "retired").exists()
    assert run(store, "words").total == 2
    # a searcher opened before the switches still answers from its generation
    assert old_searcher.doc_count() == 1
    assert old_searcher.document(id="a")["id"] == "a"
    old_searcher.close()


def test_second_writer_is_refused_naming_the_holder(tmp_path):
    store = IndexStore(tmp_path / "ix")
    held = threading.Event()
    release = threading.Event()

    def hold():
        with store.write_lock():
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(IndexLockedError, match=r"being written by pid \d+ on .+ since "):
            with store.write_lock(wait=0.2):
                pass
    finally:
        release.set()
        thread.join()
    with store.write_lock():
        pass


def test_deprecated_topic_finds_its_items_under_the_replacement(backend):
    # documents/ghana-covid-19-health-financing-response is tagged with the deprecated covid-financing
    found = ids(run(backend, "topic:covid-19-response", page_size=100))
    assert "documents/ghana-covid-19-health-financing-response" in found


def test_named_country_and_type_are_hints_not_filters(backend):
    result = run(backend, "documents from Ghana", page_size=100)
    top = [h.item for h in result.hits[:5]]
    assert all(item.type == "document" or "GH" in item.countries for item in top)
    assert any(h.item.type != "document" for h in result.hits)  # others still found


def test_repeated_searches_come_from_the_cache_until_the_index_changes(tmp_path):
    content = tmp_path / "c"
    write(content / "a.md", "---\ntitle: Alpha\n---\nokapi words")
    index = tmp_path / "ix"
    reindex(content, index)
    store = IndexStore(index, cache_size=8)
    first = run(store, "okapi")
    again = run(store, "okapi")
    assert again.hits == first.hits and again.total == 1
    assert len(store.results._entries) == 1
    write(content / "b.md", "---\ntitle: Beta\n---\nokapi again")
    reindex(content, index)  # a new commit: the cached result no longer applies
    assert run(store, "okapi").total == 2
    uncached = IndexStore(index)  # cache_size 0
    run(uncached, "okapi")
    assert not uncached.results._entries


def test_hits_carry_no_full_text(backend):
    hit = run(backend, "capitation").hits[0]
    assert hit.item.html == "" and hit.item.text == "" and hit.item.title and hit.snippet


def test_prefix_expansion_is_bounded(store, monkeypatch):
    import indexer.matching as matching
    from kb.query import Clause

    monkeypatch.setattr(matching, "MAX_EXPANSION", 2)
    with store.searcher() as (searcher, _):
        q = matching.clause_queries(searcher, Clause("prefix", "bud"), ["text_en"])[1]  # what it matches
        terms = {text for field, text in q.iter_all_terms()}
        assert 0 < len(terms) <= 2 * 2  # at most 2 words for the prefix and 2 for its stem
    assert run(store, "bud*").total > 0


def test_a_search_past_its_time_limit_returns_what_it_found(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import indexer.termscores as termscores

    monkeypatch.setattr(termscores, "time", SimpleNamespace(perf_counter=lambda: float("inf")))  # time is up
    content = tmp_path / "c"
    write(content / "a.md", "---\ntitle: Alpha\n---\nokapi")
    reindex(content, tmp_path / "ix")
    store = IndexStore(tmp_path / "ix", cache_size=4, time_limit=2)
    result = run(store, "okapi")
    assert result.total == 1 and result.hits == ()
    assert "The search took longer than 2 s; the best results found by then are shown." in result.messages
    assert not store.results._entries  # an incomplete answer is not cached


def test_a_cancelled_parallel_build_stops_its_sub_writers(tmp_path):
    """A full build of many items writes in sub-processes; when the build is given up (a cluster that takes no
    writes, a failed check) they must end too, or the job would wait for them at exit."""
    from indexer import writing
    from indexer.indexfolder import IndexFolder

    if writing.WORKERS < 2:
        pytest.skip("one core: builds are not parallel")
    folder = IndexFolder(tmp_path / "ix").new_generation()
    writer = writing.create_generation(folder, writing.PARALLEL_WRITE_FROM)
    items = [Item(id=f"note-{n}", title=f"Budget note {n}", text=f"Ledger {n} of the budget.") for n in range(500)]
    writer.put(items, Vocabulary(), {})  # a few batches: the sub-writers start
    tasks = list(writer.writer.tasks)
    assert tasks and all(task.is_alive() for task in tasks)
    writer.cancel()
    assert not any(task.is_alive() for task in tasks)


def test_the_stored_copy_keeps_what_pages_show_and_not_the_source(store, sample):
    """The item page shows the rendered HTML and snippets read the text; the Markdown source is in the
    content folder, so the index keeps no third copy of it."""
    import json
    import zlib

    generation = store.reader(store.current_name())
    with generation.index.searcher() as searcher:
        stored = [json.loads(zlib.decompress(fields["data"])) for fields in searcher.all_stored_fields()]
    assert len(stored) == 64
    assert all("body" not in data for data in stored)
    notes = next(data for data in stored if data["id"] == "sessions/forum-2020-session-1-notes")
    source = (sample / notes["path"]).read_text(encoding="utf-8")
    assert notes["html"].startswith("<") and notes["text"] and notes["text"].split()[0] in source
    assert store.find_item("sessions/forum-2020-session-1-notes").html == notes["html"]
