"""The web edge of a real deployment: headers, cookies, sessions, login limits, redirects, robots, health."""

import http.client
import re
import threading
import time

import pytest
from werkzeug.serving import make_server

from indexer import accounts, logins
from indexer.accounts import add_user
from indexer.reindex import reindex
from indexer.cli import cli
from indexer.render import render_markdown

from indexer.store import IndexStore
from tests.conftest import ROOT, write
from tests.servers import CHROMEDRIVER, CHROMIUM, chromium_driver, kb_serve
from tests.test_access import PASSWORD, log_in, token
from webui import create_app

EXPECTED_CSP = {"default-src 'self'", "script-src 'none'", "style-src 'self'", "object-src 'none'",
                "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"}


def make_app(sample_index, data, **settings):
    content, index = sample_index
    return create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(data),
                       **settings})


@pytest.fixture()
def data(tmp_path):
    folder = tmp_path / "data"
    add_user(folder, "ama", PASSWORD)
    return folder


@pytest.fixture()
def edge_app(sample_index, data):
    return make_app(sample_index, data)


def login_as(client, name="ama", password=PASSWORD, address="127.0.0.1"):
    csrf = token(client)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": csrf},
                       environ_base={"REMOTE_ADDR": address})


# -- headers ---------------------------------------------------------------------------------------

def assert_edge_headers(response, url):
    policy = {part.strip() for part in response.headers["Content-Security-Policy"].split(";")}
    assert EXPECTED_CSP <= policy, url
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"], url
    assert response.headers["X-Content-Type-Options"] == "nosniff", url
    assert response.headers["X-Frame-Options"] == "DENY", url
    assert response.headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin"), url


def test_every_response_carries_the_security_headers(edge_app, monkeypatch):
    client = edge_app.test_client()
    pages = {"/search?q=budget": 200, "/search.json?q=budget": 200, "/items/documents/forum-2020-synthesis-report": 200,
             "/topics/": 200, "/static/style.css": 200, "/robots.txt": 200, "/healthz": 200, "/login": 200,
             "/items/does-not-exist": 404, "/search?page=zero": 400, "/search.json?page=zero": 400,
             "/manage/": 302}
    for url, status in pages.items():
        with client.get(url) as response:
            assert response.status_code == status, url
            assert_edge_headers(response, url)
    assert_edge_headers(client.post("/search"), "POST /search")  # 405
    from indexer import searching

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(searching, "search", broken)
    failed = client.get("/search?q=budget")
    assert failed.status_code == 500
    assert_edge_headers(failed, "500")


@pytest.mark.slow
def test_pages_have_no_inline_script_or_style(edge_app):
    client = edge_app.test_client()
    login_as(client)
    for url in ("/search?q=budget", "/search?q=budget&type=discussion", "/items/documents/forum-2020-synthesis-report",
                "/activities/forum-2020", "/topics/public-financial-management", "/manage/map", "/manage/map?by=year",
                "/manage/value", "/manage/topics", "/manage/bulk?q=budget", "/login"):
        body = client.get(url).get_data(as_text=True)
        assert " style=" not in body and "<style" not in body, url
        assert "<script" not in body and " on" + "click=" not in body, url
    for template in (ROOT / "webui" / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "style=" not in text and "<script" not in text, template.name


def test_item_bodies_carry_no_style_attributes(store):
    # Markdown tables with alignment, raw HTML with style: the sanitiser keeps no style attribute for CSP to block.
    html = render_markdown('| a | b |\n|:-:|--:|\n| 1 | 2 |\n\n<span style="color:red">x</span> <p style="x">y</p>')
    assert "style" not in html and "<td>1</td>" in html
    assert not [item.id for item in store.all_items(full=True) if "style=" in item.html]


def test_the_content_map_is_shaded_by_classes(edge_app):
    client = edge_app.test_client()
    login_as(client)
    page = client.get("/manage/map").get_data(as_text=True)
    shades = set(re.findall(r'class="n shade-(\d)', page))
    assert "0" in shades and "9" in shades and len(shades) >= 4
    assert 'class="depth-0"' in page and 'class="depth-1"' in page
    with client.get("/static/style.css") as response:
        css = response.get_data(as_text=True)
    assert all(f"td.shade-{n} {{ background:" in css for n in range(10))


# -- the session cookie and sessions ---------------------------------------------------------------

def test_the_session_cookie_is_httponly_lax_and_secure_when_asked(sample_index, data):
    plain = make_app(sample_index, data).test_client()
    cookie = login_as(plain).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # a bounded, permanent session, not one for the browser's lifetime
    secure = make_app(sample_index, data, KB_SECURE_COOKIES="1")
    assert secure.config["PERMANENT_SESSION_LIFETIME"].total_seconds() <= 24 * 3600
    response = login_as(secure.test_client())
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def copy_session(source, target):
    target.set_cookie("session", source.get_cookie("session").value)


def test_logout_ends_every_session_of_the_account(edge_app):
    browser, kept = edge_app.test_client(), edge_app.test_client()
    login_as(browser)
    copy_session(browser, kept)  # a cookie copied before logout (another device, or a stolen one)
    assert kept.get("/manage/").status_code == 200
    browser.post("/logout", data={"csrf_token": token(browser, "/search")})
    assert browser.get("/manage/").status_code == 302
    response = kept.get("/manage/searches")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "Log out ama" not in kept.get("/search").get_data(as_text=True)


def test_removing_an_account_ends_its_sessions_at_once(edge_app, data, runner):
    client = edge_app.test_client()
    login_as(client)
    cookie = client.get_cookie("session").value
    csrf = token(client, "/manage/topics")
    assert runner.invoke(cli, ["--data", str(data), "user", "remove", "ama"]).exit_code == 0
    assert client.get("/manage/").status_code == 302
    response = client.post("/manage/topics/preview", data={"csrf_token": csrf, "operation": "merge",
                                                           "source": "health-taxes", "target": "health-financing"})
    assert response.status_code in (400, 401)  # the session (and its CSRF token) is gone: nothing is done
    # an account made again under the same name does not bring the old cookie back
    add_user(data, "ama", PASSWORD)
    stale = edge_app.test_client()
    stale.set_cookie("session", cookie)
    assert stale.get("/manage/").status_code == 302


def test_a_session_older_than_its_maximum_age_ends(edge_app):
    client = edge_app.test_client()
    login_as(client)
    assert client.get("/manage/").status_code == 200
    with client.session_transaction() as session:
        session["since"] = int(time.time()) - 8 * 24 * 3600
    assert client.get("/manage/").status_code == 302


# -- login limits ---------------------------------------------------------------------------------

def count_hashing(monkeypatch):
    calls = {"check": 0, "generate": 0}
    check, generate = accounts.check_password_hash, accounts.generate_password_hash

    def counted_check(*args):
        calls["check"] += 1
        return check(*args)

    def counted_generate(*args, **kwargs):
        calls["generate"] += 1
        return generate(*args, **kwargs)

    monkeypatch.setattr(accounts, "check_password_hash", counted_check)
    monkeypatch.setattr(accounts, "generate_password_hash", counted_generate)
    return calls


@pytest.mark.slow
def test_failed_logins_are_limited_per_account_and_per_address(sample_index, data, monkeypatch):
    app = make_app(sample_index, data, KB_LOGIN_ATTEMPTS="3", KB_LOGIN_WINDOW="300")
    client = app.test_client()
    for _ in range(3):
        assert login_as(client, password="wrong password!", address="10.0.0.1").status_code == 401
    calls = count_hashing(monkeypatch)
    blocked = login_as(client, address="10.0.0.1")  # even the right password: refused, and not checked
    text = blocked.get_data(as_text=True)
    assert blocked.status_code == 429
    assert "Too many failed logins for this account or from this address. Try again in 5 minutes" in text
    assert 0 < int(blocked.headers["Retry-After"]) <= 300
    assert calls["check"] == 0
    # the account, from another address; and another account from the same address
    assert login_as(client, address="10.0.0.2").status_code == 429
    assert login_as(client, name="kofi", address="10.0.0.1").status_code == 429
    assert calls["check"] == 0
    # another account from another address is not affected
    assert login_as(client, name="kofi", address="10.0.0.3").status_code == 401
    # every worker of the deployment shares the count: a second app on the same data folder refuses too
    other_worker = make_app(sample_index, data, KB_LOGIN_ATTEMPTS="3", KB_LOGIN_WINDOW="300")
    assert login_as(other_worker.test_client(), address="10.0.0.4").status_code == 429
    assert (data / logins.LOGINS_FILE).stat().st_mode & 0o777 == 0o600  # it holds addresses


@pytest.mark.slow
def test_a_blocked_login_waits_no_longer_than_the_window(sample_index, data):
    app = make_app(sample_index, data, KB_LOGIN_ATTEMPTS="2", KB_LOGIN_WINDOW="1")
    client = app.test_client()
    for _ in range(2):
        login_as(client, password="wrong password!")
    assert login_as(client).status_code == 429
    time.sleep(1.1)
    assert login_as(client).status_code == 302


def test_refused_attempts_do_not_extend_the_wait(tmp_path):
    for second in range(5):
        logins.record_failure(tmp_path, "ama", "10.0.0.9", now=1000.0 + second)
    # an attacker keeps trying: refused attempts are not recorded, so the wait only shrinks
    waits = [logins.wait_seconds(tmp_path, "ama", "10.0.0.1", attempts=5, window=60, now=1004.0 + t)
             for t in range(0, 70, 5)]
    assert waits[0] == 56 and waits == sorted(waits, reverse=True) and max(waits) <= 60
    assert logins.wait_seconds(tmp_path, "ama", "10.0.0.1", attempts=5, window=60, now=1060.5) == 0


def test_a_successful_login_clears_the_account_not_the_address(tmp_path):
    for second in range(5):
        logins.record_failure(tmp_path, "ama", "10.0.0.9", now=1000.0 + second)
    logins.record_success(tmp_path, "ama")
    assert logins.wait_seconds(tmp_path, "ama", "10.0.0.1", attempts=5, window=60, now=1005.0) == 0
    assert logins.wait_seconds(tmp_path, "bea", "10.0.0.9", attempts=5, window=60, now=1005.0) == 55


def test_an_unknown_name_costs_one_hash_like_a_known_one(data, monkeypatch):
    accounts.dummy_hash()
    calls = count_hashing(monkeypatch)
    assert not accounts.check_login(data, "nobody", PASSWORD)
    assert calls == {"check": 1, "generate": 0}
    assert not accounts.check_login(data, "ama", "wrong password!")
    assert calls == {"check": 2, "generate": 0}


# -- robots, nofollow, sizes, redirects, health ---------------------------------------------------

def test_robots_txt_keeps_crawlers_out_of_searches_and_manager_pages(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = set(response.get_data(as_text=True).splitlines())
    assert {"User-agent: *", "Disallow: /search", "Disallow: /manage/", "Disallow: /login"} <= lines
    assert {"Allow: /items/", "Allow: /topics/", "Allow: /activities/"} <= lines


def test_search_links_are_nofollow(client):
    page = client.get("/search?q=&type=discussion").get_data(as_text=True)
    assert client.get("/search.json").get_json()["total"] > 10  # so there are result pages
    facet_links = re.findall(r'<a [^>]*data-value="[^"]*"[^>]*>', page)
    assert facet_links and all('rel="nofollow"' in link for link in facet_links)
    everything = client.get("/search").get_data(as_text=True)
    page_links = re.findall(r'<a [^>]*href="/search\?page=\d+"[^>]*>', everything)
    sort_links = re.findall(r'<a [^>]*href="/search\?sort=\w+"[^>]*>', everything)
    assert page_links and sort_links
    assert all(re.search(r'rel="[^"]*\bnofollow\b', link) for link in page_links + sort_links)
    item_links = re.findall(r'<h3><a [^>]*>', everything)
    assert item_links and not any("nofollow" in link for link in item_links)  # items are for crawlers


def test_a_request_larger_than_the_limit_gets_a_clear_413(client):
    response = client.post("/login", data={"name": "ama", "password": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "413 · Too much sent" in text and "up to 2 MB" in text and "nothing was saved" in text
    assert_edge_headers(response, "413")


HOST_REDIRECTS = ["/manage", "/topics", "/manage/", "/items/forum-2020", "//search", "/manage/searches?days=7"]


def test_redirects_never_name_the_host_the_client_sent(edge_app):
    client = edge_app.test_client()
    for url in HOST_REDIRECTS:
        response = client.get(url, headers={"Host": "evil.example"})
        assert response.status_code in (301, 302, 307, 308), url
        location = response.headers["Location"]
        assert "evil.example" not in location and location.startswith("/") and not location.startswith("//"), url
    evil = {"Host": "evil.example"}
    page = client.get("/login", headers=evil).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    response = client.post("/login?next=/manage/map", headers=evil,
                           data={"name": "ama", "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/manage/map"
    page = client.get("/manage/", headers=evil).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    response = client.post("/logout", headers=evil, data={"csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/search"


def test_a_real_server_answers_a_forged_host_with_a_relative_location(edge_app):
    server = make_server("127.0.0.1", 0, edge_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for url, expected in (("/manage", "/manage/"), ("/topics", "/topics/"), ("/manage/", "/login?next=/manage/")):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", url, headers={"Host": "evil.example"})
            response = connection.getresponse()
            assert response.getheader("Location") == expected, url
            assert response.getheader("X-Frame-Options") == "DENY"
            connection.close()
    finally:
        server.shutdown()
        thread.join(10)


def test_login_only_follows_same_site_next_even_with_backslashes(edge_app):
    client = edge_app.test_client()
    for target in ("/\\evil.example/x", "/\\/evil.example"):
        response = client.post(f"/login?next={target}", data={"name": "ama", "password": PASSWORD,
                                                               "csrf_token": token(client)})
        assert response.headers["Location"] == "/manage/", target


@pytest.fixture()
def failing_site(content_copy, tmp_path):
    write(content_copy / "documents" / "broken.md", "---\ntitle: [unclosed\n---\nBody\n")
    reindex(content_copy, tmp_path / "ix")
    data = tmp_path / "data"
    add_user(data, "ama", PASSWORD)
    return create_app({"TESTING": True, "KB_CONTENT": str(content_copy), "KB_INDEX": str(tmp_path / "ix"),
                       "KB_DATA": str(data)})


def test_healthz_tells_the_public_only_the_status(failing_site, tmp_path):
    client = failing_site.test_client()
    with IndexStore(tmp_path / "ix").write_lock(0):
        public = client.get("/healthz")
        assert public.status_code == 200
        body = public.get_json()
        assert set(body) == {"status", "generation", "last_run_ok"}
        assert body["status"] == "ok" and body["last_run_ok"] is False
        assert "broken.md" not in public.get_data(as_text=True)
        log_in(client)
        details = client.get("/healthz").get_json()
        assert details["last_run"]["failed"][0]["path"] == "documents/broken.md"
        assert details["lock_holder"]


# -- the browser ----------------------------------------------------------------------------------


@pytest.fixture()
def served(sample_index, tmp_path):
    """`kb serve` in its own process, with a manager account."""
    content, index = sample_index
    data = tmp_path / "data"
    add_user(data, "ama", PASSWORD)
    with kb_serve(content, index, tmp_path / "serve.log", data) as base:
        yield base


@pytest.fixture()
def chromium(tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed")
    driver = chromium_driver(tmp_path / "chromium", console_log=True)
    yield driver
    driver.quit()


def csp_violations(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")
            if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]]


@pytest.mark.browser
@pytest.mark.slow
def test_pages_work_in_a_real_browser_under_the_policy(served, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium
    driver.get(served + "/search?q=budget")
    facets = driver.find_elements(By.CSS_SELECTOR, "[data-facet] li a")
    assert len(facets) > 5 and driver.find_elements(By.CSS_SELECTOR, "ol.hits li.hit")
    sidebar = driver.find_element(By.CSS_SELECTOR, ".search-layout")
    assert sidebar.value_of_css_property("display") == "grid"  # the stylesheet applies
    driver.find_element(By.CSS_SELECTOR, "ol.hits li.hit h3 a").click()
    assert driver.find_element(By.CSS_SELECTOR, "article.item h1").text
    assert driver.find_element(By.CSS_SELECTOR, "article.item .body").text
    driver.get(served + "/login?next=/manage/map")
    driver.find_element(By.ID, "name").send_keys("ama")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "table.heatmap")))
    darkest = driver.find_element(By.CSS_SELECTOR, "table.heatmap td.shade-9")
    lightest = driver.find_element(By.CSS_SELECTOR, "table.heatmap td.shade-1")
    empty = driver.find_element(By.CSS_SELECTOR, "table.heatmap td.shade-0")
    assert darkest.value_of_css_property("background-color") == "rgba(20, 39, 82, 1)"
    assert lightest.value_of_css_property("background-color") == "rgba(237, 242, 253, 1)"
    assert empty.value_of_css_property("background-color") == "rgba(255, 255, 255, 1)"
    indent = [float(driver.find_element(By.CSS_SELECTOR, f"table.heatmap th.depth-{d}")
                    .value_of_css_property("padding-left").removesuffix("px")) for d in (0, 1)]
    assert indent[1] > indent[0] + 10
    assert csp_violations(driver) == []
    # the check can see a violation: an inline style added to the page is refused and logged
    driver.execute_script("const s = document.createElement('style'); s.textContent = 'body{color:red}';"
                          "document.head.appendChild(s);")
    time.sleep(0.3)
    assert any("style-src" in message for message in csp_violations(driver))
