"""Whoosh's postings codec with each block's numbers, weights and values kept as flat arrays.

Whoosh 3 pickles a block of up to 128 postings as a tuple of Python numbers and one bytes object
per posting (an item's positions of the word), so reading a block builds a few hundred Python
objects: about 52 microseconds a block, the largest single cost of a search met for the first time
at 100,000 items (a fifth of its time, zlib included). Here a block is the gaps between its document numbers
(one, two or four bytes each), its weights (one byte each when they are counts, which they nearly
always are) and its values joined in one string with their ends, so reading it is a few copies.
Searches read the numbers and weights as numpy arrays without a copy (indexer.blockcache), and a
value is cut from the joined string only when something asks for it (a phrase's positions).

Everything else (terms, block headers, inlined postings, vectors, columns) is Whoosh 3's own.
"""

from __future__ import annotations

import zlib
from array import array
from itertools import accumulate
from pickle import dumps, loads
from typing import Any

from whoosh.codec import whoosh3
from whoosh.codec.whoosh3 import W3Codec, W3LeafMatcher, W3PerDocReader, W3PostingsWriter
from whoosh.columns import NumericColumn
from whoosh.util.numeric import byte_to_length
from whoosh.util.numlists import delta_encode

# The first bytes of a word's postings: another codec's postings are refused rather than misread.
MAGIC = b"KbB1"
# Weights: one for all (or None: 1.0 each), else counts of one byte each, else floats.
COUNTS, FLOATS = "B", "f"
# A field's length as Whoosh keeps it, one byte a document: 0 reads as no length (None)
LENGTHS = [None] + [byte_to_length(b) for b in range(1, 256)]


class BlockCodec(W3Codec):
    """W3Codec whose postings blocks are flat arrays. Its segments carry it (pickled in the table of
    contents), so any index written with it is read with it."""

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        if byteids:  # term vectors: kb keeps none, and their ids are words
            return super().postings_writer(dbfile, byteids=byteids)
        return BlockWriter(dbfile, blocklimit=self._blocklimit, compression=self._compression,
                           inlinelimit=self._inlinelimit)

    def per_document_reader(self, storage: Any, segment: Any) -> Any:
        return LengthsReader(storage, segment)

    def postings_reader(self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None) -> Any:
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return BlockMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class LengthsReader(W3PerDocReader):
    """Whoosh 3's per-document reader, whose field lengths for a commit's postings (the length of the
    field in the posting's document, written beside each block) are read in one piece. Whoosh reads each
    posting's one byte with its own seek and read, about a fifth of a writer's commit."""

    def doc_field_length_reader(self, fieldname: str, default: int = 0) -> Any:
        column = self._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
        if type(column) is not NumericColumn.Reader or column._typecode != "B":
            return super().doc_field_length_reader(fieldname, default)
        if column._count == 0:
            return lambda docnum: None  # as Whoosh's: no byte, no length
        raw = column._dbfile.get(column._basepos, column._count)
        size = len(raw)

        def length(docnum: int) -> int | None:
            return LENGTHS[raw[docnum]] if docnum < size else None
        return length


class BlockWriter(W3PostingsWriter):
    def _write_block(self, last: bool = False) -> None:
        if not self._blockcount:
            self._postfile.write(MAGIC)
        self._terminfo.add_block(self)
        gaps = list(delta_encode(self._ids))
        widest = max(gaps)
        code = "B" if widest < 1 << 8 else "H" if widest < 1 << 16 else "I"
        values = self._values if self._format.fixed_value_size() != 0 else []
        ends = array("I", accumulate(len(value) for value in values))
        data = dumps((code, array(code, gaps).tobytes(), weights_of(self._weights), ends.tobytes(),
                      b"".join(values)), 2)
        level = self._compression if len(data) >= whoosh3.COMPRESSION_MIN_SIZE else 0
        if level:
            data = zlib.compress(data, level)
        # the block's header, as Whoosh 3 writes it: count, last number, highest weight, compression, lengths
        info = dumps((len(self._ids), self._ids[-1], self._maxweight, level,
                      whoosh3.length_to_byte(self._minlength), whoosh3.length_to_byte(self._maxlength)), 2)
        size = len(info) + len(data)
        self._postfile.write_int(-size if last else size)
        self._postfile.write(info)
        self._postfile.write(data)
        self._blockcount += 1
        self._new_block()


def weights_of(weights: array) -> Any:
    """A block's weights: None when all are 1.0, one float when all are equal, else an array's bytes
    tagged with its type (one byte each when they are whole counts under 256)."""
    first = weights[0]
    if all(weight == first for weight in weights):
        return None if first == 1.0 else float(first)
    if all(weight == int(weight) and 0 <= weight < 256 for weight in weights):
        return COUNTS, array(COUNTS, (int(weight) for weight in weights)).tobytes()
    return FLOATS, weights.tobytes()


class BlockMatcher(W3LeafMatcher):
    """W3LeafMatcher over BlockWriter's blocks. `_ids` is an array("I") of the block's document
    numbers, read with the block; `_weights` an array once Whoosh's own stepping asks for weights
    (`block_weights` gives them as stored); `_values` a Values cutting each posting's bytes from the
    joined string."""

    def _read_header(self) -> None:
        postfile = self._postfile
        postfile.seek(self._startoffset)
        if (magic := postfile.read(4)) != MAGIC:
            raise whoosh3.CorruptIndexError(
                f"Bad postings block tag {magic!r} at offset {self._startoffset} "
                f"(expected {MAGIC!r}): the index is damaged or was written by another codec; rebuild it")
        self._baseoffset = postfile.tell()

    def _read_data(self) -> None:
        data = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
        if self._compression:
            data = zlib.decompress(data)
        code, gaps, weights, ends, joined = loads(data)
        ids = array("I", accumulate(array(code, gaps)))
        self._data = (ids, weights, (ends, joined))
        self._ids = ids

    def _read_ids(self) -> None:
        if self._data is None:
            self._read_data()

    def block_weights(self) -> Any:
        """The block's weights as stored: None (1.0 each), one float for all, or an array."""
        if self._data is None:
            self._read_data()
        weights = self._data[1]
        return array(weights[0], weights[1]) if isinstance(weights, tuple) else weights

    def _read_weights(self) -> None:
        weights = self.block_weights()
        if weights is None or isinstance(weights, float):
            weights = array("f", [1.0 if weights is None else weights]) * self._blocklength
        self._weights = weights

    def _read_values(self) -> None:
        if self._data is None:
            self._read_data()
        ends, joined = self._data[2]
        if self._fixedsize == 0:
            self._values = (None,) * self._blocklength
        else:
            self._values = Values(array("I", ends), joined)


class Values:
    """A block's values, each cut from the joined string when asked for."""

    __slots__ = ("ends", "joined")

    def __init__(self, ends: array, joined: bytes):
        self.ends = ends
        self.joined = joined

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i: int) -> bytes:
        end = self.ends[i]
        return self.joined[self.ends[i - 1] if i else 0:end]
