"""What one index generation's folder holds, besides the search engine's own files.

    build.json         when it was built and last updated, its item count, the schema version;
                       written last by a full build, so a folder without it never served
    vocabulary.json    the vocabulary the items were indexed with (labels, hierarchy)
    manifest.sqlite    one row per content file: its item id, size, time and hash (indexer.manifest)
    words.sqlite       the words of the items, for "did you mean" (indexer.words)
    vectors.sqlite     the items' meaning as vectors, when semantic search is on (indexer.vectors)
    sets.sqlite        each search-engine segment's facet bitsets and dates (indexer.segmentsets)
    retired            present once another generation serves instead; removed some minutes later

This module is the only one that names these files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.files import now_iso, read_json, write_atomic
from kb.vocabulary import Vocabulary

BUILD_FILE = "build.json"
VOCABULARY_FILE = "vocabulary.json"
MANIFEST_FILE = "manifest.sqlite"
WORDS_FILE = "words.sqlite"
VECTORS_FILE = "vectors.sqlite"
SETS_FILE = "sets.sqlite"
RETIRED_FILE = "retired"
# Bump when fields or derived values change: an older index is then rebuilt from scratch.
SCHEMA_VERSION = 9  # 9: postings blocks as flat arrays (indexer.postingblocks); 8: A/B and Q&A are one word; 7: typed links; 6: visibility and attribution fields; 5: accents folded before stemming


@dataclass(frozen=True)
class GenerationFolder:
    """The folder of one generation and the kb files in it."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def manifest(self) -> Path:
        return self.path / MANIFEST_FILE

    @property
    def words(self) -> Path:
        return self.path / WORDS_FILE

    @property
    def vectors(self) -> Path:
        return self.path / VECTORS_FILE

    @property
    def retired_marker(self) -> Path:
        return self.path / RETIRED_FILE

    def complete(self) -> bool:
        """True once a full build finished writing it (build.json is written last)."""
        return (self.path / BUILD_FILE).is_file()

    def build(self) -> dict[str, Any]:
        return read_json(self.path / BUILD_FILE) or {}

    def vocabulary(self) -> Vocabulary:
        return Vocabulary.from_dict(read_json(self.path / VOCABULARY_FILE), source=f"{self.name}/{VOCABULARY_FILE}")

    def write_vocabulary(self, vocabulary: Vocabulary) -> None:
        write_atomic(self.path / VOCABULARY_FILE, json.dumps(vocabulary.to_dict(), ensure_ascii=False))

    def finish(self, items: int, content: Path) -> None:
        """Mark a full build complete: its build file, written last."""
        stamp = now_iso()
        build = {"built_at": stamp, "updated_at": stamp, "items": items, "content": str(content),
                 "schema": SCHEMA_VERSION}
        write_atomic(self.path / BUILD_FILE, json.dumps(build))

    def touch(self, items: int) -> None:
        """Record an incremental change: the new item count, and a precise time readers watch to
        reload the generation's vocabulary and counts."""
        build = self.build()
        build.update(updated_at=now_iso(precise=True), items=items)
        write_atomic(self.path / BUILD_FILE, json.dumps(build))

    def current_schema(self) -> bool:
        return self.build().get("schema") == SCHEMA_VERSION
