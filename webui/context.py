"""Access to the app's library (content, index, data folder) and settings from views."""

from __future__ import annotations

from flask import current_app, g

from indexer.library import Library
from kb.access import Viewer
from kb.settings import Settings
from kb.labelled import LabelledVocabulary
from kb.vocabulary import Vocabulary


def library() -> Library:
    return current_app.extensions["kb"]


def settings() -> Settings:
    return library().settings


def viewer() -> Viewer:
    """Who this request is for: what they may see is all a page shows them."""
    return Viewer(g.get("role") or "anonymous")


def is_manager() -> bool:
    return g.get("role") == "manager"


def community_name(community_id: str) -> str:
    """The community's name from community.yml when it is this one, else its id made readable."""
    community = library().community()
    if community.get("id") == community_id:
        return community["name"]
    return " ".join(w[:1].upper() + w[1:] for w in community_id.replace("_", "-").split("-") if w) or community_id


def vocabulary(of: Vocabulary | None = None) -> LabelledVocabulary:
    """The vocabulary (`of`, else the library's) with its labels in the page's language."""
    from webui.i18n import page_language
    if of is not None:
        return LabelledVocabulary(of, page_language())
    if "labelled_vocabulary" not in g:  # once per request: every translated note that names a topic asks for it
        g.labelled_vocabulary = LabelledVocabulary(library().vocabulary(), page_language())
    return g.labelled_vocabulary
