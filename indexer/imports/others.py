"""Discourse topic exports, mbox mail archives and CSV activity lists."""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import hashlib
import html
import io
import json
import mailbox
import re
import sys
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

from indexer.imports.common import ImportReport, NewItem, map_tags, person_id, slug
from indexer.textfiles import decode
from kb.metadata import clean_list, clean_text, parse_date

# -- Discourse ---------------------------------------------------------------------


def read_discourse(path: Path, site: str, community: str, mapping: dict[str, list[str]],
                   report: ImportReport) -> list[NewItem]:
    """A JSON export of Discourse topics (the API's topic shape): one discussion item per topic."""
    try:
        data = json.loads(decode(path.name, path.read_bytes())[0])
    except (ValueError, OSError) as exc:
        report.problems.append(f"{path.name}: not readable JSON: {exc}")
        return []
    except RecursionError:
        report.problems.append(f"{path.name}: not readable JSON: nested too deeply (arrays or objects "
                               f"inside each other more than about {sys.getrecursionlimit():,} levels)")
        return []
    topics = data.get("topics", data.get("topic_list", {}).get("topics")) if isinstance(data, dict) else data
    if isinstance(data, dict) and topics is None and "post_stream" in data:
        topics = [data]
    if not isinstance(topics, list):
        report.problems.append(f"{path.name}: expected a list of topics (or {{\"topics\": [...]}})")
        return []
    items = []
    for number, topic in enumerate(topics, 1):
        if not isinstance(topic, dict) or not clean_text(topic.get("id")) or not clean_text(topic.get("title")):
            report.problems.append(f"{path.name}: topic {number} has no id or title; skipped")
            continue
        posts = topic.get("posts") or (topic.get("post_stream") or {}).get("posts") or []
        posts = [p for p in posts if isinstance(p, dict)] if isinstance(posts, list) else []
        if not posts:
            report.skipped["topic without posts"] += 1
            continue
        items.append(discourse_thread(topic, posts, site, community, mapping, report))
    report.counts = {"topics": len(topics), "threads": len(items)}
    return items


def discourse_thread(topic: dict[str, Any], posts: list[dict[str, Any]], site: str, community: str,
                     mapping: dict[str, list[str]], report: ImportReport) -> NewItem:
    people: list[str] = []
    sections = []
    for post in sorted(posts, key=lambda p: (str(p.get("post_number", "")).zfill(6), str(p.get("created_at", "")))):
        name = clean_text(post.get("name")) or clean_text(post.get("username")) or "a deleted user"
        pid = person_id(clean_text(post.get("username")) or name, f"{slug(site, 20)}-")
        if pid not in people:
            people.append(pid)
        date = parse_date(post.get("created_at"))
        mark = " (accepted answer ✓)" if post.get("accepted_answer") else ""
        body = clean_text(post.get("cooked")) or html.escape(clean_text(post.get("raw"))) or "*(empty)*"
        sections.append(f"### Post{mark} — {name} — {date.isoformat() if date else 'undated'}\n\n{body}\n")
    tags = [clean_text(t.get("name") if isinstance(t, dict) else t) for t in topic.get("tags") or []
            if isinstance(t, (str, dict))]
    title = html.unescape(clean_text(topic.get("title")))
    ident = slug(clean_text(topic["id"]), 40)
    metadata = {"id": f"{slug(site, 30)}-{ident}", "title": title, "type": "discussion",
                "date": parse_date(topic.get("created_at")), "community": community or None,
                "topics": map_tags([t for t in tags if t], mapping, report), "people": people,
                "forum_tags": [t for t in tags if t], "posts": len(posts)}
    metadata = {k: v for k, v in metadata.items() if v is not None}
    return NewItem(f"discussions/{slug(site, 30)}/{ident}-{slug(title)}.md", metadata, "\n".join(sections))


# -- mbox ------------------------------------------------------------------------

_PREFIX = re.compile(r"^\s*((re|fw|fwd|tr|aw)\s*:\s*)+", re.I)


def header(message: Message, name: str) -> str:
    raw = message.get(name)
    if raw is None:
        return ""
    try:
        return str(make_header(decode_header(str(raw))))
    except (UnicodeError, ValueError, LookupError):
        return str(raw)


def plain_text(message: Message) -> str:
    """The text of a message: its text/plain part, or its HTML part without tags."""
    parts = list(message.walk()) if message.is_multipart() else [message]
    for wanted in ("text/plain", "text/html"):
        for part in parts:
            if part.get_content_type() != wanted or part.get_filename():
                continue
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset() or "utf-8"
            try:
                text = payload.decode(charset, errors="replace")
            except LookupError:
                text = payload.decode("utf-8", errors="replace")
            if wanted == "text/html":
                text = html.unescape(re.sub(r"<[^>]+>", " ", text))
            return text.strip()
    return ""


def read_mbox(path: Path, site: str, community: str, report: ImportReport) -> list[NewItem]:
    """An mbox archive: messages grouped into threads by their references, or by subject without them."""
    messages = []
    try:
        box = mailbox.mbox(str(path), create=False)
        try:
            for number, key in enumerate(box.iterkeys(), 1):
                try:
                    messages.append(box[key])
                except RecursionError:  # parts nested inside parts thousands of times
                    report.problems.append(f"{path.name}: message {number} has its parts nested too deeply to "
                                           "read; skipped")
        finally:
            box.close()
    except (OSError, mailbox.Error, UnicodeError, ValueError) as exc:
        report.problems.append(f"{path.name}: not a readable mbox file: {exc}")
        return []
    threads: dict[str, list[tuple[dt.datetime, Message]]] = {}
    group_of: dict[str, str] = {}  # message id -> thread key
    for number, message in enumerate(messages, 1):
        try:
            msgid = header(message, "Message-ID").strip() or f"<{path.name}-{number}>"
            refs = re.findall(r"<[^>]+>", header(message, "References") + " " + header(message, "In-Reply-To"))
            subject = _PREFIX.sub("", header(message, "Subject")).strip().lower() or "(no subject)"
            key = refs[0] if refs else f"subject:{subject}"
            try:
                sent = email.utils.parsedate_to_datetime(header(message, "Date"))
            except (TypeError, ValueError, IndexError):
                sent = None
            group_of[msgid] = key
            threads.setdefault(key, []).append((sent or dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), message))
        except Exception as exc:  # a broken message must not stop the archive
            report.problems.append(f"{path.name}: message {number} could not be read: {type(exc).__name__}")
    # Replies are keyed by the id of the first message of their thread; join them to that message's thread.
    for key in [k for k in threads if not k.startswith("subject:")]:
        home = group_of.get(key)
        if home and home != key and home in threads:
            threads[home] += threads.pop(key)
    items = [mail_thread(key, posts, site, community) for key, posts in threads.items()]
    report.counts = {"messages": len(messages), "threads": len(items)}
    return items


def mail_thread(key: str, posts: list[tuple[dt.datetime, Message]], site: str, community: str) -> NewItem:
    posts.sort(key=lambda p: p[0].timestamp() if p[0].tzinfo else p[0].replace(tzinfo=dt.timezone.utc).timestamp())
    first = posts[0][1]
    title = _PREFIX.sub("", header(first, "Subject")).strip() or "(no subject)"
    people: list[str] = []
    sections = []
    for sent, message in posts:
        name, address = email.utils.parseaddr(header(message, "From"))
        who = name or address or "unknown sender"
        pid = person_id(who, f"{slug(site, 20)}-")
        if pid not in people:
            people.append(pid)
        text = html.escape(plain_text(message), quote=False) or "*(no text)*"
        quoted = "\n".join(("    " + line) if line.startswith(">") else line for line in text.splitlines())
        sections.append(f"### {who} — {sent.date().isoformat()}\n\n{quoted}\n")
    date = posts[0][0].date() if posts[0][0].year > 1970 else None
    ident = hashlib.sha1(key.encode()).hexdigest()[:12]
    metadata = {"id": f"{slug(site, 30)}-{ident}", "title": title, "type": "discussion", "date": date,
                "community": community or None, "topics": [], "people": people, "posts": len(posts)}
    metadata = {k: v for k, v in metadata.items() if v is not None}
    prefix = date.isoformat() if date else "undated"
    return NewItem(f"discussions/{slug(site, 30)}/{prefix}-{slug(title, 50)}-{ident[:6]}.md", metadata,
                   "\n".join(sections))


# -- CSV ---------------------------------------------------------------------------

LIST_COLUMNS = ("topics", "activities", "countries", "people")


def read_csv(path: Path, item_type: str, community: str, report: ImportReport) -> list[NewItem]:
    """A spreadsheet saved as CSV, one item per row: title (required), id, date, kind, topics ..."""
    try:
        text, warnings = decode(path.name, path.read_bytes())
    except Exception as exc:
        report.problems.append(f"{path.name}: {getattr(exc, 'reason', exc)}")
        return []
    report.problems += [f"{path.name}: {w}" for w in warnings if "Latin-1" in w]
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header_row = [str(h).strip().lower() for h in reader.fieldnames or []]
    except csv.Error as exc:
        report.problems.append(f"{path.name}: not readable as CSV: {exc}")
        return []
    if "title" not in header_row:
        report.problems.append(f"{path.name}: no 'title' column (columns: {', '.join(header_row) or 'none'})")
        return []
    items = []
    folder = "activities" if item_type == "activity" else f"{slug(item_type, 30)}s"
    rows = 0
    row_of_id: dict[str, int] = {}
    row_of_path: dict[str, int] = {}
    try:
        records = list(reader)
    except csv.Error as exc:
        report.problems.append(f"{path.name}: not readable as CSV after row {reader.line_num}: {exc}")
        records = []
    for number, raw in enumerate(records, 2):
        rows += 1
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None and isinstance(v, str)}
        if not row.get("title"):
            report.problems.append(f"{path.name}: row {number} has no title; skipped")
            continue
        metadata: dict[str, Any] = {"id": row.get("id") or None, "title": row["title"], "type": item_type,
                                    "kind": row.get("kind") or None, "date": parse_date(row.get("date")),
                                    "community": community or row.get("community") or None}
        if row.get("date") and metadata["date"] is None:
            report.problems.append(f"{path.name}: row {number}: date {row['date']!r} is not a date; left out")
        for column in LIST_COLUMNS:
            values = list(clean_list(re.split(r"[;,]", row.get(column, "")), lower=column == "topics",
                                     upper=column == "countries"))
            if values:
                metadata[column] = values
        for column, value in row.items():
            if column not in metadata and column not in LIST_COLUMNS and column not in ("description", "body") and value:
                metadata[column] = value
        metadata = {k: v for k, v in metadata.items() if v is not None}
        body = row.get("description") or row.get("body") or ""
        item = NewItem(f"{folder}/{slug(metadata.get('id') or row['title'])}.md", metadata, body)
        # Rows that share an id (or, without ids, a title) would be written to one file, the later over the first.
        ident = metadata.get("id")
        if ident in row_of_id:
            report.problems.append(f"{path.name}: row {number} has the id {ident!r} of row {row_of_id[ident]}; "
                                   f"skipped (row {row_of_id[ident]} is kept)")
            continue
        if item.path in row_of_path:
            first = row_of_path[item.path]
            report.problems.append(f"{path.name}: row {number} would be written to the same file as row {first} "
                                   f"({item.path}); skipped (row {first} is kept)")
            continue
        if ident:
            row_of_id[ident] = number
        row_of_path[item.path] = number
        items.append(item)
    report.counts = {"rows": rows, "items": len(items)}
    return items
