"""Near-duplicate items: the same PDF twice, notes posted again with small edits.

Each item's text is reduced to a MinHash sketch: the K smallest hashes of its
word 3-grams. The share of common values among the K smallest of two sketches
together estimates how much of the two texts' 3-grams are the same (Jaccard).
Only items that share one of their few smallest hashes are compared, so the
check stays fast on thousands of items.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from typing import Iterable

from kb.item import Item

K = 64
THRESHOLD = 0.8  # estimated share of common 3-grams above which two items are reported
MIN_WORDS = 30  # shorter texts are too small to call duplicates
_WORD = re.compile(r"\w+")


def sketch(text: str) -> tuple[int, ...] | None:
    """The K smallest hashes of the text's word 3-grams (hash() is stable within one process)."""
    words = _WORD.findall(text.casefold())
    if len(words) < MIN_WORDS:
        return None
    shingles = {hash((words[i], words[i + 1], words[i + 2])) for i in range(len(words) - 2)}
    return tuple(heapq.nsmallest(K, shingles))


def similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    union = heapq.nsmallest(K, set(a) | set(b))
    common = set(a) & set(b)
    return sum(1 for value in union if value in common) / len(union)


def near_duplicates(items: Iterable[Item]) -> list[tuple[Item, Item, float]]:
    """Pairs of items whose texts are mostly the same, with the estimated share in common."""
    sketched = [(item, s) for item in items if (s := sketch(f"{item.title} {item.text}")) is not None]
    buckets: dict[int, list[int]] = defaultdict(list)
    for index, (_, values) in enumerate(sketched):
        for value in values[:4]:
            buckets[value].append(index)
    found: dict[tuple[int, int], float] = {}
    for members in buckets.values():
        for position, a in enumerate(members):
            for b in members[position + 1:]:
                key = (min(a, b), max(a, b))
                if key not in found:
                    found[key] = similarity(sketched[a][1], sketched[b][1])
    pairs = [(sketched[a][0], sketched[b][0], share) for (a, b), share in found.items() if share >= THRESHOLD]
    return sorted(pairs, key=lambda p: (p[0].path, p[1].path))
