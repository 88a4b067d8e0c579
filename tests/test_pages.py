"""Every page a member or manager sees: one h1, a skip link to the content, a home page, query help,
search results before the filters (which fold into a disclosure)."""

import re

import pytest

from tests.test_access import log_in, manager_app  # noqa: F401 (fixture)

PUBLIC_PAGES = ["/", "/search?q=budget", "/search?q=zzzzqx", "/items/sessions/forum-2020-session-1-notes",
                "/activities/forum-2020", "/topics/budget-flexibility", "/topics/", "/activities/",
                "/people/expert-priya-raman", "/communities/health-financing-resilience", "/login", "/help/search"]
MANAGER_PAGES = ["/manage/", "/manage/map", "/manage/value", "/manage/health", "/manage/queue", "/manage/stale",
                 "/manage/candidates", "/manage/topics", "/manage/searches", "/manage/bulk?q=budget"]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_each_page_has_one_h1_and_a_skip_link_to_its_content(client, url):
    page = client.get(url).get_data(as_text=True)
    assert len(re.findall(r"<h1[ >]", page)) == 1, url
    assert '<a class="skip" href="#main">Skip to content</a>' in page and '<main id="main"' in page
    assert 'href="/help/search">Search help</a>' in page


@pytest.mark.slow
def test_manager_pages_too(manager_app):  # noqa: F811
    client = manager_app.test_client()
    log_in(client)
    for url in MANAGER_PAGES:
        page = client.get(url).get_data(as_text=True)
        assert len(re.findall(r"<h1[ >]", page)) == 1, url
        assert 'href="#main"' in page


def test_the_home_page_names_the_community_and_shows_what_the_reader_may_see(client):
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Health Financing and Resilience</h1>" in page and "community of practice" in page
    assert 'action="/search"' in page and 'href="/help/search"' in page
    latest = page[page.index("Latest activities"):page.index("<h2>Topics</h2>")]
    assert "Webinar: Programme-based budgeting" in latest  # the newest public activity
    assert "One-on-one" not in latest  # one-on-ones are for managers
    assert 'href="/topics/public-financial-management"' in page


def test_results_come_before_the_filters_which_fold(client):
    page = client.get("/search?q=budget").get_data(as_text=True)
    assert page.index('class="hits"') < page.index('class="facets"')
    assert re.search(r'<details class="facet-panel" open>\s*<summary>Filters</summary>', page)


def test_the_query_help_explains_the_syntax(client):
    page = client.get("/help/search").get_data(as_text=True)
    for syntax in ('"budget flexibility"', "-ghana", "capitat*", "topic:budget-flexibility", "after:2020-06", "in:title"):
        assert f"<code>{syntax}</code>" in page.replace("&#34;", '"')


def test_names_not_ids_where_members_look(client, manager_app, runner, sample_index):  # noqa: F811
    page = client.get("/items/sessions/forum-2020-session-1-notes").get_data(as_text=True)
    assert "<dt>Countries</dt><dd>Ghana, " in page
    assert '<a href="/communities/health-financing-resilience">Health Financing and Resilience</a>' in page
    assert "<dt>Source</dt>" not in page  # file paths are for managers
    facets = client.get("/search?q=capitation").get_data(as_text=True)
    assert re.search(r'data-value="GH"[^>]*>\s*<span class="check">☐</span> Ghana', facets)
    manager = manager_app.test_client()
    log_in(manager)
    assert "<dt>Source</dt><dd><code>sessions/forum-2020-session-1-notes.md</code>" in \
        manager.get("/items/sessions/forum-2020-session-1-notes").get_data(as_text=True)
    from indexer.cli import cli

    table = runner.invoke(cli, ["--content", str(sample_index[0]), "--index", str(sample_index[1]), "map"]).output
    assert "Working group" in table.splitlines()[0] and "working-gr" not in table
    community = client.get("/communities/health-financing-resilience").get_data(as_text=True)
    assert "<h1>Health Financing and Resilience</h1>" in community


def test_every_listed_title_says_its_language(client):
    """A French title in an English page is read with a French voice: each link to an item carries its lang."""
    for url in ("/search?q=virements", "/topics/budget-flexibility", "/activities/forum-2020",
                "/items/discussions/virements-de-credits-senegal", "/people/expert-jean-baptiste-kone"):
        page = client.get(url).get_data(as_text=True)
        links = re.findall(r'<a (?:class="chip" )?href="/(?:items|activities)/[^"]+"([^>]*)>', page)
        assert links and all('lang="' in attributes for attributes in links), url
        assert 'lang="fr"' in page, url
