"""Search pages as an anonymous reader gets them, kept for the next identical request.

A search answered from the result cache still cost its page: facet links, the hits' markup, every
label in the reader's language (4.8 ms in all at 100,000 items; 0.7 ms with its page kept). Most
readers of a community's site are not logged in, and their page depends only on the result, the
address asked and the page's language: it is kept under those, and the result's state (its index
generation, commit and request, kb.search.SearchResult.state), so any change to the index makes a
new page. A reader with a session (logged in, or with a message waiting to be shown) always gets
a page made for them.
"""

from __future__ import annotations

import zlib

from flask import Flask, current_app, request, session

from indexer.lru import LRU
from kb.search import SearchResult
from webui.context import viewer
from webui.i18n import page_language

# Pages kept per app, compressed (a page of ten hits at 100,000 items, 25-31 KB, takes 4-5 KB;
# compressing it costs about 0.1 ms, reading it back 0.06): about 2 MB in all, 400-500 pages.
# Per app, not per process: a page depends on the app's settings too (its page size, how many
# pages it links).
PAGES_BYTES = 2_000_000


def install(app: Flask) -> None:
    app.extensions["kb_pages"] = LRU(PAGES_BYTES, weigh=len)


def key(result: SearchResult) -> tuple | None:
    """What this request's page may be kept under; None when it is made for one reader only."""
    if not result.state or viewer().role != "anonymous" or session:
        return None
    return result.state, request.full_path, page_language()


def kept(result: SearchResult) -> str | None:
    found = key(result)
    packed = current_app.extensions["kb_pages"].get(found) if found is not None else None
    return zlib.decompress(packed).decode("utf-8") if packed is not None else None


def keep(result: SearchResult, page: str) -> None:
    found = key(result)
    if found is not None:
        current_app.extensions["kb_pages"].put(found, zlib.compress(page.encode("utf-8"), 1))
