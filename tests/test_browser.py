"""End to end in a real Chromium against a real `kb serve` process."""

import os

import pytest

from tests.servers import CHROMEDRIVER, CHROMIUM, chromium_driver, kb_serve

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("KB_REQUIRE_BROWSER"):
        raise RuntimeError("KB_REQUIRE_BROWSER is set but chromium / chromedriver are not installed")
    pytest.skip("chromium and chromedriver are not installed", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(sample_index, tmp_path_factory):
    content, index = sample_index
    with kb_serve(content, index, tmp_path_factory.mktemp("serve") / "serve.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium_driver(tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()


def wait_for(driver, css):
    return WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def result_total(driver) -> int:
    return int(driver.find_element(By.CSS_SELECTOR, "#result-count strong").text)


def test_search_facet_item_and_related_activity(server, browser):
    browser.get(server + "/")
    box = wait_for(browser, "input[name=q]")
    box.send_keys("budget flexibility")
    box.submit()
    # "/" already lists every item: wait for the search's own page, not for any hit
    WebDriverWait(browser, 10).until(EC.url_contains("q=budget+flexibility"))
    wait_for(browser, "ol.hits li.hit")
    everything = result_total(browser)
    assert browser.find_elements(By.CSS_SELECTOR, ".snippet mark")

    # click a facet value: the list narrows, the URL carries the filter, the value shows as selected
    browser.find_element(By.CSS_SELECTOR, '[data-facet="type"] a[data-value="discussion"]').click()
    wait_for(browser, '[data-facet="type"] li.selected')
    assert "type=discussion" in browser.current_url
    narrowed = result_total(browser)
    assert 0 < narrowed < everything
    types = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "ol.hits .type")]
    assert types and set(types) == {"Discussion"}

    # open the first result
    first = browser.find_element(By.CSS_SELECTOR, "ol.hits li.hit h3 a")
    title = first.text
    first.click()
    heading = wait_for(browser, "article.item h1")
    assert heading.text == title
    assert "/items/discussions/" in browser.current_url

    # follow a related activity
    related = browser.find_elements(By.CSS_SELECTOR, "ul.related.activities li a")
    assert related, "the item page lists related activities"
    reasons = browser.find_elements(By.CSS_SELECTOR, "ul.related.activities li .reasons")
    assert all(r.text for r in reasons)
    activity_title = related[0].text
    related[0].click()
    # the item page has an `article.item h1` too: wait for the activity's address before reading one
    WebDriverWait(browser, 10).until(EC.url_contains("/activities/"))
    heading = wait_for(browser, "article.item h1")
    assert heading.text == activity_title
    assert browser.find_elements(By.XPATH, "//h2[text()='Content from this activity']")


def test_bad_url_shows_an_error_page(server, browser):
    browser.get(server + "/search?page=zero")
    assert wait_for(browser, "h1").text == "400 · Bad request"
    browser.get(server + "/items/does-not-exist")
    assert wait_for(browser, "h1").text == "404 · Not found"
