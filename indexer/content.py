"""Walk a content folder: read every item file and the vocabulary."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from indexer.readers import READERS, read_item
from kb.errors import ConfigError, ContentError, VocabularyError
from kb.item import Item
from kb.vocabulary import Vocabulary

log = logging.getLogger(__name__)
VOCABULARY_FILES = ("vocabulary.yml", "vocabulary.yaml")


@dataclass(frozen=True)
class Failure:
    """A file that could not be used, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class Content:
    """Everything read from a content folder."""

    root: Path
    vocabulary: Vocabulary
    items: list[Item] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    warnings: list[Failure] = field(default_factory=list)


def content_root(path: str | os.PathLike[str]) -> Path:
    """Resolve the content folder, or raise ConfigError naming it."""
    root = Path(path)
    if not root.is_dir():
        raise ConfigError(f"content folder {str(path)!r} does not exist or is not a folder")
    return root.resolve()


def load_vocabulary(root: Path) -> Vocabulary:
    """Load vocabulary.yml from the content folder; an empty vocabulary if there is none."""
    for name in VOCABULARY_FILES:
        path = root / name
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError) as exc:
                raise VocabularyError(f"{name}: cannot be read: {exc}") from None
            except yaml.YAMLError as exc:
                raise VocabularyError(f"{name}: not valid YAML: {exc}") from None
            return Vocabulary.from_dict(data, source=name)
    return Vocabulary()


def content_files(root: Path) -> list[str]:
    """Return the relative paths of readable files, skipping hidden files and folders."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_build")))
        for name in files:
            if name.startswith(".") or name in VOCABULARY_FILES:
                continue
            if os.path.splitext(name)[1].lower() in READERS:
                found.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return sorted(found)


def read_file(root: Path, relative_path: str, max_bytes: int) -> tuple[Item, list[str]]:
    """Read one file of the content folder; every problem becomes a ContentError."""
    path = root / relative_path
    try:
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            raise ContentError(relative_path, "symbolic link to a file outside the content folder")
        size = path.stat().st_size
        if size > max_bytes:
            raise ContentError(relative_path, f"file is {size:,} bytes; the limit is {max_bytes:,} (skipped)")
        data = path.read_bytes()
    except OSError as exc:
        raise ContentError(relative_path, f"cannot be read: {exc.strerror or exc}") from None
    return read_item(relative_path, data)


def load_content(path: str | os.PathLike[str], max_bytes: int = 20_000_000) -> Content:
    """Read the vocabulary and every item; bad files are collected, never raised."""
    root = content_root(path)
    content = Content(root=root, vocabulary=load_vocabulary(root))
    owners: dict[str, str] = {}
    for relative_path in content_files(root):
        try:
            item, warnings = read_file(root, relative_path, max_bytes)
        except ContentError as exc:
            content.failed.append(Failure(exc.path, exc.reason))
            continue
        except Exception as exc:  # a reader bug must not stop the other files
            log.exception("unexpected error reading %s", relative_path)
            content.failed.append(Failure(relative_path, f"unexpected {type(exc).__name__}: {exc}"))
            continue
        if item.id in owners:
            content.failed.append(Failure(relative_path, f"id {item.id!r} is already used by {owners[item.id]}"))
            continue
        owners[item.id] = relative_path
        content.items.append(item)
        content.warnings.extend(Failure(relative_path, w) for w in warnings)
    return content
