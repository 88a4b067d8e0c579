"""The people of a community: a registry in the content folder, and names for ids it does not list.

`people.yml` beside vocabulary.yml lists them:

    people:
      - id: expert-priya-raman
        name: Priya Raman
        role: expert                # member, expert, facilitator, manager or staff
        organisation: Strategic purchasing specialist, independent
        country: IN
        languages: [en]

Items name people by id (`people: [expert-priya-raman]`); pages show the name. An id
the registry does not list still works, shown with a name made from the id
("expert-priya-raman" -> "Priya Raman"), and `kb check` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PERSON_ROLES = ("member", "expert", "facilitator", "manager", "staff")
ROLE_WORDS = PERSON_ROLES + ("speaker", "guest")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str = ""
    organisation: str = ""
    country: str = ""
    languages: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role or None, "organisation": self.organisation or None,
                "country": self.country or None, "languages": list(self.languages)}


def person_name(person_id: str) -> str:
    """A readable name for a person id no registry names: 'expert-priya-raman' -> 'Priya Raman'."""
    words = [w for w in person_id.replace("_", "-").split("-") if w]
    if len(words) > 1 and words[0].lower() in ROLE_WORDS:
        words = words[1:]
    return " ".join(w[:1].upper() + w[1:] for w in words) or person_id


def people_from(data: Any, source: str) -> tuple[dict[str, Person], list[str]]:
    """The registry from a parsed `people:` list, and what is wrong with it (each naming the entry)."""
    if data is None:
        return {}, []
    if not isinstance(data, list):
        return {}, [f"{source}: people: expected a list of people"]
    people: dict[str, Person] = {}
    problems: list[str] = []
    for index, entry in enumerate(data):
        where = f"{source}: people[{index}]"
        if not isinstance(entry, dict) or not str(entry.get("id") or "").strip():
            problems.append(f"{where}: expected a mapping with an id and a name")
            continue
        person_id = str(entry["id"]).strip()
        role = str(entry.get("role") or "").strip().lower()
        if role and role not in PERSON_ROLES:
            problems.append(f"{where}: role {role!r} is not one of {', '.join(PERSON_ROLES)}")
        if person_id in people:
            problems.append(f"{where}: duplicate person id {person_id!r}")
        languages = entry.get("languages") or []
        people[person_id] = Person(
            id=person_id, name=str(entry.get("name") or "").strip() or person_name(person_id), role=role,
            organisation=str(entry.get("organisation") or "").strip(),
            country=str(entry.get("country") or "").strip().upper(),
            languages=tuple(str(x) for x in (languages if isinstance(languages, list) else [languages])))
    return people, problems


@dataclass(frozen=True)
class Contribution:
    """What one person did on a subject: the activities they took part in, the items they wrote or spoke in."""

    person_id: str
    name: str
    activities: int
    items: int

    @property
    def score(self) -> int:
        return self.activities + self.items


def contributions(items: list[Any], name_of: Any) -> list[Contribution]:
    """People ranked by how much they did in `items` (activities and content alike), then by name."""
    counts: dict[str, list[int]] = {}
    for item in items:
        for person in dict.fromkeys(item.people):
            counts.setdefault(person, [0, 0])[0 if item.is_activity else 1] += 1
    found = [Contribution(p, name_of(p), a, i) for p, (a, i) in counts.items()]
    return sorted(found, key=lambda c: (-c.score, c.name))


def known_topics(items: list[Any], resolve: Any) -> list[tuple[str, int]]:
    """The topics of a person's items, most used first: what they know about."""
    counts: dict[str, int] = {}
    for item in items:
        for topic in resolve(item.topics):
            counts[topic] = counts.get(topic, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
