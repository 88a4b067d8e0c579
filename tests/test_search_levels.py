"""Each search behaviour gives the same answer through the CLI, the JSON API and the web page."""

import html
import json
import re

import pytest

from indexer.cli import cli

CASES = [
    # (query, what must hold of the JSON result)
    ('"budget flexibility" -ghana', lambda d: d["total"] > 0 and all("ghana" not in h["snippet"].lower() for h in d["hits"])),
    ("topic:public-financial-management type:document", lambda d: {h["type"] for h in d["hits"]} == {"document"}),
    ("capitation after:2020-09 before:2020-11", lambda d: all("2020-09" <= h["date"] < "2020-11" for h in d["hits"])),
    ("capitation after:1y", lambda d: d["total"] == 0 or all(h["date"] for h in d["hits"])),
    ("in:title roundtable", lambda d: all("roundtable" in h["title"].lower() for h in d["hits"])),
    ("colour:blue budget", lambda d: "colour: is not a search operator; searched for the words instead." in d["messages"]),
    ("budget topic:nonsense", lambda d: any("topic:nonsense is not a topic" in m for m in d["messages"])),
    ("budget before:2020-13-45", lambda d: any("before:2020-13-45 is not a date" in m for m in d["messages"])),
    ('"budget flexibility', lambda d: "A quote is not closed; the unmatched quote was ignored." in d["messages"]),
    ("CSU", lambda d: d["hits"] and "topic" in d["hits"][0]["matched_in"]),
    ("FINANCEMENT direct", lambda d: "<mark" in d["hits"][0]["snippet"] and "financ</mark>" not in d["hits"][0]["snippet"].lower()),
    ("capitaton", lambda d: d["suggestion"] == "capitation" and d["total"] > 0),
    ("procurement type:persona lang:fr", lambda d: d["total"] == 0 and d["nearest_topics"] == ["emergency-procurement"]),
    # disjunctive facets: the selected topic's own count is the total; its siblings stay countable
    ("topic:budget-flexibility", lambda d: d["facets"]["topic"]["budget-flexibility"] == d["total"]
     and d["facets"]["topic"]["budget-execution"] > 0),
]


def cli_json(runner, index, query):
    result = runner.invoke(cli, ["--index", str(index), "search", query, "--json", "--as", "anonymous"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("query, check", CASES, ids=[c[0] for c in CASES])
def test_same_answer_at_every_level(runner, client, sample_index, query, check):
    from_cli = cli_json(runner, sample_index[1], query)
    from_api = client.get("/search.json", query_string={"q": query}).get_json()
    page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
    assert check(from_api), from_api
    for key in ("total", "messages", "suggestion", "relaxations", "nearest_topics", "facets"):
        assert from_cli[key] == from_api[key], key
    assert [h["id"] for h in from_cli["hits"]] == [h["id"] for h in from_api["hits"]]
    # the page shows the same total, the same first hits, and every message
    assert re.search(rf"<strong>{from_api['total']}</strong> result", page)
    for hit in from_api["hits"][:3]:
        assert f'href="{hit["url"]}"' in page
    for message in from_api["messages"]:
        assert html.escape(message, quote=False) in page or message in html.unescape(page)
