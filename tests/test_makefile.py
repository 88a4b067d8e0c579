"""The README's first command: `make run` reindexes, then serves, even when some files could not be read."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("reindex_exit", "serves"), [(0, True), (1, True), (2, False), (3, False)])
def test_make_run_serves_what_was_indexed_unless_the_reindex_itself_failed(tmp_path, reindex_exit, serves):
    """kb reindex exits 1 when some files failed and the others were indexed: the site is served anyway. A
    configuration error (2) or a writer that holds the lock (3) stops make run. The real recipe runs, with a
    stand-in `kb` that records what it was asked."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "calls"
    (fake / "kb").write_text(f'#!/bin/sh\necho "$1" >> {log}\n[ "$1" = reindex ] && exit {reindex_exit}\nexit 0\n')
    (fake / "kb").chmod(0o755)
    stamp = tmp_path / "installed"
    stamp.touch()
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "run", f"BIN={fake}", f"STAMP={stamp}"],
                          capture_output=True, text=True, timeout=60)
    assert log.read_text().split() == (["reindex", "serve"] if serves else ["reindex"])
    assert (done.returncode == 0) == serves, done.stderr
