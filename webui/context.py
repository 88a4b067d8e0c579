"""Access to the app's library (content, index, data folder) and settings from views."""

from __future__ import annotations

from flask import current_app

from indexer.library import Library
from kb.settings import Settings


def library() -> Library:
    return current_app.extensions["kb"]


def settings() -> Settings:
    return library().settings
