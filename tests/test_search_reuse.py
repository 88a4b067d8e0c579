"""What one search reads that the next may use again: a segment's lack of a word, an item's feedback words.

Both are kept under names that change with what they describe (a segment's id, a hash of an item's
stored bytes), so the next search reads less and finds the same, and a change is read afresh.
"""

from whoosh import query as wq
from whoosh.reading import SegmentReader

from indexer import bitsets, feedback
from indexer.bitsets import DocSets, bitset
from indexer.lru import LRU
from indexer.reindex import reindex
from indexer.store import IndexStore
from kb.search import SearchRequest
from tests.conftest import write

LONG_QUESTION = ("how do ministries move budget money between health programmes in poor districts each year "
                 "when the rules on spending and allocation are rigid")


def test_a_word_a_segment_lacks_is_looked_up_in_its_tables_once(tmp_path, monkeypatch):
    """A segment that an incremental run added lacks most words of most searches: after the first
    search, the next ones do not look for the word in that segment's tables again. What is found
    equals Whoosh's own matching, and a later segment that has the word is read."""
    monkeypatch.setattr(bitsets, "ABSENT", LRU(1000))
    monkeypatch.setattr(bitsets, "SEGMENT_TERMS", LRU(8_000_000, weigh=bitsets.kept_bytes))
    content = tmp_path / "content"
    for n in range(30):
        write(content / f"note-{n:02}.md", f"---\ntitle: Note {n}\n---\nbudget rules and note {n}.\n")
    reindex(content, tmp_path / "ix")
    write(content / "late.md", "---\ntitle: Late\n---\nA late note on capitation.\n")
    reindex(content, tmp_path / "ix")
    lookups = recorded(monkeypatch, SegmentReader, "__contains__", lambda reader, key: key)
    store = IndexStore(tmp_path / "ix")
    with store.searcher() as (searcher, _):
        assert len(searcher.reader().leaf_readers()) == 2
        first = DocSets(searcher).term("text_en", "budget")
        assert len(lookups) == 2  # one in each segment: the late one lacks the word
        lookups.clear()
        again = DocSets(searcher).term("text_en", "budget")  # a new searcher's sets, as the next search
        assert lookups == [] and again == first
        assert first & DocSets(searcher).all == bitset(searcher.docs_for_query(wq.Term("text_en", "budget")),
                                                       searcher.doc_count_all())
        assert first.bit_count() == 30
    write(content / "later.md", "---\ntitle: Later\n---\nThe budget of a later note.\n")
    reindex(content, tmp_path / "ix")
    with store.searcher() as (searcher, _):
        found = DocSets(searcher).term("text_en", "budget") & DocSets(searcher).all
        assert found.bit_count() == 31
    assert store.search(SearchRequest(q="budget", page_size=50)).total == 31


def test_a_long_questions_best_items_give_their_words_once(tmp_path, monkeypatch):
    """Feedback reads the words of a long question's best items; the next question answered by the
    same items takes their words as kept, and ranks exactly as reading them again. An item whose text
    changes is read again."""
    monkeypatch.setattr(feedback, "ITEMS", LRU(1000))
    content = tmp_path / "content"
    topics = ["budget", "health", "ministry", "spending", "allocation", "rules", "money", "programmes"]
    for n in range(60):
        words = " ".join(topics[(n + k) % len(topics)] for k in range(1 + n % 5))
        write(content / f"note-{n:02}.md", f"---\ntitle: Note {n}\n---\n{words} and a note on item {n}.\n")
    reindex(content, tmp_path / "ix")
    read = recorded(monkeypatch, feedback, "index_words", lambda lang, text: text)
    store = IndexStore(tmp_path / "ix", cache_size=0)
    request = SearchRequest(q=LONG_QUESTION, page_size=20)
    first = [(h.item.id, h.score) for h in store.search(request).hits]
    assert len(read) == feedback.FEEDBACK_DOCS
    read.clear()
    again = [(h.item.id, h.score) for h in store.search(request).hits]
    assert read == [] and again == first
    monkeypatch.setattr(feedback, "ITEMS", LRU(0))  # nothing kept: every item read again
    assert [(h.item.id, h.score) for h in store.search(request).hits] == first
    assert len(read) == feedback.FEEDBACK_DOCS
    best = first[0][0]
    monkeypatch.setattr(feedback, "ITEMS", LRU(1000))
    store.search(request)
    read.clear()
    path = content / f"{best}.md"
    path.write_text(path.read_text() + "\nMore on budget rules and allocation.\n")
    reindex(content, tmp_path / "ix")
    store.search(request)
    # the changed item is read again; of the others, only one that was not among the best before
    assert any("More on budget rules" in text for text in read) and len(read) < feedback.FEEDBACK_DOCS


def recorded(monkeypatch, owner, name: str, what) -> list:
    """The calls of `owner.name` from now on, each as `what` of its arguments."""
    calls = []
    real = getattr(owner, name)

    def recording(*args):
        calls.append(what(*args))
        return real(*args)

    monkeypatch.setattr(owner, name, recording)
    return calls


def test_a_segment_is_named_by_its_folder_from_where_the_process_stands(tmp_path, monkeypatch):
    """A relative index folder names its segments from the working directory of the moment, so the
    same relative name in two places never names one segment; an absolute one names it the same."""
    from indexer.blockcache import segment_name

    content = tmp_path / "content"
    write(content / "note.md", "---\ntitle: Note\n---\nbudget rules.\n")
    for place in ("a", "b"):
        reindex(content, tmp_path / place / "ix")
    for place in ("a", "b"):
        monkeypatch.chdir(tmp_path / place)
        store = IndexStore("ix")
        with store.searcher() as (searcher, _):
            (leaf, _), = searcher.reader().leaf_readers()
            relative = str(store.generation().folder.path)
            absolute = str(tmp_path / place / relative)
            assert not relative.startswith("/")
            assert segment_name(relative, leaf)[0] == segment_name(absolute, leaf)[0] == absolute
            assert DocSets(searcher).folder == absolute
