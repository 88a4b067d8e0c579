"""Stack Exchange data dumps (Posts.xml, Comments.xml, Users.xml): one discussion item per question.

Each thread holds the question, its comments, and its answers in order (the
accepted answer marked), with author and date. Bodies are the dump's HTML, kept as
HTML inside the Markdown (it is sanitised when rendered). Tag wikis and other
non-discussion post types are skipped and counted; posts of deleted users keep
the display name the dump gives, or "a deleted user".
"""

from __future__ import annotations

import datetime as dt
import html
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Iterator

from indexer.imports.common import ImportReport, NewItem, map_tags, person_id, slug
from kb.errors import ContentError

POST_TYPES = {"3": "orphaned tag wiki", "4": "tag wiki excerpt", "5": "tag wiki", "6": "moderator nomination",
              "7": "wiki placeholder", "8": "privilege wiki"}
_TAG = re.compile(r"<([^<>]+)>")


def rows(path: Path, report: ImportReport) -> Iterator[dict[str, str]]:
    """The attributes of each <row> of a dump file; a damaged file is reported with where it broke."""
    if not path.is_file():
        raise ContentError(str(path), "missing from the dump")
    try:
        for _, element in ET.iterparse(path):
            if element.tag == "row":
                yield dict(element.attrib)
                element.clear()
    except ET.ParseError as exc:
        report.problems.append(f"{path.name}: not well-formed XML ({exc}); records after this point were not read")


def when(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def read_dump(folder: Path, site: str, community: str, mapping: dict[str, list[str]],
              report: ImportReport) -> list[NewItem]:
    names = {row.get("Id", ""): row.get("DisplayName", "") for row in rows(folder / "Users.xml", report)}
    questions: dict[str, dict[str, str]] = {}
    answers: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows(folder / "Posts.xml", report):
        kind = row.get("PostTypeId")
        if kind == "1" and row.get("Id"):
            questions[row["Id"]] = row
        elif kind == "2" and row.get("ParentId"):
            answers[row["ParentId"]].append(row)
        else:
            report.skipped[POST_TYPES.get(kind or "", f"post type {kind}")] += 1
    comments: dict[str, list[dict[str, str]]] = defaultdict(list)
    if (folder / "Comments.xml").is_file():
        for row in rows(folder / "Comments.xml", report):
            comments[row.get("PostId", "")].append(row)
    orphans = sum(len(v) for k, v in answers.items() if k not in questions)
    if orphans:
        report.skipped["answer to a missing question"] += orphans
    report.counts = {"questions": len(questions), "answers": sum(len(answers[q]) for q in questions),
                     "comments": sum(len(comments[p]) for p in comments)}
    return [thread(q, answers[qid], comments, names, site, community, mapping, report)
            for qid, q in sorted(questions.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)]


def author(row: dict[str, str], names: dict[str, str], user_key: str = "OwnerUserId",
           name_key: str = "OwnerDisplayName") -> str:
    user = row.get(user_key)
    if user and user != "-1" and names.get(user):
        return names[user]
    return row.get(name_key) or ("Community" if user == "-1" else "a deleted user")


def thread(question: dict[str, str], answers: list[dict[str, str]], comments: dict[str, list[dict[str, str]]],
           names: dict[str, str], site: str, community: str, mapping: dict[str, list[str]],
           report: ImportReport) -> NewItem:
    qid = question["Id"]
    asked = when(question.get("CreationDate"))
    tags = _TAG.findall(question.get("Tags", ""))
    accepted = question.get("AcceptedAnswerId", "")
    people: list[str] = []

    def post(row: dict[str, str], heading: str) -> str:
        name = author(row, names)
        pid = person_id(name, f"{slug(site, 20)}-")
        if pid not in people:
            people.append(pid)
        date = (when(row.get("CreationDate")) or asked or dt.datetime(1970, 1, 1)).date().isoformat()
        quoted = []
        for comment in sorted(comments.get(row.get("Id", ""), []), key=lambda c: c.get("CreationDate", "")):
            who = author(comment, names, "UserId", "UserDisplayName")
            text = html.escape(" ".join((comment.get("Text") or "").split()), quote=False)
            quoted.append(f"> {text} — {who}, {(comment.get('CreationDate') or '')[:10]}")
        body = (row.get("Body") or "").strip() or "*(empty)*"
        return "\n\n".join([f"### {heading} — {name} — {date}", body] + (["\n>\n".join(quoted)] if quoted else [])) + "\n"

    sections = [post(question, "Question")]
    for answer in sorted(answers, key=lambda a: a.get("CreationDate", "")):
        mark = " (accepted answer ✓)" if answer.get("Id") == accepted else ""
        sections.append(post(answer, f"Answer{mark}"))
    title = html.unescape(question.get("Title") or f"Question {qid}")
    metadata = {
        "id": f"{slug(site, 30)}-{qid}",
        "title": title,
        "type": "discussion",
        "date": asked.date() if asked else None,
        "community": community or None,
        "topics": map_tags(tags, mapping, report),
        "people": people,
        "source": f"https://{site if '.' in site else site + '.stackexchange.com'}/q/{qid}",
        "forum_tags": tags,
        "answers": len(answers),
        "accepted_answer": bool(accepted),
    }
    metadata = {key: value for key, value in metadata.items() if value is not None}
    return NewItem(f"discussions/{slug(site, 30)}/{qid}-{slug(title)}.md", metadata, "\n".join(sections))


def site_of(folder: Path) -> str:
    """beer-stackexchange, beer.stackexchange.com -> beer."""
    name = folder.resolve().name
    for suffix in (".stackexchange.com", "-stackexchange", ".stackexchange"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
