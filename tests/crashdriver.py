"""Run `kb` in this process and SIGKILL it at a named point of a reindex job.

    python -m tests.crashdriver POINT kb-arguments...

Used by test_crash.py to kill real processes where a crash hurts most.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, Callable


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_on_call(owner: Any, name: str, when: Callable[..., bool] = lambda *a, **k: True, after: bool = False) -> None:
    """Replace owner.name so that the process dies before (or just after) a matching call."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs) and not after:
            die()
        result = original(*args, **kwargs)
        if when(*args, **kwargs) and after:
            die()
        return result

    setattr(owner, name, wrapper)


def install(point: str) -> None:
    import whoosh.index
    import whoosh.writing

    from indexer import generation, incremental, indexfolder, readpool

    calls = {"n": 0}

    def third_file(*_: Any, **__: Any) -> bool:
        calls["n"] += 1
        return calls["n"] == 3

    def named(filename: str) -> Callable[..., bool]:
        return lambda path, *_a, **_k: os.path.basename(str(path)) == filename

    points: dict[str, Callable[[], None]] = {
        # while reading files, before anything is written
        "reading": lambda: kill_on_call(readpool.ReaderPool, "_collect", third_file),
        # documents added to the writer, commit not started
        "before-commit": lambda: kill_on_call(whoosh.writing.SegmentWriter, "commit"),
        # segment files written, the table of contents (the commit point) not yet
        "mid-commit": lambda: kill_on_call(whoosh.index.TOC, "write"),
        # committed, the build file of a full build not yet written (generation incomplete)
        "after-commit": lambda: kill_on_call(generation.GenerationFolder, "finish"),
        # complete new generation, CURRENT not switched yet
        "before-switch": lambda: kill_on_call(indexfolder, "write_atomic", named("CURRENT")),
        # incremental: committed, manifest not yet saved
        "before-manifest": lambda: kill_on_call(incremental, "save_manifest"),
        # incremental: manifest saved, build.json not yet updated
        "before-build-file": lambda: kill_on_call(generation, "write_atomic", named("build.json")),
    }
    points[point]()


def main() -> None:
    point, args = sys.argv[1], sys.argv[2:]
    install(point)
    from indexer.cli import cli

    cli.main(args=args, prog_name="kb")


if __name__ == "__main__":
    main()
