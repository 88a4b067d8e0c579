"""Logging in and out; `login_required` guards every manager page and every write.

Members and managers log in alike; `g.role` says which (kb.access), and every
page shows what that role may see. Manager pages and writes answer 403 to a
member. On a members-only site (KB_PUBLIC=0) every page but the login asks
for an account first.

A session is a signed cookie holding the user name, the account's session token at
login and the login time. It is checked on every request: the account must still
exist and hold the same token (logout draws a new one, `kb user remove` deletes the
account), and the login must be younger than SESSION_MAX_AGE. The cookie itself
expires after PERMANENT_SESSION_LIFETIME without a request.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import time
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from indexer import logins
from indexer.accounts import check_login, end_sessions, role_of, session_token
from webui.context import library, settings

bp = Blueprint("auth", __name__)
SESSION_MAX_AGE = dt.timedelta(days=7)


class LoginForm(FlaskForm):
    name = StringField(_l("User name"), validators=[DataRequired(_l("Enter your user name.")), Length(max=32)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])


@bp.before_app_request
def load_user() -> None:
    """Set g.user from a session that is still valid; end a session that is not."""
    g.user, g.role = None, "anonymous"
    name = session.get("user")
    if request.endpoint == "static":
        return
    if name is not None:
        token = session_token(library().data, name)
        too_old = time.time() - session.get("since", 0) > SESSION_MAX_AGE.total_seconds()
        if token is None or token != session.get("token") or too_old:
            session.clear()
        else:
            g.user, g.role = name, role_of(library().data, name) or "anonymous"
    if g.user is None and not settings().public and request.endpoint not in OPEN_ON_PRIVATE_SITES:
        return ask_for_login(_("Log in to read this site."))


# What a members-only site answers without an account: the login itself, and what machines ask for.
OPEN_ON_PRIVATE_SITES = {"auth.login", "static", "edge.robots", "search.healthz", "i18n.switch"}


def ask_for_login(message: str):
    if request.method != "GET" or request.path.endswith(".json") or \
            request.accept_mimetypes.best == "application/json":
        abort(401, description=message)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def start_session(name: str) -> None:
    session.clear()  # nothing from before the login (such as its CSRF token) is carried into the new session
    session.permanent = True
    session["user"] = name
    session["token"] = session_token(library().data, name)
    session["since"] = int(time.time())


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """For managers only: send anonymous visitors to the login page (JSON clients get a 401),
    and answer a member 403."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return ask_for_login(_("Log in as a manager to do this."))
        if g.get("role") != "manager":
            abort(403, description=_("Only managers may do this."))
        return view(*args, **kwargs)
    return wrapped


def safe_next(target: str | None, fallback: str = "") -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc \
            and "\\" not in target:
        return target
    return fallback or url_for("manage.index")


def wait_message(seconds: int) -> str:
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)).strftime("%H:%M UTC")
    minutes = math.ceil(seconds / 60)
    if seconds < 60:
        return _("Too many failed logins for this account or from this address. "
                 "Try again in less than a minute (after %(until)s).", until=until)
    return ngettext("Too many failed logins for this account or from this address. "
                    "Try again in %(num)d minute (after %(until)s).",
                    "Too many failed logins for this account or from this address. "
                    "Try again in %(num)d minutes (after %(until)s).", minutes, until=until)


def login_page(form: LoginForm, error: str | None, status: int, retry_after: int = 0):
    response = make_response(render_template("login.html", form=form, error=error), status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return login_page(form, None, 400 if request.method == "POST" else 200)
    data, name = library().data, form.name.data.strip()
    address = request.remote_addr or ""
    wait = logins.wait_seconds(data, name, address, attempts=settings().login_attempts,
                               window=settings().login_window)
    if wait:
        return login_page(form, wait_message(wait), 429, retry_after=wait)
    if not check_login(data, name, form.password.data):
        logins.record_failure(data, name, address)
        return login_page(form, _("Unknown user name or wrong password."), 401)
    logins.record_success(data, name)
    start_session(name)
    home = url_for("manage.index") if role_of(data, name) == "manager" else "/search"
    return redirect(safe_next(request.args.get("next"), home))


def login_again(message: str):
    """The login page with what was typed (never the password) and a message, for an expired form."""
    return login_page(LoginForm(), message, 400)


@bp.post("/logout")
def logout():
    """Log out everywhere: every session of the account ends, not only this browser's."""
    if g.get("user"):
        end_sessions(library().data, g.user)
    session.clear()
    return redirect("/search")
