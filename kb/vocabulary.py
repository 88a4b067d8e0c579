"""The controlled vocabulary: topics in a hierarchy, activity kinds and item types."""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from dataclasses import dataclass, field
from typing import Any, Callable

from kb.access import VisibilityRules
from kb.errors import VocabularyError
from kb.notes import Note
from kb.people import Person, people_from, person_name
from kb.text import best_likeness, fold

PRIORITIES = ("high", "medium", "low")
_TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TOPIC_ID_RULE = Note("lower-case letters (a-z), digits and hyphens, starting with a letter or digit")


def is_topic_id(text: str) -> bool:
    return bool(_TOPIC_ID.match(text))


def slug(text: str) -> str:
    """A topic id made from a label: "Budget flexibility rules" -> "budget-flexibility-rules"."""
    return "-".join(re.findall(r"[a-z0-9]+", fold(text)))


def normalise_label(text: str) -> str:
    """Lower-case, strip accents and punctuation, so labels compare as users type them."""
    return " ".join(re.findall(r"\w+", fold(text)))


@dataclass(frozen=True)
class Topic:
    """One vocabulary topic."""

    id: str
    label: str
    alt_labels: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    broader: str = ""
    scope_note: str = ""
    deprecated: bool = False
    replaced_by: str = ""
    priority: str = ""
    labels: dict[str, str] = field(default_factory=dict, compare=False)  # the label in other languages

    def all_labels(self) -> list[str]:
        """Return the preferred label, its translations and every alternative label."""
        labels = [self.label, *self.labels.values()]
        for names in self.alt_labels.values():
            labels.extend(names)
        return labels

    def label_in(self, lang: str) -> str:
        """The label to show in `lang`: its translation, else its first alternative label in `lang`, else it."""
        if lang in self.labels:
            return self.labels[lang]
        names = self.alt_labels.get(lang)
        if lang != "en" and names:
            return names[0]
        return self.label


@dataclass(frozen=True)
class Term:
    """A simple entry: an activity kind, an item type or a country, with other names for it."""

    id: str
    label: str
    alt_labels: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, compare=False)  # the label in other languages

    def label_in(self, lang: str) -> str:
        return self.labels.get(lang, self.label)


@dataclass(frozen=True)
class Vocabulary:
    """Topics, activity kinds and item types of one community."""

    topics: dict[str, Topic] = field(default_factory=dict)
    kinds: dict[str, Term] = field(default_factory=dict)
    types: dict[str, Term] = field(default_factory=dict)
    countries: dict[str, Term] = field(default_factory=dict)
    visibility: VisibilityRules = field(default_factory=VisibilityRules)  # default levels (kb.access)
    people: dict[str, Person] = field(default_factory=dict)  # the registry (kb.people), from people.yml

    @classmethod
    def from_dict(cls, data: Any, source: str = "vocabulary") -> Vocabulary:
        """Build and validate a vocabulary from parsed YAML."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise VocabularyError(f"{source}: expected a mapping with 'topics', got {type(data).__name__}")
        topics: dict[str, Topic] = {}
        for index, entry in enumerate(_as_list(data.get("topics"), f"{source}: topics")):
            topic = _topic_from(entry, f"{source}: topics[{index}]")
            if topic.id in topics:
                raise VocabularyError(f"{source}: topics[{index}]: duplicate topic id {topic.id!r}")
            topics[topic.id] = topic
        vocab = cls(
            topics=topics,
            kinds=_terms_from(data.get("activity_kinds"), f"{source}: activity_kinds"),
            types=_terms_from(data.get("types"), f"{source}: types"),
            countries=_terms_from(data.get("countries"), f"{source}: countries"),
            visibility=_visibility_from(data.get("visibility"), source),
            people=_people_from(data.get("people"), source),
        )
        vocab._check_links(source)
        return vocab

    def _check_links(self, source: str) -> None:
        for topic in self.topics.values():
            for key in ("broader", "replaced_by"):
                target = getattr(topic, key)
                if target and target not in self.topics:
                    raise VocabularyError(f"{source}: topic {topic.id!r}: {key} {target!r} is not a topic id")
            seen = {topic.id}
            parent = topic.broader
            while parent:
                if parent in seen:
                    raise VocabularyError(f"{source}: topic {topic.id!r}: broader topics form a cycle")
                seen.add(parent)
                parent = self.topics[parent].broader

    def to_dict(self) -> dict[str, Any]:
        """Return the vocabulary in the shape of the vocabulary file."""
        topics = []
        for t in self.topics.values():
            entry: dict[str, Any] = {"id": t.id, "label": t.label, **({"labels": dict(t.labels)} if t.labels else {})}
            if t.alt_labels:
                entry["alt_labels"] = {lang: list(names) for lang, names in t.alt_labels.items()}
            for key in ("broader", "scope_note", "replaced_by", "priority"):
                if getattr(t, key):
                    entry[key] = getattr(t, key)
            if t.deprecated:
                entry["deprecated"] = True
            topics.append(entry)
        def terms(entries: dict[str, Term]) -> list[dict[str, Any]]:
            return [{"id": t.id, "label": t.label, **({"labels": dict(t.labels)} if t.labels else {}),
                     **({"alt_labels": list(t.alt_labels)} if t.alt_labels else {})} for t in entries.values()]

        return {
            "topics": topics,
            "activity_kinds": terms(self.kinds),
            "types": terms(self.types),
            "countries": terms(self.countries),
            **({"visibility": self.visibility.to_data()} if self.visibility.paths or self.visibility.types else {}),
            **({"people": [p.to_dict() for p in self.people.values()]} if self.people else {}),
        }

    def __bool__(self) -> bool:
        return bool(self.topics or self.kinds or self.types or self.countries)

    def person_name(self, person_id: str) -> str:
        """The registry's name for a person, else one made from the id."""
        return self.people[person_id].name if person_id in self.people else person_name(person_id)

    def ancestors(self, topic_id: str) -> list[str]:
        """Return the broader topics of `topic_id`, nearest first."""
        chain: list[str] = []
        topic = self.topics.get(topic_id)
        while topic and topic.broader:
            chain.append(topic.broader)
            topic = self.topics.get(topic.broader)
        return chain

    def narrower(self, topic_id: str) -> list[str]:
        """Return every topic below `topic_id` in the hierarchy (children, grandchildren ...)."""
        found: list[str] = []
        frontier = [topic_id]
        while frontier:
            current = frontier.pop()
            children = [t.id for t in self.topics.values() if t.broader == current]
            found.extend(children)
            frontier.extend(children)
        return found

    def children(self, topic_id: str) -> list[str]:
        """Return the direct narrower topics of `topic_id`."""
        return [t.id for t in self.topics.values() if t.broader == topic_id]

    def resolve(self, topic_ids: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """The topics plus the replacement of each deprecated one, so old tags still find their items."""
        found: dict[str, None] = {}
        for topic_id in topic_ids:
            found.setdefault(topic_id, None)
            topic = self.topics.get(topic_id)
            if topic is not None and topic.deprecated and topic.replaced_by:
                found.setdefault(topic.replaced_by, None)
        return tuple(found)

    def current(self, topic_ids: tuple[str, ...] | list[str]) -> list[str]:
        """The topics with each deprecated one replaced by its replacement (kept when it has none)."""
        found: dict[str, None] = {}
        for topic_id in topic_ids:
            topic = self.topics.get(topic_id)
            found.setdefault(topic.replaced_by if topic and topic.deprecated and topic.replaced_by else topic_id, None)
        return list(found)

    def with_ancestors(self, topic_ids: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """Return the topics plus all their broader topics, without duplicates."""
        seen: dict[str, None] = {}
        for topic_id in topic_ids:
            seen.setdefault(topic_id, None)
            for parent in self.ancestors(topic_id):
                seen.setdefault(parent, None)
        return tuple(seen)

    def label(self, topic_id: str, lang: str = "") -> str:
        """A topic's label, in `lang` where the vocabulary has it; the id for a topic it does not know."""
        topic = self.topics.get(topic_id)
        return topic.label_in(lang) if topic else topic_id

    def country_label(self, code: str, lang: str = "") -> str:
        term = self.countries.get(code)
        return term.label_in(lang) if term else code

    def kind_label(self, kind_id: str, lang: str = "") -> str:
        term = self.kinds.get(kind_id)
        return term.label_in(lang) if term else kind_id

    def type_label(self, type_id: str, lang: str = "") -> str:
        term = self.types.get(type_id)
        return term.label_in(lang) if term else type_id.replace("-", " ").capitalize()

    @cached_property
    def label_index(self) -> dict[str, tuple[str, ...]]:
        """Map every normalised label and alternative label to the topic ids that carry it."""
        index: dict[str, list[str]] = {}
        for topic in self.topics.values():
            target = topic.replaced_by or topic.id
            for name in topic.all_labels() + [topic.id.replace("-", " ")]:
                key = normalise_label(name)
                if key and target not in index.setdefault(key, []):
                    index[key].append(target)
        return {k: tuple(v) for k, v in index.items()}

    @cached_property
    def hint_index(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """Map names of item types, activity kinds and countries (singular and plural) to (facet, id)."""
        index: dict[str, list[tuple[str, str]]] = {}
        for facet, entries in (("type", self.types), ("kind", self.kinds), ("country", self.countries)):
            for term in entries.values():
                for name in (term.label, *term.alt_labels):
                    key = normalise_label(name)
                    for form in (key, key + "s"):
                        if key and (facet, term.id) not in index.setdefault(form, []):
                            index[form].append((facet, term.id))
        return {k: tuple(v) for k, v in index.items()}

    def match_hints(self, text: str) -> list[tuple[str, str]]:
        """Types, activity kinds and countries named in free text, as (facet, id) pairs."""
        return [hint for _, hint in _match(self.hint_index, text)]

    def match_hint_phrases(self, text: str) -> list[tuple[str, tuple[str, str]]]:
        """Types, activity kinds and countries named in free text: (the words naming it, (facet, id))."""
        return _match(self.hint_index, text)

    def all_names(self) -> list[str]:
        """Every label and alternative label of topics, types, activity kinds and countries."""
        names = [name for topic in self.topics.values() for name in topic.all_labels()]
        for entries in (self.types, self.kinds, self.countries):
            names += [name for term in entries.values() for name in (term.label, *term.alt_labels)]
        return names

    def nearest_topics(self, text: str, limit: int = 3) -> list[str]:
        """Topics whose labels (in any language) look most like the words of `text`."""
        topic_ids, likeness = self._likeness_to_topics
        rows = [likeness(w) for w in normalise_label(text).split() if len(w) >= 4]
        scored = [(-score, topic_id) for topic_id, score in zip(topic_ids, map(sum, zip(*rows))) if score >= 0.75]
        return [topic_id for _, topic_id in sorted(scored)[:limit]]

    @cached_property
    def _likeness_to_topics(self) -> tuple[list[str], Callable[[str], tuple[float, ...]]]:
        """The topics in use, and a word's likeness to each one's label words, remembered by word: a long
        question with no results took 40 ms at 126 topics, most of its words those of the questions before."""
        used = [topic for topic in self.topics.values() if not topic.deprecated]
        label_words = [{w for n in t.all_labels() for w in normalise_label(n).split() if len(w) >= 4} for t in used]
        return [t.id for t in used], lru_cache(4096)(lambda word: tuple(best_likeness(word, ws) for ws in label_words))

    def match_labels(self, text: str, max_words: int = 6) -> list[tuple[str, str]]:
        """Find topic labels inside free text; return (matched words, topic id) pairs."""
        return _match(self.label_index, text, max_words)


def _match(index: dict[str, tuple[Any, ...]], text: str, max_words: int = 6) -> list[tuple[str, Any]]:
    """Longest-first matches of the index's keys among the normalised words of `text`."""
    words = normalise_label(text).split()
    found: list[tuple[str, Any]] = []
    start = 0
    while start < len(words):
        for size in range(min(max_words, len(words) - start), 0, -1):
            phrase = " ".join(words[start:start + size])
            if phrase in index:
                found.extend((phrase, value) for value in index[phrase])
                start += size
                break
        else:
            start += 1
    return found


def _as_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise VocabularyError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return "" if value is None else str(value).strip()


def _topic_from(entry: Any, where: str) -> Topic:
    if not isinstance(entry, dict):
        raise VocabularyError(f"{where}: expected a mapping with id and label")
    topic_id = _text(entry, "id")
    if not topic_id:
        raise VocabularyError(f"{where}: missing 'id'")
    if not _TOPIC_ID.match(topic_id):
        raise VocabularyError(f"{where}: id {topic_id!r} must be {TOPIC_ID_RULE}")
    label = _text(entry, "label")
    if not label:
        raise VocabularyError(f"{where} ({topic_id}): missing 'label'")
    priority = _text(entry, "priority").lower()
    if priority and priority not in PRIORITIES:
        raise VocabularyError(f"{where} ({topic_id}): priority {priority!r} is not one of {', '.join(PRIORITIES)}")
    return Topic(
        id=topic_id,
        label=label,
        alt_labels=_alt_labels(entry.get("alt_labels"), f"{where} ({topic_id}): alt_labels"),
        broader=_text(entry, "broader"),
        scope_note=_text(entry, "scope_note"),
        deprecated=bool(entry.get("deprecated", False)),
        replaced_by=_text(entry, "replaced_by"),
        priority=priority,
        labels=_labels(entry.get("labels"), f"{where} ({topic_id}): labels"),
    )


def _labels(value: Any, where: str) -> dict[str, str]:
    """The preferred label's translations: {lang: label}."""
    value = {} if value is None else value
    if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise VocabularyError(f"{where}: expected a mapping of language to one label, such as {{fr: Santé}}")
    return {str(lang): text.strip() for lang, text in value.items()}


def _alt_labels(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    """Accept {lang: [labels]} or a plain list (taken as English)."""
    if value is None:
        return {}
    if isinstance(value, list):
        value = {"en": value}
    if not isinstance(value, dict):
        raise VocabularyError(f"{where}: expected a mapping of language to labels")
    labels: dict[str, tuple[str, ...]] = {}
    for lang, names in value.items():
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list):
            raise VocabularyError(f"{where}.{lang}: expected a list of labels")
        labels[str(lang)] = tuple(str(n).strip() for n in names if n is not None and str(n).strip())
    return labels


def _people_from(data: Any, source: str) -> dict[str, Person]:
    people, problems = people_from(data, source)
    if problems:
        raise VocabularyError(problems[0])
    return people


def _visibility_from(data: Any, source: str) -> VisibilityRules:
    """The default visibility levels; a level kb does not know stops the vocabulary (no silent default)."""
    rules, problems = VisibilityRules.from_data(data)
    if problems:
        raise VocabularyError(f"{source}: {problems[0]}")
    return rules


def _terms_from(value: Any, where: str) -> dict[str, Term]:
    terms: dict[str, Term] = {}
    for index, entry in enumerate(_as_list(value, where)):
        if isinstance(entry, str):
            entry = {"id": entry, "label": entry.replace("-", " ").capitalize()}
        if not isinstance(entry, dict) or not _text(entry, "id"):
            raise VocabularyError(f"{where}[{index}]: expected an id and a label")
        term_id = _text(entry, "id")
        alt = _alt_labels(entry.get("alt_labels"), f"{where}[{index}] ({term_id}): alt_labels")
        labels = _labels(entry.get("labels"), f"{where}[{index}] ({term_id}): labels")
        names = tuple(dict.fromkeys([*(name for names in alt.values() for name in names), *labels.values()]))
        terms[term_id] = Term(term_id, _text(entry, "label") or term_id, names, labels)
    return terms

