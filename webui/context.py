"""Access to the app's settings and index from views."""

from __future__ import annotations

from flask import current_app

from indexer.content import ReadLimits
from indexer.store import IndexStore
from kb.settings import Settings


def settings() -> Settings:
    return current_app.extensions["kb"]["settings"]


def store() -> IndexStore:
    return current_app.extensions["kb"]["store"]


def limits() -> ReadLimits:
    """The bounds on reading one content file, for writes that reindex what they changed."""
    return ReadLimits.from_settings(settings())
