"""Long questions, prefixes and filtered searches rank what they rank without walking every posting.

The speed is measured at 100,000 items by bench/bench_shapes.py; here, on the sample, the faster
ways give the same answers as the plain ones: scoring only a group's candidates ranks as walking
every word's postings does, a prefix's matches are all reachable and highlighted, and the bitsets
read from each word's own postings equal Whoosh's own matching, deletions included.
"""

import re

import pytest
from whoosh import query as wq

import indexer.ranking as ranking
from indexer.bitsets import bitset, docsets
from indexer.reindex import reindex
from indexer.store import IndexStore
from kb.search import SearchRequest
from tests.conftest import write

QUESTIONS = [
    "how can ministries of health and finance move money quickly during the year when budget rules are rigid",
    "what did members say about paying primary care providers by capitation in Ghana and Kenya",
    "capitation topic:provider-payment",
    "budget flexibility type:document",
    "health financing",
]


NOTE_WORDS = ["budget", "health", "ministry", "finance", "primary", "care", "provider", "payment", "district",
              "capitation", "reform", "rules", "year", "flexibility", "allocation", "spending"]


def write_notes(content) -> str:
    """900 short notes, each with a few of NOTE_WORDS; a long question asking for all of them."""
    words = NOTE_WORDS
    for n in range(900):
        chosen = [words[(n * 7 + k * 3) % len(words)] for k in range(1 + n % 6)]
        write(content / f"note-{n:03}.md", f"---\ntitle: Note {n}\n---\n{' '.join(chosen)} and more on {words[n % 16]}.\n")
    return "how do " + " ".join(words) + " work together"


def counted_spans(monkeypatch) -> list[int]:
    """How many items Whoosh's span matchers look at from now on (one count in a list)."""
    from whoosh.query.spans import SpanNear2

    looked = [0]
    real = SpanNear2.SpanNear2Matcher._get_spans

    def counted(self):
        looked[0] += 1
        return real(self)

    monkeypatch.setattr(SpanNear2.SpanNear2Matcher, "_get_spans", counted)
    return looked


def whoosh_best_of_on_the_item(monkeypatch) -> None:
    """Whoosh's best-of matcher (a topic's labels) scoring the item it stands on: as released, it takes
    the best of its parts' scores wherever each part stands, often on a later item."""
    from whoosh.matching.binary import DisjunctionMaxMatcher

    def best_on_this_item(self):
        a, b = self.a, self.b
        if not b.is_active() or (a.is_active() and a.id() < b.id()):
            return a.score()
        if not a.is_active() or b.id() < a.id():
            return b.score()
        return max(a.score(), b.score())

    monkeypatch.setattr(DisjunctionMaxMatcher, "score", best_on_this_item)


def ranked_ids(store: IndexStore, q: str) -> list[tuple[str, float]]:
    result = store.search(SearchRequest(q=q, page_size=60, role="manager"))
    return [(h.item.id, round(h.score, 6)) for h in result.hits]


@pytest.mark.slow
def test_scoring_only_the_candidates_ranks_as_walking_every_posting(store, monkeypatch):
    scored = {q: ranked_ids(IndexStore(store.path), q) for q in QUESTIONS}
    monkeypatch.setattr(ranking, "candidates", lambda query, bits: query)  # Whoosh's walk over every posting
    whoosh_best_of_on_the_item(monkeypatch)
    walked = {q: ranked_ids(IndexStore(store.path), q) for q in QUESTIONS}
    assert all(walked.values())
    assert scored == walked


def test_every_match_of_a_prefix_is_reachable_and_its_words_are_highlighted(store):
    first = store.search(SearchRequest(q="budg*", page_size=10, role="manager"))
    assert first.total > 10
    every = store.search(SearchRequest(q="budg*", page_size=first.total + first.partial_total, role="manager"))
    assert len({h.item.id for h in every.hits}) == first.total
    marked = [m.lower() for h in first.hits for m in re.findall(r"<mark[^>]*>([^<]+)</mark>", h.snippet)]
    assert marked and all(word.startswith("budg") for word in marked)


def test_a_prefix_beside_a_word_adds_to_the_words_ranking_without_hiding_it(store):
    alone = [h.item.id for h in store.search(SearchRequest(q="capitation", page_size=5, role="manager")).hits]
    both = store.search(SearchRequest(q="capitation budg*", page_size=100, role="manager"))
    assert both.total and set(h.item.id for h in both.hits[:both.total]) <= \
        {h.item.id for h in store.search(SearchRequest(q="capitation", page_size=100, role="manager")).hits}
    assert alone[0] in [h.item.id for h in both.hits]


def words_queries(searcher) -> list[wq.Query]:
    words = ["budget", "health", "capit", "flexibl", "ghana", "fund", "nhia", "provid"]
    terms = [wq.Term("text_en", w) for w in words]
    return [*terms, wq.Or(terms[:3]), wq.And(terms[:2]), wq.Or([wq.And(terms[:2]), wq.And(terms[2:5])]),
            wq.And([wq.Or(terms[:4]), wq.Term("text_en", "ghana")]), wq.Term("text_fr", "budget"),
            wq.Phrase("text_en", ["budget", "flexibl"])]


def test_word_bitsets_equal_whooshs_own_matching_after_deletions(indexed_copy):
    content, index = indexed_copy
    edited = sorted((content / "documents").glob("*.md"))[:3]
    for path in edited:  # rewritten: their old documents are deleted in the first segment
        path.write_text(path.read_text(encoding="utf-8") + "\nBudget and health, again.\n", encoding="utf-8")
    write(content / "documents" / "zz-extra.md",
          "---\nid: zz-extra\ntitle: Capitation for Ghana\ntype: document\n---\nHealth budget funds.\n")
    summary = reindex(content, index)
    assert len(summary.updated) == 3 and summary.added
    with IndexStore(index).searcher() as (searcher, _):
        assert len(searcher.reader().leaf_readers()) > 1 and searcher.reader().has_deletions()
        sets = docsets(searcher)
        for q in words_queries(searcher):
            expected = bitset(searcher.docs_for_query(q), sets.size)
            assert sets.query(q) == expected, q
        assert sets.query(wq.Term("text_en", "budget")).bit_count() > 3


def test_a_long_questions_pool_holds_the_items_whose_matched_words_weigh_most(store):
    """At 100k items the partial matches of a question are tens of thousands: its pages are ranked
    from a pool of those whose matched words weigh most (bench/bench_shapes.py compares its first
    pages with ranking every partial match). Here: the pool is exactly that, and big enough."""
    words = ["district", "health", "teams", "report", "spending", "ministry", "finance", "capitation",
             "payments", "primary", "care", "facilities", "late", "year"]
    with store.searcher() as (searcher, _):
        sets = docsets(searcher)
        weighted = [(sets.query(wq.Term("text_en", w)), ranking.idf(sets.query(wq.Term("text_en", w)).bit_count(),
                                                                     sets.size)) for w in map(stem, words)]
        group = sets.all
        for size in (1, 5, 20, 40):
            pool = ranking.most_matched(group, weighted, size)
            assert pool.bit_count() >= size
            weight = {d: sum(max(1, round(2 * w)) for bits, w in weighted if bits >> d & 1) for d in range(sets.size)
                      if group >> d & 1}
            inside = [weight[d] for d in weight if pool >> d & 1]
            outside = [weight[d] for d in weight if not pool >> d & 1]
            assert not outside or min(inside) > max(outside)  # a threshold on the weight, nothing else
            assert sum(1 for w in inside if w > min(inside)) < size  # the highest threshold that leaves `size`


def stem(word: str) -> str:
    from indexer.schema import text_analyzer

    return next(iter(t.text for t in text_analyzer("en")(word)), word)


def test_words_written_together_lift_an_item_among_the_best(tmp_path, monkeypatch):
    """The neighbouring-words bonus is added to the best BONUS_DEPTH of the first ranking: the item
    that writes "budget flexibility" ranks above the one that writes both words apart."""
    content = tmp_path / "content"
    filler = " ".join(f"word{n}" for n in range(30))
    write(content / "apart.md", f"---\ntitle: Notes one\n---\nFlexibility matters. {filler} The budget.\n")
    write(content / "together.md", f"---\ntitle: Notes two\n---\nBudget flexibility matters. {filler} The end.\n")
    for n in range(6):
        write(content / f"other-{n}.md", f"---\ntitle: Other {n}\n---\nBudget only. {filler}\n")
    reindex(content, tmp_path / "ix")
    store = IndexStore(tmp_path / "ix", cache_size=0)
    order = [h.item.id for h in store.search(SearchRequest(q="budget flexibility")).hits]
    assert order[:2] == ["together", "apart"]
    monkeypatch.setattr(ranking, "BONUS_DEPTH", 0)  # no bonus: the two tie on BM25
    tied = store.search(SearchRequest(q="budget flexibility")).hits
    assert {h.item.id for h in tied[:2]} == {"together", "apart"} and tied[0].score == pytest.approx(tied[1].score)


def test_the_bonus_reads_positions_only_of_the_items_it_scores(tmp_path, monkeypatch):
    """Neighbouring words are looked for in the best items only. With 200 later items holding both words
    apart, Whoosh's phrase matcher read the positions of each of them for every best item where the
    words are not near; the bonus now reads only its own items' positions, and ranks the same."""
    import indexer.matching as matching

    content = tmp_path / "content"
    filler = " ".join(f"word{n}" for n in range(30))
    for n in range(2):
        write(content / f"best-{n}.md", f"---\ntitle: Best {n}\n---\nBudget budget budget. {filler} Flexibility.\n")
    reindex(content, tmp_path / "ix")
    for n in range(200):  # a later run: they come after the best ones in the index
        write(content / f"later-{n:03}.md", f"---\ntitle: Later {n}\n---\nBudget. {filler} Flexibility.\n")
    reindex(content, tmp_path / "ix")
    monkeypatch.setattr(ranking, "BONUS_DEPTH", 2)
    looked = counted_spans(monkeypatch)
    store = IndexStore(tmp_path / "ix", cache_size=0)
    request = SearchRequest(q="budget flexibility", page_size=20)
    ours = [(h.item.id, h.score) for h in store.search(request).hits]
    assert {item_id for item_id, _ in ours[:2]} == {"best-0", "best-1"}
    assert looked[0] == 0, looked[0]  # positions are read from the blocks (indexer.termscores)
    monkeypatch.setattr(matching, "NearBonus", wq.Phrase)  # Whoosh's own phrase, as before
    theirs = [(h.item.id, h.score) for h in IndexStore(tmp_path / "ix", cache_size=0).search(request).hits]
    assert ours == theirs


def test_the_bonus_finds_neighbouring_words_from_their_positions_as_whoosh(tmp_path, monkeypatch):
    """The bonus of two words near each other in order (at most PAIR_SLOP apart) is read from the
    candidates' positions, without Whoosh's span matchers, and scores exactly as their phrase matcher:
    the words next to each other, one or two words apart, three apart, in the other order, in the title,
    and after an incremental run has left deleted items in the older segment."""
    import indexer.termscores as termscores

    content = tmp_path / "content"
    for n in range(120):
        gap = " ".join(f"word{k}" for k in range(n % 4))
        body = f"budget {gap} flexibility" if n % 5 else f"flexibility {gap} budget"
        title = "Budget flexibility" if n % 7 == 0 else f"Note {n}"
        write(content / f"note-{n:03}.md", f"---\ntitle: {title}\n---\n{'more ' * (n % 3)}{body} rules.\n")
    reindex(content, tmp_path / "ix")
    for n in range(0, 120, 9):  # a later run: deleted items in the first segment, a second segment
        write(content / f"note-{n:03}.md", f"---\ntitle: Edited {n}\n---\nBudget and flexibility, budget flexibility.\n")
    reindex(content, tmp_path / "ix")
    looked = counted_spans(monkeypatch)
    ours = ranked_ids(IndexStore(tmp_path / "ix", cache_size=0), "budget flexibility")
    assert looked[0] == 0 and len(ours) == 60

    class Never:  # no bonus is read from positions: Whoosh's span matchers score them all
        pass

    monkeypatch.setattr(termscores, "NearBonus", Never)
    theirs = ranked_ids(IndexStore(tmp_path / "ix", cache_size=0), "budget flexibility")
    assert looked[0] > 0
    assert [i for i, _ in ours] == [i for i, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-12)


def test_every_candidate_of_a_word_is_scored_at_once_with_whoosh_scores(tmp_path, monkeypatch):
    """A word's BM25 is computed over all the candidates holding it at once, from the blocks holding
    any (a Python loop per candidate and word was most of a two-word search that matches 20,000 items
    at 100,000): the same pages, scores and partial matches as Whoosh's own matchers give, for common
    and rare words, short queries and a long question."""
    content = tmp_path / "content"
    question = write_notes(content)
    reindex(content, tmp_path / "ix")
    queries = [question, "budget health", "capitation reform", "district", "budget -health"]
    ours = [ranked_ids(IndexStore(tmp_path / "ix", cache_size=0), q) for q in queries]

    class Never:  # no query counts as bounded to candidates: Whoosh's matchers score them all
        pass

    monkeypatch.setattr(ranking, "Candidates", Never)
    theirs = [ranked_ids(IndexStore(tmp_path / "ix", cache_size=0), q) for q in queries]
    assert all(len(page) >= 10 for page in ours)
    assert [[i for i, _ in page] for page in ours] == [[i for i, _ in page] for page in theirs]
    for page, whoosh_page in zip(ours, theirs):
        assert [s for _, s in page] == pytest.approx([s for _, s in whoosh_page], rel=1e-9)


def test_a_topic_named_in_a_search_scores_its_labels_without_span_matchers_as_whoosh(store, monkeypatch):
    """A query naming a topic adds the best of the topic's other labels (synonyms and translations, most
    of them phrases, in every language's field). Each label is scored from its words' positions and the
    best kept per item, without Whoosh's span matchers (0.1-0.2 s per pass for a two-word search at
    100,000 items): the same pages and scores as Whoosh's best-of matcher, once that matcher takes the
    best of the parts on the item scored (it took a part's score wherever that part stood, often on a
    later item, so an item could score as the best label of another)."""
    queries = ["strategic purchasing", "provider payment reform", "health financing", "PBF", "purchasing"]
    looked = counted_spans(monkeypatch)
    ours = [ranked_ids(IndexStore(store.path), q) for q in queries]
    assert looked[0] == 0 and all(len(page) >= 3 for page in ours)

    class Never:  # no query counts as bounded to candidates: Whoosh's matchers score them all
        pass

    monkeypatch.setattr(ranking, "Candidates", Never)
    whoosh_best_of_on_the_item(monkeypatch)
    theirs = [ranked_ids(IndexStore(store.path), q) for q in queries]
    assert looked[0] > 0
    assert [[i for i, _ in page] for page in ours] == [[i for i, _ in page] for page in theirs]
    for page, whoosh_page in zip(ours, theirs):
        assert [s for _, s in page] == pytest.approx([s for _, s in whoosh_page], rel=1e-9)


def test_a_long_question_scores_its_candidates_from_whole_blocks_and_ranks_as_whoosh(tmp_path, monkeypatch):
    """A long question is ranked twice (feedback) over a pool of candidates. Whoosh's matchers stepped
    through each word's postings one by one to reach every candidate, in both passes; its words are now
    read whole, each block decoded once for the search and the words kept for the next, with the same
    ranking and scores."""
    from indexer.postingblocks import BlockMatcher

    from indexer.docsquery import Candidates

    content = tmp_path / "content"
    question = write_notes(content)
    reindex(content, tmp_path / "ix")
    monkeypatch.setattr(ranking, "POOL", 300)  # a pool smaller than the partial matches, as at 100,000 items
    steps, decoded = [0], []
    real_skip, real_read = BlockMatcher.skip_to, BlockMatcher._read_data

    def skip(self, target):
        steps[0] += 1
        return real_skip(self, target)

    def read(self):
        decoded.append((id(self._postfile), self._dataoffset))
        return real_read(self)

    monkeypatch.setattr(BlockMatcher, "skip_to", skip)
    monkeypatch.setattr(BlockMatcher, "_read_data", read)
    request = SearchRequest(q=question, page_size=50, role="manager")
    store = IndexStore(tmp_path / "ix", cache_size=0)
    ours = [(h.item.id, h.score) for h in store.search(request).hits]
    assert len(ours) == 50 and steps[0] == 0
    # each block decoded once in the search: counting the matches reads the words' blocks, ranking reads
    # them again (and feedback ranks the question twice, the partial matches apart from the matches)
    assert decoded and len(decoded) == len(set(decoded))
    decoded.clear()  # the next search, even from a new searcher, finds the blocks decoded by the last
    headers, opened = [0], [0]
    real_goto, real_init = BlockMatcher._goto, BlockMatcher.__init__

    def goto(self, position):
        headers[0] += 1
        return real_goto(self, position)

    def init(self, *args, **kwargs):
        opened[0] += 1
        return real_init(self, *args, **kwargs)

    monkeypatch.setattr(BlockMatcher, "_goto", goto)
    monkeypatch.setattr(BlockMatcher, "__init__", init)
    again = [(h.item.id, h.score) for h in IndexStore(tmp_path / "ix", cache_size=0).search(request).hits]
    assert again == ours and decoded == []
    # and a word kept whole is found with one lookup: no postings opened, no block header read
    assert headers[0] == 0 and opened[0] == 0

    class Never:  # no query counts as bounded to candidates: Whoosh's matchers score them all
        pass

    monkeypatch.setattr(ranking, "Candidates", Never)
    theirs = [(h.item.id, h.score) for h in IndexStore(tmp_path / "ix", cache_size=0).search(request).hits]
    assert steps[0] > 1000
    assert [i for i, _ in ours] == [i for i, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-12)
    assert Candidates is not Never


def test_a_word_is_read_by_its_blocks_for_a_few_candidates_and_whole_for_many(tmp_path, monkeypatch):
    """Ranking a few candidates by a word nothing counted (a long question's feedback words) reads only
    the blocks that hold them; ranking many reads the word whole and keeps it, so the next search finds
    it with one lookup. Both give the word's weights as Whoosh's matcher reads them."""
    import numpy as np
    from indexer.postingblocks import BlockMatcher

    from indexer import blockcache, termscores

    content = tmp_path / "content"
    for n in range(600):  # "budget" in every note, some times more: five blocks of postings
        write(content / f"note-{n:03}.md", f"---\ntitle: Note {n}\n---\nbudget {'budget ' * (n % 4)}and note {n}.\n")
    reindex(content, tmp_path / "ix")
    monkeypatch.setattr(blockcache, "WORDS", blockcache.LRU(blockcache.WORDS_BYTES, weigh=blockcache.WORDS.weigh))
    monkeypatch.setattr(blockcache, "RECENT", blockcache.LRU(1000))
    monkeypatch.setattr(blockcache, "MAPS", blockcache.LRU(1000))
    decoded = []
    real_read = BlockMatcher._read_data

    def read(self):
        decoded.append(self._dataoffset)
        return real_read(self)

    monkeypatch.setattr(BlockMatcher, "_read_data", read)
    with IndexStore(tmp_path / "ix").searcher() as (searcher, _):
        (leaf, offset), = searcher.leaf_searchers()
        field, word = "text_en", b"budget"
        whoosh = {}
        matcher = leaf.reader().postings(field, word)
        while matcher.is_active():
            whoosh[matcher.id()] = matcher.weight()
            matcher.next()
        holders = sorted(whoosh)
        decoded.clear()
        matcher = blockcache.leaf_postings(leaf.reader(), field, word)
        blocks = len(blockcache.block_map(("x", "y"), field, word, matcher)[0])
        assert blocks >= 4  # the word has blocks enough to read some of them only

        def segment(local):
            bits = bitset(local, leaf.doc_count_all())
            return termscores.Segment(leaf, offset, bits, local, float("inf"), docsets(searcher))

        few = segment(holders[:3])  # in the first block
        decoded.clear()
        at, weights = termscores._postings(few, field, word)
        assert len(decoded) == 1 and blockcache.kept(few.name, field, word) is None
        assert [few.local[i] for i in at.tolist()] == holders[:3]
        assert weights.tolist() == [whoosh[d] for d in holders[:3]]

        many = segment(holders[::2])
        decoded.clear()
        at, weights = termscores._postings(many, field, word)
        assert len(decoded) == blocks
        assert blockcache.kept(many.name, field, word) is not None
        assert weights.tolist() == [whoosh[d] for d in holders[::2]]
        decoded.clear()
        termscores._postings(segment(holders[1::2]), field, word)
        assert decoded == []


def test_words_are_kept_within_their_byte_budget():
    """The words kept whole are bounded by the bytes of their arrays, the least recently read forgotten
    first; a word heavier than the whole budget is not kept."""
    from indexer.lru import LRU

    kept = LRU(100, weigh=len)
    kept.put("a", "x" * 60)
    kept.put("b", "y" * 30)
    assert kept.get("a")  # read: "b" is now the least recent
    kept.put("c", "z" * 30)
    assert kept.get("b") is None and kept.get("a") and kept.get("c") and kept.weight == 90
    kept.put("c", "z" * 10)  # kept again: weighed once
    assert kept.weight == 70
    kept.put("d", "w" * 101)
    assert kept.get("d") is None and kept.weight == 70


def test_feedback_reads_only_its_own_words_over_the_candidates_the_first_pass_scored(tmp_path, monkeypatch):
    """A long question's second pass (feedback) adds its words' scores to the first pass's: the
    question's words are scored once per candidate in the search, over the first pool and then over
    the candidates the feedback words bring, with the same ranking and scores as scoring both at once."""
    import indexer.termscores as termscores

    content = tmp_path / "content"
    question = write_notes(content)
    reindex(content, tmp_path / "ix")
    monkeypatch.setattr(ranking, "POOL", 300)  # the feedback words bring candidates of their own
    read: dict[str, list[int]] = {}
    real = termscores.scored

    def scored(searcher, query, chosen, deadline):
        for leaf in query.leaves():
            read.setdefault(repr(leaf), []).append(chosen)
        return real(searcher, query, chosen, deadline)

    monkeypatch.setattr(termscores, "scored", scored)
    request = SearchRequest(q=question, page_size=50, role="manager")
    ours = [(h.item.id, h.score) for h in IndexStore(tmp_path / "ix", cache_size=0).search(request).hits]
    assert len(ours) == 50 and any(len(sets) > 1 for sets in read.values())
    for leaf, sets in read.items():
        assert sum(bits.bit_count() for bits in sets) == bitset_union(sets).bit_count(), leaf

    def both_at_once(searcher, ranking_query, words, first, scored_bits, again, deadline, time_limit, notes):
        query = wq.Or([ranking_query, words])
        query.matcher_type = wq.Or.DEFAULT_MATCHER
        return real(searcher, query, again, deadline)[0]

    monkeypatch.setattr(ranking, "expanded", both_at_once)
    theirs = [(h.item.id, h.score) for h in IndexStore(tmp_path / "ix", cache_size=0).search(request).hits]
    assert [i for i, _ in ours] == [i for i, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-12)


def bitset_union(sets: list[int]) -> int:
    union = 0
    for bits in sets:
        union |= bits
    return union


def test_a_quoted_phrase_is_found_once_and_ranks_as_whoosh(tmp_path, monkeypatch):
    """Counting a quoted phrase finds the items where its words stand together from their positions
    (indexer.phrases), not through Whoosh's span matchers; ranking adds its words' scores there instead
    of walking their positions again (0.2 s for two common words at 100,000 items), with Whoosh's
    ranking and scores."""
    content = tmp_path / "content"
    for n in range(400):
        body = ("budget flexibility " * (1 + n % 3) if n % 2 else "flexibility of the budget ") + "rules " * (n % 5)
        write(content / f"note-{n:03}.md", f"---\ntitle: Note {n}\n---\n{body}\n")
    reindex(content, tmp_path / "ix")
    spans = counted_spans(monkeypatch)
    request = SearchRequest(q='"budget flexibility"', page_size=50, role="manager")
    result = IndexStore(tmp_path / "ix", cache_size=0).search(request)
    ours = [(h.item.id, h.score) for h in result.hits]
    assert result.total == 200 and len(ours) == 50
    assert spans[0] == 0  # before: each item with both words looked at to count, and again to rank

    class Never:  # Whoosh's matchers rank every match
        pass

    monkeypatch.setattr(ranking, "Candidates", Never)
    theirs = [(h.item.id, h.score) for h in IndexStore(tmp_path / "ix", cache_size=0).search(request).hits]
    assert [i for i, _ in ours] == [i for i, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-12)


def test_an_index_with_deleted_items_scores_its_candidates_from_whole_blocks_too(tmp_path, monkeypatch):
    """An incremental run leaves deleted documents in the segments it does not rewrite, and Whoosh wraps
    their postings in a filter that steps one posting at a time: a long question on such an index took
    3-4 s at 100,000 items instead of 0.3 s. Candidates are live items, so ranking reads the postings
    under the filter, block by block, and ranks as before the edit."""
    from whoosh.codec.whoosh3 import W3LeafMatcher

    content = tmp_path / "content"
    question = write_notes(content)
    reindex(content, tmp_path / "ix")
    request = SearchRequest(q=question, page_size=50, role="manager")
    monkeypatch.setattr(ranking, "POOL", 300)
    before = [(h.item.id, h.score) for h in IndexStore(tmp_path / "ix", cache_size=0).search(request).hits]
    write(content / "note-899.md", "---\ntitle: Note 899\n---\nNothing on any of those words any more.\n")
    reindex(content, tmp_path / "ix")
    store = IndexStore(tmp_path / "ix", cache_size=0)
    with store.searcher() as (searcher, _):
        assert searcher.reader().has_deletions()
    steps = [0]
    real_next = W3LeafMatcher.next

    def step(self):
        steps[0] += 1
        return real_next(self)

    monkeypatch.setattr(W3LeafMatcher, "next", step)
    after = [(h.item.id, h.score) for h in store.search(request).hits]
    assert steps[0] < 50  # before: a step per posting of every word, thousands
    assert "note-899" not in [i for i, _ in after]
    assert [i for i, _ in after] == [i for i, _ in before if i != "note-899"][:len(after)]


def test_feedback_reads_an_items_words_as_the_index_analyses_them():
    """Feedback reads the words of a long question's best items without Whoosh's token objects: the same
    words, folded, stopped and stemmed, for every item of the sample in every language it stems."""
    from pathlib import Path

    from indexer.content import load_content
    from indexer.schema import LANGUAGES, index_words, text_analyzer

    items = load_content(Path(__file__).resolve().parents[1] / "content").items
    texts = [f"{item.title}\n{item.text}" for item in items] + [
        "A/B tests, Q&A and R&D: l'été, ÉTÉ, naïve café 3.5 x e.g. U.S. covid-19 ab_cd Straße İstanbul",
        "ΟΔΟΣ ΟΔΟΣ. Σίσυφος ǅemal ﷺ Ǳ ﬁnance Ⅻ ½"]
    assert {item.lang for item in items} >= {"en", "fr"}
    for lang in LANGUAGES:
        analyzer = text_analyzer(lang)
        for text in texts:
            assert index_words(lang, text) == [t.text for t in analyzer(text, mode="index")]


def test_a_phrase_is_found_where_whoosh_finds_it(store):
    """Every run of two to four words of every item of the sample, in its language's text and title
    fields, and phrases that are not there: the items found from the words' positions are Whoosh's."""
    from indexer.phrases import adjacent
    from indexer.schema import title_field, text_field, unpack

    with store.searcher() as (searcher, _):
        sets = docsets(searcher)
        phrases = set()
        for docnum in range(searcher.doc_count_all()):
            item = unpack(searcher.stored_fields(docnum)["data"])
            for field in (text_field(item.lang), title_field(item.lang)):
                words = list(searcher.schema[field].process_text(f"{item.title}\n{item.text}", mode="query"))
                phrases |= {(field, tuple(words[i:i + n])) for n in (2, 3, 4) for i in range(n, len(words) - n, 23)}
        phrases |= {("text_en", ("budget", "budget")), ("text_en", ("flexibl", "budget")), ("text_fr", ("zzz", "budget"))}
        assert len(phrases) > 400
        for field, words in sorted(phrases):
            theirs = bitset(searcher.docs_for_query(wq.Phrase(field, list(words))), sets.size) & sets.all
            assert adjacent(sets, field, list(words)) == theirs, (field, words)


def test_positions_are_decoded_as_whoosh_decodes_them():
    """Phrases and the neighbouring-words bonus read positions without Whoosh's loop per position."""
    import random

    from whoosh.formats import Positions

    from indexer.phrases import _decode

    rng = random.Random(3)
    fmt = Positions()
    for _ in range(500):
        places = sorted(rng.sample(range(200_000), rng.randint(1, 60)))
        value = fmt.encode(places)
        assert _decode(value) == fmt.decode_positions(value) == places
        assert _decode(value + b".") == places


def test_the_bonus_of_a_three_word_query_reads_each_words_positions_once(sample_index, monkeypatch):
    """The neighbouring-words bonus of "a b c" looks at (a, b) and (b, c): the positions of b, read for
    the first pair, serve the second, and the page is the same as when each pair reads its own."""
    import indexer.phrases as phrases

    read = []
    real = phrases._positions

    def positions(leaf, key, local, fmt, known):
        if known is not None:  # the documents whose positions of this word are read now
            read.extend((key, docnum) for docnum in local if docnum not in known.get(key, {}))
        return real(leaf, key, local, fmt, known)

    monkeypatch.setattr(phrases, "_positions", positions)
    request = SearchRequest(q="health budget flexibility", page_size=20, role="manager")
    ours = [(h.item.id, h.score) for h in IndexStore(sample_index[1], cache_size=0).search(request).hits]
    assert len(ours) >= 5 and {key[2] for key, _ in read} >= {b"health", b"budget", b"flexibl"}
    assert len(read) == len(set(read))
    monkeypatch.setattr(phrases, "_positions", lambda leaf, key, local, fmt, known: real(leaf, key, local, fmt, None))
    theirs = [(h.item.id, h.score) for h in IndexStore(sample_index[1], cache_size=0).search(request).hits]
    assert theirs == ours


def test_a_searcher_looks_up_each_words_scorer_once_per_segment(tmp_path, monkeypatch):
    """A long question asks for the scorer of each of its words and fields in every segment, in each
    pass: a searcher keeps them (they hold the whole index's statistics), so the same question again
    looks up none, with the same page."""
    from indexer.schema import Bm25Weighting

    content = tmp_path / "content"
    question = write_notes(content)
    reindex(content, tmp_path / "ix")
    asked = []
    real = Bm25Weighting.scorer

    def scorer(self, searcher, fieldname, text, qf=1):
        asked.append((fieldname, text))
        return real(self, searcher, fieldname, text, qf=qf)

    monkeypatch.setattr(Bm25Weighting, "scorer", scorer)
    store = IndexStore(tmp_path / "ix", cache_size=0)
    request = SearchRequest(q=question, page_size=50, role="manager")
    first = [(h.item.id, h.score) for h in store.search(request).hits]
    assert asked and len(asked) == len(set(asked))
    asked.clear()
    assert [(h.item.id, h.score) for h in store.search(request).hits] == first
    assert asked == []


def test_after_a_commit_a_search_reads_the_new_segments_words_and_phrases_only(indexed_copy, monkeypatch):
    """A web worker's searcher is new after each commit of an incremental run, but the segments it had
    read are not: each segment's documents of a word and of a quoted phrase are kept by segment, so the
    first searches after a commit read the new segment's postings only, and still find what changed
    (an item that lost the phrase, an item that gained it) as Whoosh's own matching does."""
    import indexer.bitsets as bitsets_module
    import indexer.phrases as phrases

    content, index = indexed_copy
    store = IndexStore(index)
    asked = [SearchRequest(q='"budget flexibility"'), SearchRequest(q="virements budget")]
    before = [store.search(request).total for request in asked]
    with store.searcher() as (searcher, _):
        old_segments = {leaf.segment().segment_id() for leaf, _ in searcher.reader().leaf_readers()}

    lost = content / "sessions" / "roundtable-2-virements-notes.md"
    text = lost.read_text(encoding="utf-8")
    assert re.search(r"budget flexibility", text, re.I)
    lost.write_text(re.sub(r"(?i)budget flexibility", "room to move funds", text), encoding="utf-8")
    write(content / "documents" / "zz-gained.md",
          "---\nid: zz-gained\ntitle: A note\ntype: document\n---\nBudget flexibility, and virements.\n")
    reindex(content, index)

    read: list[str] = []  # the segments whose postings are read to count the matches

    def reading(real):
        def read_segment(leaf, *args):
            read.append(leaf.segment().segment_id())
            return real(leaf, *args)
        return read_segment

    real_positions = phrases._positions

    def positions(leaf, key, local, fmt, known):
        if known is None:  # (the ranking's bonus for neighbouring words reads its few candidates' positions)
            read.append(leaf.segment().segment_id())
        return real_positions(leaf, key, local, fmt, known)

    monkeypatch.setattr(bitsets_module, "postings", reading(bitsets_module.postings))
    monkeypatch.setattr(bitsets_module, "leaf_postings", reading(bitsets_module.leaf_postings))
    monkeypatch.setattr(phrases, "_positions", positions)
    after = [store.search(request) for request in asked]
    with store.searcher() as (searcher, _):
        segments = {leaf.segment().segment_id() for leaf, _ in searcher.reader().leaf_readers()}
        kept = segments & old_segments
        assert kept and searcher.reader().has_deletions()  # an old segment serves on, less the edited item
        sets = docsets(searcher)
        for q in (wq.Phrase("text_en", ["budget", "flexibl"]),
                  wq.And([wq.Term("text_en", "virement"), wq.Term("text_en", "budget")])):
            assert sets.query(q) == bitset(searcher.docs_for_query(q), sets.size) & sets.all, q
    assert read and not set(read) & kept
    fresh = IndexStore(index)  # what a process started after the commit finds
    for request, result in zip(asked, after):
        expected = fresh.search(request)
        assert [h.item.id for h in result.hits] == [h.item.id for h in expected.hits]
        assert (result.total, result.partial_total) == (expected.total, expected.partial_total)
    assert "zz-gained" in {h.item.id for h in after[1].hits} and after[1].total == before[1] + 1


def test_a_words_documents_are_read_once_when_the_querys_language_raises_it(sample_index, monkeypatch):
    """An English question raises English fields in its ranking; what matches is the same either way, so
    "did you mean" (which looks for each word unboosted first) and the matching share one bitset a word."""
    from indexer.bitsets import DocSets

    evaluated: list[str] = []
    real = DocSets.query

    def query(self, q):
        if self._queries.get(repr(q)) is None:
            evaluated.append(re.sub(r", boost=[0-9.]+", "", repr(q)))
        return real(self, q)

    monkeypatch.setattr(DocSets, "query", query)
    request = SearchRequest(q="how do the ministries of health move money quickly", page_size=10, role="manager")
    result = IndexStore(sample_index[1], cache_size=0).search(request)
    assert result.total >= 1 and any("'health'" in q for q in evaluated)
    assert len(evaluated) == len(set(evaluated)), sorted(evaluated)
