"""The web UI: a Flask app factory with one blueprint per feature."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from indexer import meaning
from indexer.accounts import dummy_hash, secret_key
from indexer.library import Library
from kb.backend import SearchBackend
from kb.settings import Settings

# Forms are small: the largest is a topic change's apply form, a path and a version per file changed.
MAX_REQUEST_BYTES = 2 * 1024 * 1024
# A manager's session ends after this long without a request (and auth.SESSION_MAX_AGE after login at the latest).
SESSION_IDLE = dt.timedelta(hours=12)


def create_app(config: Settings | Mapping[str, Any] | None = None, backend: SearchBackend | None = None) -> Flask:
    """Create the app from a Settings object, or from KB_* keys of `config` over the environment.

    Other keys of a `config` mapping (TESTING ...) go to Flask's own configuration.
    `backend` serves searches instead of the Whoosh index of KB_INDEX (another engine).
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
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_IDLE,
        SESSION_REFRESH_EACH_REQUEST=True,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_REQUEST_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    if test_config is not None:
        app.config.update({k: v for k, v in test_config.items() if not k.startswith("KB_")})
    app.extensions["kb"] = Library.open(settings, backend)
    model = getattr(app.extensions["kb"].backend, "model", None)
    if isinstance(model, meaning.Deferred):
        model.load()  # now, so that the first search does not wait for it

    from kb.search import item_url
    from webui.context import community_name
    from webui import auth, edge, errors, i18n, items, manage, pagecache, people, search, tagging, twins

    pagecache.install(app)

    CSRFProtect(app)
    i18n.register(app)
    app.jinja_env.globals.update(item_url=item_url, community_name=community_name)
    app.register_blueprint(auth.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(tagging.bp)

    app.register_blueprint(search.bp)
    app.register_blueprint(twins.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(items.bp)
    errors.register(app)
    edge.register(app)
    dummy_hash()  # made now, so the first login with an unknown name costs no more than any other
    return app
