"""Logging in and out; `login_required` guards every manager page and every write."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from indexer.accounts import check_login
from webui.context import settings

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    name = StringField("User name", validators=[DataRequired(), Length(max=32)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


@bp.before_app_request
def load_user() -> None:
    g.user = session.get("user")


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anonymous visitors to the login page (JSON clients get a 401)."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if request.method != "GET" or request.accept_mimetypes.best == "application/json":
                abort(401, description="Log in as a manager to do this.")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("manage.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        if check_login(Path(settings().data), form.name.data.strip(), form.password.data):
            session.clear()
            session["user"] = form.name.data.strip()
            return redirect(safe_next(request.args.get("next")))
        error = "Unknown user name or wrong password."
    elif request.method == "POST":
        error = "Fill in both fields."
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    session.clear()
    return redirect("/search")
