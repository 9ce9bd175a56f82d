"""Shared helpers for the sampler tests: a salt, a fake production database per module, raw values.

The raw-value helpers query the test database directly (the *test* may read rows; the sampler
may not) so that the sampler's aggregates can be compared with numpy on the same data.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import psycopg
import pytest

from synth_pipeline.sampler.fake_production import FakeProductionReport, build_fake_production
from synth_pipeline.sampler.tokens import Salt

TEST_SALT = "sampler-test-salt-0123456789abcdef"
SMALL_MESSAGES = 30_000
SEED = 11


@pytest.fixture()
def salt_env(monkeypatch: pytest.MonkeyPatch) -> Salt:
    monkeypatch.setenv("ANONYMIZATION_SALT", TEST_SALT)
    return Salt(TEST_SALT.encode())


def build_small(dsn: str, schema: str = "public", mapping: str = "reference", **options) -> FakeProductionReport:
    options.setdefault("messages", SMALL_MESSAGES)
    options.setdefault("seed", SEED)
    return build_fake_production(dsn, schema=schema, mapping=mapping, replace=True, **options)


def window_bounds(pack) -> tuple[datetime, datetime]:
    parse = lambda text: datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)  # noqa: E731
    return parse(pack.window.start), parse(pack.window.end)


def raw_values(dsn: str, pack, query: str) -> np.ndarray:
    """Run `query` (with %(start)s / %(end)s for the pack's window) and return its first column."""
    start, end = window_bounds(pack)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(query, {"start": start, "end": end}).fetchall()
    return np.array([float(r[0]) for r in rows], dtype=np.float64)


WINDOW = "created_at > %(start)s AND created_at <= %(end)s"
