"""The Stack Exchange importer on the real beer.stackexchange dump, read in place."""

import json

import pytest

from indexer.reindex import reindex
from indexer.cli import cli
from indexer.searching import search
from indexer.store import IndexStore
from kb.search import SearchRequest
from tests.conftest import SHARED_DATA, write

DUMP = SHARED_DATA / "beer-stackexchange"
pytestmark = pytest.mark.skipif(not DUMP.is_dir(), reason="../shared/data/beer-stackexchange is not present")

VOCABULARY = """topics:
  - {id: brewing, label: Brewing, alt_labels: {en: [homebrewing]}}
  - {id: beer-styles, label: Beer styles}
  - {id: beer-history, label: History of beer}
"""
MAPPING = "tags:\n  brewing: [brewing]\n  homebrew: [brewing]\n  style: [beer-styles]\n  ipa: [beer-styles]\n" \
          "  stout: [beer-styles]\n  history: [beer-history]\n"


@pytest.fixture()
def imported(runner, tmp_path):
    content, data = tmp_path / "content", tmp_path / "data"
    write(content / "vocabulary.yml", VOCABULARY)
    mapping = write(tmp_path / "tags.yml", MAPPING)
    args = ["--content", str(content), "--index", str(tmp_path / "ix"), "--data", str(data)]
    result = runner.invoke(cli, [*args, "import", "stackexchange", str(DUMP), "--mapping", str(mapping),
                                 "--community", "beer-lovers", "--json"])
    assert result.exit_code == 0, result.output
    return content, data, args, mapping, json.loads(result.stdout)


@pytest.mark.slow
def test_every_question_becomes_one_thread_and_other_posts_are_skipped(imported):
    content, _, _, _, report = imported
    assert report["written"] == 591 and report["problems"] == []
    assert report["counts"] == {"questions": 591, "answers": 1398, "comments": 1860}
    assert report["skipped"] == {"tag wiki excerpt": 57, "tag wiki": 57, "wiki placeholder": 3}
    assert report["unmapped_tags"]["taste"] == 64  # the most used tag has no topic in the mapping
    assert "brewing" not in report["unmapped_tags"]
    assert len(list((content / "discussions" / "beer").glob("*.md"))) == 591


@pytest.mark.slow
def test_thread_content(imported):
    content, _, _, _, _ = imported
    text = (content / "discussions/beer/2-when-was-the-first-beer-ever-brewed.md").read_text()
    assert text.startswith("---\nid: beer-2\ntitle: When was the first beer ever brewed?\ntype: discussion\n"
                           "date: 2014-01-21\ncommunity: beer-lovers\ntopics: [beer-history]\n")
    assert "### Question — Tom Medley — 2014-01-21" in text
    assert "> [Ancient Mesopotamia](http://en.wikipedia.org/wiki/History_of_beer#History), as a starting point." in text
    first = (content / "discussions/beer/1-what-is-a-citra-hop-and-how-does-it-differ-from-other-hops.md").read_text()
    assert "### Answer (accepted answer ✓) — nhaarman — 2014-01-21" in first
    # answer 432 belongs to a deleted user: the dump keeps only a display name
    [thread_430] = (content / "discussions/beer").glob("430-*.md")
    assert "### Answer — user150 — 2014-01-29" in thread_430.read_text()
    assert "beer-user150" in thread_430.read_text().split("---")[1]


@pytest.mark.slow
def test_import_reindex_search_and_facets(imported):
    content, _, args, _, _ = imported
    index = args[3]
    summary = reindex(content, index)
    assert summary.items == 591 and summary.failed == []
    store = IndexStore(index)
    result = search(store, SearchRequest(q="citra hops"))
    assert result.hits[0].item.id == "beer-1"
    facets = {f.value: f.count for f in search(store, SearchRequest(q="")).facets["topic"]}
    assert facets["beer-styles"] > 10 and facets["brewing"] > 10
    assert store.get_item("beer-2").community == "beer-lovers"
    styles = search(store, SearchRequest(q="stout", filters={"topic": ("beer-styles",)}))
    assert styles.total > 0 and all("beer-styles" in h.item.topics for h in styles.hits)


@pytest.mark.slow
def test_reimport_updates_in_place_and_keeps_local_edits(runner, imported):
    content, data, args, mapping, _ = imported
    edited = content / "discussions/beer/2-when-was-the-first-beer-ever-brewed.md"
    edited.write_text(edited.read_text().replace("topics: [beer-history]", "topics: [beer-history, brewing]"))
    again = runner.invoke(cli, [*args, "import", "stackexchange", str(DUMP), "--mapping", str(mapping),
                                "--community", "beer-lovers", "--json"])
    report = json.loads(again.stdout)
    assert (report["written"], report["updated"], report["unchanged"]) == (0, 0, 590)
    assert report["kept_local_edits"] == ["discussions/beer/2-when-was-the-first-beer-ever-brewed.md"]
    assert "topics: [beer-history, brewing]" in edited.read_text()
    changed = runner.invoke(cli, [*args, "import", "stackexchange", str(DUMP), "--mapping", str(mapping),
                                  "--community", "brewers", "--json"])
    assert json.loads(changed.stdout)["updated"] == 590  # the same files, not new ones
    assert len(list((content / "discussions" / "beer").glob("*.md"))) == 591


@pytest.mark.slow
def test_dry_run_writes_nothing(runner, tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    result = runner.invoke(cli, ["--content", str(content), "--data", str(tmp_path / "d"), "import",
                                 "stackexchange", str(DUMP), "--dry-run"])
    assert result.exit_code == 0 and "would write 591 new" in result.output
    assert "  discussions/beer/1-what-is-a-citra-hop-and-how-does-it-differ-from-other-hops.md" in result.output
    assert list(content.iterdir()) == []


def test_mapping_to_an_unknown_topic_is_refused(runner, tmp_path):
    content = tmp_path / "content"
    write(content / "vocabulary.yml", VOCABULARY)
    mapping = write(tmp_path / "tags.yml", "tags:\n  brewing: [no-such-topic]\n")
    result = runner.invoke(cli, ["--content", str(content), "import", "stackexchange", str(DUMP), "--mapping", str(mapping)])
    assert result.exit_code == 2
    assert "tag 'brewing' maps to 'no-such-topic', which is not in the vocabulary" in result.output
