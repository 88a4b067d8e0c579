"""Whoosh's pool of postings writes its sorted runs a chunk at a time (indexer.postingruns): the
same postings come back, in order, and an index built with it answers as before."""

from __future__ import annotations

import pickle
import random

from whoosh import writing
from whoosh.filedb.filestore import FileStorage

from indexer import postingruns
from indexer.postingruns import CHUNK, ChunkedPostingPool


def posting(rng: random.Random) -> tuple:
    return (rng.choice(["text_en", "title_en"]), rng.choice([b"budget", b"health", b"flexibl", b"aid"]),
            rng.randrange(100_000), float(rng.randrange(1, 5)), bytes(rng.randrange(3)))


def test_writers_pools_are_chunked():
    assert writing.PostingPool is ChunkedPostingPool


def test_runs_hold_lists_of_postings_and_give_back_every_posting_in_order(tmp_path):
    rng = random.Random(7)
    postings = [posting(rng) for _ in range(3 * CHUNK + 17)]
    store = FileStorage(str(tmp_path)).create()
    pool = ChunkedPostingPool(store, segment=None, limitmb=0.1)  # a run about every 700 postings
    written = []
    real = pool._write_run

    def kept(f, items):
        items = list(items)
        written.append(len(items))
        real(f, items)
    pool._write_run = kept
    for p in postings:
        pool.add(p)
    # a run file is a few pickled lists, not one pickle a posting
    run = pool.runs[0]
    with store.open_file(run).raw_file() as f:
        records = []
        while True:
            try:
                records.append(pickle.load(f))
            except EOFError:
                break
    assert sum(map(len, records)) == written[0] > 500 and len(records) == -(-written[0] // CHUNK)
    assert list(pool.items(maxfiles=2)) == sorted(postings)  # 2: runs are merged into runs first
    assert store.list() == []  # every run removed once read


def test_an_index_built_through_the_pool_finds_what_it_holds(tmp_path, monkeypatch):
    from whoosh import fields, index

    monkeypatch.setattr(postingruns, "CHUNK", 3)
    ix = index.create_in(str(tmp_path), fields.Schema(id=fields.ID(stored=True), body=fields.TEXT()))
    writer = ix.writer(limitmb=0.01)  # runs of a few postings
    words = ["budget", "health", "aid", "flexibility", "gender", "finance"]
    rng = random.Random(3)
    texts = {str(n): " ".join(rng.sample(words, 3)) for n in range(300)}
    for key, text in texts.items():
        writer.add_document(id=key, body=text)
    assert len(writer.pool.runs) > 10
    writer.commit()
    with ix.searcher() as searcher:
        for word in words:
            found = {searcher.stored_fields(d)["id"] for d in searcher.document_numbers(body=word)}
            assert found == {k for k, t in texts.items() if word in t.split()}


def test_a_commit_reads_each_fields_lengths_in_one_piece_and_gets_whooshs_lengths(tmp_path):
    from whoosh import fields, index
    from whoosh.codec.whoosh3 import W3PerDocReader

    from indexer.postingblocks import BlockCodec, LengthsReader

    ix = index.create_in(str(tmp_path), fields.Schema(id=fields.ID(stored=True), body=fields.TEXT(),
                                                      other=fields.TEXT()))
    writer = ix.writer(codec=BlockCodec())
    rng = random.Random(5)
    for n in range(400):
        # lengths of 0 to 3,000 words: Whoosh keeps them in one byte each, rounded above 100 or so
        writer.add_document(id=str(n), body=" ".join(["word"] * rng.choice([0, 1, 7, 130, 3000])),
                            **({"other": "x y"} if n % 3 == 0 else {}))
    writer.commit()
    segment = ix._segments()[0]
    ours, whooshs = LengthsReader(ix.storage, segment), W3PerDocReader(ix.storage, segment)
    for field in ("body", "other", "id", "missing"):
        quick, plain = ours.doc_field_length_reader(field), whooshs.doc_field_length_reader(field)
        assert [quick(d) for d in range(402)] == [plain(d) for d in range(402)], field
    assert isinstance(BlockCodec().per_document_reader(ix.storage, segment), LengthsReader)
