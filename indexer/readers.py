"""Read one content file into an Item. Readers are keyed by file extension."""

from __future__ import annotations

from typing import Callable

import frontmatter
import yaml

from indexer.render import html_to_text, render_markdown
from kb.errors import ContentError
from kb.item import Item
from kb.metadata import build_item

Reader = Callable[[str, str], "tuple[Item, list[str]]"]
_YAML = frontmatter.YAMLHandler()
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def decode(relative_path: str, data: bytes) -> tuple[str, list[str]]:
    """Decode file bytes as UTF-8, falling back to Windows-1252; refuse binary data."""
    if b"\x00" in data[:8192]:
        raise ContentError(relative_path, "binary data (NUL bytes), not a text file")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        where = f"byte {exc.start}"
    try:
        return data.decode("cp1252"), [f"not valid UTF-8 at {where}; read as Windows-1252"]
    except UnicodeDecodeError:
        return data.decode("latin-1"), [f"not valid UTF-8 at {where}; read as Latin-1"]


def split_front_matter(relative_path: str, text: str) -> tuple[dict, str]:
    """Return (front matter mapping, body); a file without front matter has an empty mapping."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    stripped = text.lstrip("\ufeff \t\n")
    skipped_lines = text[: len(text) - len(stripped)].count("\n")
    text = stripped
    if not _YAML.detect(text):
        return {}, text
    parts = _YAML.FM_BOUNDARY.split(text, 2)
    if len(parts) < 3:
        raise ContentError(relative_path, "front matter starts with --- but is never closed by a --- line")
    _, raw, body = parts
    try:
        metadata = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ContentError(relative_path, f"front matter is not valid YAML: {_yaml_reason(exc, skipped_lines)}") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise ContentError(relative_path, f"front matter has a value YAML cannot convert: {exc}") from None
    if metadata is None:
        return {}, body.lstrip("\n")
    if not isinstance(metadata, dict):
        kind = type(metadata).__name__
        raise ContentError(relative_path, f"front matter is a {kind}, expected 'key: value' lines")
    return metadata, body.lstrip("\n")


def _yaml_reason(exc: yaml.YAMLError, skipped_lines: int = 0) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    # The YAML starts right after the opening ---, on the file's first line; marks count from 0.
    return f"{problem} (line {mark.line + 1 + skipped_lines} of the file)" if mark is not None else problem


def read_markdown(relative_path: str, text: str) -> tuple[Item, list[str]]:
    """Read Markdown with optional YAML front matter."""
    metadata, body = split_front_matter(relative_path, text)
    html = render_markdown(body)
    return build_item(metadata, relative_path=relative_path, body=body, html=html, text=html_to_text(html))


READERS: dict[str, Reader] = {
    ".md": read_markdown,
    ".markdown": read_markdown,
}


def read_item(relative_path: str, data: bytes) -> tuple[Item, list[str]]:
    """Decode and read a file with the reader for its extension."""
    suffix = "." + relative_path.rsplit(".", 1)[-1].lower() if "." in relative_path else ""
    reader = READERS.get(suffix)
    if reader is None:
        raise ContentError(relative_path, f"no reader for {suffix or 'files without an extension'}")
    text, warnings = decode(relative_path, data)
    try:
        item, more = reader(relative_path, text)
    except ContentError:
        raise
    except RecursionError:
        raise ContentError(relative_path, "content is nested too deeply to read") from None
    return item, warnings + more
