"""The search query language, parsed into plain data that any backend can run.

    strategic purchasing            words, OR-ed and ranked
    "budget flexibility"            a phrase
    -ghana  -"fee for service"      excluded words and phrases
    -(ghana OR kenya)               everything in a -( ) group is excluded
    topic:provider-payment          field filters (OR within a field, AND across)
    -topic:covid-19-response        excluded filter values
    before:2020-07 after:6m         dates: YYYY-MM-DD, YYYY-MM, YYYY or 30d / 6m / 1y ago
    in:title budget                 search titles only
    capitat*                        prefix (at least 3 letters before the *)

Problems never raise: each becomes a message saying what was understood.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from kb.notes import Note
from kb.vocabulary import Vocabulary, normalise_label

# operator -> filter field; values of these fields are OR-ed within the field.
FIELD_OPERATORS = {
    "topic": "topic", "topics": "topic",
    "type": "type",
    "activity": "activity", "activities": "activity",
    "kind": "kind",
    "country": "country", "countries": "country",
    "person": "person", "people": "person",
    "community": "community",
    "lang": "lang", "language": "lang",
    "year": "year",
}
DATE_OPERATORS = ("before", "after")
MIN_PREFIX = 3

_TOKEN = re.compile(
    r'(?P<paren>-?[()])'
    r'|(?P<neg>-)?(?:(?P<op>[A-Za-z]+):(?:"(?P<opquoted>[^"]*)"|(?P<opvalue>[^\s"()]+))'
    r'|"(?P<phrase>[^"]*)"|(?P<word>[^\s"()]+))'
    r'|(?P<stray>")'
)
_RELATIVE = re.compile(r"^(\d{1,4})([dwmy])$")


@dataclass(frozen=True)
class Clause:
    """A word, phrase or prefix to look for in the text."""

    kind: str  # "word" | "phrase" | "prefix"
    text: str
    negated: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """What a query string asks for, and what could not be used."""

    text: str
    clauses: tuple[Clause, ...] = ()
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)
    after: dt.date | None = None
    before: dt.date | None = None
    title_only: bool = False
    messages: tuple[str, ...] = ()

    @property
    def positive(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if not c.negated)

    @property
    def negative(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if c.negated)

    @property
    def free_text(self) -> str:
        """The positive words and phrases, as one plain string."""
        return " ".join(c.text for c in self.positive)

    @property
    def is_empty(self) -> bool:
        return not (self.clauses or self.filters or self.exclude or self.after or self.before)


def parse_query(text: str, vocabulary: Vocabulary | None = None, today: dt.date | None = None) -> ParsedQuery:
    """Parse a query string; unknown operators, topics and dates become messages."""
    today = today or dt.date.today()
    clauses: list[Clause] = []
    filters: dict[str, list[str]] = {}
    exclude: dict[str, list[str]] = {}
    dates: dict[str, dt.date] = {}
    messages: list[str] = []
    title_only = False
    if text.count('"') % 2:
        messages.append(Note("A quote is not closed; the unmatched quote was ignored."))
    groups: list[bool] = []  # for each open parenthesis: whether it was -( (everything inside excluded)
    for match in _TOKEN.finditer(text):
        if match["paren"]:
            if match["paren"].endswith("("):
                groups.append(match["paren"].startswith("-"))
            elif groups:
                groups.pop()
            continue
        if match["stray"]:
            continue
        negated = bool(match["neg"]) != any(groups)
        if match["op"]:
            op = match["op"].lower()
            value = (match["opquoted"] if match["opquoted"] is not None else match["opvalue"]).strip()
            if op == "in":
                if value.lower() == "title":
                    title_only = True
                else:
                    messages.append(Note("in:%(value)s is not known; only in:title is. It was ignored.", value=value))
                continue
            if op in DATE_OPERATORS:
                when = parse_when(value, today)
                if when is None:
                    messages.append(Note("%(operator)s:%(value)s is not a date (use YYYY-MM-DD, YYYY-MM, YYYY, or 30d, 6m, 1y); "
                                         "it was ignored.", operator=op, value=value))
                else:
                    dates[op] = when
                continue
            if op in FIELD_OPERATORS:
                name = FIELD_OPERATORS[op]
                resolved = resolve_value(name, value, vocabulary, messages)
                if resolved:
                    target = exclude if negated else filters
                    bucket = target.setdefault(name, [])
                    if resolved not in bucket:
                        bucket.append(resolved)
                continue
            if value.startswith("//"):  # a URL such as https://example.org
                clauses.append(Clause("word", f"{match['op']}:{value}", negated))
                continue
            messages.append(Note("%(operator)s: is not a search operator; searched for the words instead.", operator=op))
            clauses.extend(Clause("word", w, negated) for w in (match["op"], *value.split()))
            continue
        if match["phrase"] is not None:
            phrase = " ".join(match["phrase"].split())
            if phrase:
                clauses.append(Clause("phrase" if " " in phrase else "word", phrase, negated))
            continue
        word = match["word"]
        if word in ("OR", "AND", "|", "&&", "||"):
            continue
        clauses.append(word_clause(word, negated, messages))
    return ParsedQuery(
        text=text,
        clauses=tuple(c for c in clauses if c.text),
        filters={k: tuple(v) for k, v in filters.items()},
        exclude={k: tuple(v) for k, v in exclude.items()},
        after=dates.get("after"),
        before=dates.get("before"),
        title_only=title_only,
        messages=tuple(messages),
    )


def word_clause(word: str, negated: bool, messages: list[str]) -> Clause:
    """Make a word or prefix clause; wildcards elsewhere in a word are dropped."""
    stem = word.rstrip("*")
    if word.endswith("*") and "*" not in stem and "?" not in stem:
        if len(stem) >= MIN_PREFIX:
            return Clause("prefix", stem.lower(), negated)
        messages.append(Note("%(word)s: a prefix needs at least %(letters)d letters before *; searched for '%(stem)s'.",
                             word=word, letters=MIN_PREFIX, stem=stem))
    cleaned = word.replace("*", "").replace("?", "") if ("*" in word or "?" in word) else word
    return Clause("word", cleaned, negated)


def resolve_value(name: str, value: str, vocabulary: Vocabulary | None, messages: list[str]) -> str:
    """Normalise a filter value; map topic labels to ids; '' (with a message) if unusable."""
    if not value:
        messages.append(Note("%(name)s: needs a value; it was ignored.", name=name))
        return ""
    if name == "country":
        return value.upper()
    if name in ("type", "kind", "lang"):
        return value.lower()
    if name == "year":
        if not re.fullmatch(r"\d{4}", value):
            messages.append(Note("year:%(value)s is not a year like 2020; it was ignored.", value=value))
            return ""
        return value
    if name != "topic" or vocabulary is None or not vocabulary.topics:
        return value
    topic_id = value.lower()
    topic = vocabulary.topics.get(topic_id)
    if topic is not None:
        if topic.deprecated and topic.replaced_by:
            messages.append(Note("topic:%(topic)s is deprecated; searched topic:%(replacement)s instead.",
                                 topic=topic_id, replacement=topic.replaced_by))
            return topic.replaced_by
        return topic_id
    by_label = vocabulary.label_index.get(normalise_label(value))
    if by_label:
        return by_label[0]
    messages.append(Note("topic:%(value)s is not a topic in the vocabulary; that filter was ignored.", value=value))
    return ""


def parse_when(value: str, today: dt.date) -> dt.date | None:
    """Read YYYY-MM-DD, YYYY-MM, YYYY or a relative age like 30d, 6m, 1y."""
    relative = _RELATIVE.match(value.lower())
    if relative:
        amount, unit = int(relative[1]), relative[2]
        if unit == "d":
            return today - dt.timedelta(days=amount)
        if unit == "w":
            return today - dt.timedelta(weeks=amount)
        months = amount * (12 if unit == "y" else 1)
        year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
        if year < 1:
            return None
        day = min(today.day, 28)
        return dt.date(year, month + 1, day)
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def remove_filter(text: str, name: str) -> str:
    """The query text without its `name` filters (a facet name, or "date" for before:/after:)."""
    operators = DATE_OPERATORS if name == "date" else tuple(op for op, field in FIELD_OPERATORS.items() if field == name)

    def keep(match: re.Match[str]) -> str:
        op = (match["op"] or "").lower()
        return "" if op in operators and not match["neg"] else match.group()

    return " ".join(_TOKEN.sub(keep, text).split())
