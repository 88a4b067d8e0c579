"""The content map and the shared-value table, from the CLI and the manager pages."""

import csv
import io
import json

from indexer import searchlog
from indexer.cli import cli
from indexer.mapping import content_map, shared_value
from indexer.searching import search
from kb.search import SearchRequest
from tests.test_access import log_in, manager_app  # noqa: F401 (fixture)


def test_map_cells_count_items_of_a_topic_and_its_narrower_topics(store):
    result = content_map(store, "kind")
    for topic, column in [("public-financial-management", "roundtable"), ("budget-execution", "one-on-one")]:
        expected = search(store, SearchRequest(filters={"topic": (topic,), "kind": (column,)}, role="manager")).total
        assert result.cells[(topic, column)] == expected > 0
    assert result.totals["public-financial-management"] >= result.totals["budget-flexibility"]
    gaps = set(result.gaps)
    assert ("health-taxes", "roundtable") in gaps  # an active topic without a roundtable
    assert not any(topic == "results-based-financing" for topic, _ in gaps)  # no items: not a gap
    years = content_map(store, "year")
    assert [c for c, _ in years.columns] == ["2020"]


def test_map_exports(runner, sample_index):
    _, index = sample_index
    data = json.loads(runner.invoke(cli, ["--index", str(index), "map", "--format", "json"]).output)
    row = next(r for r in data["rows"] if r["topic"] == "budget-flexibility")
    assert row["cells"]["working-group"] == 2 and {"topic": "health-taxes", "column": "roundtable"} in data["gaps"]
    table = list(csv.reader(io.StringIO(runner.invoke(cli, ["--index", str(index), "map", "--by", "type",
                                                            "--format", "csv"]).output)))
    assert table[0][:3] == ["topic", "label", "total"] and "session-note" in table[0]
    html = runner.invoke(cli, ["--index", str(index), "map", "--format", "html"]).output
    assert html.startswith("<!doctype html>") and 'class="n gap"' in html
    text = runner.invoke(cli, ["--index", str(index), "map"]).output
    assert "Budget flexibility" in text and text.rstrip().endswith("gaps (empty cells of topics that have items).")


def test_shared_value_puts_demand_and_priority_first(store, tmp_path):
    data = tmp_path / "data"
    for _ in range(3):
        searchlog.record(data, "health taxes earmarking", {}, 0)
    rows = shared_value(store, data)
    by_topic = {r.topic: r for r in rows}
    taxes = by_topic["health-taxes"]
    assert taxes.searches == 3 and taxes.zero_result_searches == 3
    assert taxes.asked_in_surveys >= 1  # the member needs survey asks for it
    assert "Roundtable" in taxes.missing
    meeting = [r for r in rows if r.meets]
    assert rows[: len(meeting)] == meeting  # where demand and priority meet comes first
    assert all(r.demand == 0 or r.priority in ("", "low") for r in rows[len(meeting):])


def test_shared_value_cli(runner, sample_index, tmp_path):
    _, index = sample_index
    out = runner.invoke(cli, ["--index", str(index), "--data", str(tmp_path), "map", "--shared-value", "--format", "json"])
    rows = json.loads(out.output)
    assert rows[0]["demand_meets_priority"] and {"topic", "priority", "demand", "items", "activities"} <= set(rows[0])
    text = runner.invoke(cli, ["--index", str(index), "--data", str(tmp_path), "map", "--shared-value"]).output
    assert "* member demand and organisational priority meet" in text


def test_map_and_value_pages(manager_app):
    client = manager_app.test_client()
    assert client.get("/manage/map").status_code == 302  # managers only
    log_in(client)
    page = client.get("/manage/map?by=kind").get_data(as_text=True)
    assert 'href="/search?topic=budget-flexibility&amp;kind=working-group">2</a>' in page
    assert "gap" in page
    assert client.get("/manage/map?by=colour").status_code == 400
    value = client.get("/manage/value").get_data(as_text=True)
    assert "<svg" in value and "Strategic purchasing" in value


def test_queue_and_stale_reports(runner, sample_index, manager_app):
    _, index = sample_index
    queue = json.loads(runner.invoke(cli, ["--index", str(index), "report", "queue", "--json"]).output)
    by_path = {r["path"]: r["reasons"] for r in queue}
    assert by_path["discussions/data-dashboards-health-spending.md"] == ["no topics"]
    assert by_path["documents/ghana-covid-19-health-financing-response.md"] == [
        "deprecated topic covid-financing (use covid-19-response)"]
    stale = json.loads(runner.invoke(cli, ["--index", str(index), "report", "stale", "--json"]).output)
    assert {"path": "documents/forum-2020-synthesis-report.md", "reasons": ["review was due 2020-12-31"]}.items() \
        <= next(r for r in stale if r["path"] == "documents/forum-2020-synthesis-report.md").items()
    client = manager_app.test_client()
    log_in(client)
    page = client.get("/manage/queue").get_data(as_text=True)
    assert 'href="/items/discussions/data-dashboards-health-spending#tags"' in page and "no topics" in page
    assert "review was due 2020-12-31" in client.get("/manage/stale").get_data(as_text=True)


def test_csv_exports_never_carry_a_formula(runner, content_copy, tmp_path):
    """A label a manager typed (or an import brought) that starts like a formula stays text in a spreadsheet."""
    from indexer.reindex import reindex

    vocabulary = content_copy / "vocabulary.yml"
    text = vocabulary.read_text(encoding="utf-8")
    text = text.replace("label: Health taxes", 'label: "=HYPERLINK(\\"http://evil.example\\",\\"Health taxes\\")"', 1)
    text = text.replace("label: Budget execution", 'label: "+1-Budget execution"', 1)
    vocabulary.write_text(text, encoding="utf-8")
    index = tmp_path / "ix"
    reindex(content_copy, index)
    for extra in ([], ["--shared-value"]):
        out = runner.invoke(cli, ["--index", str(index), "--data", str(tmp_path / "d"), "map", *extra, "--format", "csv"])
        cells = [cell for row in csv.reader(io.StringIO(out.output)) for cell in row]
        assert "'=HYPERLINK(\"http://evil.example\",\"Health taxes\")" in cells
        assert "'+1-Budget execution" in cells
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
