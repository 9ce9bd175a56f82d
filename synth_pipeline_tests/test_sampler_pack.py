"""The sampler's pack describes the data correctly: compared with numpy on the raw rows of the
same database, under both mappings, and with optional parts absent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synth_pipeline.contracts.binning import distribution_from_values
from synth_pipeline.paths import METRICS_PACK_SCHEMA
from synth_pipeline.sampler.core import sample_pack
from synth_pipeline.sampler.fake_production import FakeProductionReport
from synth_pipeline.sampler.fine import IntegerCounts, MicroCounts
from synth_pipeline.sampler.noise import PrivacyLedger
from synth_pipeline_tests.sampler_fixtures import TEST_SALT, WINDOW, build_small, raw_values, salt_env  # noqa: F401
from synth_pipeline.sampler.tokens import Salt

SALT = Salt(TEST_SALT.encode())


@pytest.fixture(scope="module")
def source(pg_dsn: str) -> tuple[str, FakeProductionReport, FakeProductionReport]:
    reference = build_small(pg_dsn)
    prisma = build_small(pg_dsn, schema="prisma_src", mapping="prisma")
    absent = build_small(pg_dsn, schema="bare_src", messages=8_000, attachments=False, reads=False, device=False)
    return pg_dsn, reference, prisma, absent


@pytest.fixture(scope="module")
def pack(source):
    dsn, *_ = source
    return sample_pack(dsn, salt=SALT).pack


def _same(actual, expected) -> None:
    assert actual.model_dump() == expected.model_dump()


def test_pack_validates_against_its_json_schema(pack) -> None:
    import jsonschema

    jsonschema.validate(pack.model_dump(mode="json"), json.loads(METRICS_PACK_SCHEMA.read_text()))
    assert pack.parts.model_dump() == {"attachments": True, "reads": True, "device": True, "primary_device": True}


def test_integer_metrics_equal_numpy_on_the_raw_rows(source, pack) -> None:
    dsn = source[0]
    lengths = raw_values(dsn, pack, f"SELECT char_length(content) FROM messages WHERE {WINDOW}")
    per_conversation = raw_values(dsn, pack, f"SELECT count(*) FROM messages WHERE {WINDOW} GROUP BY conversation_id")
    per_user = raw_values(dsn, pack, f"SELECT count(*) FROM messages WHERE {WINDOW} GROUP BY sender_id")
    participants = raw_values(dsn, pack, f"""
        SELECT count(*) FROM conversation_participants
        WHERE conversation_id IN (SELECT conversation_id FROM messages WHERE {WINDOW}) GROUP BY conversation_id""")
    reads = raw_values(dsn, pack, f"""
        SELECT count(r.message_id) FROM messages m LEFT JOIN message_reads r ON r.message_id = m.id
        WHERE m.{WINDOW} GROUP BY m.id""")
    metrics = pack.metrics
    _same(metrics.message_length, distribution_from_values(lengths, "characters"))
    _same(metrics.messages_per_conversation, distribution_from_values(per_conversation, "messages"))
    _same(metrics.messages_per_user, distribution_from_values(per_user, "messages"))
    _same(metrics.participants_per_conversation, distribution_from_values(participants, "participants"))
    _same(metrics.reads.reads_per_message, distribution_from_values(reads, "reads"))
    assert pack.totals.messages == lengths.size
    assert pack.totals.active_conversations == per_conversation.size
    assert pack.totals.participants == int(participants.sum())
    assert metrics.reads.share_of_messages_read == pytest.approx(np.mean(reads > 0))


def test_hour_of_week_device_and_heavy_rooms_match_the_rows(source, pack) -> None:
    dsn = source[0]
    how = raw_values(dsn, pack, f"""
        SELECT (extract(isodow FROM created_at AT TIME ZONE 'UTC') - 1) * 24 + extract(hour FROM created_at AT TIME ZONE 'UTC')
        FROM messages WHERE {WINDOW}""").astype(int)
    expected = np.bincount(how, minlength=168)
    expected[(expected > 0) & (expected < 10)] = 0  # small cells are suppressed
    assert pack.metrics.hour_of_week.counts == expected.tolist()
    web = raw_values(dsn, pack, f"SELECT count(*) FROM messages WHERE {WINDOW} AND device = 'web'")
    assert pack.metrics.device.web == int(web[0])
    heavy = raw_values(dsn, pack, f"SELECT count(*) FROM messages WHERE {WINDOW} GROUP BY conversation_id HAVING count(*) > 1000")
    assert pack.metrics.heavy_rooms.count == heavy.size > 0
    assert pack.metrics.heavy_rooms.share_of_messages == pytest.approx(heavy.sum() / pack.totals.messages)


def test_heavy_room_sizes_and_participants_match_the_rows(source, pack) -> None:
    dsn = source[0]
    heavy = f"SELECT conversation_id FROM messages WHERE {WINDOW} GROUP BY 1 HAVING count(*) > 1000"
    sizes = raw_values(dsn, pack, f"SELECT count(*) FROM messages WHERE {WINDOW} GROUP BY conversation_id HAVING count(*) > 1000")
    participants = raw_values(dsn, pack, f"""
        SELECT count(*) FROM conversation_participants WHERE conversation_id IN ({heavy}) GROUP BY conversation_id""")
    assert 0 < participants.size == sizes.size < 10
    # Fewer heavy rooms than a cell (10): both distributions are left out, like any optional one.
    assert (pack.metrics.heavy_rooms.sizes, pack.metrics.heavy_rooms.participants) == (None, None)
    cells = int(participants.size)
    rooms = sample_pack(dsn, salt=SALT, min_cell_size=cells).pack.metrics.heavy_rooms
    _same(rooms.sizes, distribution_from_values(sizes, "messages", min_cell_size=cells))
    _same(rooms.participants, distribution_from_values(participants, "participants", min_cell_size=cells))


def test_continuous_metrics_are_exact_in_moments_and_close_in_shape(source, pack) -> None:
    dsn = source[0]
    gaps = raw_values(dsn, pack, f"""
        SELECT g FROM (SELECT extract(epoch FROM created_at - lag(created_at) OVER (PARTITION BY conversation_id
        ORDER BY created_at)) AS g FROM messages WHERE {WINDOW}) x WHERE g IS NOT NULL""")
    latency = raw_values(dsn, pack, f"""
        SELECT extract(epoch FROM r.read_at - m.created_at) FROM message_reads r JOIN messages m ON m.id = r.message_id
        WHERE m.{WINDOW}""")
    for actual, values in ((pack.metrics.inter_arrival_seconds, gaps), (pack.metrics.reads.latency_seconds, latency)):
        exact = distribution_from_values(values, "seconds")
        assert (actual.count, actual.min, actual.percentiles.max) == (exact.count, exact.min, exact.percentiles.max)
        assert actual.mean == pytest.approx(exact.mean, rel=1e-9)
        for name in ("p50", "p90", "p95", "p99"):
            assert getattr(actual.percentiles, name) == pytest.approx(getattr(exact.percentiles, name), rel=0.006)
        assert actual.histogram.edges[0] == exact.histogram.edges[0] and actual.histogram.edges[-1] == exact.histogram.edges[-1]
        # Same total; only entities in a micro-bin straddling an edge can land in the neighbour bin.
        assert sum(actual.histogram.counts) == sum(exact.histogram.counts)
        if actual.histogram.edges == exact.histogram.edges:
            moved = np.abs(np.array(actual.histogram.counts) - np.array(exact.histogram.counts)).sum()
            assert moved <= 0.02 * exact.count
    burst = pack.metrics.inter_arrival_seconds
    assert burst.burst_coefficient == pytest.approx(burst.percentiles.p95 / burst.percentiles.p50)


def test_attachments_match_the_rows(source, pack) -> None:
    dsn = source[0]
    join = f"FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.{WINDOW}"
    per_message = raw_values(dsn, pack, f"SELECT count(*) {join} GROUP BY a.message_id")
    images = raw_values(dsn, pack, f"SELECT a.size_bytes {join} AND a.kind = 'image'")
    attachments = pack.metrics.attachments
    _same(attachments.per_message, distribution_from_values(per_message, "attachments"))
    assert attachments.kinds.image == images.size
    assert attachments.size_bytes.image.count == images.size
    assert attachments.size_bytes.image.mean == pytest.approx(images.mean())
    assert attachments.share_of_messages == pytest.approx(per_message.size / pack.totals.messages)
    assert pack.totals.attachments == int(per_message.sum())


def test_prisma_mapping_gives_the_same_pack_as_the_reference_mapping(source, pack) -> None:
    dsn = source[0]
    prisma = sample_pack(dsn, mapping="prisma", schema="prisma_src", salt=SALT)
    assert prisma.pack.model_dump() == pack.model_dump()
    assert prisma.manifest.mapping.name == "prisma"


def test_absent_optional_parts_are_reported_absent(source) -> None:
    dsn = source[0]
    result = sample_pack(dsn, schema="bare_src", salt=SALT)
    pack = result.pack
    assert pack.parts.model_dump() == {"attachments": False, "reads": False, "device": False, "primary_device": False}
    metrics = pack.metrics
    assert (metrics.attachments, metrics.reads, metrics.device, metrics.primary_device) == (None, None, None, None)
    assert (pack.totals.attachments, pack.totals.reads) == (None, None)
    assert pack.totals.messages > 0 and pack.totals.users > 0
    assert "reads" not in {s.name for s in result.statements}
    assert not [s.name for s in result.statements if '"attachments"' in s.sql or '"message_reads"' in s.sql]


def test_integer_counts_match_the_shared_binning_rule() -> None:
    rng = np.random.default_rng(5)
    values = np.floor(rng.lognormal(3, 1.2, 5000)) + 1
    unique, counts = np.unique(values, return_counts=True)
    ledger = PrivacyLedger(min_cell_size=10)
    described = IntegerCounts(unique, counts).describe("messages", "messages_per_user", ledger)
    _same(described, distribution_from_values(values, "messages"))


def test_micro_counts_keep_exact_moments() -> None:
    rng = np.random.default_rng(6)
    values = np.concatenate([rng.lognormal(3, 2, 4000), [0.0, 0.0005]])
    keys = np.where(values < 0.001, -1, np.floor(np.log(np.maximum(values, 1e-12) / 0.001) * 200)).astype(int)
    unique, counts = np.unique(keys, return_counts=True)
    micro = MicroCounts.from_rows("seconds", dict(zip(unique.tolist(), counts.tolist())), values.size,
                                  values.min(), values.max(), values.sum())
    described = micro.describe("inter_arrival_seconds", PrivacyLedger(min_cell_size=1))
    exact = distribution_from_values(values, "seconds", min_cell_size=1)
    assert (described.count, described.min, described.percentiles.max) == (exact.count, exact.min, exact.percentiles.max)
    assert described.percentiles.p50 == pytest.approx(exact.percentiles.p50, rel=0.006)
    assert described.histogram.edges == exact.histogram.edges
    assert np.abs(np.array(described.histogram.counts) - exact.histogram.counts).sum() <= 0.03 * values.size


def test_large_windows_measure_receipts_on_a_systematic_sample(source, monkeypatch) -> None:
    from synth_pipeline.sampler import core

    dsn = source[0]
    monkeypatch.setattr(core, "RECEIPT_SAMPLE_MESSAGES", 5_000)
    sampled = sample_pack(dsn, salt=SALT)
    pack = sampled.pack
    k = -(-pack.totals.messages // 5_000)  # every k-th id: k = ceil(window messages / 5,000)
    assert k >= 2
    reads = raw_values(dsn, pack, f"""
        SELECT count(r.message_id) FROM messages m LEFT JOIN message_reads r ON r.message_id = m.id
        WHERE m.{WINDOW} AND mod(m.id, {k}) = 0 GROUP BY m.id""")
    latency = raw_values(dsn, pack, f"""
        SELECT extract(epoch FROM r.read_at - m.created_at) FROM message_reads r JOIN messages m ON m.id = r.message_id
        WHERE m.{WINDOW} AND mod(m.id, {k}) = 0""")
    assert pack.metrics.reads.sampled_share == pytest.approx(1 / k)
    _same(pack.metrics.reads.reads_per_message, distribution_from_values(reads, "reads"))
    assert pack.metrics.reads.latency_seconds.count == latency.size
    assert pack.totals.reads == k * latency.size
