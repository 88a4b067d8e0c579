"""Postings written as flat arrays (indexer.postingblocks) read back exactly as Whoosh 3 reads its own."""

from __future__ import annotations


import pytest
from whoosh import fields
from whoosh.codec.whoosh3 import CorruptIndexError, W3Codec, W3LeafMatcher
from whoosh.filedb.filestore import RamStorage

from indexer.content import content_files, load_vocabulary, read_one, ReadLimits
from indexer.postingblocks import BlockCodec, BlockMatcher
from indexer.schema import build_schema, item_document, related_kinds
from indexer.store import IndexStore


def postings(reader) -> dict[tuple[str, bytes], list[tuple[int, float, bytes | None]]]:
    """Every posting of every word of every field: (document, weight, value)."""
    found = {}
    for field, text in reader.all_terms():
        matcher = reader.postings(field, text)
        rows = []
        while matcher.is_active():
            rows.append((matcher.id(), matcher.weight(), matcher.value()))
            matcher.next()
        found[field, text] = rows
    return found


def written(schema, documents, codec) -> dict:
    ix = RamStorage().create_index(schema)
    with ix.writer(codec=codec) as writer:
        for document in documents:
            writer.add_document(**document)
    with ix.reader() as reader:
        return postings(reader)


@pytest.mark.slow
def test_every_posting_of_the_sample_community_reads_as_whoosh_3_writes_it(sample, store):
    """The sample's items, written by Whoosh 3's own codec and by kb's, give the same words, documents,
    weights and positions; and kb's index on disk (what `kb reindex` wrote) holds exactly those."""
    vocabulary = load_vocabulary(sample)
    items = [read_one(sample, path, ReadLimits()).item for path in content_files(sample)]
    items = [item for item in items if item is not None]
    kind_of = {item.id: item.kind for item in items if item.is_activity}
    documents = [item_document(item, vocabulary, related_kinds(item, kind_of)) for item in items]
    theirs = written(build_schema(), documents, W3Codec())
    ours = written(build_schema(), documents, BlockCodec())
    assert len(theirs) > 3000 and any(len(rows) > 20 for rows in theirs.values())
    assert ours == theirs

    def by_id(found, ids):
        return {key: sorted((ids[d], w, v) for d, w, v in rows) for key, rows in found.items() if key[0] != "id"}

    with store.generation().index.reader() as reader:
        on_disk = postings(reader)
        assert all(type(leaf.segment().codec()) is BlockCodec for leaf, _ in reader.leaf_readers())
        disk_ids = {docnum: fields_["id"] for docnum, fields_ in reader.iter_docs()}
    assert by_id(on_disk, disk_ids) == by_id(theirs, {n: document["id"] for n, document in enumerate(documents)})


def test_blocks_of_every_kind_read_back_as_written():
    """Many blocks, gaps past one byte, weights of one for all, equal, counts and fractions, and values
    of every length, as Whoosh 3 reads the same documents."""
    schema = fields.Schema(
        body=fields.TEXT(),  # counts and positions
        boosted=fields.TEXT(field_boost=1.5),  # fractional weights
        tags=fields.KEYWORD(),  # no values, weights of 1.0
        fixed=fields.TEXT(phrase=False),  # counts, no positions
    )
    documents = []
    for n in range(700):
        words = ["common"] * (1 + n % 5) + (["rare"] if n in (0, 299, 650) else []) + ["w%d" % (n % 7)] * (n % 3)
        documents.append({"body": " ".join(words), "boosted": " ".join(words[:1 + n % 4]),
                          "tags": f"t{n % 3} all", "fixed": " ".join(words)})
    ours = written(schema, documents, BlockCodec())
    assert ours == written(schema, documents, W3Codec())
    assert len(ours["body", b"common"]) == 700 and len(ours["body", b"rare"]) == 3
    assert {w for _, w, _ in ours["boosted", b"common"]} >= {1.5, 3.0, 4.5}


def test_postings_of_another_codec_are_refused_with_a_clear_error():
    schema = fields.Schema(body=fields.TEXT())
    ix = RamStorage().create_index(schema)
    with ix.writer(codec=W3Codec()) as writer:
        for n in range(3):
            writer.add_document(body="budget flexibility")
    with ix.reader() as reader:
        matcher = reader.postings("body", "budget")
        assert type(matcher) is W3LeafMatcher
        with pytest.raises(CorruptIndexError, match="another codec"):
            BlockMatcher(matcher._postfile, matcher._startoffset, matcher._length, matcher.format)


@pytest.mark.slow
def test_the_index_an_upgrade_finds_serves_the_same_searches_until_its_first_run_rebuilds_it(
        tmp_path, sample, store, monkeypatch):
    """A site upgraded from a kb whose index Whoosh 3's codec wrote (schema 8) serves that index, with
    the same totals, hits and scores as kb's codec gives, until its next run rebuilds it."""
    import json

    from indexer import writing
    from indexer.reindex import reindex
    from kb.search import SearchRequest

    monkeypatch.setattr(writing, "BlockCodec", W3Codec)
    reindex(sample, tmp_path / "ix")
    monkeypatch.undo()
    old = IndexStore(tmp_path / "ix")
    folder = old.folder.current()
    build = json.loads((folder.path / "build.json").read_text())
    (folder.path / "build.json").write_text(json.dumps({**build, "schema": 8}))
    with old.generation().index.reader() as reader:
        assert {type(leaf.segment().codec()) for leaf, _ in reader.leaf_readers()} == {W3Codec}
    queries = ["budget flexibility", '"results-based financing"', "budg*", "flexibilite", "PBF",
               "what have members written about performance based financing in health districts",
               "gender budgeting", "health type:document"]
    for q in queries:
        theirs, ours = old.search(SearchRequest(q=q, page_size=50)), store.search(SearchRequest(q=q, page_size=50))
        assert (theirs.total, theirs.partial_total) == (ours.total, ours.partial_total), q
        assert [(h.item.id, h.partial) for h in theirs.hits] == [(h.item.id, h.partial) for h in ours.hits], q
        assert [h.score for h in theirs.hits] == pytest.approx([h.score for h in ours.hits], rel=1e-9), q
    assert sum(store.search(SearchRequest(q=q)).total > 0 for q in queries) >= 6
    summary = reindex(sample, tmp_path / "ix")
    assert summary.mode == "full" and "built by another version of kb" in " ".join(summary.notes)
    with IndexStore(tmp_path / "ix").generation().index.reader() as reader:
        assert {type(leaf.segment().codec()) for leaf, _ in reader.leaf_readers()} == {BlockCodec}


def test_document_numbers_far_apart_and_every_weight_read_back_from_the_file():
    """Gaps of one, two and four bytes in one word's postings (a rare word in a segment of 100,000
    items), over several blocks, with counts, fractions and positions, read back from the bytes written."""
    import io

    from whoosh.codec.whoosh3 import W3TermInfo
    from whoosh.filedb.structfile import StructFile
    from whoosh.formats import Positions

    fmt = Positions()
    ids = [3, 4, 300, 70_000, 70_001, 400_000] + [400_001 + 2 * n for n in range(300)]
    rows = [(docnum, float(1 + n % 4) if n % 7 else 2.5, fmt.encode(list(range(0, 3 * (1 + n % 5), 3))))
            for n, docnum in enumerate(ids)]
    out = io.BytesIO()
    writer = BlockCodec().postings_writer(StructFile(out))
    writer.start_postings(fmt, W3TermInfo())
    for docnum, weight, value in rows:
        writer.add_posting(docnum, weight, value)
    terminfo = writer.finish_postings()
    matcher = BlockCodec().postings_reader(StructFile(io.BytesIO(out.getvalue())), terminfo, fmt)
    assert type(matcher) is BlockMatcher
    read = []
    while matcher.is_active():
        read.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    assert read == rows
    assert terminfo.doc_frequency() == len(ids) and terminfo.max_id() == ids[-1]
