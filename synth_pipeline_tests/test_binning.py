"""The pack's binning and small-cell rules."""

from __future__ import annotations

import numpy as np
import pytest

from synth_pipeline.contracts.binning import (
    MAX_BINS,
    bin_counts,
    distribution_from_values,
    histogram_edges,
    merge_small_cells,
)


def test_small_integer_ranges_get_one_bin_per_integer() -> None:
    scale, edges = histogram_edges(1, 10, "participants")
    assert scale == "linear" and edges == [float(v) for v in range(1, 12)]


@pytest.mark.parametrize("unit,lo,hi", [("messages", 1, 250_000), ("characters", 0, 5000), ("seconds", 0, 2.6e6), ("bytes", 120, 2e9)])
def test_edges_are_increasing_cover_the_range_and_are_bounded(unit: str, lo: float, hi: float) -> None:
    _, edges = histogram_edges(lo, hi, unit)
    assert all(a < b for a, b in zip(edges, edges[1:]))
    assert edges[0] <= lo and edges[-1] >= hi
    assert len(edges) - 1 <= MAX_BINS


def test_bin_counts_close_the_last_bin() -> None:
    counts = bin_counts(np.array([1, 2, 2, 3]), [1.0, 2.0, 3.0])
    assert counts.tolist() == [1, 3]


def test_merge_small_cells_never_leaves_a_small_nonempty_bin() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 15, size=60).tolist()
    edges = [float(i) for i in range(61)]
    out_edges, out_counts, merged, suppressed = merge_small_cells(edges, counts, 10)
    assert suppressed == 0 and merged > 0
    assert sum(out_counts) == sum(counts)
    assert all(c == 0 or c >= 10 for c in out_counts)
    assert out_edges[0] == 0 and out_edges[-1] == 60 and len(out_edges) == len(out_counts) + 1


def test_tiny_population_is_suppressed() -> None:
    assert merge_small_cells([0.0, 1.0, 2.0], [3, 4], 10) == ([0.0, 2.0], [0], 1, 7)


def test_distribution_from_values() -> None:
    values = np.random.default_rng(1).lognormal(3, 1, 10_000).round() + 1
    dist = distribution_from_values(values, "characters")
    assert dist.count == 10_000
    assert dist.percentiles.p50 <= dist.percentiles.p90 <= dist.percentiles.max == values.max()
    assert sum(dist.histogram.counts) + dist.histogram.suppressed == 10_000
