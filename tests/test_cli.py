"""The kb command: exit codes, JSON shapes and error messages."""

import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.cli import cli
from indexer.store import IndexStore
from tests.conftest import write


def kb(runner, *args, env=None):
    return runner.invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.mark.slow
def test_reindex_text_and_json(runner, content_copy, tmp_path):
    index = tmp_path / "ix"
    result = kb(runner, "--content", str(content_copy), "--index", str(index), "reindex")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Full rebuild: indexed 64 items in ")
    assert "note: no index yet: built from scratch" in result.stderr
    result = kb(runner, "--content", str(content_copy), "--index", str(index), "reindex", "--full", "--json")
    data = json.loads(result.stdout)
    assert data["mode"] == "full" and data["indexed"] == data["items"] == 64
    assert data["failed"] == [] and data["seconds"] >= 0
    assert data["generation"].startswith("gen-")
    assert {w["path"] for w in data["warnings"]} >= {"documents/ghana-covid-19-health-financing-response.md"}
    again = kb(runner, "--content", str(content_copy), "--index", str(index), "reindex")
    assert again.stdout.startswith("Nothing changed: 64 items in generation " + data["generation"])


@pytest.mark.slow
def test_reindex_reports_bad_files_and_exits_1(runner, content_copy, tmp_path):
    write(content_copy / "broken/bad.md", "---\ntitle: [oops\n---\n")
    result = kb(runner, "--content", str(content_copy), "--index", str(tmp_path / "ix"), "reindex", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["failed"][0]["path"] == "broken/bad.md"
    assert data["failed"][0]["reason"].startswith("front matter is not valid YAML")
    assert data["indexed"] >= 60


def test_environment_fallbacks(runner, sample_index):
    content, index = sample_index
    result = kb(runner, "search", "capitation", "--json", env={"KB_CONTENT": str(content), "KB_INDEX": str(index)})
    assert result.exit_code == 0
    assert json.loads(result.stdout)["total"] > 0


def test_search_json_shape(runner, sample_index):
    _, index = sample_index
    result = kb(runner, "--index", str(index), "search", "budget flexibility", "--json", "--limit", "3")
    data = json.loads(result.stdout)
    assert set(data) >= {"query", "total", "hits", "facets"}
    assert data["query"] == "budget flexibility"
    assert len(data["hits"]) == 3
    hit = data["hits"][0]
    assert set(hit) >= {"id", "title", "type", "date", "score", "snippet", "topics", "activities", "url"}
    assert hit["url"].startswith(("/items/", "/activities/"))
    assert set(data["facets"]) == {"topic", "type", "kind", "country", "year", "lang", "person"}
    assert all(isinstance(n, int) for n in data["facets"]["topic"].values())


def test_search_text_output(runner, sample_index):
    _, index = sample_index
    result = kb(runner, "--index", str(index), "search", "capitation", "--limit", "2")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith(" ") is False and "results for 'capitation', showing 2" in lines[0]
    assert " 1. " in result.stdout and "    id: " in result.stdout


def test_search_filter_option(runner, sample_index):
    _, index = sample_index
    result = kb(runner, "--index", str(index), "search", "budget", "--filter", "type=document", "--json")
    assert {h["type"] for h in json.loads(result.stdout)["hits"]} == {"document"}
    bad = kb(runner, "--index", str(index), "search", "budget", "--filter", "colour=blue")
    assert bad.exit_code == 2
    assert "Error: --filter 'colour=blue': 'colour' is not one of" in bad.output


def test_search_batch(runner, sample_index, tmp_path):
    _, index = sample_index
    queries = write(tmp_path / "q.jsonl", '{"id": "q1", "text": "capitation"}\n\n{"id": 2, "text": "virements"}\nnot json\n')
    result = kb(runner, "--index", str(index), "search", "--batch", str(queries), "--limit", "5")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("id") for line in lines] == ["q1", 2, None]
    assert len(lines[0]["hits"]) == 5 and lines[0]["hits"][0]["id"]
    assert "error" in lines[2] and lines[2]["line"] == 4
    assert result.exit_code == 1


def test_search_without_index_is_a_clear_error(runner, tmp_path):
    result = kb(runner, "--index", str(tmp_path / "none"), "search", "x")
    assert result.exit_code == 2
    assert result.output.startswith("Error: no index in ")
    assert "Traceback" not in result.output


def test_search_needs_a_query(runner, sample_index):
    result = kb(runner, "--index", str(sample_index[1]), "search")
    assert result.exit_code == 2 and "give a QUERY" in result.output


def test_query_messages_go_to_stderr(runner, sample_index):
    result = kb(runner, "--index", str(sample_index[1]), "search", "budget topic:nonsense")
    assert result.exit_code == 0
    assert "note: topic:nonsense is not a topic in the vocabulary" in result.stderr


LONG_QUESTION = ("In our ministry we are trying to understand how other countries handled budget flexibility "
                 "for health during COVID-19, in particular virements between budget lines, " * 30
                 + "and what the roundtable on strategic purchasing concluded about capitation")


def test_a_long_question_is_cut_to_the_limit_and_searched(runner, sample_index):
    assert len(LONG_QUESTION) > 2000
    result = kb(runner, "--index", str(sample_index[1]), "search", LONG_QUESTION)
    assert result.exit_code == 0, result.output
    assert f"note: The query is {len(LONG_QUESTION):,} characters long; only its first" in result.stderr
    assert "(the limit is 2,000)" in result.stderr
    assert re.search(r"^[1-9]\d* results for", result.stdout, re.M)


@pytest.mark.slow
def test_batch_searches_a_long_question_with_a_warning_line(runner, sample_index, tmp_path):
    queries = write(tmp_path / "q.jsonl", json.dumps({"id": "long", "text": LONG_QUESTION}) + "\n"
                    + json.dumps({"id": "short", "text": "capitation"}) + "\n")
    result = kb(runner, "--index", str(sample_index[1]), "search", "--batch", str(queries))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["long", "short"]
    assert lines[0]["total"] > 0 and "error" not in lines[0]
    assert "only its first" in lines[0]["messages"][0] and lines[1]["messages"] == []
    assert "warning: line 1: The query is" in result.stderr


@pytest.mark.slow
def test_check_clean_sample_has_only_warnings(runner, sample_index):
    content, _ = sample_index
    result = kb(runner, "--content", str(content), "check")
    assert result.exit_code == 0, result.output
    assert "documents/ghana-covid-19-health-financing-response.md: warning: topics: 'covid-financing' is deprecated" in result.stdout
    assert kb(runner, "--content", str(content), "check", "--strict").exit_code == 1


@pytest.mark.slow
def test_check_lists_each_problem_and_fails(runner, content_copy):
    write(content_copy / "bad/unknown-topic.md", "---\ntitle: X\ntopics: [no-such-topic]\nactivities: [ghost]\n---\n")
    write(content_copy / "bad/broken.md", "---\n: : :\n---\n")
    result = kb(runner, "--content", str(content_copy), "check")
    assert result.exit_code == 1
    assert "bad/unknown-topic.md: error: topics: 'no-such-topic' is not in the vocabulary" in result.stdout
    assert "bad/unknown-topic.md: error: activities: 'ghost' is not the id of any item" in result.stdout
    assert "bad/broken.md: error: front matter is not valid YAML" in result.stdout


def test_missing_content_folder(runner, tmp_path):
    result = kb(runner, "--content", str(tmp_path / "nope"), "--index", str(tmp_path / "ix"), "reindex")
    assert result.exit_code == 2
    assert result.output == f"Error: content folder {str(tmp_path / 'nope')!r} does not exist or is not a folder\n"


def test_broken_vocabulary_is_a_configuration_error(runner, content_copy, tmp_path):
    (content_copy / "vocabulary.yml").write_text("topics:\n  - id: a\n    label: A\n    broader: zz\n")
    result = kb(runner, "--content", str(content_copy), "--index", str(tmp_path / "ix"), "reindex")
    assert result.exit_code == 2
    assert "Error: vocabulary.yml: topic 'a': broader 'zz' is not a topic id" in result.output


def test_locked_index_exits_3(runner, content_copy, tmp_path):
    store = IndexStore(tmp_path / "ix")
    with store.write_lock():
        result = kb(runner, "--content", str(content_copy), "--index", str(tmp_path / "ix"), "reindex", "--wait", "0.2")
    assert result.exit_code == 3
    assert result.output.startswith(f"Error: the index is being written by pid {os.getpid()}")


def test_usage_errors_exit_2(runner):
    assert kb(runner, "search", "--limit", "0", "x").exit_code == 2
    assert kb(runner, "nonsense").exit_code == 2
    assert kb(runner, "serve", "--port", "99999").exit_code == 2


@pytest.mark.slow
def test_console_script_runs_without_traceback(sample_index, tmp_path):
    exe = Path(sys.executable).with_name("kb")
    proc = subprocess.run([str(exe), "--index", str(tmp_path / "none"), "search", "x"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: no index") and "Traceback" not in proc.stderr
    ok = subprocess.run([str(exe), "--index", str(sample_index[1]), "search", "capitation"], capture_output=True, text=True)
    assert ok.returncode == 0 and "results for 'capitation'" in ok.stdout


def test_output_piped_into_head_stops_quietly(sample_index, tmp_path):
    """`kb search --batch ... | head -1`: the reader of the output goes away; no traceback, no message."""
    exe = Path(sys.executable).with_name("kb")
    batch = write(tmp_path / "queries.txt", "budget\n" * 300)  # far more output than a pipe holds
    proc = subprocess.Popen([str(exe), "--index", str(sample_index[1]), "search", "--batch", str(batch)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does once it has its line
    with proc.stderr:
        stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1 and stderr == ""


@pytest.mark.parametrize("command", cli.list_commands(None))
def test_every_command_has_help_with_an_example(runner, command):
    result = kb(runner, command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "Exit codes" in result.output


def test_search_suggestions_and_relaxations_on_stderr(runner, sample_index):
    _, index = sample_index
    result = kb(runner, "--index", str(index), "search", "capitaton rates")
    assert "did you mean: capitation rates" in result.stderr
    empty = kb(runner, "--index", str(index), "search", "budget topic:health-taxes type:persona")
    assert "0 results for" in empty.stdout
    without = json.loads(kb(runner, "--index", str(index), "search", "budget topic:health-taxes", "--json").stdout)
    assert without["total"] > 0
    assert f"without type persona: {without['total']} results" in empty.stderr


def test_report_searches(runner, tmp_path):
    from indexer import searchlog

    data = tmp_path / "data"
    for query, results in (("capitation", 5), ("Capitation ", 5), ("gender budgeting", 0)):
        searchlog.record(data, query, {}, results)
    text = kb(runner, "--data", str(data), "report", "searches", "--days", "7")
    assert text.exit_code == 0
    assert "3 searches since" in text.stdout
    assert "      2  capitation" in text.stdout
    assert "Searches with no results:\n      1  gender budgeting" in text.stdout
    report = json.loads(kb(runner, "--data", str(data), "report", "searches", "--json").stdout)
    assert report["zero_results"] == [{"query": "gender budgeting", "filters": {}, "count": 1}]
    empty = kb(runner, "--data", str(tmp_path / "none"), "report", "searches", "--json")
    assert json.loads(empty.stdout)["searches"] == 0


def test_the_command_map_names_the_module_of_every_command():
    """`kb` imports only the invoked command's module, found in COMMANDS: every command defined in
    indexer/cli must be there, under its own module."""
    import importlib
    import pkgutil

    import indexer.cli as package
    from indexer.cli import COMMANDS

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"indexer.cli.{info.name}")
    assert sorted(cli.commands) == sorted(COMMANDS)
    for name, module in COMMANDS.items():
        assert cli.commands[name].callback.__module__ == f"indexer.cli.{module}", name
