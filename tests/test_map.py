"""The content map and the shared-value table, from the CLI and the manager pages."""

import csv
import io
import json

import pytest

from indexer import searchlog
from indexer.cli import cli
from indexer.mapping import content_map, shared_value
from kb.search import SearchRequest
from tests.test_access import log_in, manager_app  # noqa: F401 (fixture)


def test_map_cells_count_items_of_a_topic_and_its_narrower_topics(backend):
    result = content_map(backend, "kind")
    for topic, column in [("public-financial-management", "roundtable"), ("budget-execution", "one-on-one")]:
        expected = backend.search(SearchRequest(filters={"topic": (topic,), "kind": (column,)}, role="manager")).total
        assert result.cells[(topic, column)] == expected > 0
    assert result.totals["public-financial-management"] >= result.totals["budget-flexibility"]
    gaps = set(result.gaps)
    assert ("health-taxes", "roundtable") in gaps  # an active topic without a roundtable
    assert not any(topic == "results-based-financing" for topic, _ in gaps)  # no items: not a gap
    years = content_map(backend, "year")
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


def test_demand_by_source_makes_data_and_dashboards_the_top_gap(backend, tmp_path):
    """Figures computed by hand from the sample's files: the member needs survey (163 respondents)
    gives data and dashboards 31% (51 people) and the Uganda persona needs it (10): 61, with no item or
    activity on the topic; nothing answers it, so it is the first gap, although its priority is low."""
    data = tmp_path / "data"
    for _ in range(3):
        searchlog.record(data, "health taxes earmarking", {}, 0)
    searchlog.record(data, "period poverty schemes", {}, 0)
    rows = shared_value(backend, data)
    by_topic = {r.topic: r for r in rows}
    dashboards = rows[0]
    assert dashboards.topic == "health-financing-data" and dashboards.status == "gap"
    assert (dashboards.need.respondents, len(dashboards.need.personas), dashboards.demand) == (51, 1, 61.0)
    assert dashboards.priority == "low" and dashboards.supply == 0
    assert dashboards.reasons()[0] == "51 of 163 respondents (31%) in Member needs survey 2020: results"
    taxes = by_topic["health-taxes"]  # 39% of 163 = 64 respondents, and 3 searches that found nothing
    assert (taxes.need.respondents, taxes.need.searches, taxes.demand, taxes.searches) == (64, 3, 67.0, 3)
    execution = by_topic["budget-execution"]  # 58%: 95; personas Ruth and Daniel: 20; one open request: 5
    assert (execution.need.respondents, len(execution.need.personas), len(execution.need.requests)) == (95, 2, 1)
    assert execution.demand == 120.0 and execution.status == "shared value"
    assert execution.reasons()[0].endswith("in Member needs survey 2020: results (ministries of finance: 71%)")
    # A need counts for its own topic: public financial management, the parent of budget execution,
    # flexibility and more, was asked for by nobody.
    assert by_topic["public-financial-management"].demand == 0
    gaps = [r for r in rows if r.gap]
    assert rows[: len(gaps)] == gaps
    from indexer.mapping import shared_value_and_unmet

    unmet = {u.label: u.sources for u in shared_value_and_unmet(backend, data)[1]}
    assert unmet["Gender-responsive budgeting for health"] == ["11 respondents in Member needs survey 2020: results"]
    assert unmet["Financing for non-communicable diseases"] == ["9 respondents in Member needs survey 2020: results"]
    assert unmet["period poverty schemes"] == ["searched 1 time with no results"]


def test_shared_value_cli(runner, sample_index, tmp_path):
    _, index = sample_index
    out = runner.invoke(cli, ["--index", str(index), "--data", str(tmp_path), "map", "--shared-value", "--format", "json"])
    rows = json.loads(out.output)
    assert rows[0]["topic"] == "health-financing-data" and rows[0]["status"] == "gap"
    assert rows[0]["demand_parts"] == {"respondents": 51.0, "personas": 10.0, "requests": 0.0,
                                       "searches_with_no_results": 0.0}
    assert "51 of 163 respondents (31%) in Member needs survey 2020: results" in rows[0]["reasons"]
    table = runner.invoke(cli, ["--index", str(index), "--data", str(tmp_path), "map", "--shared-value",
                                "--format", "csv"]).output
    header = table.splitlines()[0].split(",")
    assert {"respondents", "personas", "requests", "searches_with_no_results", "priority"} <= set(header)
    text = runner.invoke(cli, ["--index", str(index), "--data", str(tmp_path), "map", "--shared-value"]).output
    assert text.splitlines()[1].startswith("gap") and "because: 51 of 163 respondents" in text


@pytest.mark.slow
def test_needs_are_checked(runner, content_copy):
    from tests.conftest import write

    write(content_copy / "surveys" / "bad.md", "---\ntitle: Bad survey\nrespondents: 40\nneeds:\n"
          "  - {topic: budget-execution, share: 58}\n  - {topic: no-such-topic, share: 0.2}\n  - {label: Tea}\n"
          "requests:\n  - {topic: budget-execution, asked: Cash, status: pending}\n---\nBody.\n")
    checked = runner.invoke(cli, ["--content", str(content_copy), "check"]).output
    assert "surveys/bad.md: error: needs[0]: share 58 is not between 0 and 1 (0.58 for 58%)" in checked
    assert "surveys/bad.md: error: needs[1]: topic 'no-such-topic' is not in the vocabulary" in checked
    assert "surveys/bad.md: error: needs[2]: a survey's need needs a share or a count" in checked
    assert "surveys/bad.md: error: requests[0]: status 'pending' is not one of open, answered, declined" in checked
    assert "member-needs-survey-2020-results.md: error" not in checked  # the sample's own data is valid


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
    first = value[value.index("<tbody>"):value.index("</tr>", value.index("<tbody>"))]
    assert "Health financing data" in first and "<td>gap</td>" in first and "51 of 163 respondents (31%)" in first
    unmet = value[value.index("Needs no topic covers"):]
    assert "Gender-responsive budgeting for health" in unmet and "11 respondents" in unmet


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


@pytest.mark.slow
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


def test_a_need_for_a_merged_topic_counts_for_its_replacement():
    from indexer.mapping import needs_by_topic
    from kb.item import Item
    from kb.vocabulary import Vocabulary

    vocabulary = Vocabulary.from_dict({"topics": [
        {"id": "drm", "label": "Domestic resources"},
        {"id": "taxes", "label": "Health taxes", "deprecated": True, "replaced_by": "drm"}]})
    survey = Item(id="s", title="Survey", extra={"respondents": 100, "needs": [{"topic": "taxes", "share": 0.4}]})
    persona = Item(id="p", title="Persona", extra={"needs": ["taxes"]})
    demand, _ = needs_by_topic([survey, persona], vocabulary)
    assert set(demand) == {"drm"} and demand["drm"].respondents == 40 and demand["drm"].personas == ["Persona"]


@pytest.mark.slow
def test_the_gap_register_is_kept_in_the_content_folder_and_follows_the_planned_activity(runner, content_copy,
                                                                                          tmp_path):
    import re

    from indexer.accounts import add_user
    from indexer.reindex import reindex
    from tests.conftest import write
    from tests.test_access import PASSWORD, token
    from webui import create_app

    index, data = tmp_path / "ix", tmp_path / "data"
    reindex(content_copy, index)
    add_user(data, "ama", PASSWORD)
    app = create_app({"TESTING": True, "KB_CONTENT": str(content_copy), "KB_INDEX": str(index), "KB_DATA": str(data)})
    client = app.test_client()
    log_in(client)
    page = client.get("/manage/value").get_data(as_text=True)
    assert 'name="topic" value="health-financing-data"' in page  # the gap can be decided
    write(content_copy / "activities" / "webinar-2021-dashboards.md", "---\nid: webinar-2021-dashboards\n"
          "title: \"Webinar: Spending dashboards\"\ntype: activity\nkind: webinar\ndate: 2021-02-10\n"
          "topics: [health-financing-data]\n---\nPlanned.\n")
    reindex(content_copy, index)
    done = client.post("/manage/gaps", data={"csrf_token": token(client, "/manage/value"), "topic": "health-financing-data",
                                             "status": "planned", "activity": "webinar-2021-dashboards",
                                             "note": "Two ministries show their dashboards"})
    assert done.status_code == 302
    register = (content_copy / "gaps.yml").read_text(encoding="utf-8")
    assert "topic: health-financing-data" in register and "status: planned" in register
    where = ["--content", str(content_copy), "--index", str(index), "--data", str(data)]
    rows = json.loads(runner.invoke(cli, [*where, "map", "--shared-value", "--format", "json"]).output)
    dashboards = next(r for r in rows if r["topic"] == "health-financing-data")
    assert dashboards["register"]["status"] == "planned" and dashboards["register"]["activity"] == "webinar-2021-dashboards"
    table = runner.invoke(cli, [*where, "map", "--shared-value", "--format", "csv"]).output
    assert "planned,webinar-2021-dashboards,Two ministries show their dashboards" in table
    # The webinar's notes are published: the planned gap is covered.
    write(content_copy / "webinars" / "webinar-2021-dashboards-notes.md", "---\ntitle: Dashboards webinar notes\n"
          "type: session-note\ndate: 2021-02-11\nactivities: [webinar-2021-dashboards]\n---\nNotes.\n")
    reindex(content_copy, index)
    rows = json.loads(runner.invoke(cli, [*where, "map", "--shared-value", "--format", "json"]).output)
    assert next(r for r in rows if r["topic"] == "health-financing-data")["register"]["status"] == "covered"
    page = client.get("/manage/value").get_data(as_text=True)
    assert re.search(r"covered: <a href=\"/activities/webinar-2021-dashboards\">", page)
    refused = client.post("/manage/gaps", data={"csrf_token": token(client, "/manage/value"),
                                                "topic": "health-financing-data", "status": "planned"})
    assert refused.status_code == 400 and "names the activity" in refused.get_data(as_text=True)


@pytest.mark.slow
def test_a_need_no_topic_covers_becomes_a_topic_or_an_alternative_label(content_copy, tmp_path):
    import re

    from indexer.accounts import add_user
    from indexer.reindex import reindex
    from tests.test_access import PASSWORD, token
    from webui import create_app

    index, data = tmp_path / "ix", tmp_path / "data"
    reindex(content_copy, index)
    add_user(data, "ama", PASSWORD)
    client = create_app({"TESTING": True, "KB_CONTENT": str(content_copy), "KB_INDEX": str(index),
                         "KB_DATA": str(data)}).test_client()
    log_in(client)
    value = client.get("/manage/value").get_data(as_text=True)
    link = re.search(r'href="(/manage/topics\?operation=add&amp;label=Gender-responsive[^"]+)"', value)[1]
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="Gender-responsive budgeting for health"' in form and 'value="gender-responsive-budgeting-for-health"' in form
    fields = {"csrf_token": token(client, "/manage/topics"), "operation": "add",
              "label": "Gender-responsive budgeting", "target": "gender-responsive-budgeting",
              "source": "public-financial-management"}
    preview = client.post("/manage/topics/preview", data=fields).get_data(as_text=True)
    assert "topic gender-responsive-budgeting (“Gender-responsive budgeting”) is added under public-financial-management" in preview
    assert "gender-responsive-budgeting" not in (content_copy / "vocabulary.yml").read_text(encoding="utf-8")
    done = client.post("/manage/topics/apply", data=fields)
    assert done.status_code == 200
    assert "id: gender-responsive-budgeting" in (content_copy / "vocabulary.yml").read_text(encoding="utf-8")
    assert client.get("/topics/gender-responsive-budgeting").status_code == 200
    # The other way: the words become an alternative label of an existing topic, and search knows them.
    alias = {"csrf_token": token(client, "/manage/topics"), "operation": "alias",
             "label": "allotment monitor", "source": "health-financing-data"}
    assert "becomes an alternative label of topic health-financing-data" in \
        client.post("/manage/topics/preview", data=alias).get_data(as_text=True)
    before = client.get("/search.json?q=allotment+monitor").get_json()
    assert not [h for h in before["hits"] if "topic" in h["matched_in"]]
    client.post("/manage/topics/apply", data=alias)
    found = client.get("/search.json?q=allotment+monitor").get_json()
    tagged = [h for h in found["hits"] if "topic" in h["matched_in"] and "health-financing-data" in h["topics"]]
    assert tagged and all(h["match"] == "full" for h in tagged)
    assert "allotment monitor" in (content_copy / "vocabulary.yml").read_text(encoding="utf-8")


def test_a_bad_share_counts_for_nothing():
    from indexer.mapping import needs_by_topic
    from kb.item import Item
    from kb.vocabulary import Vocabulary

    vocabulary = Vocabulary.from_dict({"topics": [{"id": "a", "label": "A"}]})
    survey = Item(id="s", title="Survey", extra={"respondents": 20, "needs": [{"topic": "a", "share": 45},
                                                                             {"topic": "a", "count": -3}]})
    demand, _ = needs_by_topic([survey], vocabulary)
    assert demand["a"].respondents == 0  # not 900 people out of 20
