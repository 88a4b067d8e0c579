"""Turn loosely typed front matter into a clean Item.

Real front matter holds nulls and numbers where strings belong, dates as
strings in many formats, comma-separated strings where lists belong, nested
mappings and duplicate list entries. These functions accept all of that and
say what they could not use instead of failing.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from kb.item import CORE_KEYS, DEFAULT_TYPE, Item, id_from_path

_DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y",
    "%b %d, %Y", "%B %d %Y", "%Y-%m", "%Y",
)
# "2017-10-11 14:00:00 -0500", "2015-06-29 1:00:19 -0400", "2020-06-18T09:00:00Z"
_DATETIME_PREFIX = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?$")
_ID_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")
# YAML aliases let 450 bytes of front matter stand for millions of values ("billion laughs"):
# the parser shares them, but every function here that walks them expands them.
MAX_VALUES = 10_000
MAX_DEPTH = 50
# Keys that take one value: each is one facet value in the index, where commas separate values.
SINGLE_VALUED = ("type", "community", "lang", "kind")


def too_large(value: Any) -> str:
    """Why a parsed YAML value is too large to use once its aliases are expanded; '' if it is not."""
    count = 0
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        count += 1
        if count > MAX_VALUES:
            return f"expands to more than {MAX_VALUES:,} values (YAML aliases)"
        if depth > MAX_DEPTH:
            return f"is nested more than {MAX_DEPTH} levels deep"
        if isinstance(node, dict):
            pending.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, (list, tuple, set)):
            pending.extend((v, depth + 1) for v in node)
    return ""


def clean_text(value: Any) -> str:
    """Return a stripped string for any scalar; '' for null or containers."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).strip()


_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def decode_references(text: str) -> str:
    """Titles and summaries are plain text, but sites built for HTML write `It&#8217;s` or `&amp;`
    in them: decode complete character references (with their `;`), leave a bare `R&D` alone."""
    return _REFERENCE.sub(lambda m: html.unescape(m.group()), text) if "&" in text else text


def clean_list(value: Any, *, lower: bool = False, upper: bool = False) -> tuple[str, ...]:
    """Return unique non-empty strings from a list, a comma-separated string or a scalar."""
    if value is None:
        return ()
    if isinstance(value, str):
        raw = value.split(",")
    elif isinstance(value, (list, tuple, set)):
        raw = list(value)
    elif isinstance(value, dict):
        return ()
    else:
        raw = [value]
    seen: dict[str, None] = {}
    for entry in raw:
        if isinstance(entry, (dict, list, tuple, set)):
            continue
        text = clean_text(entry)
        if lower:
            text = text.lower()
        if upper:
            text = text.upper()
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def parse_date(value: Any) -> dt.date | None:
    """Read a date from a YAML date, datetime, number or string; None if unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int) and 1000 <= value <= 9999:
        return dt.date(value, 1, 1)
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    match = _DATETIME_PREFIX.match(text)
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def json_safe(value: Any) -> Any:
    """Convert YAML values (dates, sets, nested containers) into JSON-safe ones."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def single_value(metadata: dict[str, Any], key: str, warnings: list[str]) -> str:
    """The value of a key that takes one: the first of a list or of comma-separated parts, with a warning."""
    value = metadata.get(key)
    if isinstance(value, (list, tuple)):
        parts = [clean_text(v) for v in value]
    else:
        parts = clean_text(value).split(",")
    parts = [p.strip() for p in parts if p.strip()]
    if len(parts) > 1:
        shown = ", ".join(parts)
        warnings.append(f"{key} {shown!r} has {len(parts)} values; using {parts[0]!r} (a {key} takes one)")
    return parts[0] if parts else ""


def title_fallback(metadata: dict[str, Any], body: str, relative_path: str) -> str:
    """Pick a title when front matter has none: other name keys, first heading, file name."""
    for key in ("display_name", "name", "linktitle"):
        text = clean_text(metadata.get(key))
        if text:
            return text
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            heading = stripped.lstrip("#").strip()
            if heading:
                return heading
    stem = id_from_path(relative_path).rsplit("/", 1)[-1]
    if stem in ("_index", "index") and "/" in relative_path:
        stem = relative_path.rsplit("/", 2)[-2]
    return stem.replace("-", " ").replace("_", " ").strip().capitalize() or relative_path


def summarise(text: str, words: int = 40) -> str:
    """Return the first `words` words of plain text, with an ellipsis if cut."""
    parts = text.split()
    if len(parts) <= words:
        return " ".join(parts)
    return " ".join(parts[:words]) + " …"


def build_item(
    metadata: dict[str, Any],
    *,
    relative_path: str,
    body: str,
    html: str,
    text: str,
) -> tuple[Item, list[str]]:
    """Build an Item from front matter and rendered body; return it with warnings."""
    warnings: list[str] = []
    item_id = clean_text(metadata.get("id"))
    if item_id and (not _ID_SAFE.match(item_id) or ".." in item_id.split("/")):
        warnings.append(f"id {item_id!r} is not letters, digits, '-', '_', '.' and '/'; using the file path instead")
        item_id = ""
    item_id = item_id or id_from_path(relative_path)
    date = parse_date(metadata.get("date"))
    if metadata.get("date") not in (None, "") and date is None:
        warnings.append(f"date {clean_text(metadata.get('date'))!r} is not a date; ignored")
    for key in ("topics", "activities", "people", "countries"):
        if isinstance(metadata.get(key), dict):
            warnings.append(f"{key} is a mapping, expected a list; ignored")
    title = decode_references(clean_text(metadata.get("title"))) or title_fallback(metadata, body, relative_path)
    summary = decode_references(clean_text(metadata.get("summary")) or clean_text(metadata.get("description")))
    extra = {k: json_safe(v) for k, v in metadata.items() if k not in CORE_KEYS}
    single = {key: single_value(metadata, key, warnings) for key in SINGLE_VALUED}
    item = Item(
        id=item_id,
        title=title,
        type=single["type"].lower() or DEFAULT_TYPE,
        date=date,
        body=body,
        html=html,
        text=text,
        summary=summary or summarise(text),
        community=single["community"],
        topics=clean_list(metadata.get("topics"), lower=True),
        activities=clean_list(metadata.get("activities")),
        people=clean_list(metadata.get("people") or metadata.get("authors")),
        countries=clean_list(metadata.get("countries"), upper=True),
        lang=(single["lang"] or "en").lower()[:2],
        kind=single["kind"].lower(),
        path=relative_path,
        extra=extra,
    )
    return item, warnings
