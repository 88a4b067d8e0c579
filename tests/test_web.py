"""The Flask app through its test client."""

import re
import sqlite3
from html import unescape

import pytest

from indexer.reindex import reindex
from tests.conftest import write
from webui import create_app


def text(response):
    return unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_search_page_shows_results_facets_and_snippets(client):
    page = client.get("/search?q=budget+flexibility")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<mark" in body
    assert 'data-facet="topic"' in body and 'data-facet="type"' in body
    assert re.search(r'<strong>\d+</strong> results', body)


def test_search_json_matches_the_page(client):
    data = client.get("/search.json?q=budget+flexibility&type=discussion").get_json()
    page = client.get("/search?q=budget+flexibility&type=discussion").get_data(as_text=True)
    assert f"<strong>{data['total']}</strong>" in page
    for hit in data["hits"]:
        assert hit["url"] in page
    same = client.get("/search?q=budget+flexibility&type=discussion", headers={"Accept": "application/json"}).get_json()
    assert same["total"] == data["total"] and [h["id"] for h in same["hits"]] == [h["id"] for h in data["hits"]]


def test_facet_links_combine(client):
    data = client.get("/search.json?q=budget").get_json()
    page = client.get("/search?q=budget&type=discussion").get_data(as_text=True)
    # a selected facet value links to the search without it; another value adds to the selection
    assert 'href="/search?q=budget" data-value="discussion"' in page
    assert 'href="/search?q=budget&amp;type=discussion&amp;type=document"' in page
    both = client.get("/search.json?q=budget&type=discussion&type=document").get_json()
    assert both["total"] == data["facets"]["type"]["discussion"] + data["facets"]["type"]["document"]
    narrowed = client.get("/search.json?q=budget&type=discussion&lang=fr").get_json()
    assert all(h["lang"] == "fr" and h["type"] == "discussion" for h in narrowed["hits"])


def test_sort_and_pagination_are_urls(client):
    page1 = client.get("/search.json?q=budget&sort=newest").get_json()
    dates = [h["date"] for h in page1["hits"]]
    assert dates == sorted(dates, reverse=True)
    page2 = client.get("/search.json?q=budget&sort=newest&page=2").get_json()
    assert page2["page"] == 2 and not {h["id"] for h in page1["hits"]} & {h["id"] for h in page2["hits"]}
    html = client.get("/search?q=budget").get_data(as_text=True)
    assert 'href="/search?q=budget&amp;page=2"' in html
    assert 'href="/search?q=budget&amp;sort=newest"' in html


def test_empty_search_browses_everything(client):
    """Everything an anonymous reader may see: the sample's 64 items but its 4 personas, 4 one-on-ones,
    their 4 summaries and the 4 roundtable notes (members only)."""
    data = client.get("/search.json").get_json()
    assert data["total"] == 48


@pytest.mark.parametrize("url, status, message", [
    ("/search?page=abc", 400, "page: 'abc' is not a number"),
    ("/search?page=0", 400, "page: must be between 1 and 100"),
    ("/search?page=101", 400, "page: must be between 1 and 100"),
    ("/search?sort=random", 400, "sort: 'random' is not one of relevance, newest, oldest"),
    ("/items/no/such/item", 404, "no item with id 'no/such/item'"),
    ("/activities/sessions/forum-2020-session-1-notes", 404, "is a session-note, not an activity"),
    ("/topics/no-such-topic", 404, "There is no topic 'no-such-topic'."),
    ("/nowhere", 404, "Not found"),
])
def test_bad_urls_get_clear_error_pages(client, url, status, message):
    response = client.get(url)
    assert response.status_code == status
    assert message in text(response)
    assert "Traceback" not in text(response)


@pytest.mark.slow
def test_a_long_pasted_question_is_searched_not_refused(client):
    question = "how did ministries use budget flexibility and virements during COVID-19 " * 40
    data = client.get("/search.json", query_string={"q": question}).get_json()
    assert data["total"] > 0
    assert data["messages"][0].startswith(f"The query is {len(question.strip()):,} characters long")
    assert len(data["query"]) <= 2000
    page = client.get("/search", query_string={"q": question})
    assert page.status_code == 200 and "were searched (the limit is 2,000)" in text(page)


def test_too_many_filter_values_are_refused_clearly(client):
    response = client.get("/search.json", query_string=[("topic", f"t{n}") for n in range(1000)])
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("filters: 1000 values are selected; the limit is 50")
    assert client.get("/search.json", query_string=[("topic", f"t{n}") for n in range(50)]).status_code == 200


def test_errors_are_json_on_the_json_endpoint(client):
    response = client.get("/search.json?page=x")
    assert response.status_code == 400
    assert response.get_json() == {"error": "Bad request", "message": "page: 'x' is not a number", "status": 400}


def test_query_messages_are_shown(client):
    page = client.get("/search?q=budget+topic:nonsense")
    assert "topic:nonsense is not a topic in the vocabulary" in text(page)


def test_item_page_renders_metadata_body_and_related_activities(client):
    page = client.get("/items/sessions/forum-2020-session-1-notes")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert ">Related activities</h2>" in body
    assert 'href="/activities/forum-2020-session-1"' in body
    assert "this item belongs to this activity" in body
    assert 'href="/topics/provider-payment"' in body
    assert "Strategic purchasing in times of COVID-19</a>" in body  # activity shown by title


def test_activity_page_lists_its_content_and_parts(client):
    page = client.get("/activities/forum-2020")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h2>Programme</h2>" in body and 'href="/activities/forum-2020-session-1"' in body
    assert 'href="/items/documents/forum-2020-synthesis-report"' in body
    assert client.get("/items/forum-2020").headers["Location"] == "/activities/forum-2020"


def test_topic_pages(client):
    page = client.get("/topics/public-financial-management")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/topics/budget-flexibility"' in body  # narrower topics
    assert "gestion des finances publiques" in body  # alternative labels
    assert "/items/documents/budget-flexibility-in-health-practical-guide" in body  # items of narrower topics
    index = client.get("/topics/").get_data(as_text=True)
    assert 'href="/topics/covid-financing"' in index  # deprecated topics listed apart
    assert client.get("/activities/").status_code == 200


def test_healthz(client):
    data = client.get("/healthz").get_json()
    assert data["status"] == "ok" and data["generation"].startswith("gen-")
    assert "items" not in data  # a count would tell about items the reader may not see


def test_nothing_outside_the_content_folder_is_reachable(client):
    for url in ["/items/../../etc/passwd", "/items/..%2F..%2Fetc%2Fpasswd", "/static/../setup.cfg",
                "/static/%2e%2e/%2e%2e/setup.cfg", "/topics/..%2f..%2fsetup.cfg"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "root:" not in response.get_data(as_text=True)


def test_scripts_in_content_never_reach_the_page(tmp_path):
    content = tmp_path / "c"
    write(content / "evil.md", '---\ntitle: "<script>alert(1)</script>Evil"\ntopics: ["<b>x</b>"]\n---\n'
          '<script>alert(2)</script>\n\n<img src=x onerror="alert(3)">\n\n<a href="javascript:alert(4)">x</a>\n')
    reindex(content, tmp_path / "ix")
    app = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(tmp_path / "ix")})
    client = app.test_client()
    for url in ["/items/evil", "/search?q=evil", "/search?q=%3Cscript%3E"]:
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body, url
        assert "onerror" not in body and "javascript:alert" not in body, url


def test_missing_index_is_a_503_page(tmp_path):
    app = create_app({"TESTING": True, "KB_INDEX": str(tmp_path / "none")})
    response = app.test_client().get("/search?q=x")
    assert response.status_code == 503
    assert "run 'kb reindex' first" in text(response)


def test_misspelt_words_are_also_searched_and_suggested(client):
    data = client.get("/search.json?q=capitaton+rates").get_json()
    assert data["suggestion"] == "capitation rates"
    assert "No item contains “capitaton”; also searched for “capitation”." in data["messages"]
    assert data["hits"][0]["id"] == "discussions/capitation-rates-phc-kenyan-counties"
    page = client.get("/search?q=capitaton+rates").get_data(as_text=True)
    assert 'Did you mean <a rel="nofollow" href="/search?q=capitation+rates">capitation rates</a>?' in page


def test_acronyms_are_never_corrected(client):
    data = client.get("/search.json?q=UHX").get_json()
    assert data["total"] == 0 and data["suggestion"] is None and data["messages"] == []


def test_zero_results_show_the_filters_that_exclude_results(client):
    data = client.get("/search.json?q=budget+topic:health-taxes&type=training-material").get_json()
    assert data["total"] == 0
    relaxations = {r["filter"]: r for r in data["relaxations"]}
    assert relaxations["type"]["count"] == client.get("/search.json?q=budget+topic:health-taxes").get_json()["total"]
    assert relaxations["topic"]["count"] == client.get("/search.json?q=budget&type=training-material").get_json()["total"]
    page = client.get("/search?q=budget+topic:health-taxes&type=training-material").get_data(as_text=True)
    # removing the topic filter edits the query text; removing the type unselects the facet
    assert 'href="/search?q=budget&amp;type=training-material">remove topic: Health taxes</a>' in page
    assert 'href="/search?q=budget+topic%3Ahealth-taxes">remove type: Training material</a>' in page


def test_zero_results_by_date_and_nearest_topics(client):
    data = client.get("/search.json?q=capitation+before:2020-02").get_json()
    assert data["total"] == 0
    assert data["relaxations"] == [{"filter": "date", "values": ["before:2020-02-01"],
                                   "count": client.get("/search.json?q=capitation").get_json()["total"]}]
    lost = client.get("/search.json?q=procurement+type:persona+lang:fr").get_json()
    assert lost["total"] == 0 and lost["nearest_topics"] == ["emergency-procurement"]
    page = client.get("/search?q=procurement+type:persona+lang:fr").get_data(as_text=True)
    assert '<a href="/topics/emergency-procurement">Emergency procurement</a>' in page


def test_searches_are_logged_without_personal_data(tmp_path):
    from indexer import searchlog

    content, index, data = tmp_path / "c", tmp_path / "ix", tmp_path / "data"
    write(content / "a.md", "---\ntitle: Alpha\ntype: document\n---\nokapi words")
    reindex(content, index)
    client = create_app({"TESTING": True, "KB_INDEX": str(index), "KB_DATA": str(data)}).test_client()
    client.get("/search?q=Okapi", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    client.get("/search.json?q=okapi&page=1")
    client.get("/search?q=okapi&page=2")  # paging is the same search: not logged again
    client.get("/search?q=zebra&type=document")
    rows = sqlite3.connect(data / searchlog.LOG_FILE).execute("SELECT * FROM searches").fetchall()
    assert len(rows) == 3
    assert {r[1] for r in rows} == {"okapi", "zebra"}
    assert not any("203.0.113.9" in str(r) for r in rows)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00", r[0]) for r in rows)  # the hour only
    report = searchlog.report(data, days=1)
    assert report["searches"] == 3
    assert report["top"][0] == {"query": "okapi", "filters": {}, "count": 2, "average_results": 1.0}
    assert report["zero_results"] == [{"query": "zebra", "filters": {"type": ["document"]}, "count": 1}]


def test_search_log_can_be_turned_off_and_is_pruned(tmp_path):
    import datetime as dt

    from indexer import searchlog

    content, index, data = tmp_path / "c", tmp_path / "ix", tmp_path / "data"
    write(content / "a.md", "# A")
    reindex(content, index)
    client = create_app({"TESTING": True, "KB_INDEX": str(index), "KB_DATA": str(data),
                         "KB_SEARCH_LOG_DAYS": "0"}).test_client()
    client.get("/search?q=a")
    assert not (data / searchlog.LOG_FILE).exists()
    old = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    searchlog.record(data, "old search", {}, 0, when=old)
    searchlog.record(data, "new search", {}, 0)
    assert searchlog.prune(data, keep_days=30) == 1
    assert [r["query"] for r in searchlog.report(data, days=30)["zero_results"]] == ["new search"]


def test_search_answers_say_in_server_timing_whether_the_result_cache_answered(indexed_copy):
    """Load tests and operators read the cache's hit rate from the answers (bench/bench_scale.py)."""
    content, index = indexed_copy  # no other app's results shared
    client = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index)}).test_client()
    asks = [("/search?q=capitation", "text/html"), ("/search?q=capitation", "text/html"),
            ("/search.json?q=capitation+ghana", "*/*"), ("/search.json?q=capitation+ghana", "*/*"),
            ("/search?q=capitation+ghana", "application/json")]
    timings = [client.get(url, headers={"Accept": accept}).headers.get("Server-Timing", "") for url, accept in asks]
    assert [re.search(r'desc="cache (\w+)"', t)[1] for t in timings] == ["miss", "hit", "miss", "hit", "hit"]
    assert all(re.match(r"search;dur=\d+\.\d;", t) for t in timings)
