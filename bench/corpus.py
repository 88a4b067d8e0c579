"""Build a large content folder for benchmarks from real text, read in place.

Base texts: 4,044 Digital.gov pages (Markdown), 591 beer.stackexchange threads
(questions with their answers, HTML bodies) and 1,460 CISI abstracts, all from
../shared/data. Items are these texts replicated with varied ids, titles, dates,
topics, countries and activity links, each copy mixing in a passage of another
text so that no two items are identical. One item in 200 is an activity.

    python bench/corpus.py 10000 bench/results/corpus-10000
"""

from __future__ import annotations

import datetime as dt
import html
import json
import random
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from indexer.readers import split_front_matter  # noqa: E402
from kb.metadata import clean_text  # noqa: E402

TYPES = ["document", "session-note", "discussion", "document", "survey", "persona", "training-material"]
KINDS = ["roundtable", "webinar", "training", "conference-session", "one-on-one", "working-group", "survey"]
COUNTRIES = ["GH", "KE", "SN", "CI", "BF", "RW", "UG", "NG", "PH", "VN", "MA", "ZM", "IN", "ID", "TZ"]


def base_texts() -> list[tuple[str, str, str]]:
    """(title, Markdown body, source) of every base text."""
    texts: list[tuple[str, str, str]] = []
    for path in sorted((DATA / "digitalgov" / "content").rglob("*.md")):
        try:
            meta, body = split_front_matter(path.name, path.read_text(encoding="utf-8-sig"))
        except Exception:  # a base text that does not parse is simply not used
            continue
        title = clean_text(meta.get("title")) or clean_text(meta.get("display_name")) or path.stem
        if len(body.split()) >= 30:
            texts.append((title, body, "digitalgov"))
    questions: dict[str, tuple[str, str]] = {}
    answers: dict[str, list[str]] = defaultdict(list)
    for _, row in ET.iterparse(DATA / "beer-stackexchange" / "Posts.xml"):
        if row.tag != "row":
            continue
        if row.get("PostTypeId") == "1":
            questions[row.get("Id", "")] = (row.get("Title", ""), row.get("Body", ""))
        elif row.get("PostTypeId") == "2":
            answers[row.get("ParentId", "")].append(row.get("Body", ""))
        row.clear()
    for qid, (title, body) in sorted(questions.items(), key=lambda kv: int(kv[0])):
        thread = [body] + [f"### Answer {n}\n\n{a}" for n, a in enumerate(answers.get(qid, []), 1)]
        texts.append((title, "\n\n".join(thread), "stackexchange"))
    for line in (DATA / "cisi" / "docs.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        texts.append((doc["title"], doc["text"], "cisi"))
    return texts


def passage(body: str, rng: random.Random) -> str:
    words = re.sub(r"<[^>]+>|\{\{.*?\}\}", " ", body).split()
    if len(words) <= 40:
        return " ".join(words)
    start = rng.randrange(0, len(words) - 40)
    return " ".join(words[start:start + 40])


def topic_ids() -> list[str]:
    import yaml

    vocab = yaml.safe_load((ROOT / "content" / "vocabulary.yml").read_text(encoding="utf-8"))
    return [t["id"] for t in vocab["topics"] if not t.get("deprecated")]


VERSION = 2  # 2: visibility levels; a corpus of another version is built again


def build(count: int, target: Path) -> Path:
    """Write `count` items into `target` (replacing it) and return it."""
    texts = base_texts()
    topics = topic_ids()
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy(ROOT / "content" / "vocabulary.yml", target / "vocabulary.yml")
    activities = max(1, count // 200)
    start = dt.date(2015, 1, 1)
    for i in range(count):
        rng = random.Random(i)
        title, body, source = texts[i % len(texts)]
        copy = i // len(texts)
        other = texts[(i * 7919 + copy) % len(texts)]
        meta: dict[str, object] = {
            "title": f"{title} ({copy + 1})" if copy else title,
            "date": (start + dt.timedelta(days=(i * 37) % 3650)).isoformat(),
            "community": f"community-{i % 7}",
            "topics": rng.sample(topics, rng.randint(1, 3)),
            "countries": rng.sample(COUNTRIES, rng.randint(1, 2)),
            "lang": "en",
        }
        # A real community keeps some content for members and some for managers (kb.access):
        # one item in ten for managers, two for members, the rest public.
        if i % 10 == 9:
            meta["visibility"] = "managers"
        elif i % 10 in (3, 6):
            meta["visibility"] = "members"
        if i < activities:
            meta.update(id=f"act-{i}", type="activity", kind=KINDS[i % len(KINDS)])
            folder = "activities"
        else:
            meta.update(type="discussion" if source == "stackexchange" else TYPES[i % len(TYPES)],
                        activities=[f"act-{rng.randrange(activities)}"])
            folder = f"{source}/{i // 1000:03d}"
        front = json.dumps(meta, ensure_ascii=False)
        text = f"---\n{front}\n---\n{body}\n\n{html.escape(passage(other[1], rng))}\n"
        path = target / folder / f"item-{i:06d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (target / ".complete").write_text(f"{VERSION}:{count}")
    return target


def ensure(count: int, target: Path) -> Path:
    """Reuse a corpus built earlier with the same size, or build it."""
    marker = target / ".complete"
    if marker.is_file() and marker.read_text() == f"{VERSION}:{count}":
        return target
    return build(count, target)


if __name__ == "__main__":
    size, folder = int(sys.argv[1]), Path(sys.argv[2])
    print(build(size, folder))
