"""Items related to an item: every relation found from the index, scored, activities apart from content.

Relations: explicit links both ways, small activities both belong to, an activity
named in an item's text, shared topics (a deprecated one counts as its replacement),
broader or narrower topics, shared people and similar text. kb.related.Evidence
scores them and says what each shares. Each list is complete and ordered before it
is cut; only what a page shows is read in full. The index is read through
indexer.itemdocs.Docs, so both backends relate items with this same code.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

from indexer.bitsets import members
from indexer.itemdocs import Docs, surface_words
from indexer.lookups import shown
from indexer.schema import attachments_of
from indexer.visibility import Sight
from kb.item import Item
from kb.links import LINK_TYPES, link_value, typed_links
from kb.notes import Note
from kb.related import Evidence, Related, RelatedPanels
from kb.text import fold
from kb.vocabulary import Vocabulary

SIBLINGS_MAX = 15  # an activity with more items (a whole forum) says little about any two of them
SIMILAR_TOP = 10  # items looked at for similar text
SIMILAR_WORDS = 3  # shared words a reason names
SIMILAR_TERMS = 10  # telling words of an item looked for in its similar items


def related_items(docs: Docs, vocabulary: Vocabulary, item: Item, limit: int = 8,
                  sight: Sight | None = None) -> list[Related]:
    """Related activities and content together, strongest first (see related_panels)."""
    return related_panels(docs, vocabulary, item, limit, sight).merged()[:limit]


def related_panels(docs: Docs, vocabulary: Vocabulary, item: Item, limit: int = 8,
                   sight: Sight | None = None) -> RelatedPanels:
    """Items related to `item`, activities apart from content, each list complete before it is cut.

    Every relation is found from the index (explicit links both ways, small activities both
    belong to, shared topics counted through their replacement when deprecated, broader or
    narrower topics, shared people, similar text), scored (kb.related.Evidence), and only the
    first `limit` of each list are read in full. An activity's own parts and content, which its
    page lists, are not repeated as related. Ties go to the newer item, never to the title.
    Only items the reader may see count, and people only where they may see them.
    """
    sets = docs.sets
    allowed = (sets.all if sight is None else sight.docs).to_bytes((sets.size >> 3) + 1, "little")
    with_people = sets.all if sight is None else sight.people
    people_ok = with_people.to_bytes((sets.size >> 3) + 1, "little")

    def seen(docnum: int | None, raw: bytes = allowed) -> bool:
        return docnum is not None and bool(raw[docnum >> 3] >> (docnum & 7) & 1)

    activities = sets.value("type", "activity").to_bytes((sets.size >> 3) + 1, "little")
    own = docs.number(item.id)
    found: dict[int, Evidence] = defaultdict(Evidence)
    skip = {own}
    for activity_id in item.activities:
        docnum = docs.number(activity_id)
        if seen(docnum):
            found[docnum].linked = (Note("this item belongs to this activity") if seen(docnum, activities)
                                    else Note("linked from this item"))
    for docnum in docs.holding("attachment", item.path):
        if seen(docnum) and docnum not in found:
            found[docnum].linked = Note("this item belongs to this activity")
    for docnum in docs.holding("activity", item.id):
        if seen(docnum) and docnum != own:
            found[docnum].linking = Note("belongs to this activity") if item.is_activity else Note("links to this item")
            if item.is_activity:
                skip.add(docnum)  # listed on the activity's page as its parts and content
    if item.is_activity:
        skip.update(docs.number_at(path) for path in attachments_of(item))
    for activity_id in item.activities:
        docnum = docs.number(activity_id)
        members = docs.holding("activity", activity_id)
        # An activity with many items (a whole forum) says little about any two of them.
        if seen(docnum) and len(members) <= SIBLINGS_MAX:
            title = docs.items([docnum])[0].title
            for member in members:
                if seen(member) and member != docnum:
                    found[member].siblings.append(title)
    for key, target in typed_links(item):
        docnum = docs.number(target)
        if seen(docnum):
            found[docnum].typed.append(LINK_TYPES[key].forward_reason)
    for key, kind in LINK_TYPES.items():
        for docnum in docs.holding("links", link_value(key, item.id)):
            if seen(docnum) and docnum != own:
                found[docnum].typed.append(kind.backward_reason)
    add_mentions(docs, item, own, found, seen)
    own_topics = vocabulary.current(item.topics)  # a deprecated topic counts as its replacement
    for topic in own_topics:
        for docnum in docs.holding("topics", topic):
            if seen(docnum):
                found[docnum].topics.append(topic)
    add_label_mentions(docs, vocabulary, own_topics, found, seen)
    neighbours = {n for t in own_topics for n in (*vocabulary.ancestors(t)[:1], *vocabulary.children(t))}
    neighbours -= set(own_topics)
    for topic in sorted(neighbours):
        for docnum in docs.holding("topics", topic):
            if seen(docnum):
                found[docnum].related_topics.append(topic)
    if seen(own, people_ok) or sight is None:
        for person in item.people:
            for docnum in docs.holding("person", person):
                if seen(docnum) and seen(docnum, people_ok):
                    found[docnum].people.append(vocabulary.person_name(person))
    unseen = sum(1 << d for d in skip if d is not None)
    add_similar(docs, item, own, found, (sets.all if sight is None else sight.docs) & ~unseen)
    for docnum in skip:
        found.pop(docnum, None)
    scores = {d: round(evidence.score(), 3) for d, evidence in found.items()}
    order = sorted(found, key=lambda d: (scores[d], sets.day(d)), reverse=True)
    groups: tuple[list[int], list[int]] = ([], [])
    for docnum in order:
        groups[0 if seen(docnum, activities) else 1].append(docnum)

    def read(docnums: list[int]) -> tuple[Related, ...]:
        return tuple(Related(shown(sight, item), scores[d], found[d].reasons(vocabulary.label))
                     for d, item in zip(docnums[:limit], docs.items(docnums[:limit])))

    return RelatedPanels(read(groups[0]), read(groups[1]), len(groups[0]), len(groups[1]))


def add_similar(docs: Docs, item: Item, own: int | None, found: dict[int, Evidence], allowed: int) -> None:
    """Items whose text is most like this one's (more like this: its five most telling words,
    Bo1-weighted on Whoosh), each with the telling words both use."""
    if own is None or not item.text:
        return
    terms = docs.key_terms(item, item.text, SIMILAR_TERMS)
    if not terms:
        return
    # found with the five most telling words; a reason names up to three of the ten that each holds
    hits = docs.similar(terms[:5], item.lang, allowed & ~(1 << own), SIMILAR_TOP, [w for w, _ in terms])
    best = max((score for _, score, _ in hits), default=0.0)
    spoken = surface_words(item.text, item.lang, {w for w, _ in terms})
    for docnum, score, shared in hits if best > 0 else ():
        found[docnum].similar = score / best
        found[docnum].words = [spoken.get(w, w) for w in shared[:SIMILAR_WORDS]]


def naming(title: str) -> str:
    """How a text names an activity: its title without a kind in front ("Webinar: Rapid budget
    responses to COVID-19" is named "rapid budget responses to covid-19"), folded; '' when too short
    to be a name rather than ordinary words."""
    head, sep, rest = title.partition(": ")
    name = rest if sep and len(rest.split()) >= 3 else title
    name = " ".join(fold(name).lower().split())
    return name if len(name.split()) >= 3 else ""


def activity_names(docs: Docs) -> dict[int, str]:
    """Each activity's name as texts write it, read once per searcher or snapshot."""
    kept = docs.memo("relating")
    if "activity names" not in kept:
        activities = [d for d in docs.holding("type", "activity") if docs.sets.all >> d & 1]
        names = {docnum: naming(activity.title) for docnum, activity in zip(activities, docs.items(activities))}
        kept["activity names"] = {docnum: name for docnum, name in names.items() if name}
    return kept["activity names"]


def add_mentions(docs: Docs, item: Item, own: int | None, found: dict[int, Evidence],
                 seen: Callable[..., bool]) -> None:
    """An item whose text names an activity (by its title) relates to it, both ways, even unlinked."""
    if item.is_activity:
        name = naming(item.title)
        if name:
            for docnum in members(docs.phrase(name)):
                if docnum != own and seen(docnum) and not (found[docnum].linking or found[docnum].typed):
                    found[docnum].mentions = Note("names this activity in its text")
    text = " ".join(fold(f"{item.summary} {item.text}").lower().split())
    for docnum, name in activity_names(docs).items():
        if docnum != own and seen(docnum) and name in text and not (found[docnum].linked or found[docnum].typed):
            found[docnum].mentions = Note("named in this item's text")


def named_activities(docs: Docs, item: Item) -> list[Item]:
    """The activities an item's text names by their title without linking them (suggested links)."""
    text = " ".join(fold(f"{item.summary} {item.text}").lower().split())
    own = docs.number(item.id)
    linked = set(item.activities) | {target for _, target in typed_links(item)}
    named = [docnum for docnum, name in activity_names(docs).items() if docnum != own and name in text]
    found = [activity for activity in docs.items(named) if activity.id not in linked]
    return sorted(found, key=lambda a: (a.date is None, a.date, a.id))


def add_label_mentions(docs: Docs, vocabulary: Vocabulary, own_topics: list[str],
                       found: dict[int, Evidence], seen: Callable[..., bool]) -> None:
    """Untagged items whose text names one of the item's topics by any of its labels, in any language
    ("virements de crédits" for budget flexibility): relations across languages and missing tags."""
    for topic_id in own_topics:
        topic = vocabulary.topics.get(topic_id)
        if topic is None:
            continue
        bits = 0
        for label in dict.fromkeys(topic.all_labels()):
            if len(label) < 4:  # acronyms ("UHC", "PBF") say too little on their own
                continue
            bits |= docs.phrase(label)
        for docnum in members(bits):
            evidence = found.get(docnum)
            if seen(docnum) and (evidence is None or topic_id not in evidence.topics):
                found[docnum].named_topics.append(topic_id)
