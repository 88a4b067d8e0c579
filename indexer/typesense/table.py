"""One collection of the cluster as bitsets, and the documents that match a word or a phrase there.

A search page needs, for every item, its filter values (facet counts, filters, visibility,
dates) and, for each word of the query, which items hold it. The first come from one export of
the collection's filter fields, read again only when the collection changes; the second from
the cluster, one search per word and language, sent together. Everything after that (how many
words an item must match, disjunctive facets, the relaxations of a search with no results) is
the same kb code that serves the Whoosh backend, over the same kind of bitsets.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from indexer.bitsets import BitSets, bitset, members
from indexer.lru import LRU
from indexer.matching import MAX_EXPANSION
from indexer.schema import FILTER_FIELDS, LANGUAGES
from indexer.typesense.collection import jsonl
from indexer.typesense.documents import analysed, texts_of
from indexer.typesense.postings import Key, decode, decode_lexicon, key_id, lexicon_id, positions, postings_of
from indexer.typesense.searches import PAGE, by_ids, id_filters, multi, quoted
from kb.query import Clause
from kb.text import fold

# The filter fields read into bitsets, besides the document's id and date.
FIELDS = tuple(dict.fromkeys([*FILTER_FIELDS.values(), "topics", "visibility", "attribution", "lang", "path",
                              "attachment"]))
WORDS = {"stems": "words", "stems_title": "title_words"}  # each text's distinct words, as filter values
# The hits of one search Typesense lets a reader page through (measured on 0.24: pages of 250 gave the first
# 10,000 of a phrase's 10,697). A phrase with more is searched among the items holding its words (within_words);
# searching that way below the cap was no faster than paging (13 phrases at 100k items).
HITS = 10_000
CACHED = 512  # clauses whose documents a snapshot keeps (at 100k items, 12.5 kB each)


def analysis_language(lang: str) -> str:
    """The language whose analyser indexed an item of `lang` (as indexer.schema.text_field chooses)."""
    return lang if lang in LANGUAGES else "en"


class ClusterSets(BitSets):
    """Bitsets over the documents of one collection, numbered in the order the export lists them."""

    def __init__(self, rows: list[dict[str, Any]]):
        super().__init__()
        # Numbered in the order of the items' ordinals, which the postings of common words are over; a
        # collection written before ordinals has no postings.
        self.postings = bool(rows) and all("n" in row for row in rows)
        self.place: dict[int, int] | None = None  # the document of each ordinal; None: document d has ordinal d
        if self.postings:
            rows = sorted(rows, key=lambda row: int(row["n"]))
            if int(rows[-1]["n"]) != len(rows) - 1:  # deleted items left gaps
                self.place = {int(row["n"]): d for d, row in enumerate(rows)}
        self.ids = [row["id"] for row in rows]
        self.number = {item_id: n for n, item_id in enumerate(self.ids)}
        self.size = len(rows)
        self.all = (1 << self.size) - 1
        self._rows = rows
        self.found = LRU(CACHED)  # the documents of recent clauses (indexer.typesense.table.Finder)
        self.lexicons: dict[tuple[str, str], tuple[list[str], list[int]] | None] = {}  # what prefixes expand over

    @classmethod
    def read(cls, client: Any, collection: str) -> ClusterSets:
        exported = client.collections[collection].documents.export(
            {"include_fields": ",".join(("id", "n", "date", "length") + FIELDS)})
        return cls(jsonl(exported))

    def _read_values(self, field: str) -> dict[str, int]:
        numbers: dict[str, list[int]] = {}
        for n, row in enumerate(self._rows):
            value = row.get(field, [])
            for one in value if isinstance(value, list) else [value]:
                numbers.setdefault(one, []).append(n)
        return {value: bitset(found, self.size) for value, found in numbers.items()}

    def _dates(self) -> list[str]:
        days = []
        for row in self._rows:
            day = str(row.get("date") or "")
            days.append(f"{day[:4]}-{day[4:6]}-{day[6:8]}" if len(day) == 8 else "")
        return days

    def values(self, field: str) -> dict[str, int]:
        if field == "date" and field not in self._values:
            days: dict[str, list[int]] = {}
            for n, day in enumerate(self._dates()):
                days.setdefault(day, []).append(n)
            self._values[field] = {day: bitset(found, self.size) for day, found in days.items()}
        return super().values(field)

    def bits(self, item_ids: Iterable[str]) -> int:
        return bitset((self.number[i] for i in item_ids if i in self.number), self.size)

    @functools.cached_property
    def topic_counts(self) -> tuple[list[int], float]:
        """Each item's number of topics, and their mean over all the items (the length of Whoosh's `topics`)."""
        counts = [len(row.get("topics") or []) for row in self._rows]
        return counts, (sum(counts) / max(self.size, 1)) or 1.0

    @functools.cached_property
    def averages(self) -> dict[str, float]:
        """Per analysis language, the items' words over all the items (each language is a field of its own for
        Whoosh's BM25F, whose average length counts every document)."""
        totals: dict[str, int] = {}
        for row in self._rows:
            lang = analysis_language(str(row.get("lang", "")))
            totals[lang] = totals.get(lang, 0) + int(row.get("length") or 0)
        return {lang: total / max(self.size, 1) or 1.0 for lang, total in totals.items()}

    def languages(self) -> list[str]:
        return sorted({analysis_language(lang) for lang in self.values("lang")})


@dataclass(frozen=True)
class Look:
    """One thing to look for in a field of the collection: a clause of the query in one language."""

    clause: Clause
    lang: str
    field: str  # stems or stems_title

    def params(self, collection: str) -> dict[str, Any] | None:
        """The search that finds its documents, or None when the clause has no word in this language."""
        if self.clause.kind == "prefix":
            stems = analysed(self.clause.text, self.lang)
            words = list(dict.fromkeys([fold(self.clause.text), *stems[:1]]))
            q, prefix = words[-1], True
        else:
            tokens = analysed(self.clause.text, self.lang)
            if not tokens:
                return None
            if self.clause.kind != "phrase" or len(tokens) == 1:  # words: every one, anywhere, from the filter index
                words = WORDS[self.field]
                where = " && ".join([*(f"{words}:={quoted(t)}" for t in dict.fromkeys(tokens)), self.in_language()])
                return {"collection": collection, "q": "*", "include_fields": "id", "filter_by": where,
                        "per_page": PAGE}
            q, prefix = f'"{" ".join(tokens)}"', False
        if self.field == "stems":  # the whole text is searched in the texts collection
            collection = texts_of(collection)
        return {"collection": collection, "q": q, "query_by": self.field, "include_fields": "id",
                "prefix": prefix, "num_typos": 0, "drop_tokens_threshold": 0, "typo_tokens_threshold": 0,
                "filter_by": self.in_language(), "per_page": PAGE}

    def words(self) -> list[Key]:
        """The postings whose documents all hold this clause's words (the clause is found where they meet); none for
        a prefix or a phrase of several words, which the cluster searches."""
        tokens = analysed(self.clause.text, self.lang) if self.clause.kind != "prefix" else []
        if self.clause.kind == "phrase" and len(tokens) > 1:
            return []
        return [(WORDS[self.field], self.lang, token) for token in dict.fromkeys(tokens)]

    def in_language(self) -> str:
        others = ",".join(other for other in LANGUAGES if other != "en")
        return f"lang:!=[{others}]" if self.lang == "en" else f"lang:={self.lang}"


class Finder:
    """The documents of one collection that hold a clause, asked of the cluster in batches."""

    def __init__(self, client: Any, collection: str, sets: ClusterSets):
        self.client, self.collection, self.sets = client, collection, sets
        self.found = sets.found  # (kind, text, field) -> bits, kept with the snapshot for the next searches

    def docs(self, clauses: list[Clause], field: str = "stems") -> list[int]:
        """The documents holding each clause in `field`, in any language (its words analysed as each language's
        items were)."""
        known = {c: self.found.get((c.kind, c.text, field)) for c in dict.fromkeys(clauses)}
        wanted = [c for c, bits in known.items() if bits is None]
        looks = [Look(c, lang, field) for c in wanted for lang in self.sets.languages()]
        held = self.common(looks)
        searches = [(look, look.params(self.collection)) for look in looks if look not in held]
        searches = [(look, params) for look, params in searches if params is not None]
        for clause in wanted:
            known[clause] = 0
        for look, bits in held.items():
            known[look.clause] |= bits
        narrow = [functools.partial(self.within_words, look, params) for look, params in searches]
        for (look, _), ids in zip(searches, self._all_ids([params for _, params in searches], narrow)):
            known[look.clause] = (known[look.clause] or 0) | self.sets.bits(ids)
        for clause in wanted:
            self.found.put((clause.kind, clause.text, field), known[clause])
        return [known[c] or 0 for c in clauses]

    def stems(self, words: list[str], lang: str) -> list[int]:
        """The documents of items in `lang` (an analysis language) holding each word as the index holds it."""
        where = Look(Clause("word", ""), lang, "stems").in_language()
        known = {w: self.found.get(("stem", w, lang)) for w in dict.fromkeys(words)}
        posted = self.posted([("words", lang, w) for w, bits in known.items() if bits is None])
        known.update((word, bits) for (_, _, word), bits in posted.items())
        wanted = [w for w, bits in known.items() if bits is None]
        searches = [{"collection": self.collection, "q": "*", "include_fields": "id", "per_page": PAGE,
                     "filter_by": f"words:={quoted(w)} && {where}"} for w in wanted]
        for word, ids in zip(wanted, self._all_ids(searches)):
            known[word] = self.sets.bits(ids)
            self.found.put(("stem", word, lang), known[word])
        return [known[w] or 0 for w in words]

    def common(self, looks: list[Look]) -> dict[Look, int]:
        """The documents of the looks found from postings, not searched: words that are all common, and prefixes
        (expanded as on Whoosh, to the MAX_EXPANSION words most items hold; the rare ones searched at once)."""
        words = {look: keys for look in looks if (keys := look.words())}
        prefixes = {look: keys for look in looks
                    if look.clause.kind == "prefix" and (keys := self.expansions(look)) is not None}
        posted = self.posted([key for keys in [*words.values(), *prefixes.values()] for key in keys])
        found: dict[Look, int] = {}
        for look, keys in words.items():
            if all(key in posted for key in keys):
                bits = self.sets.all
                for key in keys:
                    bits &= posted[key]
                found[look] = bits
        rare: list[tuple[Look, dict[str, Any]]] = []
        for look, keys in prefixes.items():
            found[look] = 0
            for key in keys:
                found[look] |= posted.get(key, 0)
            if unposted := [key[2] for key in keys if key not in posted]:
                where = f"{WORDS[look.field]}:=[{','.join(quoted(w) for w in unposted)}] && {look.in_language()}"
                rare.append((look, {"collection": self.collection, "q": "*", "include_fields": "id",
                                    "filter_by": where, "per_page": PAGE}))
        for (look, _), ids in zip(rare, self._all_ids([search for _, search in rare])):
            found[look] |= self.sets.bits(ids)
        return found

    def expansions(self, look: Look) -> list[Key] | None:
        """The words a prefix stands for in a field and language: for the prefix as typed and its stem, the
        MAX_EXPANSION words most items hold (indexer.matching.expand), from the lexicon the runs keep; None
        without one (a collection written before lexicons: Typesense's prefix search finds the items)."""
        field = WORDS[look.field]
        lexicon = self.lexicon(field, look.lang) if self.sets.postings else None
        if lexicon is None:
            return None
        words, counts = lexicon
        chosen: dict[str, None] = {}
        for prefix in dict.fromkeys([fold(look.clause.text), *analysed(look.clause.text, look.lang)[:1]]):
            if prefix:
                low = bisect_left(words, prefix)
                high = bisect_left(words, prefix[:-1] + chr(ord(prefix[-1]) + 1), low)
                best = sorted(range(low, high), key=lambda i: (-counts[i], words[i]))[:MAX_EXPANSION]
                chosen.update((words[i], None) for i in best)
        return [(field, look.lang, word) for word in chosen]

    def lexicon(self, field: str, lang: str) -> tuple[list[str], list[int]] | None:
        if (field, lang) not in self.sets.lexicons:
            searches = [{"collection": postings_of(self.collection), "q": "*", "include_fields": "id,words",
                         "filter_by": f"id:={quoted(lexicon_id(field, lang))}", "per_page": 1}]
            hits = self.multi(searches)[0].get("hits", [])
            self.sets.lexicons[(field, lang)] = decode_lexicon(hits[0]["document"]["words"]) if hits else None
        return self.sets.lexicons[(field, lang)]

    def posted(self, keys: list[Key]) -> dict[Key, int]:
        """The documents in the postings of these words, for those that have postings (the common ones)."""
        if not self.sets.postings:
            return {}
        found: dict[Key, int] = {}
        wanted: dict[str, Key] = {}
        for key in dict.fromkeys(keys):
            bits = self.found.get(("posting", *key))
            if bits is None:
                wanted[key_id(key)] = key
            elif bits >= 0:
                found[key] = bits
        for answer in self.multi(by_ids(postings_of(self.collection), list(wanted), "id,bits")):
            for hit in answer.get("hits", []):
                key = wanted[hit["document"]["id"]]
                found[key] = positions(decode(hit["document"]["bits"]), self.sets.place, self.sets.size)
        for key in wanted.values():
            self.found.put(("posting", *key), found.get(key, -1))  # -1: no postings, a rare word
        return found

    def frequencies(self, words: Iterable[str], lang: str = "") -> dict[str, int]:
        """How many documents hold each analysed word (in items of `lang`, an analysis language; else in any)."""
        words = list(dict.fromkeys(words))
        where = f" && {Look(Clause('word', ''), lang, 'stems').in_language()}" if lang else ""
        searches = [{"collection": self.collection, "q": "*", "filter_by": f"words:={quoted(word)}{where}",
                     "per_page": 0} for word in words]
        return {word: answer.get("found", 0) for word, answer in zip(words, self.multi(searches))}

    def within_words(self, look: Look, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """A phrase's search split over the items holding all its words, a page of them each, when those words
        are common (have postings); else None. Typesense pages through the first HITS hits of a search only:
        at 100k items `"Community Practice"` found 10,697 items and its pages gave 10,000 of them."""
        if look.clause.kind != "phrase":
            return None
        keys = [(WORDS[look.field], look.lang, token) for token in dict.fromkeys(analysed(look.clause.text, look.lang))]
        posted = self.posted(keys) if len(keys) > 1 else {}
        if not keys or not all(key in posted for key in keys):
            return None
        bits = self.sets.all
        for key in keys:
            bits &= posted[key]
        return [dict(params, filter_by=f"{params['filter_by']} && {where}")
                for where in id_filters([self.sets.ids[d] for d in members(bits)], params["per_page"])]

    def _all_ids(self, searches: list[dict[str, Any]],
                 narrow: list[Callable[[], list[dict[str, Any]] | None]] | None = None) -> list[list[str]]:
        """Every matching id of each search: a first page of each, then the further pages of those that need them;
        for a search with more hits than Typesense pages through, the searches `narrow` gives, which find them
        all (with none, the first HITS)."""
        answers = self.multi(searches)
        ids = [[hit["document"]["id"] for hit in answer.get("hits", [])] for answer in answers]
        more: list[tuple[int, dict[str, Any]]] = []
        for n, (search, answer) in enumerate(zip(searches, answers)):
            pages = (answer.get("found", 0) + PAGE - 1) // PAGE
            split = narrow[n]() if narrow and answer.get("found", 0) > HITS else None
            if split is not None:
                ids[n] = []  # the split searches find every hit, the first page's too
                more += [(n, one) for one in split]
            else:
                more += [(n, dict(search, page=page)) for page in range(2, pages + 1)]
        for (n, _), answer in zip(more, self.multi([search for _, search in more])):
            ids[n] += [hit["document"]["id"] for hit in answer.get("hits", [])]
        return ids

    def multi(self, searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return multi(self.client, searches)
