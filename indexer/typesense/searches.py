"""Searches sent to the cluster together: documents by their ids, and multi_search with its refusals raised.

Ids go in the body of a multi_search, a page of them per search: 250 ids are longer than a URL may be.
"""

from __future__ import annotations

from typing import Any

PAGE = 250  # Typesense's largest page
MULTI = 50  # searches per multi_search request (the server's default limit)


def quoted(value: str) -> str:
    """A filter value in backticks, so commas, colons and brackets in ids stay part of the value."""
    return "`" + value.replace("`", "") + "`"


def id_filters(ids: list[str], page: int = PAGE) -> list[str]:
    """The filters that each give `page` of these ids (one page of a search's hits)."""
    return [f"id:=[{','.join(quoted(i) for i in ids[start:start + page])}]" for start in range(0, len(ids), page)]


def by_ids(collection: str, ids: list[str], fields: str) -> list[dict[str, Any]]:
    """The searches that find the documents with these ids (those there are), `fields` of each."""
    return [{"collection": collection, "q": "*", "per_page": PAGE, "include_fields": fields, "filter_by": where}
            for where in id_filters(ids)]


def multi(client: Any, searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answers to these searches, in order; one the cluster refused raises (`refused`)."""
    answers: list[dict[str, Any]] = []
    for start in range(0, len(searches), MULTI):
        results = client.multi_search.perform({"searches": searches[start:start + MULTI]}, {})["results"]
        for result in results:
            if "error" in result:
                raise refused(result)
        answers += results
    return answers


def refused(result: dict[str, Any]) -> Exception:
    """The exception for one search a multi_search answered with an error: a 404 (a node that lacks the
    collection yet) or a 503 (not ready) is tried again on another node (indexer.typesense.connection.retried)."""
    from typesense import exceptions

    kind = {404: exceptions.ObjectNotFound, 503: exceptions.ServiceUnavailable}.get(result.get("code"),
                                                                                     exceptions.RequestMalformed)
    return kind(f"the Typesense cluster refused a search: {result.get('error')}")
