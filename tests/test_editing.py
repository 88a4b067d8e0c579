"""Front-matter edits change only the touched keys; everything else stays byte for byte."""

import os
import random
import shutil

import pytest
import yaml

from indexer.editing import apply_edit, plan_edit
from indexer.files import sha256
from kb.errors import ConflictError, ContentError
from tests.conftest import SHARED_DATA, write

DIGITALGOV = SHARED_DATA / "digitalgov" / "content"


def edit(tmp_path, text: bytes, updates: dict) -> bytes:
    write(tmp_path / "a.md", text)
    return plan_edit(tmp_path, "a.md", updates).new_bytes


def test_flow_list_comment_and_crlf_are_kept(tmp_path):
    old = b"---\r\n# note\r\ntitle: \"T\"  # kept\r\ntopics: [a, b]  # why\r\n---\r\nBody  \r\n\r\n"
    new = edit(tmp_path, old, {"topics": ["a", "c"]})
    assert new == old.replace(b"topics: [a, b]  # why", b"topics: [a, c]  # why")


def test_block_list_keeps_its_indentation(tmp_path):
    old = b"---\nactivities:\n    - x\n    - y\ndate: 2020-01-01\n---\nbody\n"
    assert edit(tmp_path, old, {"activities": ["x", "z"]}) == old.replace(b"    - y", b"    - z")


def test_empty_list_missing_key_and_removed_key(tmp_path):
    old = b"---\ntitle: T\ntopics: []\n---\n"
    assert edit(tmp_path, old, {"topics": ["a"], "type": "document"}) == b"---\ntitle: T\ntopics: [a]\ntype: document\n---\n"
    assert edit(tmp_path, old, {"topics": None}) == b"---\ntitle: T\n---\n"


def test_bom_blank_lines_and_no_front_matter(tmp_path):
    old = "\ufeff\n\n---\ntitle: É\ntopics: [a]\n---\nx".encode("utf-8")
    assert edit(tmp_path, old, {"topics": ["b"]}) == old.replace(b"topics: [a]", b"topics: [b]")
    plain = b"# Heading\n\n---\n\ntext\n"
    assert edit(tmp_path, plain, {"topics": ["a"]}) == b"---\ntopics: [a]\n---\n" + plain


def test_values_that_need_quotes_are_quoted(tmp_path):
    new = edit(tmp_path, b"---\ntitle: T\n---\n", {"topics": ["2020", "yes", "a b: c"]})
    assert yaml.safe_load(new.split(b"---")[1])["topics"] == ["2020", "yes", "a b: c"]


@pytest.mark.parametrize("text, reason", [
    (b"---\ntopics: [a]\ntopics: [b]\n---\n", "appears 2 times"),
    (b"---\ntitle: [broken\n---\n", "not valid YAML"),
    (b"---\ntitle: caf\xe9\n---\n", "not UTF-8"),
    (b"---\n- a\n---\n", "is a list, expected 'key: value' lines"),
])
def test_files_that_cannot_be_rewritten_safely_are_refused(tmp_path, text, reason):
    write(tmp_path / "a.md", text)
    with pytest.raises(ContentError, match=reason):
        plan_edit(tmp_path, "a.md", {"topics": ["c"]})
    assert (tmp_path / "a.md").read_bytes() == text


def test_a_changed_file_is_never_overwritten(tmp_path):
    write(tmp_path / "a.md", b"---\ntopics: [a]\n---\n")
    version = sha256((tmp_path / "a.md").read_bytes())
    planned = plan_edit(tmp_path, "a.md", {"topics": ["b"]}, expected=version)
    write(tmp_path / "a.md", b"---\ntopics: [a]\n---\nsomeone else's edit\n")
    with pytest.raises(ConflictError, match="changed since it was loaded"):
        apply_edit(tmp_path, planned)
    with pytest.raises(ConflictError):
        plan_edit(tmp_path, "a.md", {"topics": ["b"]}, expected=version)
    assert (tmp_path / "a.md").read_bytes().endswith(b"someone else's edit\n")


def test_write_is_atomic_and_keeps_the_mode(tmp_path):
    path = write(tmp_path / "a.md", b"---\ntopics: [a]\n---\n")
    os.chmod(path, 0o640)
    apply_edit(tmp_path, plan_edit(tmp_path, "a.md", {"topics": ["b"]}))
    assert path.read_bytes() == b"---\ntopics: [b]\n---\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]  # no temporary file left behind


def block_of(lines: list[bytes], key: bytes) -> tuple[int, int]:
    """The [start, end) lines of a top-level key in a front matter's lines."""
    start = next((i for i, line in enumerate(lines) if line.startswith(key + b":")), None)
    if start is None:
        return len(lines), len(lines)
    end = start + 1
    while end < len(lines) and lines[end][:1] in (b" ", b"\t", b"-") and not lines[end].startswith(b"---"):
        end += 1
    return start, end


@pytest.mark.slow
@pytest.mark.skipif(not DIGITALGOV.is_dir(), reason="../shared/data/digitalgov is not present")
def test_real_files_change_only_in_the_touched_key(tmp_path):
    files = sorted(DIGITALGOV.rglob("*.md"))
    quirky = [f for f in files if b"\r\n" in f.read_bytes() or f.read_bytes()[:1] in (b"\n", b" ")]
    sample = quirky + random.Random(3).sample(files, 300)
    changed = refused = 0
    for source in sample:
        relative = str(source.relative_to(DIGITALGOV))
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        old = source.read_bytes()
        meta = yaml.safe_load(old.split(b"---", 2)[1]) if old.lstrip().startswith(b"---") else {}
        topics = list((meta or {}).get("topics") or []) if isinstance((meta or {}).get("topics"), list) else []
        try:
            planned = plan_edit(tmp_path, relative, {"topics": [*topics, "kb-test-topic"]})
        except ContentError as exc:
            refused += 1
            assert exc.reason
            continue
        apply_edit(tmp_path, planned)
        new = target.read_bytes()
        old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
        o_start, o_end = block_of(old_lines, b"topics")
        n_start, n_end = block_of(new_lines, b"topics")
        if o_start == len(old_lines):  # the key was added: taking its line out gives the old file back
            assert new_lines[:n_start] + new_lines[n_end:] == old_lines, relative
        else:
            assert old_lines[:o_start] == new_lines[:n_start], relative
            assert old_lines[o_end:] == new_lines[n_end:], relative
        ending = b"\r\n" if old_lines[0].endswith(b"\r\n") else b"\n"
        assert all(line.endswith(ending) for line in new_lines[n_start:n_end]), relative
        assert b"kb-test-topic" in new
        changed += 1
    assert changed >= 0.95 * len(sample)
    assert changed + refused == len(sample)
