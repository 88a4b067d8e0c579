import datetime as dt
import json

import pytest

from kb.item import Item, id_from_path
from kb.metadata import build_item, clean_list, clean_text, json_safe, parse_date


@pytest.mark.parametrize("value, expected", [
    (dt.date(2020, 6, 18), dt.date(2020, 6, 18)),
    (dt.datetime(2020, 6, 18, 9, 30), dt.date(2020, 6, 18)),
    ("2020-06-18", dt.date(2020, 6, 18)),
    ("2017-10-11 14:00:00 -0500", dt.date(2017, 10, 11)),
    ("2015-06-29 1:00:19 -0400", dt.date(2015, 6, 29)),
    ("2020-06-18T09:00:00Z", dt.date(2020, 6, 18)),
    ("2020-06-18T09:00:00+02:00", dt.date(2020, 6, 18)),
    ("18 June 2020", dt.date(2020, 6, 18)),
    ("June 18, 2020", dt.date(2020, 6, 18)),
    ("2020/06/18", dt.date(2020, 6, 18)),
    ("2020-06", dt.date(2020, 6, 1)),
    (2020, dt.date(2020, 1, 1)),
    ("next tuesday", None),
    ("2020-13-45", None),
    (None, None),
    ("", None),
    ([2020], None),
])
def test_parse_date_reads_real_formats(value, expected):
    assert parse_date(value) == expected


def test_clean_list_accepts_strings_nulls_numbers_and_duplicates():
    assert clean_list(["design", None, "design", 42, " ux "]) == ("design", "42", "ux")
    assert clean_list("a, b,,c") == ("a", "b", "c")
    assert clean_list(None) == ()
    assert clean_list({"nested": 1}) == ()
    assert clean_list(["GH", "ke"], upper=True) == ("GH", "KE")


def test_clean_text_handles_non_strings():
    assert clean_text(124062) == "124062"
    assert clean_text(None) == ""
    assert clean_text(True) == "true"
    assert clean_text({"a": 1}) == ""
    assert clean_text("  padded ") == "padded"


def test_json_safe_converts_nested_yaml_values():
    value = {"venue": {"opens": dt.date(2020, 1, 2)}, 3: [dt.datetime(2020, 1, 2, 3, 4)]}
    assert json_safe(value) == {"venue": {"opens": "2020-01-02"}, "3": ["2020-01-02T03:04:00"]}


def test_build_item_uses_front_matter_and_keeps_extra_keys():
    meta = {"title": "T", "type": "Session-Note", "date": "2020-06-18", "topics": ["A", "b"],
            "countries": ["gh"], "lang": "fr-FR", "featured_image": {"uid": "x"}, "id": "custom-id"}
    item, warnings = build_item(meta, relative_path="notes/t.md", body="b", html="<p>b</p>", text="b")
    assert warnings == []
    assert item.id == "custom-id"
    assert item.type == "session-note"
    assert item.topics == ("a", "b")
    assert item.countries == ("GH",)
    assert item.lang == "fr"
    assert item.extra == {"featured_image": {"uid": "x"}}
    assert item.path == "notes/t.md"


def test_build_item_falls_back_for_missing_title_and_bad_date():
    item, warnings = build_item({"date": "soon"}, relative_path="news/2020/my-post.md",
                                body="Intro\n\n## Real heading\n", html="", text="Intro words")
    assert item.title == "Real heading"
    assert item.date is None
    assert warnings == ["date 'soon' is not a date; ignored"]
    assert item.id == "news/2020/my-post"
    assert item.summary == "Intro words"


def test_build_item_title_from_other_name_keys_or_file_name():
    item, _ = build_item({"display_name": "Ama Owusu"}, relative_path="authors/ama/_index.md", body="", html="", text="")
    assert item.title == "Ama Owusu"
    item, _ = build_item({}, relative_path="authors/ama-owusu/_index.md", body="", html="", text="")
    assert item.title == "Ama owusu"


def test_build_item_rejects_unsafe_ids():
    item, warnings = build_item({"id": "../../etc/passwd"}, relative_path="a/b.md", body="", html="", text="")
    assert item.id == "a/b"
    assert "using the file path instead" in warnings[0]


def test_item_round_trips_through_dict():
    item = Item(id="x", title="X", date=dt.date(2020, 1, 2), topics=("a",), extra={"k": [1]})
    again = Item.from_dict(item.to_dict())
    assert again == item and again.extra == {"k": [1]}


def test_id_from_path():
    assert id_from_path("news/2015/06/post.md") == "news/2015/06/post"
    assert id_from_path("a.b/c") == "a.b/c"


@pytest.mark.slow
def test_character_references_in_titles_and_summaries_are_decoded(runner, content_copy, tmp_path):
    """Hugo sites write titles for HTML (203 Digital.gov titles have `&#8217;` or `&amp;`): a member
    sees and searches the characters, and a bare `R&D` stays as written."""
    from indexer.cli import cli

    (content_copy / "documents" / "entities.md").write_text(
        '---\ntitle: "What It&#8217;s Like to Work with R&D &amp; Delivery"\n'
        'summary: "Caf&eacute; notes"\n---\nBody.\n', encoding="utf-8")
    where = ["--content", str(content_copy), "--index", str(tmp_path / "ix")]
    assert runner.invoke(cli, [*where, "reindex", "-q"]).exit_code == 0
    found = json.loads(runner.invoke(cli, [*where, "search", "in:title delivery", "--json"]).stdout)
    hit = next(h for h in found["hits"] if h["id"] == "documents/entities")
    assert hit["title"] == "What It’s Like to Work with R&D & Delivery"
    assert json.loads(runner.invoke(cli, [*where, "search", "café", "--json"]).stdout)["total"] == 1
