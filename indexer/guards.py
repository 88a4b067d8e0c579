"""The checks a run must pass before it changes what searches see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.generation import GenerationFolder
from kb.errors import ValidationError


def check_generation(new: Any, current: GenerationFolder | None, guards: Any, count: int) -> None:
    """Refuse a new generation that is too small, much smaller than the serving one, or cannot answer.

    `new` is a reader of the new generation (kb.backend.ItemReader with canaries()).
    """
    held = new.count()
    if held != count:
        raise ValidationError(f"the new index holds {held} documents, expected {count}")
    if count < guards.min_items:
        raise ValidationError(f"the new index has {count} items, fewer than the minimum {guards.min_items}; "
                              "the previous index still serves")
    if current is not None and not guards.force:
        before = current.build().get("items") or 0
        if before and count < before * (1 - guards.max_drop):
            raise ValidationError(
                f"the new index has {count} items, {before - count} fewer than the {before} serving now "
                f"(more than {guards.max_drop:.0%}); the previous index still serves. Use --force if this is intended")
    failures = new.canaries()
    if failures:
        raise ValidationError("the new index failed its canary searches: " + "; ".join(failures))


def check_deletions(deleted: int, indexed: int, root: Path, guards: Any) -> None:
    """Refuse an incremental run that would delete too many items (an unmounted folder, a bad checkout)."""
    if not guards.force and indexed and deleted > guards.max_drop * indexed:
        raise ValidationError(
            f"{deleted} of {indexed} indexed files are gone from {root} "
            f"(more than {guards.max_drop:.0%}); nothing was changed. Use --force if this is intended")
