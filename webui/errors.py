"""Map errors to HTTP status codes in one table and render one error page."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from kb.errors import ConfigError, ConflictError, ContentError, IndexLockedError, IndexMissingError, KbError, \
    NotFoundError, QueryError, StorageError, VocabularyError
from webui.auth import login_again

log = logging.getLogger(__name__)

STATUS = {
    QueryError: (400, "Bad request"),
    ConflictError: (409, "Changed by someone else"),
    ContentError: (422, "The file cannot be changed safely"),
    NotFoundError: (404, "Not found"),
    IndexMissingError: (503, "Search is not ready"),
    IndexLockedError: (503, "Search is busy"),
    StorageError: (503, "Cannot save right now"),
    ConfigError: (500, "The server is not configured correctly"),
    VocabularyError: (500, "The vocabulary file is broken"),
}


def wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, title: str, message: str):
    if wants_json():
        return jsonify({"error": title, "message": message, "status": status}), status
    return render_template("error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(KbError)
    def kb_error(exc: KbError):
        status, title = next((v for k, v in STATUS.items() if isinstance(exc, k)), (500, "Error"))
        return render_error(status, title, str(exc))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if request.endpoint == "auth.login":
            return login_again(f"{exc.description} The form expired or was not sent from this page: log in again.")
        return render_error(400, "Form expired or not sent from this site",
                            f"{exc.description} Reload the page and try again.")

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return render_error(413, "Too much sent",
                            f"This site accepts forms of up to {limit} MB, and this one was larger, so nothing was "
                            "saved. Go back, send less at a time (fewer items or shorter text) and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return render_error(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s", request.path)
        return render_error(500, "Internal error", "Something went wrong; the error was logged.")
