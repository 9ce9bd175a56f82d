"""Columns of the fake production tables as numpy arrays, streamed to PostgreSQL through the
loader's binary COPY encoder (`synth_pipeline.loader.copy_binary`): one encoder for the project.

- `FixedColumn`: int8 (`bigint`), bool, or timestamptz (Unix microseconds, UTC), never NULL.
- `TextColumn`: UTF-8 bytes given as one byte buffer plus per-row start and length (-1 = NULL),
  so message bodies can be windows over a shared text buffer; each batch of rows is gathered into
  an Arrow string array only when it is encoded (memory bounded by the batch).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from synth_pipeline.loader.copy_binary import (
    COPY_SIGNATURE,
    COPY_TRAILER,
    DEFAULT_BATCH_ROWS,
    CopyColumn,
    copy_order,
    encode_rows,
)

_PG_TYPES = {"int8": "bigint", "bool": "boolean", "timestamptz": "timestamptz"}
_ARROW_TYPES = {"int8": pa.int64(), "bool": pa.bool_(), "timestamptz": pa.int64()}  # timestamps: Unix us


@dataclass(frozen=True)
class FixedColumn:
    kind: str  # int8 | bool | timestamptz (values: Unix microseconds, UTC)
    values: np.ndarray

    @property
    def pg_type(self) -> str:
        return _PG_TYPES[self.kind]

    def __len__(self) -> int:
        return len(self.values)

    def to_arrow(self, rows: slice) -> pa.Array:
        return pa.array(np.asarray(self.values[rows]), type=_ARROW_TYPES[self.kind])


@dataclass(frozen=True)
class TextColumn:
    data: np.ndarray  # uint8 buffer
    starts: np.ndarray  # int64 offsets into data
    lengths: np.ndarray  # int64 byte lengths, -1 for NULL

    pg_type = "text"

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

    def __len__(self) -> int:
        return len(self.lengths)

    def to_arrow(self, rows: slice) -> pa.Array:
        """The rows' windows gathered into one Arrow string array (NULL where the length is -1)."""
        lengths = self.lengths[rows]
        valid = lengths >= 0
        sizes = np.where(valid, lengths, 0)
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        total = int(offsets[-1])
        gather = np.repeat(self.starts[rows] - offsets[:-1], sizes) + np.arange(total, dtype=np.int64)
        validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
        return pa.Array.from_buffers(pa.large_string(), len(sizes),
                                     [validity, pa.py_buffer(offsets), pa.py_buffer(self.data[gather])])


Column = FixedColumn | TextColumn


def copy_stream(columns: dict[str, Column], rows: int, batch_rows: int = DEFAULT_BATCH_ROWS
                ) -> tuple[list[str], Iterator[bytes | memoryview]]:
    """(column names in COPY order, the chunks of one binary COPY stream) for equally long columns.

    The loader's encoder wants fixed-width columns first: COPY's column list must use the returned order.
    """
    order = copy_order([CopyColumn(name, column.pg_type) for name, column in columns.items()])

    def chunks() -> Iterator[bytes | memoryview]:
        yield COPY_SIGNATURE
        for start in range(0, rows, batch_rows):
            window = slice(start, min(start + batch_rows, rows))
            batch = pa.RecordBatch.from_arrays([columns[c.name].to_arrow(window) for c in order], [c.name for c in order])
            yield encode_rows(batch, order)
        yield COPY_TRAILER

    return [c.name for c in order], chunks()
