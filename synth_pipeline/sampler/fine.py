"""From the server's frequency tables to pack distributions, by the shared binning rule.

The server returns, per metric, a *fine* table instead of rows:
- integer units (characters, messages, participants, reads, attachments): the exact count of
  entities per value. Everything is then exact: count, mean, min, the percentiles (linear
  interpolation, the same as SQL percentile_cont and numpy's default) and the histogram
  (`contracts.binning` edges from min and max). `IntegerCounts.describe` equals
  `binning.distribution_from_values` on the expanded values (a test checks it).
- continuous units (seconds, bytes): counts per geometric micro-bin (key k covers
  [floor*e^(k/R), floor*e^((k+1)/R)), key -1 everything below floor) plus the exact count, min,
  max and sum. Count, mean, min and max are exact; percentiles are interpolated geometrically
  inside a micro-bin (error below 1/R relative: 0.5% at R = 200) and each micro-bin is binned at
  its geometric centre (only the micro-bin straddling a histogram edge can be misplaced).

Why not two round trips (aggregates first, then counts per final bin with edges as parameters)?
That rescans every source table a second time; see docs/sampler.md for the measurements.
Histogram counts pass through `noise.PrivacyLedger.noise_counts` (epsilon mode) before the small-cell merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from synth_pipeline.contracts.binning import CONTINUOUS_FLOOR, PERCENTILES, histogram_edges, merge_small_cells
from synth_pipeline.contracts.metrics_pack import Distribution, Histogram, Percentiles

MICRO_BINS_PER_E = 200


class HistogramPrivacy(Protocol):
    min_cell_size: int

    def noise_counts(self, release: str, counts: np.ndarray) -> np.ndarray: ...

    def note_histogram(self, merged_cells: int, suppressed_entities: int) -> None: ...


def weighted_bin_counts(values: np.ndarray, weights: np.ndarray, edges: list[float]) -> np.ndarray:
    """`binning.bin_counts` for weighted values: same half-open bins, last bin closed."""
    e = np.asarray(edges, dtype=np.float64)
    index = np.clip(np.searchsorted(e, values, side="right") - 1, 0, len(e) - 2)
    return np.bincount(index, weights=weights, minlength=len(e) - 1).round().astype(np.int64)


def _histogram(unit: str, minimum: float, maximum: float, values: np.ndarray, weights: np.ndarray,
               release: str, privacy: HistogramPrivacy) -> Histogram:
    scale, edges = histogram_edges(minimum, maximum, unit)
    counts = privacy.noise_counts(release, weighted_bin_counts(values, weights, edges))
    edges_out, counts_out, merged, suppressed = merge_small_cells(edges, counts.tolist(), privacy.min_cell_size)
    privacy.note_histogram(merged, suppressed)
    return Histogram(scale=scale, edges=edges_out, counts=counts_out, suppressed=suppressed)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's own linear interpolation (from the nearer end), so percentiles equal np.quantile bit for bit."""
    return np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)


@dataclass(frozen=True)
class IntegerCounts:
    """Exact frequency table: `counts[i]` entities have value `values[i]` (values ascending)."""

    values: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_pairs(cls, pairs: dict[float, int]) -> IntegerCounts:
        kept = sorted((float(v), int(n)) for v, n in pairs.items() if n > 0)
        return cls(np.array([v for v, _ in kept], dtype=np.float64), np.array([n for _, n in kept], dtype=np.int64))

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def value_sum(self) -> float:
        return float((self.values * self.counts).sum())

    def percentiles(self) -> Percentiles:
        cumulative = np.cumsum(self.counts)
        ranks = np.asarray(PERCENTILES) * (self.total - 1)

        def value_at(rank: np.ndarray) -> np.ndarray:
            return self.values[np.searchsorted(cumulative, rank, side="right")]

        lower, upper = value_at(np.floor(ranks)), value_at(np.ceil(ranks))
        p50, p90, p95, p99 = _lerp(lower, upper, ranks - np.floor(ranks))
        return Percentiles(p50=float(p50), p90=float(p90), p95=float(p95), p99=float(p99), max=float(self.values[-1]))

    def describe(self, unit: str, release: str, privacy: HistogramPrivacy) -> Distribution:
        return Distribution(
            unit=unit,
            count=self.total,
            mean=self.value_sum / self.total,
            min=float(self.values[0]),
            percentiles=self.percentiles(),
            histogram=_histogram(unit, float(self.values[0]), float(self.values[-1]), self.values, self.counts, release, privacy),
        )


@dataclass(frozen=True)
class MicroCounts:
    """Continuous values as counts per geometric micro-bin, with exact count/min/max/sum."""

    unit: str
    keys: np.ndarray
    counts: np.ndarray
    total: int
    minimum: float
    maximum: float
    value_sum: float
    per_e: int = MICRO_BINS_PER_E

    @classmethod
    def from_rows(cls, unit: str, pairs: dict[float, int], total: int, minimum: float, maximum: float,
                  value_sum: float) -> MicroCounts:
        kept = sorted((int(k), int(n)) for k, n in pairs.items() if n > 0)
        return cls(unit, np.array([k for k, _ in kept], dtype=np.int64), np.array([n for _, n in kept], dtype=np.int64),
                   int(total), float(minimum), float(maximum), float(value_sum))

    @property
    def floor(self) -> float:
        return CONTINUOUS_FLOOR[self.unit]

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Each micro-bin's [low, high), clipped to the exact [min, max]."""
        low = np.where(self.keys < 0, self.minimum, self.floor * np.exp(self.keys / self.per_e))
        high = np.where(self.keys < 0, self.floor, self.floor * np.exp((self.keys + 1) / self.per_e))
        return np.clip(low, self.minimum, self.maximum), np.clip(high, self.minimum, self.maximum)

    def representatives(self) -> np.ndarray:
        low, high = self._bounds()
        centre = np.where((self.keys >= 0) & (low > 0), np.sqrt(low * high), low)
        return np.clip(centre, self.minimum, self.maximum)

    def percentiles(self) -> Percentiles:
        low, high = self._bounds()
        cumulative = np.cumsum(self.counts)
        before = cumulative - self.counts
        out = []
        for rank in np.asarray(PERCENTILES) * (self.total - 1):
            i = min(int(np.searchsorted(cumulative, rank, side="right")), len(self.counts) - 1)
            fraction = float(np.clip((rank - before[i] + 0.5) / self.counts[i], 0.0, 1.0))
            if self.keys[i] >= 0 and low[i] > 0:
                value = low[i] * (high[i] / low[i]) ** fraction
            else:
                value = low[i] + (high[i] - low[i]) * fraction
            out.append(float(np.clip(value, self.minimum, self.maximum)))
        p50, p90, p95, p99 = out
        return Percentiles(p50=p50, p90=p90, p95=p95, p99=p99, max=self.maximum)

    def describe(self, release: str, privacy: HistogramPrivacy) -> Distribution:
        return Distribution(
            unit=self.unit,
            count=self.total,
            mean=self.value_sum / self.total,
            min=self.minimum,
            percentiles=self.percentiles(),
            histogram=_histogram(self.unit, self.minimum, self.maximum, self.representatives(), self.counts, release, privacy),
        )


def empty_distribution(unit: str) -> Distribution:
    """A source part that exists but has no entity in the window (e.g. no receipts at all)."""
    zero = Percentiles(p50=0.0, p90=0.0, p95=0.0, p99=0.0, max=0.0)
    scale, edges = histogram_edges(0.0, 0.0, unit)
    return Distribution(unit=unit, count=0, mean=0.0, min=0.0, percentiles=zero,
                        histogram=Histogram(scale=scale, edges=edges, counts=[0] * (len(edges) - 1), suppressed=0))
