"""Every setting of kb in one place, with its default and a one-line help."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from kb.errors import ConfigError


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Settings for the CLI and the web app; built from KB_* keys or options."""

    content: str = _setting("content", "content folder: Markdown files and vocabulary.yml")
    index: str = _setting(".kb-index", "index folder (generations of the search index)")
    data: str = _setting(".kb-data", "folder for accounts, logs and the session key (kept when the index is rebuilt)")
    page_size: int = _setting(10, "results per search page")
    max_page: int = _setting(100, "highest page number a search may ask for")
    max_query_length: int = _setting(2000, "longest query accepted, in characters")
    max_file_bytes: int = _setting(20_000_000, "content files larger than this are skipped")
    related_limit: int = _setting(8, "related items shown on an item page")
    search_cache: int = _setting(256, "search results kept per process for repeated searches (0: none)")
    search_time_limit: int = _setting(10, "seconds a search may spend ranking before it shows what it found")
    search_log_days: int = _setting(365, "days the anonymous search log keeps each search (0: no log)")
    secret_key: str = _setting("", "key signing web sessions; generated once into the data folder if empty")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], prefix: str = "KB_") -> Settings:
        """Read settings from keys such as KB_CONTENT or KB_PAGE_SIZE; ignore unknown keys."""
        found: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            key = prefix + f.name.upper()
            if key in values and values[key] not in (None, ""):
                found[f.name] = _convert(key, values[key], f.default)
        return cls(**found)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with the given non-None values changed."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _convert(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return str(value).lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a whole number, got {value!r}") from None
        least = 0 if key.endswith(("CACHE", "DAYS")) else 1
        if number < least:
            raise ConfigError(f"{key} must be at least {least}, got {number}")
        return number
    return str(value)
