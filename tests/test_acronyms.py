"""Acronyms the items define: either form of a name finds the items that write the other."""

from __future__ import annotations

import json

import pytest

from indexer.cli import cli
from kb.acronyms import definitions


@pytest.mark.parametrize("text, pair", [
    ("An Authority to Operate (ATO) is needed", ("ATO", "authority to operate")),
    ("the Robotic Process Automation (RPA) playbook", ("RPA", "robotic process automation")),
    ("RPA (robotic process automation) bots", ("RPA", "robotic process automation")),
    ("performance-based financing (PBF) in Rwanda", ("PBF", "performance based financing")),
    ("la gestion des finances publiques (GFP)", ("GFP", "gestion des finances publiques")),
])
def test_definitions_the_content_writes(text, pair):
    assert definitions(text) == {pair}


@pytest.mark.parametrize("text", [
    "in the country (US) and",  # the letters do not start the words before
    "see the guide (PDF)",
    "a new idea (Idea) here",  # one capital: not a short form
    "Federal Risk and Authorization Management Program (FedRAMP)",  # letters inside words: not matched
])
def test_what_is_not_a_definition(text):
    assert definitions(text) == set()


def search(runner, index, query: str) -> dict:
    result = runner.invoke(cli, ["--index", str(index), "search", query, "--json", "--limit", "100"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_short_form_finds_the_items_that_write_it_out(runner, sample_index):
    """Three sample items write "National Health Insurance Authority" and never "NHIA"."""
    found = search(runner, sample_index[1], "NHIA")
    full = {hit["id"] for hit in found["hits"] if hit["match"] == "full"}
    assert "discussions/covid-19-budget-flexibility-ghana" in full
    assert found["total"] == 12

# The other way round (a long form finds the pages that write only the short form) is tested on
# Digital.gov, in tests/test_digitalgov.py: in the sample every such item matches by other words too.
