"""The content folder listed by find: the same files as the walk in Python, and a no-change run that
stops at the listing's digest without walking or reading the manifest's rows."""

import os
import shutil

import pytest

from indexer import content as content_module
from indexer import manifest as manifest_module
from indexer.content import scan
from indexer.listing import differing, nanoseconds, read_listing
from indexer.reindex import reindex
from tests.conftest import SHARED_DATA, write

pytestmark = pytest.mark.skipif(shutil.which("find") is None, reason="no find on this machine")


def both(root):
    listed, walked = [], []
    listing = read_listing(root)
    assert listing is not None
    return (listing.stats(listed), sorted(listed)), (scan(root, walked), sorted(walked))


def test_find_lists_what_the_walk_finds_hidden_build_sidecars_bad_names_and_pipes(tmp_path):
    root = tmp_path / "content"
    write(root / "a.md", "---\ntitle: A\n---\ntext")
    write(root / "deep/er/b.markdown", "b")
    write(root / ".hidden/c.md", "hidden folder")
    write(root / "deep/.d.md", "hidden file")
    write(root / "_build/e.md", "built")
    write(root / "deep/_build_old/f.md", "built too")
    write(root / "deep/vocabulary.yml", "a vocabulary's name, below the top")
    write(root / "notes.txt", "plain text")
    write(root / "photo.jpg", "not content")
    write(root / "g.pdf", "%PDF-1.4")
    write(root / "g.pdf.meta.yml", "title: G")  # a sidecar: its size and time count in its file's
    write(root / "lonely.pdf.meta.yml", "title: nobody's sidecar")
    os.mkfifo(root / "pipe.md")
    base = os.fsencode(root)
    with open(os.path.join(base, b"r\xe9sum\xe9.md"), "w") as handle:
        handle.write("a Latin-1 name")
    os.mkdir(os.path.join(base, b"dossi\xe9r"))
    with open(os.path.join(base, b"dossi\xe9r", b"inside.md"), "w") as handle:
        handle.write("inside a folder with a Latin-1 name")
    found, walked = both(root)
    assert found == walked
    assert sorted(found[0]) == ["a.md", "deep/er/b.markdown", "g.pdf", "notes.txt"]
    assert found[0]["g.pdf"].st_size == len("%PDF-1.4") + len("title: G")
    assert sorted(reason for _, reason in found[1]) == sorted([content_module.UNREADABLE_NAME] * 2 +
                                                              [content_module.NOT_A_FILE])


@pytest.mark.parametrize("folder", ["digitalgov", "cisi"])
def test_find_lists_what_the_walk_finds_in_the_real_data_sets(folder):
    root = SHARED_DATA / folder
    if not root.is_dir():
        pytest.skip(f"../shared/data/{folder} is not present")
    listed, walked = both(root)
    assert listed == walked and len(listed[0]) > 0


def test_records_that_differ_are_found_position_by_position_or_as_sets():
    """The records added and gone between two listings, whatever moved: a few edits in place, a file
    removed and another added (same count, shifted positions), a reordered folder, many edits."""
    import random

    rng = random.Random(7)
    old = [f"f {i} 1.0 ./p{i}.md".encode() for i in range(3000)]
    edited = [r.replace(b" 1.0 ", b" 2.0 ") if i in (5, 2999) else r for i, r in enumerate(old)]
    shifted = old[:10] + old[11:2000] + [b"f 9 1.0 ./new.md"] + old[2000:]
    shuffled = rng.sample(old, len(old))
    many = [r + b"x" if i % 2 else r for i, r in enumerate(old)]
    for new in (edited, shifted, shuffled, many, old[:-3], [*old, b"f 1 1.0 ./late.md"]):
        assert differing(old, new) == (set(new) - set(old), set(old) - set(new))
    assert differing(old, edited) == ({edited[5], edited[2999]}, {old[5], old[2999]})


def test_times_read_from_find_are_the_nanoseconds_of_stat(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("x")
    for ns in (1_700_000_000_123_456_789, 1_000_000_000, 5, -1_500_000_001):
        os.utime(path, ns=(ns, ns))
        assert read_listing(tmp_path).stats()["a.md"].st_mtime_ns == path.stat().st_mtime_ns == ns
    assert nanoseconds(b"12.0000000070") == 12_000_000_007


def test_a_symbolic_link_leaves_the_walk_to_python_which_follows_it(tmp_path):
    write(tmp_path / "elsewhere/x.md", "linked")
    write(tmp_path / "content/a.md", "a")
    (tmp_path / "content/x.md").symlink_to(tmp_path / "elsewhere/x.md")
    assert read_listing(tmp_path / "content") is None
    assert sorted(scan(tmp_path / "content")) == ["a.md", "x.md"]


def test_a_run_that_finds_nothing_changed_stops_at_the_listing(indexed_copy, monkeypatch):
    """After a run that indexed every file, a run with nothing changed neither walks the folder in Python
    nor reads the manifest's rows; a change after that is found as before."""
    content, index = indexed_copy
    assert reindex(content, index).indexed == 0  # this run stores the listing's digest
    def refused(*args, **kwargs):
        raise AssertionError("walked or read in full although nothing changed")
    monkeypatch.setattr(manifest_module, "scan", refused)
    monkeypatch.setattr("indexer.incremental.load_stats", refused)
    summary = reindex(content, index)
    assert (summary.mode, summary.indexed, summary.unchanged, summary.items) == ("incremental", 0, 64, 64)
    monkeypatch.undo()
    path = content / "discussions/data-dashboards-health-spending.md"
    size = path.stat().st_size
    path.write_text(path.read_text().replace("dashboards", "dashboardz", 1))  # same size, a new time
    assert path.stat().st_size == size
    assert reindex(content, index).updated == ["discussions/data-dashboards-health-spending.md"]


def test_a_file_that_failed_is_tried_and_reported_again_by_every_run(indexed_copy):
    content, index = indexed_copy
    write(content / "documents/broken.md", "---\ntitle: [unclosed\n---\ntext")
    for _ in range(3):
        summary = reindex(content, index)
        assert [f.path for f in summary.failed] == ["documents/broken.md"]


def test_a_run_after_changes_looks_only_at_the_entries_whose_records_differ(indexed_copy, monkeypatch):
    """Added, edited, renamed and deleted files, a sidecar edited, a pipe and a file in `_build` added:
    the run finds each as the walk would, and reads the manifest's rows of those files only."""
    content, index = indexed_copy
    write(content / "documents/report.txt", "The quarterly report, in plain text.")
    write(content / "documents/report.txt.meta.yml", "title: Quarterly report\ntopics: [budget-execution]\n")
    assert reindex(content, index).added == ["documents/report.txt"]
    write(content / "new/zebra.md", "---\ntitle: Zebra note\n---\nzebrafish budgets")
    write(content / "_build/ignored.md", "---\ntitle: Built\n---\nbuilt")
    path = content / "discussions/data-dashboards-health-spending.md"
    path.write_text(path.read_text() + "\nA closing word about okapis.\n")
    (content / "personas/county-health-director-kenya.md").unlink()
    (content / "training/module-1-facilitating-online-peer-exchange.md").rename(content / "training/module-1.md")
    write(content / "documents/report.txt.meta.yml", "title: Quarterly report, revised\n")
    os.mkfifo(content / "documents/pipe.md")
    real_load_stats = manifest_module.load_stats
    asked = []
    def load_stats(database, paths=None):
        assert paths is not None, "the whole manifest was read"
        asked.extend(paths)
        return real_load_stats(database, paths)
    monkeypatch.setattr(manifest_module, "scan", lambda *a, **k: pytest.fail("the folder was walked in Python"))
    monkeypatch.setattr("indexer.incremental.load_stats", load_stats)
    summary = reindex(content, index)
    assert (summary.added, summary.updated, summary.deleted) == (
        ["new/zebra.md", "training/module-1.md"],
        ["discussions/data-dashboards-health-spending.md", "documents/report.txt"],
        ["personas/county-health-director-kenya.md", "training/module-1-facilitating-online-peer-exchange.md"])
    assert [(f.path, f.reason) for f in summary.failed] == [("documents/pipe.md", content_module.NOT_A_FILE)]
    assert len(asked) == 6 and summary.items == 65


def test_a_damaged_or_older_stored_listing_is_not_trusted(indexed_copy):
    """A stored listing whose records are not find's, or one kept in another format, leads to a walk of the
    whole folder: a file deleted since is still found deleted."""
    import sqlite3

    content, index = indexed_copy
    assert reindex(content, index).indexed == 0
    database = next(index.glob("gen-*/manifest.sqlite"))
    for damage in ("UPDATE meta SET value = x'00ff00' WHERE key LIKE 'listing%'",
                   "UPDATE meta SET key = 'listing %y %s %P' WHERE key LIKE 'listing%'"):
        (content / "personas/county-health-director-kenya.md").unlink()
        with sqlite3.connect(database) as db:
            db.execute(damage)
        summary = reindex(content, index)
        assert summary.deleted == ["personas/county-health-director-kenya.md"] and not summary.failed
        write(content / "personas/county-health-director-kenya.md", "---\ntitle: Back again\n---\nreturned")
        assert reindex(content, index).added == ["personas/county-health-director-kenya.md"]


def test_a_cron_run_with_nothing_changed_loads_neither_the_engine_nor_the_readers(indexed_copy):
    """`kb reindex` decides that nothing changed before it imports Whoosh, the readers, YAML or the library
    (about 0.3 s of a 0.7 s command at 100,000 items); the run is recorded as any run is, and the next run
    after a change indexes it."""
    import json
    import subprocess
    import sys

    content, index = indexed_copy
    heavy = ("whoosh", "markdown", "yaml", "frontmatter", "numpy", "indexer.store", "indexer.library",
             "indexer.incremental")
    script = f"""
import json, sys
from indexer.cli import cli
try:
    cli.main(["--content", {str(content)!r}, "--index", {str(index)!r}, "reindex", "--json"], standalone_mode=False)
finally:
    print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
"""
    def run():
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        summary, _, loaded = done.stdout.rpartition("\n[")
        return json.loads(summary), json.loads("[" + loaded)

    assert reindex(content, index).indexed == 0  # stores the listing
    summary, loaded = run()
    assert loaded == []
    assert (summary["mode"], summary["indexed"], summary["unchanged"], summary["items"]) == ("incremental", 0, 64, 64)
    last = json.loads((index / "last-run.json").read_text())
    assert (last["outcome"], last["unchanged"], last["generation"]) == ("ok", 64, summary["generation"])
    path = content / "discussions/data-dashboards-health-spending.md"
    path.write_text(path.read_text().replace("dashboards", "dashboardz", 1))
    summary, loaded = run()
    assert (summary["updated"], summary["unchanged"]) == (1, 63)
    assert {"whoosh", "indexer.store", "indexer.incremental"} <= set(loaded)
