import os

from indexer.content import ReadLimits, content_files, load_content
from tests.conftest import write


def test_bad_files_are_reported_and_the_rest_still_read(tmp_path):
    write(tmp_path / "good.md", "---\ntitle: Good\n---\nfine")
    write(tmp_path / "broken.md", "---\ntitle: [oops\n---\n")
    write(tmp_path / "binary.md", b"\x00\x00\x00")
    write(tmp_path / "sub/also-good.md", "# Also good")
    content = load_content(tmp_path)
    assert sorted(i.id for i in content.items) == ["good", "sub/also-good"]
    assert [(f.path, f.reason.split(":")[0]) for f in content.failed] == [
        ("binary.md", "binary data (NUL bytes), not a text file"),
        ("broken.md", "front matter is not valid YAML"),
    ]


def test_duplicate_ids_keep_the_first_file(tmp_path):
    write(tmp_path / "a.md", "---\nid: same\ntitle: A\n---\n")
    write(tmp_path / "b.md", "---\nid: same\ntitle: B\n---\n")
    content = load_content(tmp_path)
    assert [i.title for i in content.items] == ["A"]
    assert content.failed[0].path == "b.md"
    assert content.failed[0].reason == "id 'same' is already used by a.md"


def test_oversized_files_are_skipped_with_a_reason(tmp_path):
    write(tmp_path / "big.md", "x" * 2000)
    write(tmp_path / "small.md", "y")
    content = load_content(tmp_path, ReadLimits(max_bytes=1000))
    assert [i.id for i in content.items] == ["small"]
    assert content.failed[0].reason == "file is 2,000 bytes; the limit is 1,000 (KB_MAX_FILE_BYTES); skipped"


def test_symlinks_out_of_the_content_folder_are_refused(tmp_path):
    outside = write(tmp_path / "secret.md", "secret")
    root = tmp_path / "content"
    write(root / "ok.md", "fine")
    os.symlink(outside, root / "link.md")
    content = load_content(root)
    assert [i.id for i in content.items] == ["ok"]
    assert content.failed[0].reason == "symbolic link to a file outside the content folder"


def test_hidden_files_vocabulary_and_other_extensions_are_not_items(tmp_path):
    write(tmp_path / ".git/x.md", "x")
    write(tmp_path / ".draft.md", "x")
    write(tmp_path / "vocabulary.yml", "topics: []")
    write(tmp_path / "image.png", b"\x89PNG")
    write(tmp_path / "note.MD", "x")
    assert content_files(tmp_path) == ["note.MD"]


def test_warnings_are_kept_per_file(tmp_path):
    write(tmp_path / "a.md", "---\ndate: someday\n---\n")
    content = load_content(tmp_path)
    assert [(w.path, w.reason) for w in content.warnings] == [("a.md", "date 'someday' is not a date; ignored")]
