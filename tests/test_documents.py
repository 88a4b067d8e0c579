"""PDF, DOCX, HTML and plain text in the content folder: read, searched, tagged through a sidecar."""


import pytest

from indexer.reindex import reindex
from indexer.content import load_content
from indexer.searching import search
from indexer.store import IndexStore
from indexer.tagging import Change
from kb.search import SearchRequest
from tests.conftest import open_library, write
from tests.docs import docx, pdf


def hits(index, q):
    return [h.item.id for h in search(IndexStore(index), SearchRequest(q=q, page_size=50)).hits]


@pytest.fixture()
def library(tmp_path):
    root = tmp_path / "content"
    write(root / "reports/purchasing.pdf", pdf(["Strategic purchasing under COVID-19 in Ghana",
                                                "Capitation payments were advanced to clinics."],
                                               title="Purchasing brief", created="20200618"))
    write(root / "reports/guide.docx", docx("Budget flexibility guide", "Why virements matter",
                                            ["Ministries moved money between budget lines."],
                                            [["Country", "Threshold"], ["Senegal", "10%"]]))
    write(root / "pages/note.html", "<html><head><title>PFM &amp; health</title>"
                                     "<meta name='date' content='2020-05-04'><script>alert(1)</script></head>"
                                     "<body><nav>menu</nav><h1>Cash release</h1><p>Treasury releases cash monthly.</p>"
                                     "<img src=x onerror=alert(2)></body></html>")
    write(root / "notes/minutes.txt", "Minutes of the working group\n\nWe agreed on a comparison grid.\n")
    return root


def test_each_format_is_read_with_title_date_and_text(library):
    content = load_content(library)
    assert content.failed == []
    items = {i.id: i for i in content.items}
    report = items["reports/purchasing"]
    assert (report.title, report.date.isoformat()) == ("Purchasing brief", "2020-06-18")
    assert "Capitation payments were advanced" in report.text
    guide = items["reports/guide"]
    assert guide.title == "Budget flexibility guide" and "Senegal | 10%" in guide.text
    assert "<table>" in guide.html
    page = items["pages/note"]
    assert page.title == "PFM & health" and page.date.isoformat() == "2020-05-04"
    assert "Treasury releases cash monthly." in page.text and "menu" not in page.text
    assert "<script" not in page.html and "onerror" not in page.html and "alert" not in page.text
    minutes = items["notes/minutes"]
    assert minutes.title == "Minutes of the working group" and "comparison grid" in minutes.text


def test_documents_are_searched_and_faceted(library, tmp_path):
    index = tmp_path / "ix"
    reindex(library, index)
    assert hits(index, "capitation advanced") == ["reports/purchasing"]
    assert "reports/guide" in hits(index, "virements")
    assert "pages/note" in hits(index, "treasury cash")


@pytest.mark.slow
def test_sidecar_tags_a_binary_file_and_tagging_writes_the_sidecar(library, tmp_path):
    write(library / "vocabulary.yml", "topics:\n  - {id: strategic-purchasing, label: Strategic purchasing}\n"
                                      "  - {id: provider-payment, label: Provider payment}\n")
    write(library / "reports/purchasing.pdf.meta.yml", "# managed by kb\ntopics: [strategic-purchasing]\ntype: document\n")
    index, data = tmp_path / "ix", tmp_path / "data"
    reindex(library, index)
    assert IndexStore(index).get_item("reports/purchasing").topics == ("strategic-purchasing",)
    pdf_bytes = (library / "reports/purchasing.pdf").read_bytes()
    open_library(library, index, data).tag("reports/purchasing", Change(add_topics=("provider-payment",)), who="ama")
    assert (library / "reports/purchasing.pdf").read_bytes() == pdf_bytes  # the PDF itself is never touched
    assert (library / "reports/purchasing.pdf.meta.yml").read_text() == (
        "# managed by kb\ntopics: [strategic-purchasing, provider-payment]\ntype: document\n")
    assert IndexStore(index).get_item("reports/purchasing").topics == ("strategic-purchasing", "provider-payment")
    open_library(library, index, data).tag("reports/guide", Change(add_topics=("provider-payment",)), who="ama")
    assert (library / "reports/guide.docx.meta.yml").read_text() == "topics: [provider-payment]\n"


@pytest.mark.slow
def test_a_sidecar_edit_alone_is_picked_up_by_an_incremental_run(library, tmp_path):
    index = tmp_path / "ix"
    reindex(library, index)
    write(library / "notes/minutes.txt.meta.yml", "title: Working group minutes, 2 July\n")
    summary = reindex(library, index)
    assert summary.updated == ["notes/minutes.txt"]
    assert IndexStore(index).get_item("notes/minutes").title == "Working group minutes, 2 July"


def test_attachments_of_an_activity(tmp_path):
    root = tmp_path / "content"
    write(root / "activities/webinar-1.md", "---\nid: webinar-1\ntitle: Webinar on capitation\ntype: activity\n"
                                            "kind: webinar\nattachments: [handouts/rates.txt]\n---\nAbout capitation.")
    write(root / "activities/webinar-1/slides.pdf", pdf(["Capitation rate setting slides"], title="Slides"))
    write(root / "handouts/rates.txt", "Rates table\n\nCapitation rates by age band.\n")
    index = tmp_path / "ix"
    reindex(root, index)
    store = IndexStore(index)
    slides = store.get_item("activities/webinar-1/slides")
    assert slides.activities == ("webinar-1",)  # attached by living in the activity's folder
    related = {r.item.id: r.reasons for r in store.related_items(store.get_item("handouts/rates"))}
    assert "this item belongs to this activity" in related["webinar-1"]  # listed under attachments:
    from webui import create_app

    page = create_app({"TESTING": True, "KB_INDEX": str(index)}).test_client().get("/activities/webinar-1")
    body = page.get_data(as_text=True)
    assert "<h2>Attachments</h2>" in body
    assert 'href="/items/activities/webinar-1/slides"' in body and 'href="/items/handouts/rates"' in body


@pytest.mark.parametrize("name, data, reason", [
    ("locked.pdf", pdf(["secret"], encrypt_with="pw"), "encrypted PDF (it needs a password)"),
    ("broken.pdf", pdf(["text"])[:200], "not a readable PDF"),
    ("junk.pdf", b"%PDF-1.4 this is not a pdf at all", "not a readable PDF"),
    ("cut.docx", docx("T", "H", ["x" * 500])[:900], "not a readable DOCX"),
    ("fake.docx", b"plain text pretending", "not a readable DOCX"),
    ("binary.txt", b"\x00\x01\x02 binary", "binary data (NUL bytes), not a text file"),
    ("binary.md", b"PK\x03\x04\x00\x00 zip", "binary data (NUL bytes), not a text file"),
])
def test_bad_documents_get_one_clear_error_and_the_rest_indexes(tmp_path, name, data, reason):
    root = tmp_path / "content"
    write(root / "bad" / name, data)
    write(root / "good.md", "# Good\n\nfine")
    content = load_content(root)
    assert [i.id for i in content.items] == ["good"]
    assert [(f.path, reason in f.reason) for f in content.failed] == [(f"bad/{name}", True)]


def test_huge_files_are_skipped_and_reported(tmp_path):
    root = tmp_path / "content"
    write(root / "good.md", "# Good")
    huge = root / "huge.pdf"
    with open(huge, "wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # 200 MB, sparse
    summary = reindex(root, tmp_path / "ix")
    assert summary.items == 1
    assert summary.failed[0].path == "huge.pdf"
    assert summary.failed[0].reason == "file is 209,715,200 bytes; the limit is 20,000,000 (KB_MAX_FILE_BYTES); skipped"


def test_unknown_encoding_is_read_with_a_warning(tmp_path):
    root = tmp_path / "content"
    write(root / "odd.txt", b"Title\n\nbytes \x81\x8d that no encoding names\n")
    content = load_content(root)
    assert content.items[0].title == "Title"
    assert "read as Latin-1" in content.warnings[0].reason


def test_empty_pdf_text_is_a_warning_not_a_failure(tmp_path):
    root = tmp_path / "content"
    write(root / "scan.pdf", pdf([""], title="Scanned"))
    content = load_content(root)
    assert content.items[0].title == "Scanned"
    assert any("no text found" in w.reason for w in content.warnings)


def test_near_duplicates_are_flagged_by_check(runner, tmp_path):
    from indexer.cli import cli

    root = tmp_path / "content"
    text = " ".join(f"word{i} budget flexibility note" for i in range(40))
    write(root / "notes/original.md", f"# Note\n\n{text}\n")
    write(root / "notes/reposted.md", f"# Note (reposted)\n\n{text} thanks\n")
    report = " ".join(f"section{i} capitation rates" for i in range(40))
    write(root / "reports/a.pdf", pdf([report], title="Report"))
    write(root / "reports/copy-of-a.pdf", pdf([report], title="Report"))
    write(root / "notes/other.md", "# Other\n\n" + " ".join(f"zebra{i} okapi giraffe" for i in range(40)))
    result = runner.invoke(cli, ["--content", str(root), "check"])
    assert result.exit_code == 0  # warnings: both copies are still indexed, but nobody is silent about it
    assert "notes/reposted.md: warning: nearly the same text as notes/original.md (a duplicate?)" in result.output
    assert "reports/copy-of-a.pdf: warning: the same text as reports/a.pdf (a duplicate?)" in result.output
    assert "other.md" not in result.output


def test_a_sidecar_linked_to_a_file_outside_the_content_folder_is_refused(tmp_path):
    """A symlinked sidecar must not pull values from anywhere on disk onto a public page."""
    root = tmp_path / "content"
    write(root / "good.md", "# Good")
    write(root / "report.txt", "Quarterly report\n\nnumbers")
    secret = write(tmp_path / "elsewhere" / "secret.yml", "title: SECRET-TITLE\nsummary: private words\n")
    (root / "report.txt.meta.yml").symlink_to(secret)
    summary = reindex(root, tmp_path / "ix")
    assert [(f.path, f.reason) for f in summary.failed] == [
        ("report.txt.meta.yml", "symbolic link to a file outside the content folder")]
    assert summary.items == 1
    inside = write(root / "shared.yml", "title: Shared metadata\n")
    (root / "report.txt.meta.yml").unlink()
    (root / "report.txt.meta.yml").symlink_to(inside)  # a link inside the folder is fine
    assert not reindex(root, tmp_path / "ix2").failed
