"""Every documented setting changes what it says, on every edge it applies to (CLI, web app, jobs).

Each setting is given the way operators give it, in the environment (KB_*), to
the `kb` command (through click's runner, with `env`) or to the web app.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.accounts import add_user
from indexer.cli import cli
from kb.errors import ConfigError
from kb.settings import MIN_SECRET_KEY, Settings
from tests.conftest import write
from webui import create_app


def kb(runner, *args, **env):
    return runner.invoke(cli, list(args), env={k: str(v) for k, v in env.items()})


def web(sample_index, tmp_path, **settings):
    content, index = sample_index
    config = {"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(tmp_path / "data")}
    return create_app({**config, **{k: str(v) for k, v in settings.items()}}).test_client()


def test_every_setting_is_tested():
    """Here, or (KB_SEARCH_TIME_LIMIT, which needs a big corpus to matter) beside the real data sets."""
    source = "".join(path.read_text(encoding="utf-8") for path in Path(__file__).parent.glob("test_*.py"))
    for key, _, _ in Settings.describe():
        assert re.search(rf"\b{key}(=|\": )", source), f"{key} is never set by a test"


def test_every_setting_is_documented_in_the_readme(pytestconfig):
    readme = (pytestconfig.rootpath / "README.md").read_text(encoding="utf-8")
    for key, _, _ in Settings.describe():
        assert key in readme, f"{key} is not documented in README.md"


@pytest.mark.slow
def test_content_index_and_data_from_the_environment(runner, sample_index, tmp_path):
    content, index = sample_index
    checked = kb(runner, "check", KB_CONTENT=content)
    assert "64 items checked" in checked.stderr
    found = kb(runner, "search", "capitation", "--json", KB_INDEX=index)
    assert json.loads(found.stdout)["total"] > 0
    kb(runner, "user", "add", "ama", "--password", "correct horse battery", KB_DATA=tmp_path / "accounts")
    assert (tmp_path / "accounts" / "users.json").is_file()
    assert web(sample_index, tmp_path, KB_INDEX=index).get("/search.json?q=capitation").get_json()["total"] > 0


def test_options_win_over_the_environment(runner, sample_index, tmp_path):
    _, index = sample_index
    result = kb(runner, "--index", str(index), "search", "capitation", "--json", KB_INDEX=tmp_path / "none")
    assert result.exit_code == 0 and json.loads(result.stdout)["total"] > 0


def test_page_size(runner, sample_index, tmp_path):
    _, index = sample_index
    assert len(web(sample_index, tmp_path, KB_PAGE_SIZE=3).get("/search.json?q=budget").get_json()["hits"]) == 3
    result = kb(runner, "search", "budget", "--json", KB_INDEX=index, KB_PAGE_SIZE=4)
    assert len(json.loads(result.stdout)["hits"]) == 4


def test_max_page(sample_index, tmp_path):
    client = web(sample_index, tmp_path, KB_MAX_PAGE=2)
    assert client.get("/search.json?q=budget&page=2").status_code == 200
    refused = client.get("/search.json?q=budget&page=3")
    assert refused.status_code == 400 and "page: must be between 1 and 2" in refused.get_json()["message"]


def test_max_query_length(runner, sample_index, tmp_path):
    _, index = sample_index
    query = "budget flexibility during covid emergencies"
    data = web(sample_index, tmp_path, KB_MAX_QUERY_LENGTH=20).get("/search.json", query_string={"q": query}).get_json()
    assert data["query"] == "budget flexibility" and "(the limit is 20)" in data["messages"][0]
    result = kb(runner, "search", query, KB_INDEX=index, KB_MAX_QUERY_LENGTH=20)
    assert result.exit_code == 0 and "(the limit is 20)" in result.stderr


def test_max_filter_values(runner, sample_index, tmp_path):
    _, index = sample_index
    client = web(sample_index, tmp_path, KB_MAX_FILTER_VALUES=2)
    assert client.get("/search.json?type=discussion&type=document").status_code == 200
    refused = client.get("/search.json?type=discussion&type=document&type=survey")
    assert refused.status_code == 400 and "the limit is 2" in refused.get_json()["message"]
    result = kb(runner, "search", "budget", "--filter", "type=a", "--filter", "type=b", "--filter", "type=c",
                KB_INDEX=index, KB_MAX_FILTER_VALUES=2)
    assert result.exit_code == 2 and "3 values are selected; the limit is 2" in result.output


def test_max_file_bytes(runner, content_copy, tmp_path):
    small = kb(runner, "check", KB_CONTENT=content_copy, KB_MAX_FILE_BYTES=10)
    assert small.exit_code == 1
    assert "the limit is 10 (KB_MAX_FILE_BYTES); skipped" in small.stdout
    assert "0 items checked" in small.stderr
    indexed = kb(runner, "reindex", "--json", KB_CONTENT=content_copy, KB_INDEX=tmp_path / "ix",
                 KB_MAX_FILE_BYTES=3000)
    summary = json.loads(indexed.stdout)
    big = [f["path"] for f in summary["failed"]]
    assert big and summary["items"] + len(big) == 64
    assert all((content_copy / path).stat().st_size > 3000 for path in big)


@pytest.mark.slow
def test_file_seconds(runner, content_copy, tmp_path):
    """A file that takes longer than KB_FILE_SECONDS to read is reported and the run goes on."""
    slow = "\n\n".join(f"Paragraph {n} with *emphasis*, [a link](https://example.org/{n}) and `code`." for n in range(60000))
    write(content_copy / "documents/very-long.md", "---\ntitle: Very long\n---\n" + slow)
    started = time.monotonic()
    result = kb(runner, "reindex", "--json", KB_CONTENT=content_copy, KB_INDEX=tmp_path / "ix", KB_FILE_SECONDS=1)
    assert time.monotonic() - started < 30
    summary = json.loads(result.stdout)
    assert summary["failed"] == [{"path": "documents/very-long.md",
                                  "reason": "reading it took longer than 1 s (KB_FILE_SECONDS); skipped"}]
    assert summary["items"] == 64 and result.exit_code == 1


@pytest.mark.slow
def test_file_memory_mb(content_copy, tmp_path):
    """A file that needs more memory than KB_FILE_MEMORY_MB is reported and the run goes on.

    Run as operators run it, as its own `kb` process: a reader forked from this long test
    process could use the free memory the process already holds beyond the bound (the bound
    counts the address space a reader adds)."""
    write(content_copy / "documents/big.txt", "words and more words\n" * 400_000)  # 8 MB of text
    env = {**os.environ, "KB_CONTENT": str(content_copy), "KB_INDEX": str(tmp_path / "ix"), "KB_FILE_MEMORY_MB": "4"}
    result = subprocess.run([str(Path(sys.executable).with_name("kb")), "reindex", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    summary = json.loads(result.stdout)
    failed = {f["path"]: f["reason"] for f in summary["failed"]}
    assert "KB_FILE_MEMORY_MB" in failed.get("documents/big.txt", "")
    assert summary["items"] >= 60  # the ordinary files still fit


def test_related_limit(sample_index, tmp_path):
    def related(client):
        page = client.get("/items/sessions/forum-2020-session-1-notes").get_data(as_text=True)
        return page.count('<span class="reasons">')
    assert related(web(sample_index, tmp_path, KB_RELATED_LIMIT=1)) <= 2  # one activity, one other item
    assert related(web(sample_index, tmp_path, KB_RELATED_LIMIT=8)) > 2


def test_search_cache(sample_index, tmp_path):
    cached = web(sample_index, tmp_path, KB_SEARCH_CACHE=5)
    uncached = web(sample_index, tmp_path / "other", KB_SEARCH_CACHE=0)
    for client in (cached, uncached):
        client.get("/search.json?q=capitation")
    assert len(cached.application.extensions["kb"].backend.results._entries) == 1
    assert len(uncached.application.extensions["kb"].backend.results._entries) == 0


def test_search_log_days(sample_index, tmp_path):
    from indexer import searchlog

    web(sample_index, tmp_path, KB_SEARCH_LOG_DAYS=0).get("/search.json?q=capitation")
    assert searchlog.report(tmp_path / "data", 30)["searches"] == 0
    web(sample_index, tmp_path, KB_SEARCH_LOG_DAYS=30).get("/search.json?q=capitation")
    assert searchlog.report(tmp_path / "data", 30)["searches"] == 1


def test_secret_key(runner, sample_index, tmp_path):
    with pytest.raises(ConfigError, match=f"KB_SECRET_KEY must be at least {MIN_SECRET_KEY} characters"):
        web(sample_index, tmp_path, KB_SECRET_KEY="x")
    refused = kb(runner, "status", KB_INDEX=sample_index[1], KB_SECRET_KEY="short")
    assert refused.exit_code == 2 and "KB_SECRET_KEY must be at least" in refused.output
    key = "k" * MIN_SECRET_KEY
    app = web(sample_index, tmp_path, KB_SECRET_KEY=key).application
    assert app.config["SECRET_KEY"] == key
    assert not (tmp_path / "data" / "secret_key").exists()  # no key generated when one is given


def test_login_attempts_and_window(sample_index, tmp_path):
    add_user(tmp_path / "data", "ama", "correct horse battery")
    client = web(sample_index, tmp_path, KB_LOGIN_ATTEMPTS=2, KB_LOGIN_WINDOW=60)

    def attempt(password):
        page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
        return client.post("/login", data={"name": "ama", "password": password, "csrf_token": csrf})
    assert [attempt("wrong password!").status_code for _ in range(2)] == [401, 401]
    blocked = attempt("correct horse battery")  # even the right password waits out the window
    assert blocked.status_code == 429 and "minute" in blocked.get_data(as_text=True)


@pytest.mark.slow
def test_secure_cookies(sample_index, tmp_path):
    add_user(tmp_path / "data", "ama", "correct horse battery")
    for secure in (0, 1):
        client = web(sample_index, tmp_path, KB_SECURE_COOKIES=secure)
        page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
        response = client.post("/login", data={"name": "ama", "password": "correct horse battery", "csrf_token": csrf})
        cookie = response.headers.get("Set-Cookie", "")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is bool(secure)


@pytest.mark.parametrize("key, value, message", [
    ("KB_PAGE_SIZE", "ten", "KB_PAGE_SIZE must be a whole number, got 'ten'"),
    ("KB_PAGE_SIZE", "0", "KB_PAGE_SIZE must be at least 1, got 0"),
    ("KB_SEARCH_TIME_LIMIT", "-1", "KB_SEARCH_TIME_LIMIT must be more than 0 seconds"),
    ("KB_SEARCH_TIME_LIMIT", "0", "KB_SEARCH_TIME_LIMIT must be more than 0 seconds"),
    ("KB_REINDEX_WARM", "-1", "KB_REINDEX_WARM must be 0 seconds or more, got '-1'"),
    ("KB_REINDEX_WARM", "soon", "KB_REINDEX_WARM must be a number of seconds, got 'soon'"),
    ("KB_SECURE_COOKIES", "maybe", "KB_SECURE_COOKIES must be 1 or 0"),
    ("KB_SEMANTIC_WEIGHT", "2", "KB_SEMANTIC_WEIGHT must be between 0 and 1, got '2'"),
    ("KB_SEMANTIC_WEIGHT", "much", "KB_SEMANTIC_WEIGHT must be a number between 0 and 1"),
])
def test_bad_values_name_the_setting(runner, key, value, message):
    result = kb(runner, "status", **{key: value})
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
