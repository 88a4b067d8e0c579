"""The interface's language: English, French and Spanish from Babel message catalogues.

A member picks a language with the switch in the page header (remembered in a cookie for a year);
without one, the browser's Accept-Language decides among the languages that have a catalogue.
A language is added by adding its catalogue under webui/translations (see the README).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from flask import Blueprint, Flask, redirect, request
from flask_babel import Babel, format_date, get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l

from kb.notes import Note

bp = Blueprint("i18n", __name__)

TRANSLATIONS = Path(__file__).parent / "translations"
DEFAULT = "en"  # the language the templates and messages are written in
COOKIE = "kb_lang"
COOKIE_AGE = 365 * 24 * 3600
# The topic operations of /manage/topics, as a page names them.
OPERATIONS = {"rename": _l("rename"), "merge": _l("merge"), "split": _l("split"), "add": _l("add"),
              "alias": _l("alias")}
# Where a search matched an item ("matched in title, topic").
PLACES = {"title": _l("title"), "topic": _l("topic"), "body": _l("body")}


@cache
def languages() -> tuple[str, ...]:
    """The interface's languages: English and every language with a compiled catalogue."""
    found = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.mo"))
    return (DEFAULT, *[code for code in found if code != DEFAULT])


def language_name(code: str) -> str:
    """A language's name in itself ("français"), as a member looks for it in a switch."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def select_language() -> str:
    chosen = request.cookies.get(COOKIE, "")
    if chosen in languages():
        return chosen
    return request.accept_languages.best_match(languages()) or DEFAULT


def page_language() -> str:
    """The language of the page being rendered (a code such as "fr")."""
    return str(get_locale() or DEFAULT)


def translated(message: str) -> str:
    """A message in the page's language: a kb.notes.Note from its catalogue template, other text as it is."""
    if not isinstance(message, Note):
        return message
    values = {key: translated(value) if isinstance(value, Note) else value for key, value in message.values.items()}
    if "topic_id" in values or "topic_ids" in values:  # topics are named by their labels in the page's language
        from webui.context import vocabulary
        labels = vocabulary()
        if "topic_id" in values:
            values["topic"] = labels.label(values.pop("topic_id"))
        if "topic_ids" in values:
            values["topics"] = ", ".join(labels.label(t) for t in values.pop("topic_ids"))
    if message.plural:
        return ngettext(message.template, message.plural, **values)
    return gettext(message.template, **values) if values else gettext(message.template)


def language_label(code: str) -> str:
    """A content language's name in the page's language ("anglais" on a French page)."""
    try:
        name = Locale.parse(code).get_display_name(page_language()) or code
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def operation_label(operation: str) -> str:
    return str(OPERATIONS.get(operation, operation))


def place_label(place: str) -> str:
    return str(PLACES.get(place, place))


def date_label(value: dt.date | dt.datetime | str | None) -> str:
    """A date (or an ISO date string) as the page's language writes it ("3 juin 2020"); nothing for no date."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return format_date(value.date() if isinstance(value, dt.datetime) else value, "medium")


def month_label(key: str) -> str:
    """A month key 'YYYY-MM' as the page's language names it ("juin 2020", "junio de 2020")."""
    year, month = (int(part) for part in key.split("-"))
    return format_skeleton("yMMMM", dt.date(year, month, 1), locale=page_language())


@bp.get("/language")
def switch():
    """Remember the language chosen and go back to the page it was chosen on."""
    code = request.args.get("lang", "")
    target = request.args.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"  # only this site's own pages
    response = redirect(target, code=303)
    if code in languages():
        response.set_cookie(COOKIE, code, max_age=COOKIE_AGE, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response


def register(app: Flask) -> None:
    Babel(app, locale_selector=select_language, default_translation_directories=str(TRANSLATIONS))
    # {% trans %} blocks are written over several lines; their messages are kept on one.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals.update(page_language=page_language, interface_languages=languages,
                                 language_name=language_name)
    app.jinja_env.filters.update(date_label=date_label, month_label=month_label, translated=translated,
                                 place_label=place_label, language_label=language_label,
                                 operation_label=operation_label)
    app.register_blueprint(bp)
