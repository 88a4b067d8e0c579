"""The query mix of the scale benchmarks, by shape, drawn from a corpus's own titles.

Shapes: one to three title words, a two-word phrase, a word with a type or topic filter, a
filter alone, a long question (20 to 30 words, as members paste them), a three-letter
prefix, and a misspelt title word beside another. Every shape is drawn the same number of
times, with a fixed seed, so two runs over one corpus search the same queries.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

SHAPES = ("words", "phrase", "word + filter", "filter", "long question", "prefix", "misspelling")
TOPICS = ["budget-flexibility", "health-financing", "public-financial-management", "covid-19-response",
          "strategic-purchasing", "primary-health-care"]
TYPES = ["document", "discussion", "session-note"]
QUESTION = ("what have members written about {0} {1} and {2} when the {3} {4} of a {5} has to change "
            "during the year, and how did other teams handle {6} {7} for {8}")


def titles(content: Path, sample: int = 400) -> list[list[str]]:
    """Words of four letters or more of about `sample` titles spread over the corpus."""
    paths = sorted(content.rglob("*.md"))
    found = []
    for path in paths[:: max(1, len(paths) // sample)]:
        match = re.search(r'"title": "([^"]+)"', path.read_text(encoding="utf-8", errors="replace")[:2000])
        if match:
            words = re.findall(r"[A-Za-z]{4,}", match[1])
            if len(words) >= 2:
                found.append(words)
    return found


def misspelt(word: str, rng: random.Random) -> str:
    """The word with two neighbouring letters swapped, or one letter dropped."""
    at = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    return word[:at] + word[at + 1:]


def shaped_queries(content: Path, per_shape: int = 13, seed: int = 5) -> list[tuple[str, str]]:
    """(shape, query) pairs, `per_shape` of each shape, interleaved."""
    rng = random.Random(seed)
    pool = titles(content)
    long_words = [w for words in pool for w in words if len(w) >= 6]
    pairs = []
    for _ in range(per_shape):
        words = rng.choice(pool)
        pairs.append(("words", " ".join(rng.sample(words, min(len(words), rng.choice((1, 2, 3)))))))
        start = rng.randrange(len(words) - 1)
        pairs.append(("phrase", f'"{words[start]} {words[start + 1]}"'))
        facet = f"type:{rng.choice(TYPES)}" if rng.random() < 0.5 else f"topic:{rng.choice(TOPICS)}"
        pairs.append(("word + filter", f"{rng.choice(words)} {facet}"))
        pairs.append(("filter", f"topic:{rng.choice(TOPICS)}"))
        pairs.append(("long question", QUESTION.format(*(w.lower() for w in rng.sample(long_words, 9)))))
        pairs.append(("prefix", rng.choice(words)[:3].lower() + "*"))
        pairs.append(("misspelling", f"{misspelt(rng.choice(long_words), rng).lower()} {rng.choice(words).lower()}"))
    return pairs
