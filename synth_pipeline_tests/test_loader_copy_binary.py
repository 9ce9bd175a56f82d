"""The vectorised binary COPY encoder is byte-exact: PostgreSQL's own binary output of the same
rows (written with psycopg's write_row) equals our payload, and a round trip reads back equal."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from psycopg import sql

from synth_pipeline.errors import SynthError
from synth_pipeline.loader.copy_binary import (
    COPY_SIGNATURE, COPY_TRAILER, BatchStream, CopyColumn, copy_order, encode_rows, encode_table,
)

UTC = dt.timezone.utc
COLUMNS = [
    CopyColumn("id", "bigint"), CopyColumn("note", "text"), CopyColumn("flag", "boolean"),
    CopyColumn("at", "timestamptz"), CopyColumn("label", "text"),
]
PG_TYPES = {"bigint": "int8", "text": "text", "boolean": "bool", "timestamptz": "timestamptz"}
EDGE_ROWS = [
    (-(2**63), "", True, dt.datetime(1970, 1, 1, tzinfo=UTC), "a"),
    (2**63 - 1, None, False, dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None),
    (0, "ünïcødé ✓ 漢字", True, dt.datetime(2000, 1, 1, tzinfo=UTC), ""),
    (42, "x" * 10_000, False, dt.datetime(1900, 3, 1, 0, 0, 0, 1, tzinfo=UTC), "tail"),
    (-1, "tab\there\nnewline\\backslash", True, dt.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC), None),
    (7, None, False, dt.datetime(2026, 11, 25, 11, 0, 0, 123456, tzinfo=UTC), "last"),
]


def arrow_table(rows) -> pa.Table:
    ids, notes, flags, ats, labels = zip(*rows)
    return pa.table({
        "id": pa.array(ids, pa.int64()), "note": pa.array(notes, pa.string()), "flag": pa.array(flags, pa.bool_()),
        "at": pa.array(ats, pa.timestamp("us", tz="UTC")), "label": pa.array(labels, pa.string()),
    })


def _create(conn, name: str, columns) -> None:
    conn.execute(sql.SQL("CREATE TABLE {} (seq serial, {})").format(
        sql.Identifier(name),
        sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(PG_TYPES[c.pg_type])) for c in columns),
    ))


def _binary_dump(conn, name: str, columns) -> bytes:
    out = bytearray()
    query = sql.SQL("COPY (SELECT {} FROM {} ORDER BY seq) TO STDOUT (FORMAT binary)").format(
        sql.SQL(", ").join(sql.Identifier(c.name) for c in columns), sql.Identifier(name))
    with conn.cursor().copy(query) as copy:
        for block in copy:
            out += block
    return bytes(out)


def test_copy_order_puts_fixed_width_first() -> None:
    assert [c.name for c in copy_order(COLUMNS)] == ["id", "flag", "at", "note", "label"]


def test_payload_equals_postgres_binary_output_of_psycopg_write_row(pg_dsn: str) -> None:
    ordered = copy_order(COLUMNS)
    ours = encode_table(arrow_table(EDGE_ROWS), ordered)
    with psycopg.connect(pg_dsn) as conn:
        _create(conn, "by_psycopg", ordered)
        names = sql.SQL(", ").join(sql.Identifier(c.name) for c in ordered)
        with conn.cursor().copy(sql.SQL("COPY by_psycopg ({}) FROM STDIN (FORMAT binary)").format(names)) as copy:
            copy.set_types([PG_TYPES[c.pg_type] for c in ordered])
            for row in EDGE_ROWS:
                by_name = dict(zip([c.name for c in COLUMNS], row))
                copy.write_row([by_name[c.name] for c in ordered])
        theirs = _binary_dump(conn, "by_psycopg", ordered)
        # and ours, loaded by PostgreSQL, reads back identical values
        _create(conn, "by_encoder", ordered)
        with conn.cursor().copy(sql.SQL("COPY by_encoder ({}) FROM STDIN (FORMAT binary)").format(names)) as copy:
            copy.write(ours)
        assert _binary_dump(conn, "by_encoder", ordered) == theirs
        back = conn.execute("SELECT id, note, flag, at, label FROM by_encoder ORDER BY seq").fetchall()
    assert ours == theirs
    assert back == EDGE_ROWS


def test_sliced_batches_concatenate_to_the_whole(pg_dsn: str) -> None:
    """Arrow arrays with a non-zero offset (slices) encode like the rows they show."""
    ordered = copy_order(COLUMNS)
    table = arrow_table(EDGE_ROWS * 3)
    whole = bytes(encode_rows(table, ordered))
    pieces = b"".join(bytes(encode_rows(batch, ordered)) for batch in table.to_batches(max_chunksize=4))
    sliced = b"".join(bytes(encode_rows(table.slice(i, 5), ordered)) for i in range(0, table.num_rows, 5))
    assert pieces == whole == sliced


def test_batch_stream_reads_parquet_in_batches(tmp_path, pg_dsn: str) -> None:
    ordered = copy_order(COLUMNS)
    path = tmp_path / "rows.parquet"
    pq.write_table(arrow_table(EDGE_ROWS * 50), path, row_group_size=64)
    with BatchStream(str(path), ordered, batch_rows=37) as stream:
        batches = list(stream)
    assert sum(n for n, _ in batches) == 300
    assert len(batches) > 5
    with psycopg.connect(pg_dsn) as conn:
        _create(conn, "streamed", ordered)
        names = sql.SQL(", ").join(sql.Identifier(c.name) for c in ordered)
        with conn.cursor().copy(sql.SQL("COPY streamed ({}) FROM STDIN (FORMAT binary)").format(names)) as copy:
            copy.write(COPY_SIGNATURE)
            for _, payload in batches:
                copy.write(payload)
            copy.write(COPY_TRAILER)
        assert conn.execute("SELECT count(*), count(note), sum(id::numeric) FROM streamed").fetchone() == (
            300, 200, sum(r[0] for r in EDGE_ROWS) * 50)


def test_null_in_a_not_null_fixed_width_column_is_an_input_error() -> None:
    table = pa.table({"id": pa.array([1, None], pa.int64())})
    with pytest.raises(SynthError, match="'id' has NULL values"):
        encode_rows(table, [CopyColumn("id", "bigint")])


def test_batch_stream_reraises_producer_errors(tmp_path) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": pa.array([1, None], pa.int64())}), path)
    with pytest.raises(SynthError):
        with BatchStream(str(path), [CopyColumn("id", "bigint")]) as stream:
            list(stream)
