"""Arrow record batches -> PostgreSQL binary COPY payload, vectorised (no per-row Python).

The binary COPY format is, per row: int16 field count, then per field an int32 byte length
(-1 for NULL) followed by the value in network byte order. COPY accepts its column list in any
order, so we put the fixed-width columns first and the text columns last. Then every row is

    [fixed part: int16 count, (int32 len, int64/bool value)..., int32 len of text 1]
    [text 1 bytes] [int32 len of text 2] [text 2 bytes] ... [text k bytes]

The fixed part of all rows is one numpy big-endian structured array; the header of each later
text column is one big-endian int32 array. Arrow's `binary_join_element_wise` then concatenates
the pieces row by row in C++, and the data buffer of the joined array *is* the COPY payload.
(Measured on 200k message rows: ~28 ms, about 7M rows/s; a numpy byte-selector scatter took
~96 ms.) Timestamps are int64 microseconds since 2000-01-01 UTC, booleans one byte.

`BatchStream` reads a Parquet file in batches of ~200k rows and encodes them on a second thread
(Parquet decoding, numpy and Arrow compute release the GIL) while the caller writes to the
connection.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synth_pipeline.errors import SynthError

COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # + flags + ext
COPY_TRAILER = b"\xff\xff"
# 2000-01-01T00:00:00Z - 1970-01-01T00:00:00Z in microseconds (PostgreSQL's timestamp epoch).
PG_EPOCH_OFFSET_US = 946_684_800_000_000
DEFAULT_BATCH_ROWS = 200_000

_FIXED_WIDTH = {"bigint": (">i8", 8), "timestamptz": (">i8", 8), "boolean": ("u1", 1)}


@dataclass(frozen=True)
class CopyColumn:
    """One column of the COPY: its Arrow field name and PostgreSQL type."""

    name: str
    pg_type: str  # bigint, timestamptz, boolean or text

    @property
    def fixed_width(self) -> bool:
        return self.pg_type in _FIXED_WIDTH


def copy_order(columns: Sequence[CopyColumn]) -> list[CopyColumn]:
    """Fixed-width columns first, text last (stable within each group)."""
    return [c for c in columns if c.fixed_width] + [c for c in columns if not c.fixed_width]


def _fixed_values(column: pa.Array, spec: CopyColumn) -> np.ndarray:
    if column.null_count:
        raise SynthError(f"column {spec.name!r} has NULL values but is NOT NULL in the logical schema; regenerate the shards")
    if spec.pg_type == "boolean":
        return column.to_numpy(zero_copy_only=False).astype(np.uint8, copy=False)
    if spec.pg_type == "timestamptz":
        return column.cast(pa.int64()).to_numpy() - PG_EPOCH_OFFSET_US
    return column.to_numpy()


def _text_lengths(column: pa.Array) -> np.ndarray:
    """Big-endian int32 byte length per row, -1 for NULL."""
    lengths = pc.binary_length(column).fill_null(-1).to_numpy(zero_copy_only=False)
    return lengths.astype(">i4")


def _fixed_width_binary(rows: np.ndarray) -> pa.Array:
    """A numpy structured array as an Arrow binary array of one element per row (zero copy)."""
    width = rows.dtype.itemsize
    offsets = np.arange(len(rows) + 1, dtype=np.int32) * width
    return pa.Array.from_buffers(pa.binary(), len(rows), [None, pa.py_buffer(offsets), pa.py_buffer(rows.view(np.uint8))])


def encode_rows(batch: pa.RecordBatch | pa.Table, columns: Sequence[CopyColumn]) -> memoryview:
    """Encode the rows of `batch` (columns picked by name, in `columns` order) as COPY row data.

    `columns` must already be in copy order (fixed width first). The result holds rows only: the
    caller writes COPY_SIGNATURE once before the first batch and COPY_TRAILER after the last.
    """
    n = batch.num_rows
    if n == 0:
        return memoryview(b"")
    fixed = [c for c in columns if c.fixed_width]
    texts = [c for c in columns if not c.fixed_width]
    if [c.name for c in columns] != [c.name for c in fixed + texts]:
        raise ValueError("columns must be in copy order: fixed-width first, then text")
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, col in enumerate(fixed):
        fields += [(f"len{i}", ">i4"), (f"val{i}", _FIXED_WIDTH[col.pg_type][0])]
    if texts:
        fields.append(("text_len", ">i4"))
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["count"] = len(columns)
    for i, col in enumerate(fixed):
        rows[f"len{i}"] = _FIXED_WIDTH[col.pg_type][1]
        rows[f"val{i}"] = _fixed_values(_column(batch, col.name), col)
    pieces: list[pa.Array] = [_fixed_width_binary(rows)]
    for j, col in enumerate(texts):
        values = _column(batch, col.name)
        if j == 0:
            rows["text_len"] = _text_lengths(values)
        else:
            pieces.append(_fixed_width_binary(_text_lengths(values)))
        pieces.append(values.fill_null("").cast(pa.binary()))
    if len(pieces) == 1:
        return memoryview(rows.view(np.uint8))
    joined = pc.binary_join_element_wise(*pieces, b"")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=n + 1, offset=joined.offset * 4)
    return memoryview(joined.buffers()[2])[offsets[0] : offsets[n]]


def _column(batch: pa.RecordBatch | pa.Table, name: str) -> pa.Array:
    column = batch.column(name)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_large_string(column.type) or pa.types.is_large_binary(column.type):
        column = column.cast(pa.string())
    return column


def encode_table(table: pa.Table, columns: Sequence[CopyColumn]) -> bytes:
    """A whole binary COPY stream (signature, rows, trailer) for a small table; tests and tools."""
    return COPY_SIGNATURE + bytes(encode_rows(table, copy_order(columns))) + COPY_TRAILER


class BatchStream:
    """Encode a Parquet file batch by batch on a background thread; iterate to get payloads.

    At most `depth` encoded batches wait in memory. Iteration yields (rows, payload) and re-raises
    any error of the producer thread. Use as a context manager so an abandoned stream stops its
    thread.
    """

    _DONE = object()

    def __init__(self, path: str, columns: Sequence[CopyColumn], *, batch_rows: int = DEFAULT_BATCH_ROWS,
                 depth: int = 2) -> None:
        self.path = path
        self.columns = list(columns)
        self.batch_rows = batch_rows
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="copy-encoder", daemon=True)

    def __enter__(self) -> "BatchStream":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            parquet = pq.ParquetFile(self.path)
            names = [c.name for c in self.columns]
            for batch in parquet.iter_batches(batch_size=self.batch_rows, columns=names, use_threads=False):
                if not self._put((batch.num_rows, encode_rows(batch, self.columns))):
                    return
            self._put(self._DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)

    def __iter__(self) -> Iterator[tuple[int, memoryview]]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
