"""Community health on the sample: each figure recomputed here from the sample's files themselves."""

import datetime as dt
import json
import statistics

import yaml

from indexer.cli import cli
from tests.test_access import log_in, manager_app  # noqa: F401 (fixture)


def front_matter(sample):
    """Every Markdown file's front matter, read with PyYAML alone (not kb's readers)."""
    found = []
    for path in sorted(sample.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        found.append(yaml.safe_load(text.split("---")[1]))
    return found


def quarter(day):
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def test_health_figures_match_the_files(runner, sample, sample_index):
    items = front_matter(sample)
    roles = {p["id"]: p["role"] for p in yaml.safe_load((sample / "people.yml").read_text(encoding="utf-8"))["people"]}
    report = json.loads(runner.invoke(cli, ["--content", str(sample_index[0]), "--index", str(sample_index[1]),
                                            "report", "health", "--json"]).stdout)
    # Participants per quarter: the people on the quarter's activities; new if on no earlier activity.
    by_quarter = {}
    for item in items:
        if item.get("type") == "activity" and item.get("date"):
            by_quarter.setdefault(quarter(item["date"]), set()).update(item.get("people") or [])
    expected, seen = [], set()
    for q in sorted(by_quarter):
        new = by_quarter[q] - seen
        expected.append({"quarter": q, "participants": len(by_quarter[q]), "new": len(new),
                         "returning": len(by_quarter[q]) - len(new)})
        seen |= by_quarter[q]
    assert report["participants_per_quarter"] == expected
    assert expected[1] == {"quarter": "2020-Q2", "participants": 17, "new": 15, "returning": 2}  # the forum's quarter
    # Written by members: the first person listed is a member, among content items that name people.
    content = [i for i in items if i.get("type") not in ("activity", "survey", "persona") and i.get("people")]
    by_members = sum(roles.get(i["people"][0]) == "member" for i in content)
    assert report["written_by_members"] == {"items": by_members, "of": len(content),
                                            "share": round(by_members / len(content), 3)}
    assert (by_members, len(content)) == (12, 36)  # the 8 discussions, and 4 notes and summaries a member is listed first on
    # Languages of content against the survey's 122 English and 41 French answers.
    langs = {row["lang"]: row for row in report["languages"]}
    assert (langs["en"]["items"], langs["fr"]["items"]) == (30, 6)
    assert (langs["en"]["members_share"], langs["fr"]["members_share"]) == (round(122 / 163, 3), round(41 / 163, 3))
    # Days from each activity to its first session notes.
    activities = {i["id"]: i["date"] for i in items if i.get("type") == "activity" and i.get("date")}
    first = {}
    for note in (i for i in items if i.get("type") == "session-note"):
        for activity in note.get("activities") or []:
            if activity in activities and note["date"] >= activities[activity]:
                days = (note["date"] - activities[activity]).days
                first[activity] = min(first.get(activity, days), days)
    assert {a["activity"]: a["days"] for a in report["days_to_notes"]["activities"]} == first
    assert report["days_to_notes"]["median"] == statistics.median(first.values())
    # Items per topic per quarter: budget flexibility in 2020-Q2 (the forum's notes and documents).
    flexibility = [i for i in items if i.get("type") not in ("activity", "survey", "persona")
                   and "budget-flexibility" in (i.get("topics") or []) and isinstance(i.get("date"), dt.date)
                   and quarter(i["date"]) == "2020-Q2"]
    assert report["items_per_topic_per_quarter"]["budget-flexibility"]["2020-Q2"] == len(flexibility)
    table = runner.invoke(cli, ["--content", str(sample_index[0]), "--index", str(sample_index[1]),
                                "report", "health", "--csv"]).stdout
    assert table.startswith("figure,key,value") and "participants,2020-Q2,17" in table


def test_the_health_page_has_charts_with_their_numbers_as_tables(manager_app):  # noqa: F811
    client = manager_app.test_client()
    assert client.get("/manage/health").status_code == 302  # managers only
    log_in(client)
    page = client.get("/manage/health").get_data(as_text=True)
    assert page.count("<svg") == 2 and "<script" not in page
    assert "<td>2020-Q2</td><td>17</td><td>15</td><td>2</td>" in page
    assert "(12 of 36)" in page and "<td>fr</td><td>6</td><td>17%</td><td>25%</td>" in page
