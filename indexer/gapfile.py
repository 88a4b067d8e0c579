"""The gap register's file, gaps.yml in the content folder (kb.gaps): read, and written atomically."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import yaml

from indexer import locking
from indexer.files import write_atomic
from kb.errors import ContentError
from kb.gaps import Decision, decisions_from

GAPS_FILE = "gaps.yml"
HEADER = ("# What managers decided about the gaps of the shared-value page (kb.gaps): planned (with the\n"
          "# activity that will answer it), covered or declined. The web UI rewrites this file: keep notes in note:.\n")


def read_gaps(root: Path) -> dict[str, Decision]:
    """The register; ContentError naming the file and entry when it cannot be used."""
    path = root / GAPS_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ContentError(f"{GAPS_FILE}: cannot be read: {exc}") from None
    found, problems = decisions_from(data, GAPS_FILE)
    if problems:
        raise ContentError(problems[0])
    return found


def write_gaps(root: Path, decisions: dict[str, Decision]) -> None:
    entries = [d.to_dict() for d in sorted(decisions.values(), key=lambda d: d.topic)]
    text = HEADER + yaml.safe_dump({"gaps": entries}, allow_unicode=True, sort_keys=False, width=100)
    write_atomic(root / GAPS_FILE, text)


@contextlib.contextmanager
def gaps_lock(data: Path) -> Iterator[None]:
    """One writer of the register at a time (web workers, several managers)."""
    data.mkdir(parents=True, exist_ok=True)
    with open(data / ".gaps.lock", "a") as lock:
        locking.lock(lock)
        yield
