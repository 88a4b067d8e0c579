"""The edge of a real deployment: security headers, redirects that ignore the Host header, robots.txt."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, Flask, Response, g, request

bp = Blueprint("edge", __name__)

# No page runs JavaScript, and no template has an inline style: the policy forbids both.
# Images may come from other HTTPS sites because imported content links to its platform's uploads.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'none'",
    "style-src 'self'",
    "img-src 'self' https:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Search words and members-only paths never leave the site in a Referer header.
    "Referrer-Policy": "same-origin",
}
ROBOTS = """\
# Item, topic and activity pages are for crawlers; searches (every facet click is one) and manager pages are not.
User-agent: *
Disallow: /search
Disallow: /manage/
Disallow: /login
Disallow: /healthz
Allow: /items/
Allow: /topics/
Allow: /activities/
"""


@bp.get("/robots.txt")
def robots() -> Response:
    return Response(ROBOTS, mimetype="text/plain")


def relative_location(response: Response) -> None:
    """Turn a Location naming this request's own host into a path, so a forged Host header goes nowhere.

    Flask's redirects are relative already; Werkzeug's routing redirects (`/manage` to
    `/manage/`, merged slashes) are built from the Host header the client sent.
    """
    location = response.headers.get("Location")
    if not location:
        return
    parts = urlsplit(location)
    if parts.netloc and parts.netloc == request.host:
        path = "/" + parts.path.lstrip("/\\")  # never "//host": that would leave the site again
        response.headers["Location"] = urlunsplit(("", "", path, parts.query, parts.fragment))


class EdgeResponse(Response):
    # Werkzeug's default since 2.1, pinned: a relative Location is sent as it is, never completed from the Host header.
    autocorrect_location_header = False


def register(app: Flask) -> None:
    app.response_class = EdgeResponse
    app.register_blueprint(bp)

    @app.after_request
    def edge_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        relative_location(response)
        # What a page shows depends on who reads it (kb.access): a shared cache must never keep a
        # logged-in reader's page for the next reader, and pages vary with the session cookie.
        response.vary.add("Cookie")
        response.vary.add("Accept-Language")  # the interface's language comes from it when no switch was used
        if g.get("user"):
            response.headers["Cache-Control"] = "private, no-store"
        return response
