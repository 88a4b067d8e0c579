"""Walk a content folder: read every item file and the vocabulary."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from indexer.readers import FRONT_MATTER, READERS, SIDECAR, front_matter_in_file, parse_sidecar, read_item
from indexer.textfiles import decode, load_mapping, split_front_matter
from kb.errors import ConfigError, ContentError, VocabularyError
from kb.item import Item
from kb.acronyms import definitions
from kb.spelling import words_of
from kb.vocabulary import Vocabulary

log = logging.getLogger(__name__)
VOCABULARY_FILES = ("vocabulary.yml", "vocabulary.yaml")
PEOPLE_FILES = ("people.yml", "people.yaml")
# Rendering Markdown is the slow part of reading; big folders are read by several processes.
PARALLEL_FROM = 400


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
    """Load vocabulary.yml from the content folder, with the people of people.yml (kb.people) if
    there is one; an empty vocabulary if there is none."""
    data: dict = {}
    source = "vocabulary"
    for names, what in ((VOCABULARY_FILES, "the vocabulary"), (PEOPLE_FILES, "the people registry")):
        name = next((n for n in names if (root / n).is_file()), None)
        if name is None:
            continue
        try:
            found = load_mapping(name, (root / name).read_text(encoding="utf-8-sig"), what)
        except (OSError, UnicodeDecodeError) as exc:
            raise VocabularyError(f"{name}: cannot be read: {exc}") from None
        except ContentError as exc:
            raise VocabularyError(str(exc)) from None
        if names is PEOPLE_FILES:
            data["people"] = found.get("people") if isinstance(found, dict) else found
        else:
            data, source = found, name
            if not isinstance(data, dict):
                return Vocabulary.from_dict(data, source=name)  # says what is wrong
    return Vocabulary.from_dict(data, source=source) if data else Vocabulary()


class FileStat(NamedTuple):
    """Size and modification time of a content file, counting its sidecar file if it has one."""

    st_size: int
    st_mtime_ns: int


def readable_name(name: str) -> bool:
    """False for a name with bytes that are not UTF-8 (Python keeps them as surrogates, which nothing
    downstream can store or show: archives from Windows or Latin-1 systems have such names)."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(path: str) -> str:
    """A name with bytes that are not UTF-8, printable: each such byte as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


UNREADABLE_NAME = "the file name is not valid UTF-8 (written by another system?); rename it to index it"
NOT_A_FILE = "not a regular file (a pipe, socket or device); skipped"


def scan(root: Path, unusable: list[tuple[str, str]] | None = None) -> dict[str, FileStat]:
    """Readable files under `root` by relative path, with their stat; hidden files and folders skipped.

    One scandir per folder and one stat per file: at 100,000 files this walk is
    most of an incremental run that finds one change. Names that are not UTF-8
    (shown printable) and pipes, sockets or devices with a content file's name
    are left out and added to `unusable` with the reason, to be reported.
    """
    suffixes = tuple(READERS)
    found: dict[str, FileStat] = {}
    sidecars: dict[str, FileStat] = {}
    pending = [("", str(root))]
    while pending:
        prefix, folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            if not name.isascii() and not readable_name(name):
                if unusable is not None:
                    unusable.append((shown_name(prefix + name), UNREADABLE_NAME))
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not name.startswith("_build"):
                        pending.append((prefix + name + "/", entry.path))
                elif name.endswith(SIDECAR):
                    stat = entry.stat()
                    sidecars[prefix + name[: -len(SIDECAR)]] = FileStat(stat.st_size, stat.st_mtime_ns)
                elif name.lower().endswith(suffixes) and name not in VOCABULARY_FILES:
                    if not entry.is_file():  # reading a pipe would wait for ever
                        if unusable is not None:
                            unusable.append((prefix + name, NOT_A_FILE))
                        continue
                    stat = entry.stat()
                    found[prefix + name] = FileStat(stat.st_size, stat.st_mtime_ns)
            except OSError:
                continue  # vanished while walking: seen as deleted
    return with_sidecars(found, sidecars)


def with_sidecars(found: dict[str, FileStat], sidecars: dict[str, FileStat]) -> dict[str, FileStat]:
    """Count each sidecar file's size and time in its content file's (a change to either is a change)."""
    for path, extra in sidecars.items():
        if path in found and not front_matter_in_file(path):
            own = found[path]
            found[path] = FileStat(own.st_size + extra.st_size, max(own.st_mtime_ns, extra.st_mtime_ns))
    return found


def file_stat(root: Path, relative_path: str) -> FileStat | None:
    """What scan() gives one file (its size and time, counting its sidecar), or None when it is gone."""
    try:
        own = os.stat(root / relative_path)
    except OSError:
        return None
    if front_matter_in_file(relative_path):
        return FileStat(own.st_size, own.st_mtime_ns)
    try:
        extra = os.stat(root / (relative_path + SIDECAR))
    except OSError:
        return FileStat(own.st_size, own.st_mtime_ns)
    return FileStat(own.st_size + extra.st_size, max(own.st_mtime_ns, extra.st_mtime_ns))


def document_of(relative_path: str) -> str:
    """The content file an edited file describes: a sidecar describes its document."""
    return relative_path[: -len(SIDECAR)] if relative_path.endswith(SIDECAR) else relative_path


def content_files(root: Path, unusable: list[tuple[str, str]] | None = None) -> list[str]:
    """Relative paths of readable files, sorted; hidden files and folders skipped (see scan)."""
    return sorted(scan(root, unusable))


def sidecar_of(root: Path, relative_path: str) -> Path | None:
    """The sidecar metadata file of a document, if it has one (Markdown keeps its metadata inside)."""
    if front_matter_in_file(relative_path):
        return None
    path = root / (relative_path + SIDECAR)
    return path if path.is_file() else None


def content_hash(data: bytes, sidecar: bytes | None) -> str:
    """The hash the manifest keeps: the file's bytes, and its sidecar's if it has one."""
    digest = hashlib.sha256(data)
    if sidecar is not None:
        digest.update(b"\0sidecar\0" + sidecar)
    return digest.hexdigest()


def hash_file(root: Path, relative_path: str) -> str:
    sidecar = sidecar_of(root, relative_path)
    return content_hash((root / relative_path).read_bytes(), sidecar.read_bytes() if sidecar else None)


@lru_cache(maxsize=4096)
def activity_id_of(activity_file: str, default_id: str) -> str:
    """The id of the activity whose Markdown file is `activity_file` ('' if it is not an activity)."""
    path = Path(activity_file)
    try:
        text, _ = decode(path.name, path.read_bytes())
        metadata, _ = split_front_matter(path.name, text)
    except (OSError, ContentError):
        return ""
    if str(metadata.get("type", "")).strip().lower() != "activity":
        return ""
    return str(metadata.get("id") or "").strip() or default_id


def attached_to(root: Path, relative_path: str) -> str:
    """The activity a file is attached to by living in the folder beside the activity's file
    (activities/forum-2020.md and activities/forum-2020/agenda.pdf); '' if none."""
    folder, _, _ = relative_path.rpartition("/")
    if not folder:
        return ""
    for suffix in FRONT_MATTER:
        candidate = root / (folder + suffix)
        if candidate.is_file():
            return activity_id_of(str(candidate), folder)
    return ""


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on reading one file: its size, the time and the memory reading it may take."""

    max_bytes: int = 20_000_000
    seconds: float = 20.0
    memory_mb: int = 1024

    @classmethod
    def from_settings(cls, settings: Any) -> ReadLimits:
        return cls(settings.max_file_bytes, settings.file_seconds, settings.file_memory_mb)


def inside(root: Path, path: Path) -> bool:
    """True when `path`, following symbolic links, is a file inside the content folder."""
    return path.resolve().is_relative_to(root)


def read_file(root: Path, relative_path: str, limits: ReadLimits) -> tuple[str, Item, list[str]]:
    """Read one file of the content folder (and its sidecar); return its hash, the item, warnings."""
    path = root / relative_path
    try:
        if path.is_symlink() and not inside(root, path):
            raise ContentError(relative_path, "symbolic link to a file outside the content folder")
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise ContentError(relative_path, f"file is {size:,} bytes; the limit is {limits.max_bytes:,} "
                                              "(KB_MAX_FILE_BYTES); skipped")
        data = path.read_bytes()
        sidecar_path = sidecar_of(root, relative_path)
        if sidecar_path is not None and sidecar_path.is_symlink() and not inside(root, sidecar_path):
            raise ContentError(relative_path + SIDECAR, "symbolic link to a file outside the content folder")
        sidecar = sidecar_path.read_bytes() if sidecar_path else None
        if sidecar is not None and len(sidecar) > limits.max_bytes:
            raise ContentError(relative_path + SIDECAR, f"file is {len(sidecar):,} bytes; the limit is "
                                                        f"{limits.max_bytes:,} (KB_MAX_FILE_BYTES); skipped")
    except OSError as exc:
        raise ContentError(relative_path, f"cannot be read: {exc.strerror or exc}") from None
    metadata = parse_sidecar(relative_path + SIDECAR, sidecar) if sidecar is not None else None
    item, warnings = read_item(relative_path, data, metadata)
    owner = attached_to(root, relative_path)
    if owner and owner != item.id and owner not in item.activities:
        item = dataclasses.replace(item, activities=item.activities + (owner,))
    return content_hash(data, sidecar), item, warnings


@dataclass(frozen=True)
class Read:
    """The outcome of reading one file: an item with warnings, or a failure."""

    path: str
    item: Item | None = None
    warnings: tuple[str, ...] = ()
    failure: Failure | None = None
    sha256: str = ""
    words: tuple[str, ...] = ()  # distinct words of title and text, for spelling suggestions
    acronyms: tuple[tuple[str, str], ...] = ()  # (short form, long form) the item defines (kb.acronyms)


def read_one(root: Path, relative_path: str, limits: ReadLimits) -> Read:
    """Read one file; every problem, even a reader bug, becomes a Failure instead of an exception.

    MemoryError is left to the reader process (indexer.readpool), which reports it
    and is replaced.
    """
    try:
        digest, item, warnings = read_file(root, relative_path, limits)
    except ContentError as exc:
        return Read(relative_path, failure=Failure(exc.path, exc.reason))
    except MemoryError:
        raise
    except Exception as exc:  # a reader bug must not stop the other files
        log.exception("unexpected error reading %s", relative_path)
        return Read(relative_path, failure=Failure(relative_path, f"unexpected {type(exc).__name__}: {exc}"))
    return Read(relative_path, item=item, warnings=tuple(warnings), sha256=digest,
                words=tuple(words_of(f"{item.title} {item.text}")),
                acronyms=tuple(sorted(definitions(f"{item.title}\n{item.text}"))))


def read_files(root: Path, paths: list[str], limits: ReadLimits, workers: int = 1) -> Iterator[Read]:
    """Read files in reader processes, each within `limits`; yield the Reads in the order of `paths`."""
    # Imported here: the reader pool runs read_one from this module.
    from indexer.readpool import read_in_readers

    return read_in_readers(root, paths, limits, workers if len(paths) >= PARALLEL_FROM else 1)


def load_content(path: str | os.PathLike[str], limits: ReadLimits = ReadLimits(), workers: int = 1) -> Content:
    """Read the vocabulary and every item; bad files are collected, never raised."""
    root = content_root(path)
    content = Content(root=root, vocabulary=load_vocabulary(root))
    owners: dict[str, str] = {}
    unusable: list[tuple[str, str]] = []
    paths = content_files(root, unusable)
    content.failed.extend(Failure(name, reason) for name, reason in unusable)
    for read in read_files(root, paths, limits, workers):
        relative_path, item, warnings = read.path, read.item, read.warnings
        if read.failure is not None or item is None:
            content.failed.append(read.failure or Failure(relative_path, "not read"))
            continue
        if item.id in owners:
            content.failed.append(Failure(relative_path, f"id {item.id!r} is already used by {owners[item.id]}"))
            continue
        owners[item.id] = relative_path
        content.items.append(item)
        content.warnings.extend(Failure(relative_path, w) for w in warnings)
    return content
