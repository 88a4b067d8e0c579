"""Text files: decoding bytes and splitting YAML front matter from the body."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from kb.errors import ContentError
from kb.metadata import too_large


@lru_cache(maxsize=1)
def _front_matter() -> tuple[Any, re.Pattern[str]]:
    """python-frontmatter's YAML handler and its --- line pattern, imported when a file is first read
    (listing the folder, as a reindex with nothing to do does, needs neither)."""
    import frontmatter

    handler = frontmatter.YAMLHandler()
    return handler, handler.FM_BOUNDARY


@lru_cache(maxsize=1)
def _yaml() -> tuple[Any, Any]:
    import yaml

    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    handler, boundary = _front_matter()
    if not handler.detect(text):
        return {}, text
    parts = boundary.split(text, 2)
    if len(parts) < 3:
        raise ContentError(relative_path, "front matter starts with --- but is never closed by a --- line")
    _, raw, body = parts
    metadata = load_mapping(relative_path, raw, "front matter", skipped_lines)
    return metadata, body.lstrip("\n")


def load_mapping(relative_path: str, text: str, what: str, skipped_lines: int = 0) -> dict:
    """YAML 'key: value' lines as a dict ({} when empty): front matter, a sidecar, a block being rewritten.

    Anything else is a ContentError naming `what` and the line: invalid YAML, a
    value YAML cannot convert, a list or a string where keys belong, or values
    that expand beyond reason (aliases of aliases).
    """
    yaml, loader = _yaml()
    try:
        value = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise ContentError(relative_path, f"{what} is not valid YAML: {_yaml_reason(exc, skipped_lines)}") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise ContentError(relative_path, f"{what} has a value YAML cannot convert: {exc}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ContentError(relative_path, f"{what} is a {type(value).__name__}, expected 'key: value' lines")
    problem = too_large(value)
    if problem:
        raise ContentError(relative_path, f"{what} {problem}; not read")
    return value


def _yaml_reason(exc: Any, skipped_lines: int = 0) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    # The YAML starts right after the opening ---, on the file's first line; marks count from 0.
    return f"{problem} (line {mark.line + 1 + skipped_lines} of the file)" if mark is not None else problem
