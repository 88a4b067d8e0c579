"""Access to the app's settings and index from views."""

from __future__ import annotations

from flask import current_app

from indexer.store import IndexStore
from kb.settings import Settings


def settings() -> Settings:
    return current_app.extensions["kb"]["settings"]


def store() -> IndexStore:
    return current_app.extensions["kb"]["store"]

