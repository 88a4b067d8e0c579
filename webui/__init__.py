"""The web UI: a Flask app factory with one blueprint per feature."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from indexer.accounts import secret_key

from indexer.store import IndexStore
from kb.settings import Settings


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Create the app from a Settings object, or from KB_* keys of `config` over the environment.

    Other keys of a `config` mapping (TESTING ...) go to Flask's own configuration.
    """
    app = Flask(__name__)
    if isinstance(config, Settings):
        settings, test_config = config, None
    else:
        test_config = config
        settings = Settings.from_mapping({**os.environ, **(config or {})})
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key or secret_key(Path(settings.data)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    if test_config is not None:
        app.config.update({k: v for k, v in test_config.items() if not k.startswith("KB_")})
    app.extensions["kb"] = {"settings": settings, "store": IndexStore(settings.index, cache_size=settings.search_cache,
                                                                    time_limit=settings.search_time_limit)}

    from kb.search import item_url
    from webui import auth, errors, items, manage, search, tagging

    CSRFProtect(app)
    app.jinja_env.globals.update(item_url=item_url)
    app.register_blueprint(auth.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(tagging.bp)

    app.register_blueprint(search.bp)
    app.register_blueprint(items.bp)
    errors.register(app)
    return app
