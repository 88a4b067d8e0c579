"""Every setting of kb in one place, with its default and a one-line help.

One Settings object is built once per process, from the environment (KB_* keys)
and, for the CLI, its global options; the CLI, the web app and the jobs all read
that same object, so a setting documented here works on every edge.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from kb.access import LEVELS
from kb.errors import ConfigError

# A session key shorter than this is easy to guess; `kb` creates a 64-character one when none is set.
MIN_SECRET_KEY = 32
BACKENDS = ("whoosh", "typesense")
MAX_NICE = 19  # the lowest CPU priority POSIX gives


def _setting(default: Any, help: str, least: int = 1) -> Any:
    return field(default=default, metadata={"help": help, "least": least})


@dataclass(frozen=True)
class Settings:
    """Settings for the CLI, the web app and the jobs; built from KB_* keys or options."""

    content: str = _setting("content", "content folder: Markdown files and vocabulary.yml")
    index: str = _setting(".kb-index", "index folder (generations of the search index)")
    data: str = _setting(".kb-data", "folder for accounts, logs and the session key (kept when the index is rebuilt)")
    page_size: int = _setting(10, "results per search page")
    max_page: int = _setting(100, "highest page number a search may ask for")
    max_query_length: int = _setting(2000, "longest query searched, in characters; longer ones are cut, with a note")
    max_filter_values: int = _setting(50, "most facet values one search may select")
    max_file_bytes: int = _setting(20_000_000, "content files larger than this are skipped")
    file_seconds: float = _setting(20.0, "seconds reading one content file may take before it is reported and skipped")
    file_memory_mb: int = _setting(1024, "memory (MB) reading one content file may use before it is reported and skipped")
    related_limit: int = _setting(8, "related activities, and related content, shown on an item page "
                                         "(each; \"Show all\" lists the rest)")
    search_cache: int = _setting(256, "search results kept per process for repeated searches (0: none)", least=0)
    search_cache_shared: int = _setting(64, "megabytes of search results the processes serving one index share "
                                            "(a file in the index folder; 0: none)", least=0)
    search_time_limit: float = _setting(10.0, "seconds a search may spend ranking (and half of it on spelling) "
                                              "before it shows what it found")
    reindex_nice: int = _setting(10, "CPU priority kb reindex gives up, in nice steps (0 to 19; 0: none), so "
                                     "that searches served on the same machine come first", least=0)
    reindex_warm: float = _setting(10.0, "seconds an incremental kb reindex spends ranking, on its new commit, the "
                                        "searches asked most lately, while the web workers keep the last one "
                                        "(0: none)", least=0)
    readers_refresh: float = _setting(30.0, "the web workers move to the commits of kb reindex runs at most this "
                                            "often (seconds), so that runs every few seconds do not start their "
                                            "kept results again each time (0: at each run's end); a run after a "
                                            "quiet while, and an edit made in the web, show at once", least=0)
    search_log_days: int = _setting(365, "days the anonymous search log keeps each search (0: no log)", least=0)
    semantic: bool = _setting(True, "search by meaning too, when the semantic extra is installed (0: by words only)")
    semantic_weight: float = _setting(0.5, "weight of meaning against words when hits are ranked (0 to 1)", least=0)
    secret_key: str = _setting("", f"key signing web sessions (at least {MIN_SECRET_KEY} characters); "
                                   "generated once into the data folder if empty")
    secure_cookies: bool = _setting(False, "send the session cookie over HTTPS only (set 1 behind HTTPS)")
    login_attempts: int = _setting(5, "failed logins allowed per account, and per address, within login_window")
    login_window: int = _setting(300, "seconds over which failed logins count; also how long a blocked login waits")
    default_visibility: str = _setting("public", "who may read an item whose file and vocabulary say nothing: "
                                                 "public, members or managers")
    public: bool = _setting(True, "anyone may read public items without logging in (0: a members-only site, "
                                  "every page but the login asks for an account)")
    backend: str = _setting("whoosh", "search engine: whoosh (the index folder) or typesense (a cluster, "
                                      "fed from the index folder by kb reindex)")
    typesense_nodes: str = _setting("", "the Typesense cluster's nodes, comma-separated URLs (KB_BACKEND=typesense)")
    typesense_api_key: str = field(default="", repr=False, metadata={  # never in a repr, a log or a status
        "help": "the Typesense cluster's API key; from the environment only, never printed", "least": 1})
    typesense_prefix: str = _setting("kb", "names of this community's collections and alias in the cluster")

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"KB_BACKEND must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.default_visibility not in LEVELS:
            raise ConfigError(f"KB_DEFAULT_VISIBILITY must be one of {', '.join(LEVELS)}, "
                              f"got {self.default_visibility!r}")
        if not 0 <= self.reindex_nice <= MAX_NICE:
            raise ConfigError(f"KB_REINDEX_NICE must be between 0 and {MAX_NICE}, got {self.reindex_nice}")
        if self.secret_key and len(self.secret_key) < MIN_SECRET_KEY:
            raise ConfigError(f"KB_SECRET_KEY must be at least {MIN_SECRET_KEY} characters long "
                              f"(it has {len(self.secret_key)}); leave it empty to have one generated")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str]]:
        """(environment key, default, help) of every setting, for documentation."""
        return [("KB_" + f.name.upper(), f.default, f.metadata["help"]) for f in dataclasses.fields(cls)]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], prefix: str = "KB_") -> Settings:
        """Read settings from keys such as KB_CONTENT or KB_PAGE_SIZE; ignore unknown keys."""
        found: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            key = prefix + f.name.upper()
            if key in values and values[key] not in (None, ""):
                found[f.name] = _convert(key, values[key], f.default, f.metadata["least"])
        return cls(**found)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with the given non-None values changed."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _convert(key: str, value: Any, default: Any, least: int) -> Any:
    if isinstance(default, bool):
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key} must be 1 or 0 (true or false), got {value!r}")
    if isinstance(default, float) and key.endswith("WEIGHT"):
        try:
            weight = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number between 0 and 1, got {value!r}") from None
        if not 0 <= weight <= 1:
            raise ConfigError(f"{key} must be between 0 and 1, got {value!r}")
        return weight
    if isinstance(default, float):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number of seconds, got {value!r}") from None
        if not (0 < seconds < 10 ** 6 or (seconds == 0 and least == 0)):
            raise ConfigError(f"{key} must be {'0 seconds or more' if least == 0 else 'more than 0 seconds'}, "
                              f"got {value!r}")
        return seconds
    if isinstance(default, int):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a whole number, got {value!r}") from None
        if number < least:
            raise ConfigError(f"{key} must be at least {least}, got {number}")
        return number
    return str(value)
