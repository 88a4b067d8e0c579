"""WCAG 2.2 AA in a real browser: axe-core on every page type, at desktop and phone sizes, and the phone
layout (no sideways scrolling, the first result on the first screen)."""

import json
import os
from pathlib import Path

import pytest

from tests.servers import CHROMEDRIVER, CHROMIUM, chromium_driver, kb_serve

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / ".cache" / "axe" / "axe.min.js"  # axe-core from npm, installed by `make axe` (.ci/run calls it)

if not (CHROMIUM and CHROMEDRIVER and AXE.is_file()):
    if os.environ.get("KB_REQUIRE_BROWSER"):
        raise RuntimeError("KB_REQUIRE_BROWSER is set but chromium, chromedriver or axe-core (make axe) is missing")
    pytest.skip("chromium, chromedriver or axe-core (make axe) is not installed", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "correct horse battery"
PAGES = ["/", "/search?q=budget", "/search?q=zzzzqx", "/items/sessions/forum-2020-session-1-notes",
         "/activities/forum-2020", "/topics/budget-flexibility", "/people/expert-priya-raman", "/help/search",
         "/topics/", "/activities/", "/login"]
MANAGER_PAGES = ["/manage/", "/manage/map", "/manage/value", "/manage/health", "/manage/queue", "/manage/topics",
                 "/manage/searches", "/manage/bulk?q=budget"]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
LANGUAGES = ["en", "fr"]  # French strings run longer: the layout is checked with them too
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: %s}}).then(
  r => done(r.violations.map(v => [v.id, v.nodes.length, v.nodes.slice(0, 3).map(n => n.target.join(' '))])),
  e => done([['axe failed', 0, [String(e)]]]));
""" % json.dumps(TAGS)


@pytest.fixture(scope="module")
def server(sample_index, tmp_path_factory):
    from indexer.accounts import add_user

    content, index = sample_index
    data = tmp_path_factory.mktemp("a11y-data")
    add_user(data, "ama", PASSWORD)
    with kb_serve(content, index, tmp_path_factory.mktemp("serve") / "serve.log", data) as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium_driver(tmp_path_factory.mktemp("chromium"))
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def violations(browser, url):
    browser.get(url)
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    return browser.execute_async_script(RUN_AXE)


def log_in(browser, server):
    browser.get(server + "/login")
    browser.find_element(By.NAME, "name").send_keys("ama")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    # Wait for the logged-in page: a busy machine answers slowly, and the next page must be a manager's.
    WebDriverWait(browser, 30).until(lambda driver: "/login" not in driver.current_url)
    assert browser.find_elements(By.CSS_SELECTOR, "form[action='/logout']")


def choose_language(browser, server, lang):
    """Start afresh in `lang`, chosen with the page header's switch (remembered in a cookie)."""
    browser.delete_all_cookies()
    browser.get(server + "/")
    if lang != "en":
        browser.find_element(By.CSS_SELECTOR, f"nav.languages a[lang={lang}]").click()
    WebDriverWait(browser, 30).until(
        lambda driver: driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_no_axe_violations_on_any_page_type(server, browser, size, lang):
    browser.set_window_size(*SIZES[size])
    choose_language(browser, server, lang)
    found = {url: violations(browser, server + url) for url in PAGES}
    log_in(browser, server)
    found.update({url: violations(browser, server + url) for url in MANAGER_PAGES})
    assert {url: v for url, v in found.items() if v} == {}, {url: v for url, v in found.items() if v}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_phones_get_the_first_result_on_the_first_screen_and_never_scroll_sideways(server, browser, lang):
    browser.set_window_size(*SIZES["phone"])
    choose_language(browser, server, lang)
    wide = {}
    for url in PAGES:
        browser.get(server + url)
        width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            wide[url] = width
    log_in(browser, server)
    for url in MANAGER_PAGES:
        browser.get(server + url)
        width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            wide[url] = width
    assert wide == {}, wide
    browser.get(server + "/search?q=budget")
    top = browser.execute_script("return document.querySelector('ol.hits li.hit').getBoundingClientRect().top")
    height = browser.execute_script("return window.innerHeight")
    assert top < height
    browser.get(server + "/items/sessions/forum-2020-session-1-notes")
    jump = browser.execute_script("return document.querySelector('.jump a').getBoundingClientRect().top")
    assert jump < height  # the related panel is one link away, not past the whole body


def arrived(driver, check) -> None:
    """Wait until the browser shows a page whose address passes `check` (it fails the test after 30 s)."""
    WebDriverWait(driver, 30).until(lambda d: check(d.current_url))


def test_everything_works_without_javascript(sample_index, tmp_path_factory):
    """A member searches, filters, reads and follows a relation, and a manager links an activity by
    name, in a browser with JavaScript switched off (on a copy of the sample: this test writes)."""
    import shutil

    from indexer.accounts import add_user

    base = tmp_path_factory.mktemp("nojs-site")
    content, index, data = base / "content", base / "index", base / "data"
    shutil.copytree(sample_index[0], content)
    shutil.copytree(sample_index[1], index)
    add_user(data, "ama", PASSWORD)
    driver = chromium_driver(tmp_path_factory.mktemp("nojs"), javascript=False)
    try:
        driver.get("data:text/html,<title>off</title><script>document.title='on'</script>")
        assert driver.title == "off"  # scripts really do not run in this browser
        with kb_serve(content, index, base / "serve.log", data) as server:
            driver.get(server + "/")
            box = driver.find_element(By.CSS_SELECTOR, "main input[name=q]")
            box.send_keys("budget flexibility")
            box.submit()
            # a submit or a click only starts the navigation: on a busy machine the old page may still be there
            arrived(driver, lambda url: "q=budget+flexibility" in url)
            total = int(driver.find_element(By.CSS_SELECTOR, "#result-count strong").text)
            driver.find_element(By.CSS_SELECTOR, '[data-facet="type"] a[data-value="discussion"]').click()
            arrived(driver, lambda url: "type=discussion" in url)
            assert 0 < int(driver.find_element(By.CSS_SELECTOR, "#result-count strong").text) < total
            driver.find_element(By.CSS_SELECTOR, "ol.hits li.hit h3 a").click()
            arrived(driver, lambda url: "/items/" in url)
            driver.find_element(By.CSS_SELECTOR, ".jump a").click()
            arrived(driver, lambda url: url.endswith("#related"))
            driver.find_element(By.CSS_SELECTOR, "ul.related.activities li a").click()
            arrived(driver, lambda url: "/activities/" in url)
            log_in(driver, server)
            driver.get(server + "/items/discussions/health-taxes-earmarking-debate?activity_q=capitation+webinar")
            driver.find_element(By.CSS_SELECTOR, ".activity-matches button[value=accept]").click()
            flash = WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".flash"))
            assert "Linked to: webinar-2020-09-capitation" in flash[0].text
            assert "webinar-2020-09-capitation" in \
                (content / "discussions" / "health-taxes-earmarking-debate.md").read_text(encoding="utf-8")
    finally:
        driver.quit()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_skip_link_then_three_tabs_reach_the_first_result_with_a_visible_focus(server, browser, lang):
    from selenium.webdriver.common.keys import Keys

    browser.set_window_size(*SIZES["desktop"])
    choose_language(browser, server, lang)
    browser.get(server + "/search?q=budget")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    skip = browser.switch_to.active_element
    assert skip.get_attribute("class") == "skip" and skip.is_displayed()  # shown when focused
    skip.send_keys(Keys.ENTER)
    first = browser.find_element(By.CSS_SELECTOR, "ol.hits li.hit h3 a")
    for presses in range(1, 4):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element == first:
            break
    assert browser.switch_to.active_element == first, "the first result is more than 3 Tab presses away"
    outline = browser.execute_script(
        "const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]")
    assert outline == ["solid", "3px"], outline  # the site's own focus ring, wider than the browser's thin default
