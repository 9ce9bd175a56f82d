"""The production-like test database: realistic shape, planted canaries, real constraints, seeded,
loaded through vectorised binary COPY (checked against a round trip of awkward values)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import psycopg
import pytest

from synth_pipeline.sampler.columns import FixedColumn, TextColumn, copy_stream
from synth_pipeline.sampler.fake_production import FakeProductionReport
from synth_pipeline_tests.sampler_fixtures import build_small


@pytest.fixture(scope="module")
def source(pg_dsn: str) -> tuple[str, FakeProductionReport]:
    return pg_dsn, build_small(pg_dsn)


def _one(dsn: str, query: str, params=None):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()


def test_report_counts_match_the_tables(source) -> None:
    dsn, report = source
    assert report.rows["messages"] == 30_000
    for table, count in report.rows.items():
        assert _one(dsn, f"SELECT count(*) FROM {table}")[0] == count
    assert len(report.emails) == len(set(report.emails)) == report.rows["users"]
    assert report.first_message_at < report.last_message_at


def test_shape_is_production_like(source) -> None:
    dsn = source[0]
    heavy, conversations = _one(dsn, """
        SELECT count(*) FILTER (WHERE n > 1000), count(*) FROM (SELECT count(*) n FROM messages GROUP BY conversation_id) x""")
    assert 0.01 <= heavy / conversations <= 0.05
    groups, directs, biggest = _one(dsn, """
        SELECT count(*) FILTER (WHERE kind = 'group'), count(*) FILTER (WHERE kind = 'direct'), max(n)
        FROM conversations c JOIN (SELECT conversation_id, count(*) n FROM conversation_participants GROUP BY 1) p
        ON p.conversation_id = c.id""")
    assert groups > 0 and directs > groups and biggest > 20
    top_share = _one(dsn, """
        SELECT sum(n) FILTER (WHERE rank <= 10)::float / sum(n) FROM
        (SELECT count(*) n, rank() OVER (ORDER BY count(*) DESC) rank FROM messages GROUP BY sender_id) x""")[0]
    assert top_share > 0.2  # skewed activity: ten users send over a fifth of the messages
    weekday, weekend, night, noon = _one(dsn, """
        SELECT count(*) FILTER (WHERE extract(isodow FROM created_at) <= 5) / 5.0,
               count(*) FILTER (WHERE extract(isodow FROM created_at) > 5) / 2.0,
               count(*) FILTER (WHERE extract(hour FROM created_at) = 3),
               count(*) FILTER (WHERE extract(hour FROM created_at) = 11) FROM messages""")
    assert float(weekday) > 1.3 * float(weekend) and noon > 3 * night
    p50, p95 = _one(dsn, """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY g), percentile_cont(0.95) WITHIN GROUP (ORDER BY g)
        FROM (SELECT extract(epoch FROM created_at - lag(created_at) OVER (PARTITION BY conversation_id ORDER BY created_at)) g
              FROM messages) x""")
    assert p95 / p50 > 20  # bursts: short gaps within sessions, long gaps between them
    kinds, share = _one(dsn, """SELECT count(DISTINCT kind), count(DISTINCT message_id)::float / (SELECT count(*) FROM messages)
        FROM attachments""")
    assert kinds == 4 and 0.05 < share < 0.12
    latency_p50, unread = _one(dsn, """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.read_at - m.created_at)),
        (SELECT count(*) FROM message_reads WHERE read_at <= (SELECT created_at FROM messages WHERE id = message_id))
        FROM message_reads r JOIN messages m ON m.id = r.message_id""")
    assert 10 < latency_p50 < 3600 and unread == 0
    devices = _one(dsn, "SELECT count(DISTINCT device), count(*) FILTER (WHERE device IS NULL) FROM messages")
    assert devices[0] == 3 and devices[1] > 0
    assert _one(dsn, "SELECT count(*) FROM messages WHERE content ~ '@[a-z]+\\.[a-z]+'")[0] > 100  # emails in bodies


def test_canaries_are_planted_and_unique(source) -> None:
    dsn, report = source
    with psycopg.connect(dsn) as conn:
        for canary in report.canaries:
            found = conn.execute("""SELECT (SELECT count(*) FROM messages WHERE strpos(content, %(c)s) > 0)
                + (SELECT count(*) FROM users WHERE strpos(coalesce(bio, '') || first_name, %(c)s) > 0)
                + (SELECT count(*) FROM conversations WHERE strpos(coalesce(name, ''), %(c)s) > 0)""", {"c": canary}).fetchone()[0]
            assert found == 1, canary


def test_constraints_and_indexes_are_built_after_the_load(source) -> None:
    dsn = source[0]
    constraints = _one(dsn, "SELECT count(*) FILTER (WHERE contype = 'p'), count(*) FILTER (WHERE contype = 'f') FROM pg_constraint "
                            "WHERE connamespace = 'public'::regnamespace")
    assert constraints == (6, 7)
    assert _one(dsn, "SELECT to_regclass('public.messages_conversation_id_created_at_idx') IS NOT NULL")[0]


def test_same_seed_same_data(pg_dsn, source) -> None:
    again = build_small(pg_dsn, schema="again")
    query = "SELECT md5(string_agg(id || content || created_at::text, '|' ORDER BY id)) FROM {}.messages"
    assert _one(pg_dsn, query.format("again")) == _one(pg_dsn, query.format("public"))
    assert again.canaries == source[1].canaries


def test_binary_copy_round_trips_awkward_values(pg_dsn) -> None:
    texts = ["plain", None, "", "tab\tnew\nline \\ back", "ünïcødé ☃ 𝄞"]
    stamps = [0, -1, 1_700_000_000_123_456, 946_684_800_000_000, 4_102_444_800_000_000]
    columns = {
        "a": FixedColumn("int8", np.array([0, -1, 2**62, 7, -(2**62)])),
        "b": TextColumn.from_strings(texts),
        "c": FixedColumn("bool", np.array([True, False, True, False, True])),
        "d": FixedColumn("timestamptz", np.array(stamps)),
        "e": TextColumn.from_categories(("web", "ios"), np.array([0, 1, -1, 1, 0])),
    }
    order, chunks = copy_stream(columns, 5, batch_rows=2)
    assert order == ["a", "c", "d", "b", "e"]  # the loader's encoder: fixed-width columns first
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("CREATE TEMP TABLE round_trip (a bigint, b text, c boolean, d timestamptz, e text)")
        with conn.cursor().copy(f"COPY round_trip ({', '.join(order)}) FROM STDIN (FORMAT binary)") as copy:
            for chunk in chunks:
                copy.write(chunk)
        rows = conn.execute("SELECT * FROM round_trip").fetchall()
    as_time = [datetime.fromtimestamp(s / 1e6, tz=timezone.utc) for s in stamps]
    assert [r[1] for r in rows] == texts
    assert [r[0] for r in rows] == [0, -1, 2**62, 7, -(2**62)]
    assert [r[2] for r in rows] == [True, False, True, False, True]
    assert [r[3] for r in rows] == as_time
    assert [r[4] for r in rows] == ["web", "ios", None, "ios", "web"]
