"""Read one content file into an Item. Readers are keyed by file extension.

Markdown carries its metadata in front matter. Every other format takes what the
document itself says (title, date) and, over it, an optional sidecar file beside
it (`report.pdf.meta.yml`), so managers can tag binary files too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from indexer.textfiles import decode, load_mapping, split_front_matter
from kb.errors import ContentError
from kb.item import Item
from kb.metadata import build_item

if TYPE_CHECKING:
    from indexer.documents import Extracted

__all__ = ["READERS", "SIDECAR", "decode", "front_matter_in_file", "read_item", "split_front_matter"]

SIDECAR = ".meta.yml"


def load_renderers() -> None:
    """Import the renderers now: a reader process does, before its memory bound is set. Elsewhere they
    are imported when a file is first read, as listing the folder needs only the suffixes."""
    import indexer.documents  # noqa: F401
    import indexer.render  # noqa: F401


def read_markdown(relative_path: str, data: bytes) -> Extracted:
    """Markdown with optional YAML front matter."""
    from indexer.documents import Extracted
    from indexer.render import html_to_text, render_body

    text, warnings = decode(relative_path, data)
    metadata, body = split_front_matter(relative_path, text)
    html, rendering = render_body(body)
    return Extracted(metadata, body, html, html_to_text(html), warnings + rendering)


def read_text(relative_path: str, data: bytes) -> Extracted:
    from indexer import documents

    return documents.read_text(relative_path, data)


def read_html(relative_path: str, data: bytes) -> Extracted:
    from indexer import documents

    return documents.read_html(relative_path, data)


def read_pdf(relative_path: str, data: bytes) -> Extracted:
    from indexer import documents

    return documents.read_pdf(relative_path, data)


def read_docx(relative_path: str, data: bytes) -> Extracted:
    from indexer import documents

    return documents.read_docx(relative_path, data)


READERS: dict[str, Callable[[str, bytes], Extracted]] = {
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".txt": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}
# Formats whose metadata lives inside the file; the others take a sidecar.
FRONT_MATTER = (".md", ".markdown")


def suffix_of(relative_path: str) -> str:
    name = relative_path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def front_matter_in_file(relative_path: str) -> bool:
    return suffix_of(relative_path) in FRONT_MATTER


def parse_sidecar(relative_path: str, data: bytes) -> dict[str, Any]:
    """The metadata of a sidecar file (plain YAML 'key: value' lines)."""
    text, _ = decode(relative_path, data)
    return load_mapping(relative_path, text, "metadata")


def read_item(relative_path: str, data: bytes, sidecar: dict[str, Any] | None = None) -> tuple[Item, list[str]]:
    """Read a file with the reader for its extension; sidecar metadata wins over the document's own."""
    reader = READERS.get(suffix_of(relative_path))
    if reader is None:
        raise ContentError(relative_path, f"no reader for {suffix_of(relative_path) or 'files without an extension'}")
    try:
        extracted = reader(relative_path, data)
    except ContentError:
        raise
    except RecursionError:
        raise ContentError(relative_path, "content is nested too deeply to read") from None
    metadata = {**extracted.metadata, **(sidecar or {})}
    item, warnings = build_item(metadata, relative_path=relative_path, body=extracted.body, html=extracted.html,
                                text=extracted.text)
    return item, extracted.warnings + warnings
