"""Change front-matter keys of a content file without touching anything else.

Only the lines of the keys being changed are rewritten; every other byte of the
file (the body, comments, other keys, their order and quoting, line endings, a
byte-order mark) stays as it was. This is stricter than re-emitting the whole
front matter through a round-trip YAML library, which still reflows long lines,
normalises indentation and refuses files with duplicate keys. New values are
written the way the old ones were ([a, b] or "- a" lines). The result is parsed
again and compared with what was meant before anything is written; the write is
atomic (temporary file, fsync, rename) and refused if the file changed since it
was read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.files import sha256, write_atomic
from indexer.textfiles import load_mapping
from kb.errors import ConflictError, ContentError
from kb.notes import Note

_BOUNDARY = re.compile(rb"^-{3,}[ \t]*\r?$")
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_RESERVED = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"}


@dataclass(frozen=True)
class Edit:
    """A planned change to one file: what it was (by hash), what it becomes, and each key's before/after."""

    path: str
    old_sha256: str
    new_bytes: bytes
    changes: dict[str, tuple[Any, Any]]

    @property
    def changed(self) -> bool:
        return any(before != after for before, after in self.changes.values())


def plan_sidecar_edit(root: Path, relative_path: str, updates: dict[str, Any]) -> Edit:
    """Plan setting keys of a sidecar metadata file (plain YAML), creating it if it does not exist."""
    path = root / relative_path
    data = path.read_bytes() if path.exists() else b""
    _check_text(relative_path, data)
    lines = data.splitlines(keepends=True)
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"
    newline = _newline(data)
    before = _parse(relative_path, data)
    for key, value in updates.items():
        lines = _replace_key(relative_path, lines, key, value, newline)
    new = b"".join(lines)
    after = _parse(relative_path, new)
    _compare(relative_path, before, after, updates)
    return Edit(relative_path, sha256(data), new, {key: (before.get(key), after.get(key)) for key in updates})


def _check_text(relative_path: str, data: bytes) -> None:
    if b"\x00" in data[:8192]:
        raise ContentError(relative_path, Note("binary data, not a text file"))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ContentError(relative_path,
                           Note("not UTF-8; kb does not rewrite it (edit it by hand or convert it)")) from None


def _newline(data: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in data and data.count(b"\r\n") * 2 >= data.count(b"\n") else b"\n"


def plan_edit(root: Path, relative_path: str, updates: dict[str, Any], expected: str | None = None) -> Edit:
    """Plan setting front-matter keys (a value of None removes the key); nothing is written."""
    data = (root / relative_path).read_bytes()
    if expected is not None and sha256(data) != expected:
        raise ConflictError(Note("%(relative_path)s changed since it was loaded; reload it and make the change "
                                 "again",
                                 relative_path=relative_path))
    _check_text(relative_path, data)
    lines = data.splitlines(keepends=True)
    newline = _newline(data)
    start, end = _front_matter_bounds(relative_path, lines)
    if start is None:
        # No front matter: add one above the untouched file.
        block = b"".join(_render(key, value, None, newline) for key, value in updates.items() if value is not None)
        new = b"---" + newline + block + b"---" + newline + data
        before: dict[str, Any] = {}
    else:
        head, body = lines[start + 1:end], lines[end:]
        before = _parse(relative_path, b"".join(head))
        for key, value in updates.items():
            head = _replace_key(relative_path, head, key, value, newline)
        new = b"".join(lines[:start + 1] + head + body)
    after = _verify(relative_path, new, before, updates)
    changes = {key: (before.get(key), after.get(key)) for key in updates}
    return Edit(relative_path, sha256(data), new, changes)


def apply_edit(root: Path, edit: Edit) -> None:
    """Write a planned edit atomically, unless the file changed since it was planned."""
    path = root / edit.path
    current = path.read_bytes() if path.exists() else b""
    if sha256(current) != edit.old_sha256:
        raise ConflictError(Note("%(path)s changed since it was loaded; nothing was written", path=edit.path))
    write_atomic(path, edit.new_bytes)


def _front_matter_bounds(relative_path: str, lines: list[bytes]) -> tuple[int | None, int]:
    """Indexes of the opening and closing --- lines (blank lines and a BOM may come first)."""
    first = 0
    while first < len(lines) and lines[first].lstrip(b"\xef\xbb\xbf").strip() == b"":
        first += 1
    if first == len(lines) or not _BOUNDARY.match(lines[first].lstrip(b"\xef\xbb\xbf").rstrip(b"\n")):
        return None, 0
    for index in range(first + 1, len(lines)):
        if _BOUNDARY.match(lines[index].rstrip(b"\n")):
            return first, index
    raise ContentError(relative_path, Note("front matter starts with --- but is never closed"))


def _parse(relative_path: str, raw: bytes) -> dict[str, Any]:
    return load_mapping(relative_path, raw.decode("utf-8-sig"), "front matter (not rewritten)")


def _scalar(value: Any) -> str:
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not re.fullmatch(r"[\d.]+", text):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid double-quoted YAML scalar


def _render(key: str, value: Any, style: str | None, newline: bytes, indent: bytes = b"  ",
            comment: bytes = b"") -> bytes:
    if isinstance(value, (list, tuple)):
        if style == "block" and value:
            items = b"".join(indent + b"- " + _scalar(v).encode() + newline for v in value)
            return f"{key}:".encode() + comment + newline + items
        return f"{key}: [{', '.join(_scalar(v) for v in value)}]".encode() + comment + newline
    return f"{key}: {_scalar(value)}".encode() + comment + newline


def _replace_key(relative_path: str, head: list[bytes], key: str, value: Any, newline: bytes) -> list[bytes]:
    """Replace the lines of one top-level key (or add it at the end of the front matter).

    A list is written the way the old value was: on the key's line ([a, b]) or as
    "- item" lines below it, with the same indentation.
    """
    pattern = re.compile(rb"^" + re.escape(key.encode()) + rb"\s*:(?:\s|$)")
    starts = [i for i, line in enumerate(head) if pattern.match(line)]
    if len(starts) > 1:
        raise ContentError(relative_path, Note("key '%(key)s' appears %(times)s times in the front matter; fix the "
                                               "file by hand before changing it", key=key, times=len(starts)))
    if not starts:
        if value is None:
            return head
        return head + [_render(key, value, "flow", newline)]
    first = starts[0]
    last = first + 1
    while last < len(head) and (head[last][:1] in (b" ", b"\t", b"-") or
                                (head[last].strip() == b"" and last + 1 < len(head) and head[last + 1][:1] in (b" ", b"\t", b"-"))):
        last += 1
    if value is None:
        return head[:first] + head[last:]
    indent = b"  "
    for line in head[first + 1:last]:
        stripped = line.lstrip(b" \t")
        if stripped.startswith(b"-"):
            indent = line[: len(line) - len(stripped)]
            break
    inline = head[first].split(b":", 1)[1].split(b"#", 1)[0].strip()
    style = "flow" if inline or last == first + 1 else "block"
    comment = b""
    remainder = head[first].rstrip(b"\r\n")
    trailing = re.search(rb"\s+#.*$", remainder)
    if trailing and b'"' not in remainder and b"'" not in remainder:
        comment = trailing.group()
    return head[:first] + [_render(key, value, style, newline, indent, comment)] + head[last:]


def _verify(relative_path: str, new: bytes, before: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """Parse the rewritten file: the changed keys hold the new values and every other key is unchanged."""
    lines = new.splitlines(keepends=True)
    start, end = _front_matter_bounds(relative_path, lines)
    after = _parse(relative_path, b"".join(lines[(start or 0) + 1:end]))
    _compare(relative_path, before, after, updates)
    return after


def _compare(relative_path: str, before: dict[str, Any], after: dict[str, Any], updates: dict[str, Any]) -> None:
    for key, value in updates.items():
        expected = list(value) if isinstance(value, tuple) else value
        if value is None and key in after or value is not None and after.get(key) != expected:
            raise ContentError(relative_path,
                               Note("could not write '%(key)s' safely; the file was not changed", key=key))
    for key, value in before.items():
        if key not in updates and after.get(key) != value:
            raise ContentError(relative_path,
                               Note("rewriting would change '%(key)s'; the file was not changed", key=key))
