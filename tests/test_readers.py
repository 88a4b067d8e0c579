import datetime as dt

import pytest

from indexer.readers import read_item
from indexer.render import html_to_text, render_markdown
from kb.errors import ContentError


def read(text: str | bytes, path: str = "notes/a.md"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_item(path, data)


def test_plain_front_matter():
    item, warnings = read('---\ntitle: "Roundtable"\ntype: session-note\ndate: 2020-06-18\ntopics: [a, b]\n---\n\nBody *text*.\n')
    assert (item.title, item.type, item.date, item.topics) == ("Roundtable", "session-note", dt.date(2020, 6, 18), ("a", "b"))
    assert item.html == "<p>Body <em>text</em>.</p>"
    assert item.text == "Body text."
    assert item.body == "Body *text*.\n"
    assert warnings == []


def test_blank_lines_before_front_matter_and_crlf():
    item, _ = read("\n\n\r\n---\r\ntitle: Windows\r\ndate: 2015-06-29 1:00:19 -0400\r\n---\r\nLine one\r\n")
    assert item.title == "Windows"
    assert item.date == dt.date(2015, 6, 29)
    assert item.text == "Line one"


def test_no_front_matter_uses_heading_and_keeps_horizontal_rules():
    item, _ = read("# A heading\n\ntext\n\n---\n\nmore\n")
    assert item.title == "A heading"
    assert "<hr>" in item.html and "more" in item.text


def test_nulls_numbers_nested_mappings_duplicate_keys():
    text = ("---\ntitle: 2020\nslug: 124062\nauthors: [null]\ntopics: [design, null, design]\n"
            "featured_image:\n  uid: x\n  alt: y\nexpirydate: 2020-01-01\nexpirydate: 2021-01-01\n---\nx\n")
    item, _ = read(text)
    assert item.title == "2020"
    assert item.topics == ("design",)
    assert item.people == ()
    assert item.extra["featured_image"] == {"uid": "x", "alt": "y"}
    assert item.extra["expirydate"] == "2021-01-01"
    assert item.extra["slug"] == 124062


def test_hugo_shortcodes_are_removed_and_paired_content_kept():
    item, _ = read('---\ntitle: t\n---\nSee [guide]({{< ref "/guides/x" >}}).\n\n{{< note >}}Keep this{{< /note >}}\n{{< youtube abc >}}\n')
    assert "{{" not in item.html
    assert "Keep this" in item.text


def test_raw_html_is_sanitised():
    item, _ = read('---\ntitle: t\n---\n<script>alert(1)</script>\n\n<img src="x.png" onerror="alert(2)">\n\n'
                   '[click](javascript:alert(3)) <a href="https://ok.example">ok</a>\n')
    assert "<script" not in item.html and "alert(1)" not in item.html
    assert "onerror" not in item.html
    assert "javascript:" not in item.html
    assert 'href="https://ok.example"' in item.html
    assert "alert" not in item.text


def test_non_utf8_bytes_are_read_as_windows_1252_with_a_warning():
    item, warnings = read(b"---\ntitle: Caf\xe9\n---\nd\xe9j\xe0 vu \x93quoted\x94\n")
    assert item.title == "Café"
    assert item.text == "déjà vu “quoted”"
    assert warnings == ["not valid UTF-8 at byte 14; read as Windows-1252"]


def test_utf8_bom():
    item, _ = read("\ufeff---\ntitle: BOM\n---\nx".encode("utf-8"))
    assert item.title == "BOM"


@pytest.mark.parametrize("data, reason", [
    (b"---\ntitle: [unclosed\n---\nbody", "front matter is not valid YAML"),
    (b"---\ntitle: a\n  bad: indent\n---\n", "front matter is not valid YAML"),
    (b"---\n- a\n- b\n---\nbody", "front matter is a list, expected 'key: value' lines"),
    (b"---\njust a string\n---\nbody", "front matter is a str"),
    (b"---\ntitle: never closed\n", "never closed"),
    (b"\x00\x01binary\x00", "binary data"),
])
def test_unreadable_files_raise_content_error_with_path_and_reason(data, reason):
    with pytest.raises(ContentError) as err:
        read(data, path="bad/file.md")
    assert err.value.path == "bad/file.md"
    assert reason in err.value.reason
    assert str(err.value).startswith("bad/file.md: ")


def test_yaml_error_names_the_line():
    with pytest.raises(ContentError) as err:
        read(b"---\ntitle: ok\ntopics: [a, b\ndate: 2020\n---\n")
    assert "line" in err.value.reason


def test_empty_front_matter_and_empty_file():
    item, _ = read("---\n---\nHello\n", path="x/empty-front.md")
    assert item.title == "Empty front"
    item, _ = read("", path="x/blank.md")
    assert item.title == "Blank" and item.text == ""


def test_unknown_extension_has_no_reader():
    with pytest.raises(ContentError, match="no reader for .xyz"):
        read_item("a.xyz", b"x")


def test_html_to_text_separates_blocks():
    assert html_to_text("<table><tr><td>a</td><td>b&amp;c</td></tr></table><p>d</p>") == "a b&c d"
    assert "<table>" in render_markdown("<table><tr><td>a</td></tr></table>")


def test_yaml_error_line_counts_from_the_top_of_the_file():
    with pytest.raises(ContentError) as err:
        read(b"\n\n---\ntitle: ok\ntopics: [a, b\n---\n")
    # the unclosed list starts on line 5; YAML notices at the closing --- (line 6)
    assert "(line 6 of the file)" in err.value.reason


from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

yaml_like = st.text(alphabet=st.sampled_from(list("abc:-[]{}#'\"\n\t &*!|>%@`?,0123456789é")), max_size=120)


@hsettings(max_examples=300, deadline=None)
@given(front=yaml_like, body=st.text(max_size=200), crlf=st.booleans(), blank=st.booleans())
@pytest.mark.slow
def test_no_front_matter_crashes_the_reader(front, body, crlf, blank):
    text = ("\n\n" if blank else "") + "---\n" + front + "\n---\n" + body
    data = (text.replace("\n", "\r\n") if crlf else text).encode("utf-8", "surrogatepass")
    try:
        item, _ = read_item("fuzz/a.md", data)
    except ContentError as exc:
        assert exc.path == "fuzz/a.md" and exc.reason
    else:
        assert item.id and item.title


@hsettings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), name=st.sampled_from(["a.md", "a.txt", "a.html", "a.pdf", "a.docx"]))
def test_no_bytes_crash_any_reader(data, name):
    try:
        read_item(name, data)
    except ContentError as exc:
        assert exc.reason
