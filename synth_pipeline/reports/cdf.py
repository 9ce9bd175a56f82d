"""Cumulative distribution functions rebuilt from a metrics pack's `Distribution`.

Two packs describe the same quantity with different histogram edges (edges depend on each pack's
min and max, `contracts/binning.py`), so fidelity never compares bins directly. It rebuilds each
side as a continuous, piecewise-linear CDF and compares the two functions:

- knots at the histogram edges: F(edges[0]) = 0, F(edges[i+1]) = cumulative share of bins 0..i,
  the counts normalised by their own sum (suppressed entities have no known position);
- anchored by the percentiles: inside a bin wider than one unit, where the histogram only says
  "somewhere in here", the pack's p50/p90/p95/p99, min and max add exact knots (a knot is only
  added when it falls strictly inside a bin and its level lies strictly between the bin's end
  levels, so the function stays monotone);
- a histogram suppressed whole (fewer entities than the small-cell size) falls back to the
  percentiles alone: min -> 0, p50 -> 0.5, ..., max -> 1.

Integer units (messages, participants, characters, ...) spread the entities with value k
uniformly over the bin [k, k+1), which is exactly how the binning rule assigns them; a percentile
value v of an integer unit is therefore placed at the middle of its cell, v + 0.5, and the max at
max + 1 (the right end of its cell).

Between knots both functions are linear, so the largest gap between two of them is reached at a
knot of one or the other: evaluating on the union of knots gives the exact Kolmogorov-Smirnov
distance of the two piecewise-linear CDFs, with no grid resolution to choose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth_pipeline.contracts.binning import is_integer_unit
from synth_pipeline.contracts.metrics_pack import Distribution

_PERCENTILE_LEVELS = (("p50", 0.50), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99))


@dataclass(frozen=True)
class PiecewiseCdf:
    """A continuous CDF: linear between strictly increasing knots `x`, 0 before, 1 after."""

    x: np.ndarray
    f: np.ndarray

    def __call__(self, points) -> np.ndarray:
        return np.interp(np.asarray(points, dtype=np.float64), self.x, self.f, left=0.0, right=1.0)

    def quantile(self, levels) -> np.ndarray:
        """Inverse CDF (the smallest x reaching each level), for plots and summaries."""
        f, keep = np.unique(self.f, return_index=True)
        return np.interp(np.asarray(levels, dtype=np.float64), f, self.x[keep])


def _anchor_points(d: Distribution) -> list[tuple[float, float]]:
    """(x, level) pairs from the pack's exact statistics, in the CDF's coordinates."""
    shift = 0.5 if is_integer_unit(d.unit) else 0.0
    top = d.percentiles.max + (1.0 if is_integer_unit(d.unit) else 0.0)
    points = [(float(d.min), 0.0)]
    points += [(float(getattr(d.percentiles, name)) + shift, level) for name, level in _PERCENTILE_LEVELS]
    points.append((float(top), 1.0))
    return points


def _strictly_increasing(x: np.ndarray, f: np.ndarray) -> PiecewiseCdf:
    """Sort by x, merge equal x (keeping the highest level), force levels monotone in [0, 1]."""
    order = np.argsort(x, kind="stable")
    x, f = x[order], np.clip(f[order], 0.0, 1.0)
    unique_x, start = np.unique(x, return_index=True)
    merged = np.maximum.reduceat(f, start)
    merged = np.maximum.accumulate(merged)
    if unique_x.size == 1:  # a point mass: give it a unit-width ramp so the CDF stays continuous
        return PiecewiseCdf(np.array([unique_x[0], unique_x[0] + 1.0]), np.array([0.0, 1.0]))
    merged[0], merged[-1] = 0.0, 1.0
    return PiecewiseCdf(unique_x, merged)


def _from_percentiles(d: Distribution) -> PiecewiseCdf:
    points = _anchor_points(d)
    return _strictly_increasing(np.array([p[0] for p in points]), np.array([p[1] for p in points]))


def cdf_of(d: Distribution) -> PiecewiseCdf:
    """The piecewise-linear CDF of a pack distribution (see the module docstring)."""
    counts = np.asarray(d.histogram.counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return _from_percentiles(d)
    edges = np.asarray(d.histogram.edges, dtype=np.float64)
    levels = np.concatenate([[0.0], np.cumsum(counts) / total])
    xs, fs = list(edges), list(levels)
    min_width = 1.0 if is_integer_unit(d.unit) else 0.0
    for x, level in _anchor_points(d):
        i = int(np.searchsorted(edges, x, side="right")) - 1
        if i < 0 or i >= len(edges) - 1:
            continue
        lo, hi = edges[i], edges[i + 1]
        if not (lo < x < hi) or hi - lo <= min_width:
            continue
        if levels[i] < level < levels[i + 1]:
            xs.append(x)
            fs.append(level)
    return _strictly_increasing(np.array(xs), np.array(fs))


def ks_distance(a: PiecewiseCdf, b: PiecewiseCdf) -> float:
    """sup |Fa - Fb|, exact for piecewise-linear CDFs: the sup is reached at a knot."""
    grid = np.union1d(a.x, b.x)
    return float(np.max(np.abs(a(grid) - b(grid))))
