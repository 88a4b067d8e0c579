"""Map errors to HTTP status codes in one table and render one error page."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from kb.errors import ConfigError, ConflictError, ContentError, IndexLockedError, IndexMissingError, KbError, \
    NotFoundError, QueryError, StorageError, VocabularyError
from kb.notes import message_of
from webui.auth import login_again
from webui.i18n import translated

log = logging.getLogger(__name__)

STATUS = {
    QueryError: (400, _l("Bad request")),
    ConflictError: (409, _l("Changed by someone else")),
    ContentError: (422, _l("The file cannot be changed safely")),
    NotFoundError: (404, _l("Not found")),
    IndexMissingError: (503, _l("Search is not ready")),
    IndexLockedError: (503, _l("Search is busy")),
    StorageError: (503, _l("Cannot save right now")),
    ConfigError: (500, _l("The server is not configured correctly")),
    VocabularyError: (500, _l("The vocabulary file is broken")),
}
# Werkzeug names HTTP errors in English; these are the ones members meet.
HTTP_TITLES = {400: _l("Bad request"), 401: _l("Log in first"), 403: _l("Not allowed"), 404: _l("Not found"),
               405: _l("Not allowed"), 429: _l("Too many requests"), 500: _l("Internal error")}
# What to say instead of Werkzeug's own English description, when the error brings no description of kb's.
HTTP_MESSAGES = {404: _l("There is no page at this address. Search for what you were looking for, or browse "
                         "the topics."),
                 405: _l("This page cannot be used that way."),
                 400: _l("The request could not be understood.")}


def wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, title: str, message: str):
    title, message = str(title), translated(message)
    if wants_json():
        return jsonify({"error": title, "message": message, "status": status}), status
    return render_template("error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(KbError)
    def kb_error(exc: KbError):
        status, title = next((v for k, v in STATUS.items() if isinstance(exc, k)), (500, _l("Error")))
        return render_error(status, title, message_of(exc))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if request.endpoint == "auth.login":
            return login_again(_("The form expired or was not sent from this page: log in again."))
        return render_error(400, _("Form expired or not sent from this site"),
                            _("The form expired or was not sent from this page. Reload the page and try again."))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return render_error(413, _("Too much sent"),
                            _("This site accepts forms of up to %(limit)s MB, and this one was larger, so nothing was "
                              "saved. Go back, send less at a time (fewer items or shorter text) and try again.",
                              limit=limit))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        described = exc.description if exc.description != type(exc).description else None
        return render_error(code, HTTP_TITLES.get(code, exc.name),
                            described or str(HTTP_MESSAGES.get(code, exc.description or "")))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s", request.path)
        return render_error(500, _("Internal error"), _("Something went wrong; the error was logged."))
