"""Discourse, mbox and CSV importers on realistic files the tests write; broken input never crashes."""

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from indexer.reindex import reindex
from indexer.cli import cli
from indexer.imports.common import ImportReport
from indexer.imports.others import read_csv, read_discourse, read_mbox
from indexer.imports.stackexchange import read_dump
from indexer.store import IndexStore
from tests.conftest import write

DISCOURSE = {"topics": [
    {"id": 41, "title": "Capitation in Makueni: how did you set the rate?", "created_at": "2020-09-17T08:00:00Z",
     "tags": ["capitation", "kenya"], "post_stream": {"posts": [
         {"id": 1, "post_number": 1, "username": "gwanjiru", "name": "Grace Wanjiru",
          "created_at": "2020-09-17T08:00:00Z", "cooked": "<p>We pay dispensaries per person enrolled.</p>"},
         {"id": 2, "post_number": 2, "username": "kasante", "created_at": "2020-09-18T10:00:00Z",
          "cooked": "<p>Ghana piloted capitation in Ashanti.</p><script>alert(1)</script>", "accepted_answer": True}]}},
    {"id": 42, "title": "Empty topic", "post_stream": {"posts": []}},
    {"title": "No id"},
]}


def run(runner, tmp_path, *args):
    content, data = tmp_path / "content", tmp_path / "data"
    content.mkdir(exist_ok=True)
    result = runner.invoke(cli, ["--content", str(content), "--data", str(data), "import", *args, "--json"])
    return content, result


def test_discourse_import(runner, tmp_path):
    export = write(tmp_path / "export.json", json.dumps(DISCOURSE))
    write(tmp_path / "content/vocabulary.yml", "topics:\n  - {id: provider-payment, label: Provider payment}\n")
    mapping = write(tmp_path / "tags.yml", "tags:\n  capitation: [provider-payment]\n")
    content, result = run(runner, tmp_path, "discourse", str(export), "--site", "hfr", "--mapping", str(mapping))
    report = json.loads(result.stdout)
    assert result.exit_code == 1  # one topic without an id is a problem, reported
    assert report["written"] == 1 and report["skipped"] == {"topic without posts": 1}
    assert report["unmapped_tags"] == {"kenya": 1}
    assert report["problems"] == ["export.json: topic 3 has no id or title; skipped"]
    text = (content / "discussions/hfr/41-capitation-in-makueni-how-did-you-set-the-rate.md").read_text()
    assert "topics: [provider-payment]" in text and "people: [hfr-gwanjiru, hfr-kasante]" in text
    assert "### Post (accepted answer ✓) — kasante — 2020-09-18" in text
    reindex(content, tmp_path / "ix")
    store = IndexStore(tmp_path / "ix")
    item = store.get_item("hfr-41")
    assert "Ashanti" in item.text and "<script" not in item.html


def mbox_file(path: Path) -> Path:
    box = mailbox.mbox(str(path))
    def message(msgid, subject, sender, date, body, refs=""):
        m = EmailMessage()
        m["Message-ID"], m["Subject"], m["From"], m["Date"] = msgid, subject, sender, date
        if refs:
            m["In-Reply-To"] = m["References"] = refs
        m.set_content(body)
        return m
    # a reply stored before the message it answers, a thread by references, a lone message
    box.add(message("<b@x>", "Re: Virements in Senegal", "Fatou Ndiaye <f@x>", "Wed, 02 Sep 2020 10:00:00 +0000",
                    "> How fast?\nWithin a week.", "<a@x>"))
    box.add(message("<a@x>", "Virements in Senegal", "Mamadou Diallo <m@x>", "Tue, 01 Sep 2020 09:00:00 +0000",
                    "How fast can the DAGE move credits?"))
    box.add(message("<c@x>", "Réunion du groupe de travail", "=?utf-8?q?A=C3=AFcha?= <a@y>",
                    "Thu, 03 Sep 2020 09:00:00 +0000", "Ordre du jour : flexibilité budgétaire."))
    box.flush()
    box.close()
    return path


def test_mbox_import_groups_threads(runner, tmp_path):
    archive = mbox_file(tmp_path / "list.mbox")
    content, result = run(runner, tmp_path, "mbox", str(archive), "--site", "hfr-list")
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["counts"] == {"messages": 3, "threads": 2} and report["written"] == 2
    [senegal] = list((content / "discussions/hfr-list").glob("2020-09-01-*.md"))
    text = senegal.read_text()
    assert text.index("### Mamadou Diallo — 2020-09-01") < text.index("### Fatou Ndiaye — 2020-09-02")
    assert "title: Virements in Senegal" in text
    [french] = list((content / "discussions/hfr-list").glob("2020-09-03-*.md"))
    assert "### Aïcha — 2020-09-03" in french.read_text()
    again = json.loads(run(runner, tmp_path, "mbox", str(archive), "--site", "hfr-list")[1].stdout)
    assert again["unchanged"] == 2 and again["written"] == 0


def test_csv_import_of_activities(runner, tmp_path):
    table = write(tmp_path / "activities.csv",
                  "id;title;date;kind;topics;countries;description;venue\n"
                  "webinar-2021-02;Webinar: health taxes;2021-02-10;webinar;health-taxes, domestic-resource-mobilization;GH;"
                  "A webinar on earmarking.;Zoom\n"
                  ";Roundtable without id;10 March 2021;roundtable;;;;\n"
                  "bad-row;;2021-01-01;webinar;;;;\n"
                  "dated-wrong;Bad date;someday;webinar;;;;\n")
    content, result = run(runner, tmp_path, "csv", str(table), "--type", "activity")
    report = json.loads(result.stdout)
    assert report["written"] == 3 and report["counts"] == {"rows": 4, "items": 3}
    assert report["problems"] == ["activities.csv: row 4 has no title; skipped",
                                  "activities.csv: row 5: date 'someday' is not a date; left out"]
    text = (content / "activities/webinar-2021-02.md").read_text()
    assert text.startswith("---\nid: webinar-2021-02\ntitle: 'Webinar: health taxes'\ntype: activity\nkind: webinar\n"
                           "date: 2021-02-10\ntopics: [health-taxes, domestic-resource-mobilization]\ncountries: [GH]\n"
                           "venue: Zoom\n---\nA webinar on earmarking.")
    assert (content / "activities/roundtable-without-id.md").is_file()
    no_title = write(tmp_path / "wrong.csv", "name,date\nx,2020\n")
    wrong = json.loads(run(runner, tmp_path, "csv", str(no_title))[1].stdout)
    assert wrong["problems"] == ["wrong.csv: no 'title' column (columns: name, date)"] and wrong["written"] == 0


# -- no input crashes an importer ------------------------------------------------------

FUZZ = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
                           max_leaves=20)


@FUZZ
@given(data=json_values)
@pytest.mark.slow
def test_any_json_is_reported_not_crashed(tmp_path, data):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    report = ImportReport("x")
    items = read_discourse(path, "f", "", {}, report)
    assert items or report.problems or report.skipped or data in ([], {"topics": []})


topic = st.fixed_dictionaries({"id": st.one_of(st.integers(), st.text(max_size=5), st.none()),
                               "title": st.one_of(st.text(max_size=30), st.none()),
                               "created_at": st.one_of(st.text(max_size=25), st.none()),
                               "tags": st.one_of(st.lists(st.one_of(st.text(max_size=8), st.integers())), st.none()),
                               "posts": st.lists(st.dictionaries(st.sampled_from(
                                   ["username", "name", "created_at", "cooked", "raw", "post_number", "accepted_answer"]),
                                   json_values, max_size=7), max_size=3)})


@FUZZ
@given(topics=st.lists(topic, max_size=4))
@pytest.mark.slow
def test_odd_discourse_topics_become_items_or_problems(tmp_path, topics):
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"topics": topics}))
    report = ImportReport("x")
    for item in read_discourse(path, "f", "", {}, report):
        assert item.path.startswith("discussions/f/") and item.metadata["title"]


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_any_bytes_as_mbox_or_csv(tmp_path, raw):
    path = tmp_path / "input"
    path.write_bytes(raw)
    read_mbox(path, "m", "", ImportReport("x"))
    read_csv(path, "activity", "", ImportReport("x"))


attribute = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=30)


@FUZZ
@given(posts=st.lists(st.dictionaries(st.sampled_from(["Id", "PostTypeId", "ParentId", "Title", "Body", "Tags",
                                                        "CreationDate", "OwnerUserId", "AcceptedAnswerId"]),
                                       attribute, max_size=9), max_size=6),
       broken=st.booleans())
@pytest.mark.slow
def test_odd_stackexchange_rows_never_crash(tmp_path, posts, broken):
    from xml.sax.saxutils import quoteattr

    folder = tmp_path / "dump"
    folder.mkdir(exist_ok=True)
    rows = "".join("<row " + " ".join(f"{k}={quoteattr(v)}" for k, v in post.items()) + " />" for post in posts)
    (folder / "Posts.xml").write_text("\ufeff<?xml version='1.0' encoding='utf-8'?><posts>" + rows +
                                      ("<row" if broken else "</posts>"), encoding="utf-8")
    (folder / "Users.xml").write_text("<users></users>")
    report = ImportReport("x")
    for item in read_dump(folder, "s", "", {}, report):
        assert item.metadata["type"] == "discussion"
    assert not broken or report.problems
