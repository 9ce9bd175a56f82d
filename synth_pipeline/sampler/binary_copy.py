"""Vectorised PostgreSQL binary COPY payloads from numpy arrays (no per-row Python).

A payload is the COPY binary format: signature + flags + extension length, then per row an int16
field count and per field an int32 byte length (-1 for NULL) followed by the bytes, then an int16
-1 trailer. Rows are laid out with one cumulative sum and scattered with fancy indexing, so a
200k-row batch costs a few tens of milliseconds instead of seconds of `copy.write_row`.

Column kinds:
- `FixedColumn`: int8 (`bigint`), bool, or timestamptz (microseconds since 2000-01-01 UTC), never NULL.
- `TextColumn`: UTF-8 bytes given as one byte buffer plus per-row start and length (-1 = NULL),
  which lets message bodies be windows over a shared text buffer without copying them first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01 in Unix microseconds

_FIXED_DTYPES = {"int8": ">i8", "bool": "u1", "timestamptz": ">i8"}


@dataclass(frozen=True)
class FixedColumn:
    kind: str  # int8 | bool | timestamptz (values: Unix microseconds, UTC)
    values: np.ndarray

    def encoded(self) -> np.ndarray:
        values = self.values
        if self.kind == "timestamptz":
            values = np.asarray(values, dtype=np.int64) - PG_EPOCH_US
        width = np.dtype(_FIXED_DTYPES[self.kind]).itemsize
        block = np.empty(len(values), dtype=[("length", ">i4"), ("value", _FIXED_DTYPES[self.kind])])
        block["length"] = width
        block["value"] = values
        return block.view(np.uint8).reshape(len(values), 4 + width)


@dataclass(frozen=True)
class TextColumn:
    data: np.ndarray  # uint8 buffer
    starts: np.ndarray  # int64 offsets into data
    lengths: np.ndarray  # int64 byte lengths, -1 for NULL

    @classmethod
    def from_strings(cls, strings: list[str | None]) -> TextColumn:
        """A column from Python strings (small tables: users, conversations)."""
        encoded = [s.encode() if s is not None else b"" for s in strings]
        lengths = np.array([len(b) if s is not None else -1 for b, s in zip(encoded, strings)], dtype=np.int64)
        sizes = np.maximum(lengths, 0)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64) if len(sizes) else np.zeros(0, np.int64)
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), starts, lengths)

    @classmethod
    def from_categories(cls, labels: tuple[str, ...], codes: np.ndarray) -> TextColumn:
        """A column of enum labels by code; code -1 is NULL."""
        encoded = [label.encode() for label in labels]
        label_starts = np.concatenate(([0], np.cumsum([len(b) for b in encoded])[:-1])).astype(np.int64)
        label_lengths = np.array([len(b) for b in encoded], dtype=np.int64)
        codes = np.asarray(codes, dtype=np.int64)
        safe = np.where(codes < 0, 0, codes)
        lengths = np.where(codes < 0, -1, label_lengths[safe])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), label_starts[safe], lengths)

    def take(self, rows: slice) -> TextColumn:
        return TextColumn(self.data, self.starts[rows], self.lengths[rows])


Column = FixedColumn | TextColumn


def _take(column: Column, rows: slice) -> Column:
    if isinstance(column, FixedColumn):
        return FixedColumn(column.kind, column.values[rows])
    return column.take(rows)


def _field_sizes(column: Column) -> np.ndarray:
    if isinstance(column, FixedColumn):
        return np.full(len(column.values), 4 + np.dtype(_FIXED_DTYPES[column.kind]).itemsize, dtype=np.int64)
    return 4 + np.maximum(column.lengths, 0)


def _scatter_block(out: np.ndarray, positions: np.ndarray, block: np.ndarray) -> None:
    out[positions[:, None] + np.arange(block.shape[1])] = block


def _scatter_bytes(out: np.ndarray, positions: np.ndarray, column: TextColumn) -> None:
    sizes = np.maximum(column.lengths, 0)
    total = int(sizes.sum())
    if total == 0:
        return
    first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    ramp = np.arange(total, dtype=np.int64)
    out[np.repeat(positions - first, sizes) + ramp] = column.data[np.repeat(column.starts - first, sizes) + ramp]


def encode_rows(columns: list[Column]) -> bytes:
    """The tuple section (no signature, no trailer) for equally long columns."""
    n = len(columns[0].values) if isinstance(columns[0], FixedColumn) else len(columns[0].lengths)
    if n == 0:
        return b""
    row_sizes = 2 + sum(_field_sizes(c) for c in columns)
    row_starts = np.concatenate(([0], np.cumsum(row_sizes)[:-1])).astype(np.int64)
    out = np.empty(int(row_sizes.sum()), dtype=np.uint8)
    field_count = np.frombuffer(len(columns).to_bytes(2, "big"), dtype=np.uint8)
    _scatter_block(out, row_starts, np.broadcast_to(field_count, (n, 2)))
    position = row_starts + 2
    for column in columns:
        if isinstance(column, FixedColumn):
            block = column.encoded()
            _scatter_block(out, position, block)
            position = position + block.shape[1]
        else:
            header = column.lengths.astype(">i4").view(np.uint8).reshape(n, 4)
            _scatter_block(out, position, header)
            position = position + 4
            _scatter_bytes(out, position, column)
            position = position + np.maximum(column.lengths, 0)
    return out.tobytes()


def iter_payload(columns: list[Column], rows: int, batch_rows: int = 200_000):
    """Signature, tuple batches, trailer: the chunks of one binary COPY stream."""
    yield SIGNATURE
    for start in range(0, rows, batch_rows):
        window = slice(start, min(start + batch_rows, rows))
        yield encode_rows([_take(c, window) for c in columns])
    yield TRAILER
