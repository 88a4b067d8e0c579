"""Text and metadata out of documents members actually have: PDF, DOCX, HTML, plain text.

Each reader turns file bytes into an Extracted (front-matter-like metadata, body,
safe HTML, plain text, warnings); a damaged, encrypted or empty document is a
ContentError with the reason, never an exception from the library.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import io
import logging
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterator

import nh3

from indexer.render import html_to_text, sanitise_html
from indexer.textfiles import decode
from kb.errors import ContentError

MAX_PAGES = 2000
MAX_TEXT = 5_000_000  # characters of text kept from one document
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?")
# A DOCX is a zip archive. Real ones unpack to a few MB (text compresses about 10 times,
# pictures not at all); a "zip bomb" of 1 MB unpacks to gigabytes.
MAX_UNPACKED_MB = 200
MAX_RATIO = 100
RATIO_FROM_MB = 50
_MB = 1 << 20


@dataclass
class Extracted:
    metadata: dict[str, Any]
    body: str
    html: str
    text: str
    warnings: list[str] = field(default_factory=list)


def paragraphs_html(paragraphs: list[str]) -> str:
    return "\n".join(f"<p>{htmllib.escape(p)}</p>" for p in paragraphs if p.strip())


def read_text(relative_path: str, data: bytes) -> Extracted:
    """Plain text: the first short line is the title, blank lines separate paragraphs."""
    text, warnings = decode(relative_path, data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    metadata: dict[str, Any] = {}
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first and len(first) <= 150:
        metadata["title"] = first
    body = text[:MAX_TEXT]
    return Extracted(metadata, body, paragraphs_html(paragraphs), " ".join(body.split()), warnings)


# Each regular expression runs on one tag at a time: searched over the whole page, `<title[^>]*>(.*?)</title>`
# and its like search on to the end again from every unclosed `<title`, quadratic in a page that repeats it.
_META = re.compile(r'<meta\s+[^>]*name=["\'](?P<name>[\w.:-]+)["\'][^>]*content=["\'](?P<content>[^"\']*)["\']', re.I)
MAX_TAG = 2_000  # characters of a <meta> tag read


def tags(text: str, name: str) -> Iterator[tuple[int, int]]:
    """Start and end of each `<name ...>` tag (any case), in order; stops at one never closed by `>`."""
    opening = re.compile(rf"<{name}", re.I)
    position = 0
    while (match := opening.search(text, position)) is not None:
        end = text.find(">", match.end())
        if end < 0:
            return  # no later tag closes either
        yield match.start(), end + 1
        position = end + 1


def element(text: str, name: str, *, last: bool = False) -> str | None:
    """What is between the first `<name ...>` and the first (or `last`) `</name>` after it; None without them."""
    first = next(tags(text, name), None)
    if first is None:
        return None
    closings = re.compile(rf"</{name}>", re.I).finditer(text, first[1])
    closing = None
    for closing in closings:
        if not last:
            break
    return text[first[1]:closing.start()] if closing is not None else None


def read_html(relative_path: str, data: bytes) -> Extracted:
    """An HTML page: title from <title> or the first <h1>, date from a date meta tag, the body sanitised."""
    text, warnings = decode(relative_path, data)
    metadata: dict[str, Any] = {}
    title = element(text, "title")
    if title is None:
        title = element(text, "h1")
    if title is not None:
        metadata["title"] = " ".join(htmllib.unescape(nh3.clean(title, tags=set())).split())
    for start, _ in tags(text, "meta"):
        meta = _META.match(text, start, start + MAX_TAG)  # a quoted content may hold a '>'
        if meta is None:
            continue
        name = meta["name"].lower()
        if name in ("date", "dc.date", "dcterms.created", "article:published_time") and "date" not in metadata:
            metadata["date"] = meta["content"]
        elif name in ("description", "dc.description") and "summary" not in metadata:
            metadata["summary"] = htmllib.unescape(meta["content"])
    body = element(text, "body", last=True)
    if body is None:
        body = text
    dropped = {"script", "style", "nav", "footer", "header", "noscript", "template"}  # with what is inside
    page = nh3.clean(body, tags=set(nh3.ALLOWED_TAGS) - dropped, clean_content_tags=dropped,
                     link_rel="noopener noreferrer nofollow")
    return Extracted(metadata, text[:MAX_TEXT], page, html_to_text(page)[:MAX_TEXT], warnings)


def pdf_date(value: Any) -> str | None:
    match = _PDF_DATE.match(str(value or ""))
    if not match:
        return None
    return "-".join(part for part in match.groups() if part)


def read_pdf(relative_path: str, data: bytes) -> Extracted:
    """A PDF: text of every page, title and date from the document's metadata."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged files are reported once, by us
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (PyPdfError, NotImplementedError) as exc:
                raise ContentError(relative_path, f"encrypted PDF that cannot be opened: {exc}") from None
            if not opened:
                raise ContentError(relative_path, "encrypted PDF (it needs a password); decrypt it to index it")
        pages = reader.pages
        count = len(pages)
    except ContentError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise ContentError(relative_path, f"not a readable PDF: {type(exc).__name__}: {exc}") from None
    warnings: list[str] = []
    texts: list[str] = []
    size = 0
    for number in range(min(count, MAX_PAGES)):
        try:
            page_text = pages[number].extract_text() or ""
        except Exception as exc:  # one bad page must not lose the others
            warnings.append(f"page {number + 1} could not be read ({type(exc).__name__})")
            continue
        texts.append(page_text)
        size += len(page_text)
        if size > MAX_TEXT:
            warnings.append(f"text cut after page {number + 1}: the document is very long")
            break
    if count > MAX_PAGES:
        warnings.append(f"only the first {MAX_PAGES} of {count} pages were read")
    metadata: dict[str, Any] = {}
    try:
        info = reader.metadata or {}
        if info.get("/Title"):
            metadata["title"] = str(info["/Title"]).strip()
        date = pdf_date(info.get("/CreationDate"))
        if date:
            metadata["date"] = date
        if info.get("/Subject"):
            metadata["summary"] = str(info["/Subject"]).strip()
    except Exception:  # broken metadata is not worth failing the document for
        warnings.append("the document's metadata could not be read")
    paragraphs = [p for text in texts for p in re.split(r"\n\s*\n", text)]
    joined = "\n\n".join(texts)
    if not joined.strip():
        warnings.append("no text found (a scanned PDF needs OCR first)")
    if "title" not in metadata:
        first = next((line.strip() for line in joined.splitlines() if line.strip()), "")
        if 0 < len(first) <= 150:
            metadata["title"] = first
    return Extracted(metadata, joined, paragraphs_html(paragraphs), " ".join(joined.split()), warnings)


def check_archive(relative_path: str, data: bytes) -> None:
    """Refuse a zip archive (a DOCX) that expands past a sane size, before a library unpacks it.

    The sizes the archive declares are checked first. A part can declare less
    than it holds, and Python's zipfile then inflates all of it in one piece when a
    library reads the part whole; so each part is also read once in small pieces,
    which stop at its declared size and fail its checksum if it held more.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip archive: the reader says so
    with archive:
        parts = archive.infolist()
        unpacked = sum(info.file_size for info in parts)
        mb = unpacked / _MB
        if unpacked > MAX_UNPACKED_MB * _MB:
            raise ContentError(relative_path, f"expands to {mb:,.0f} MB when unpacked; "
                                              f"the limit is {MAX_UNPACKED_MB} MB")
        if unpacked > RATIO_FROM_MB * _MB and unpacked > MAX_RATIO * len(data):
            raise ContentError(relative_path, f"expands to {mb:,.0f} MB when unpacked, {unpacked // len(data):,} times "
                                              f"its size; the limit is {RATIO_FROM_MB} MB for a file that expands "
                                              f"more than {MAX_RATIO} times")
        for info in parts:
            try:
                with archive.open(info) as part:
                    while part.read(_MB):
                        pass
            except zipfile.BadZipFile as exc:
                reason = f"is damaged or holds more than the {info.file_size:,} bytes it declares ({exc})"
            except (ValueError, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
                reason = f"cannot be unpacked: {type(exc).__name__}: {exc}"
            else:
                continue
            raise ContentError(relative_path, f"not a readable DOCX: its part {info.filename} {reason}")


def read_docx(relative_path: str, data: bytes) -> Extracted:
    """A Word document: paragraphs and tables, title from the core properties or the first heading."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_archive(relative_path, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as exc:
        raise ContentError(relative_path, f"not a readable DOCX (damaged or not a Word file): {exc}") from None
    except Exception as exc:
        raise ContentError(relative_path, f"not a readable DOCX: {type(exc).__name__}: {exc}") from None
    blocks: list[str] = []
    parts: list[str] = []
    heading = ""
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.lower().startswith(("heading", "title")):
            heading = heading or text
            level = 1 if style.lower().startswith("title") else min(6, int(re.sub(r"\D", "", style) or 2))
            parts.append(f"<h{level}>{htmllib.escape(text)}</h{level}>")
        else:
            parts.append(f"<p>{htmllib.escape(text)}</p>")
        blocks.append(text)
    for table in document.tables:
        rows = []
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            blocks.append(" | ".join(cells))
            rows.append("<tr>" + "".join(f"<td>{htmllib.escape(c)}</td>" for c in cells) + "</tr>")
        parts.append("<table>" + "".join(rows) + "</table>")
    core = document.core_properties
    metadata: dict[str, Any] = {}
    if (core.title or "").strip():
        metadata["title"] = core.title.strip()
    elif heading:
        metadata["title"] = heading
    if isinstance(core.created, dt.datetime):
        metadata["date"] = core.created.date()
    if (core.subject or "").strip():
        metadata["summary"] = core.subject.strip()
    if (core.author or "").strip():
        metadata["authors"] = [core.author.strip()]
    body = "\n\n".join(blocks)[:MAX_TEXT]
    warnings = [] if body.strip() else ["no text found in the document"]
    return Extracted(metadata, body, sanitise_html("\n".join(parts)), " ".join(body.split()), warnings)
