"""A pack histogram as calibration sees it, and how a fitted family is compared with it.

Everything here follows the pack's histogram convention (`contracts.metrics_pack`): bin i holds
edges[i] <= x < edges[i+1], the last bin is closed. Discrete quantities (integer units, and byte
sizes, which are integers binned on a continuous scale) put P(edges[i] <= X < edges[i+1]) =
P(X <= ceil(edges[i+1]) - 1) - P(X <= ceil(edges[i]) - 1) in bin i. The mass a family puts
outside the histogram's range is folded into the end bins, so a family without truncation is
compared fairly with a histogram that starts at the observed minimum and ends at the maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth_pipeline.calibration import families
from synth_pipeline.contracts.binning import PERCENTILES, is_integer_unit
from synth_pipeline.contracts.distribution_spec import Fitted
from synth_pipeline.contracts.metrics_pack import Distribution
from synth_pipeline.errors import SynthError

PERCENTILE_LEVELS = PERCENTILES  # the levels of the pack's p50, p90, p95, p99
_TINY = 1e-300


@dataclass(frozen=True)
class Binned:
    """One pack distribution: the histogram plus the summary figures next to it."""

    path: str  # JSON path in the pack, for messages ("metrics.message_length")
    unit: str
    discrete: bool
    edges: np.ndarray
    counts: np.ndarray
    count: int
    minimum: float
    maximum: float
    mean: float
    percentiles: tuple[float, ...]  # values at PERCENTILE_LEVELS

    @property
    def total(self) -> int:
        """Entities in the bins (the suppressed ones have no known place)."""
        return int(self.counts.sum())

    def cumulative(self) -> np.ndarray:
        """Share of the binned entities below each edge: 0 at edges[0], 1 at edges[-1]."""
        return np.concatenate([[0.0], np.cumsum(self.counts) / max(self.total, 1)])

    def nonempty_bins(self) -> np.ndarray:
        return np.flatnonzero(self.counts > 0)


def binned(dist: Distribution, path: str) -> Binned:
    """Check the histogram's shape (the schema cannot) and convert it to arrays."""
    hist = dist.histogram
    edges = np.asarray(hist.edges, dtype=np.float64)
    counts = np.asarray(hist.counts, dtype=np.int64)
    if edges.size != counts.size + 1:
        raise SynthError(f"{path}.histogram: {counts.size} counts need {counts.size + 1} edges, found {edges.size}; re-run synth-pipeline sample")
    # An empty histogram describes nobody: its edges only need to be numbers in order.
    increasing = np.all(np.diff(edges) >= 0) if counts.sum() == 0 else np.all(np.diff(edges) > 0)
    if not np.all(np.isfinite(edges)) or not increasing:
        raise SynthError(f"{path}.histogram.edges: must be finite and strictly increasing; re-run synth-pipeline sample")
    p = dist.percentiles
    return Binned(
        path=path,
        unit=dist.unit,
        discrete=is_integer_unit(dist.unit) or dist.unit == "bytes",
        edges=edges,
        counts=counts,
        count=int(dist.count),
        minimum=float(dist.min),
        maximum=float(p.max),
        mean=float(dist.mean),
        percentiles=(float(p.p50), float(p.p90), float(p.p95), float(p.p99)),
    )


def model_cdf_at_edges(f: Fitted, edges: np.ndarray) -> np.ndarray:
    """P(X < edge) for discrete families, P(X <= edge) for continuous ones; tails folded in."""
    x = np.ceil(edges) - 1.0 if f.discrete else edges
    out = np.asarray(families.cdf(f, x), dtype=np.float64).copy()
    out[0], out[-1] = 0.0, 1.0
    return np.maximum.accumulate(out)


def bin_probabilities(f: Fitted, edges: np.ndarray) -> np.ndarray:
    return np.diff(model_cdf_at_edges(f, edges))


def log_likelihood(f: Fitted, b: Binned) -> float:
    """Multinomial log-likelihood of the histogram counts under the family (binned ML)."""
    p = bin_probabilities(f, b.edges)
    mask = b.counts > 0
    return float(np.sum(b.counts[mask] * np.log(np.maximum(p[mask], _TINY))))


def ks_distance(f: Fitted, b: Binned) -> float:
    """Largest gap between the family's CDF and the histogram's CDF at the bin edges."""
    return float(np.max(np.abs(model_cdf_at_edges(f, b.edges) - b.cumulative())))


def ks_tolerance(b: Binned, floor: float, noise: float) -> float:
    """`floor`, widened to the KS critical value `noise / sqrt(n)` for small histograms."""
    return max(floor, noise / np.sqrt(max(b.total, 1)))
