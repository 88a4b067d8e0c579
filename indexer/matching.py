"""What a query asks for, as Whoosh queries: how items rank, and which items match it well enough.

A query's significant words and phrases are its units. An item matches a unit
when its text has it (in the fields of any language, folded and stemmed; an
unquoted hyphenated word in any of its forms, "results-based" or "results
based"), when the unit is a misspelling and the item has its correction, when
the item is tagged with a topic whose label the query names with that word
("PBF", "flexibilité budgétaire", "budget flexibility"), or, for the names of
item types, activity kinds and countries ("webinar", "Ghana"), when the item
is of that type, kind or country. Stop words of the query's language are not
units: they rank but never decide.

An item matches the query when it matches enough units (MINIMUM SHOULD MATCH):
all of them for one or two units, two thirds (rounded up) for three or more, so
a long question is not AND-ed into nothing. Items that match some units but
not enough are partial matches: shown after the matches, counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

from whoosh import query as wq
from whoosh.lang.stopwords import stoplists
from whoosh.searching import Searcher

from indexer.bitsets import DocSets, docsets
from indexer.docsquery import DocsQuery, NearBonus
from indexer.schema import FILTER_FIELDS, LANGUAGES, text_field, title_field
from kb.query import Clause, ParsedQuery
from kb.text import fold
from kb.vocabulary import Vocabulary, normalise_label

Acronyms = tuple[dict[str, str], dict[str, str]]  # ({short: long}, {long: short}), see indexer.words

# An item tagged with a topic named in the query outranks one that only mentions the words.
TOPIC_BOOST = 3.0
# An item of a type, activity kind or country the query names ranks this much higher for each
# such name (its score is multiplied): a hint, not a filter, and in proportion to how well the
# words match, whatever the scale of the query's scores. (0.4 until a topic's synonyms were scored
# in the item itself: then "documents about COVID-19 budget flexibility from Ghana" ranked the Ghana
# document sixth, behind four items of other types; Digital.gov's known items and CISI unchanged.)
HINT_FACTOR = 0.5
# The score the name alone gives, so that an item matched through the name is ranked at all.
HINT_FLOOR = 0.001
# Fields in the language the query is written in weigh this much more.
LANGUAGE_HINT_BOOST = 1.5
# Other labels of a topic the query names (synonyms, translations, the acronym's words) rank this much.
SYNONYM_BOOST = 0.25
# The other form of an acronym the items define (ATO, authority to operate) ranks this much.
ACRONYM_BOOST = 0.5
# A hyphenated word written the same way ranks above its parts found apart.
PHRASE_BONUS = 1.5
# Two words of the query next to each other (or one word apart) in an item, in the query's order,
# add this much: "most useful" written together says more than "most" and "useful" apart.
PAIR_BONUS = 0.5
PAIR_SLOP = 2
# Only a short query gets them: in a long question, neighbouring words say less, and cost more.
PAIR_WORDS = 8
# A prefix query (capit*) searches at most this many of the words it could stand for,
MAX_EXPANSION = 64
# and its matches score this much each (a word's BM25 score is typically 2 to 10).
PREFIX_SCORE = 1.0
# English contractions typed without their apostrophe ("dont", "isnt") are the stop words "don't" and
# "isn't": the index holds them as "don" and "t", so as units they would match nothing.
CONTRACTIONS = frozenset(
    "dont doesnt didnt cant couldnt shouldnt wouldnt mustnt neednt isnt arent wasnt werent hasnt havent hadnt "
    "wont im ive youre youve youd theyre theyve weve whats thats theres heres".split()
)
STOPWORDS = {lang: frozenset(fold(w) for w in stoplists[lang]) | (CONTRACTIONS if lang == "en" else frozenset())
             for lang in LANGUAGES}


def required(units: int) -> int:
    """How many of a query's units an item must match to count as a match."""
    return units if units <= 2 else ceil(2 * units / 3)


@dataclass
class Unit:
    """One significant word or phrase of the query, and every way an item can match it."""

    text: str
    spoken: str = ""  # its correction, when it is a misspelling
    docs: int = 0  # items that match it
    text_docs: int = 0  # ... through their own words
    title_docs: int = 0  # ... in their title
    topics: list[str] = field(default_factory=list)  # topics whose labels it is part of


@dataclass
class Plan:
    """A query made ready to run: its ranking query and its units."""

    ranking: wq.Query | None
    units: list[Unit]
    topic_docs: int = 0  # items matched through a topic label
    label_only: list[tuple[str, str]] = field(default_factory=list)  # (unit, topic): found only through a label
    hints: list[int] = field(default_factory=list)  # items of each type, kind or country the query names
    # neighbouring words found together: added to the best BONUS_DEPTH of the ranking only (indexer.ranking)
    bonuses: list[wq.Query] = field(default_factory=list)


def analyse(searcher: Searcher, field_name: str, text: str) -> list[str]:
    return list(searcher.schema[field_name].process_text(text, mode="query"))


def union(parts: list[wq.Query]) -> wq.Query:
    """OR queries with a tree of union matchers, which skip blocks that cannot make the top
    hits (Whoosh would otherwise pre-score every match of small segments: measured 1.5x slower)."""
    if len(parts) == 1:
        return parts[0]
    q = wq.Or(parts)
    q.matcher_type = wq.Or.DEFAULT_MATCHER
    return q


def text_fields(title_only: bool = False) -> list[str]:
    """The fields a query ranks on: every language's text (or title, for in:title)."""
    return [title_field(lang) if title_only else text_field(lang) for lang in LANGUAGES]


def title_fields() -> list[str]:
    return [title_field(lang) for lang in LANGUAGES]


def expand(searcher: Searcher, field_name: str, prefix: str) -> list[str]:
    """The words starting with `prefix` in a field: the MAX_EXPANSION most frequent, so that a
    short prefix cannot turn one query into thousands of terms."""
    reader = searcher.reader()
    words = [w.decode("utf-8") if isinstance(w, bytes) else w for w in reader.expand_prefix(field_name, prefix)]
    if len(words) > MAX_EXPANSION:
        words = sorted(words, key=lambda w: -reader.doc_frequency(field_name, w))[:MAX_EXPANSION]
    return words


def clause_queries(searcher: Searcher, clause: Clause, fields: list[str],
                   boosts: dict[str, float] | None = None) -> tuple[wq.Query | None, wq.Query | None]:
    """(how the clause ranks, which items match it) over the given fields.

    An unquoted word that analyses into several words (results-based, covid-19) ranks
    as its parts, with a bonus where they stand together, and matches an item that
    has all its parts; a quoted phrase ranks and matches as the exact phrase.
    """
    ranking: list[wq.Query] = []
    matching: list[wq.Query] = []
    for field_name in fields:
        boost = (boosts or {}).get(field_name, 1.0)
        if clause.kind == "prefix":
            # Terms are stored stemmed, so look for the stem of the prefix as well.
            stems = analyse(searcher, field_name, clause.text) or [fold(clause.text)]
            terms = [wq.Term(field_name, t) for prefix in dict.fromkeys([fold(clause.text), stems[0]])
                     for t in expand(searcher, field_name, prefix)]
            if terms:
                # every item with one of the words scores alike: scoring up to 64 common words one by one
                # took seconds at 100,000 items (pro*), and a prefix says little about which word matters
                either = union(terms)
                ranking.append(DocsQuery(docsets(searcher).query(either), PREFIX_SCORE * boost, field_name,
                                         fold(clause.text)))
                matching.append(either)
            continue
        tokens = analyse(searcher, field_name, clause.text)
        # What matches carries no boost: its documents are kept by the query's text (DocSets.query),
        # and the same word looked for unboosted ("did you mean", acronyms) then reads them once.
        if len(tokens) == 1:
            ranking.append(wq.Term(field_name, tokens[0], boost=boost))
            matching.append(wq.Term(field_name, tokens[0]))
        elif tokens and clause.kind == "phrase":
            ranking.append(wq.Phrase(field_name, tokens, boost=boost))
            matching.append(wq.Phrase(field_name, tokens))
        elif tokens:
            ranking.append(wq.Phrase(field_name, tokens, boost=boost * PHRASE_BONUS))
            ranking += [wq.Term(field_name, t, boost=boost / len(tokens)) for t in tokens]
            matching.append(wq.And([wq.Term(field_name, t) for t in tokens]))
    return (union(ranking) if ranking else None), (union(matching) if matching else None)


def query_languages(text: str) -> set[str]:
    """The language(s) whose stop words the query uses most ('des', 'the', 'los' ...), if any stands out.

    A French word stemmed by English rules can match unrelated English words
    (formations -> format), so the query's own language gets a higher weight.
    """
    words = {fold(w) for w in text.split()}
    counts = {lang: len(words & STOPWORDS[lang]) for lang in LANGUAGES}
    best = max(counts.values(), default=0)
    leaders = {lang for lang, count in counts.items() if count == best}
    return leaders if best and len(leaders) < len(LANGUAGES) else set()


def significant(clause: Clause, languages: set[str]) -> bool:
    """A stop word of the query's language (English when none stands out) is not a unit."""
    if clause.kind != "word":
        return True
    return fold(clause.text) not in set().union(*(STOPWORDS[lang] for lang in languages or {"en"}))


def plan(searcher: Searcher, sets: DocSets, parsed: ParsedQuery, vocabulary: Vocabulary,
         corrections: dict[str, str], acronyms: Acronyms = ({}, {})) -> Plan:
    """The ranking query and the units of a parsed query (see the module's docstring)."""
    fields = text_fields(parsed.title_only)
    # Topic labels and names are looked for in the query as corrected (capitaton -> capitation).
    spoken = " ".join(corrections.get(c.text, c.text) for c in parsed.positive)
    languages = query_languages(parsed.free_text)
    boosts = {f: LANGUAGE_HINT_BOOST for f in fields if f.rsplit("_", 1)[1] in languages}
    ranking: list[wq.Query] = []
    units: list[Unit] = []
    seen: set[str] = set()
    stop_only = not any(significant(c, languages) for c in parsed.positive)
    for clause in parsed.positive:
        if not stop_only and not significant(clause, languages):
            continue  # "des" in a French query ranks nothing, not even English pages quoting French
        key = f"{clause.kind}:{normalise_label(clause.text)}"
        if key in seen:  # a word said twice is one unit (it still ranks twice)
            again = clause_queries(searcher, clause, fields, boosts)[0]
            if again is not None:
                ranking.append(again)
            continue
        seen.add(key)
        forms = [clause] + ([Clause("word", corrections[clause.text])] if clause.text in corrections else [])
        unit = Unit(clause.text, corrections.get(clause.text, ""))
        for form in forms:
            ranks, matches = clause_queries(searcher, form, fields, boosts)
            if ranks is not None:
                ranking.append(ranks)
            if matches is not None:
                unit.text_docs |= sets.query(matches)
            title = clause_queries(searcher, form, title_fields())[1]
            if title is not None:
                unit.title_docs |= sets.query(title)
        unit.docs = unit.text_docs
        if not stop_only:
            units.append(unit)
    result = Plan(None, units, bonuses=pairs(searcher, parsed, fields, languages, corrections))
    if not parsed.title_only:
        cover_with_labels(searcher, sets, spoken, vocabulary, result, ranking)
        cover_with_names(sets, spoken, vocabulary, result, ranking)
        cover_with_acronyms(searcher, sets, acronyms, result, ranking)
    result.ranking = union(ranking) if ranking else None
    return result


def unit_clauses(parsed: ParsedQuery) -> tuple[list[Clause], bool]:
    """The query's clauses that are units, each once (a word said twice is one unit), and whether the query
    holds only stop words (then its clauses rank, but a match needs none of them)."""
    languages = query_languages(parsed.free_text)
    stop_only = not any(significant(c, languages) for c in parsed.positive)
    clauses: list[Clause] = []
    seen: set[str] = set()
    for clause in parsed.positive:
        key = f"{clause.kind}:{normalise_label(clause.text)}"
        if (stop_only or significant(clause, languages)) and key not in seen:
            seen.add(key)
            clauses.append(clause)
    return clauses, stop_only


def pairs(searcher: Searcher, parsed: ParsedQuery, fields: list[str], languages: set[str],
          corrections: dict[str, str] | None = None) -> list[wq.Query]:
    """Bonuses for neighbouring significant words of the query found near each other, in order; a
    misspelt word is looked for as corrected (it is not in the index as typed)."""
    corrections = corrections or {}
    words = [corrections.get(c.text, c.text) for c in parsed.positive if c.kind == "word" and significant(c, languages)]
    if len(words) > PAIR_WORDS:
        return []
    bonuses: list[wq.Query] = []
    for first, second in zip(words, words[1:]):
        for field_name in fields:
            tokens = analyse(searcher, field_name, f"{first} {second}")
            if len(tokens) == 2:
                bonuses.append(NearBonus(field_name, tokens, slop=PAIR_SLOP, boost=PAIR_BONUS))
    return bonuses


def covered(unit: Unit, phrase: str) -> bool:
    words = normalise_label(unit.spoken or unit.text).split()
    return bool(words) and set(words) <= set(phrase.split())


def cover_with_labels(searcher: Searcher, sets: DocSets, spoken: str, vocabulary: Vocabulary,
                      result: Plan, ranking: list[wq.Query]) -> None:
    """Units that are part of a topic's label match the topic's items, and the items that use any
    other label of the topic (its synonyms, translations, the words of its acronym)."""
    for phrase, topic_id in dict.fromkeys(vocabulary.match_labels(spoken)):
        ranking.append(wq.Term("topics", topic_id, boost=TOPIC_BOOST))
        docs = sets.value(FILTER_FIELDS["topic"], topic_id)
        topic = vocabulary.topics.get(topic_id)
        alternatives = []
        for label in topic.all_labels() if topic else []:
            if normalise_label(label) == phrase:
                continue
            form = Clause("phrase" if len(label.split()) > 1 else "word", label)
            ranks, matches = clause_queries(searcher, form, text_fields())
            if ranks is not None:
                alternatives.append(ranks)
            if matches is not None:
                docs |= sets.query(matches)
        if alternatives:  # the best of them: a glossary listing every synonym is not about the topic
            ranking.append(wq.DisjunctionMax(alternatives, boost=SYNONYM_BOOST))
        cover(result, phrase, topic_id, docs)


def cover(result: Plan, phrase: str, topic_id: str, docs: int) -> None:
    """The items of a topic (`docs`) match the units that are part of its label `phrase`."""
    result.topic_docs |= docs
    for unit in result.units:
        if covered(unit, phrase):
            if not unit.text_docs:
                result.label_only.append((unit.text, topic_id))
            unit.docs |= docs
            unit.topics.append(topic_id)


def acronym_forms(acronyms: Acronyms, units: list[Unit]) -> list[tuple[Clause, list[Unit], int]]:
    """The other form of each acronym the query names, the units it stands for and its weight: a short
    form typed is looked for as its long form, and the reverse, as the items define them (kb.acronyms).
    A short form stands for all the words of its long form, so it weighs as much as they do together."""
    longs, shorts = acronyms
    forms = [(Clause("phrase", long), [u for u in units if u.text.upper() == short], 1)
             for short, long in longs.items()]
    forms += [(Clause("word", short), [u for u in units if covered(u, long)], len(long.split()))
              for long, short in shorts.items()]
    return [(form, held, weight) for form, held, weight in forms if held]


def cover_with_acronyms(searcher: Searcher, sets: DocSets, acronyms: Acronyms, result: Plan,
                        ranking: list[wq.Query]) -> None:
    """A short form in the query also matches the items that write its long form, and a long form
    the items that write its short form."""
    for form, units, weight in acronym_forms(acronyms, result.units):
        ranks, matches = clause_queries(searcher, form, text_fields())
        if ranks is None:
            continue
        ranking.append(wq.DisjunctionMax([ranks], boost=ACRONYM_BOOST * weight))
        docs = sets.query(matches)
        title = clause_queries(searcher, form, title_fields())[1]
        titled = sets.query(title) if title is not None else 0
        for unit in units:
            unit.docs |= docs
            unit.title_docs |= titled


def cover_with_names(sets: DocSets, spoken: str, vocabulary: Vocabulary, result: Plan,
                     ranking: list[wq.Query]) -> None:
    """Units that name an item type, activity kind or country match the items of that type, kind or country."""
    for phrase, (facet, value) in dict.fromkeys(vocabulary.match_hint_phrases(spoken)):
        ranking.append(wq.ConstantScoreQuery(wq.Term(FILTER_FIELDS[facet], value), score=HINT_FLOOR))
        docs = sets.value(FILTER_FIELDS[facet], value)
        result.hints.append(docs)
        for unit in result.units:
            if covered(unit, phrase):
                unit.docs |= docs


def with_hints(hits: list[tuple[int, float]], hints: list[int]) -> list[tuple[int, float]]:
    """Ranked (docnum, score) pairs with each item's score raised by the names of the query it bears."""
    if not hints:
        return hits
    raised = [(d, score * (1 + HINT_FACTOR * sum(docs >> d & 1 for docs in hints))) for d, score in hits]
    return sorted(raised, key=lambda pair: -pair[1])
