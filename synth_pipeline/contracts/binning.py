"""One binning rule for every histogram in a metrics pack, and the small-cell rule.

The sampler computes bin edges here from server-side min/max aggregates and lets PostgreSQL count
entities per bin (`width_bucket(value, edges)`); calibration and fidelity read the same edges; tests
and the calibration recovery tests build packs from numpy arrays with `distribution_from_values`,
which applies exactly the same rule. Edges depend only on (min, max, unit).

Integer-valued units get one bin per integer while that fits in `MAX_BINS` bins; beyond that,
one bin per integer for the first `EXACT_INTEGER_BINS` values and geometrically growing integer
bins for the tail (the heavy tail stays resolvable). Continuous units (seconds, bytes) get
geometric bins from a unit-dependent floor, plus a [0, floor) bin when the minimum is below it.
"""

from __future__ import annotations

import numpy as np

from synth_pipeline.contracts.metrics_pack import Distribution, Histogram, Percentiles

MAX_BINS = 96
EXACT_INTEGER_BINS = 24
INTEGER_UNITS = frozenset({"characters", "messages", "participants", "reads", "attachments"})
CONTINUOUS_FLOOR = {"seconds": 0.001, "bytes": 1.0}
PERCENTILES = (0.50, 0.90, 0.95, 0.99)


def is_integer_unit(unit: str) -> bool:
    return unit in INTEGER_UNITS


def histogram_edges(min_value: float, max_value: float, unit: str) -> tuple[str, list[float]]:
    """(scale, edges) covering [min_value, max_value]; the last bin includes max_value."""
    if not np.isfinite(min_value) or not np.isfinite(max_value) or max_value < min_value:
        raise ValueError(f"invalid range [{min_value}, {max_value}] for a histogram")
    if is_integer_unit(unit):
        lo, hi = int(np.floor(min_value)), int(np.floor(max_value))
        if hi - lo + 1 <= MAX_BINS:
            return "linear", [float(v) for v in range(lo, hi + 2)]
        exact = list(range(lo, lo + EXACT_INTEGER_BINS))
        tail = np.geomspace(lo + EXACT_INTEGER_BINS, hi + 1, MAX_BINS - EXACT_INTEGER_BINS + 1)
        tail_edges = np.unique(np.ceil(tail).astype(np.int64))
        edges = exact + [int(v) for v in tail_edges if v > exact[-1]]
        if edges[-1] < hi + 1:
            edges.append(hi + 1)
        return "log", [float(v) for v in edges]
    floor = CONTINUOUS_FLOOR.get(unit, 0.001)
    lo = max(float(min_value), floor)
    hi = float(max_value)
    if hi <= lo:
        edges = [min(float(min_value), lo), max(hi, lo) + floor]
        return "linear", edges
    geometric = np.geomspace(lo, hi, MAX_BINS - 1 if min_value < floor else MAX_BINS)
    edges = [float(v) for v in geometric]
    edges[-1] = hi
    if min_value < floor:
        edges = [float(min_value)] + edges
    # Rounding to 6 significant digits keeps the JSON short and the edges strictly increasing.
    rounded = [float(f"{v:.6g}") for v in edges]
    rounded[0], rounded[-1] = min(rounded[0], float(min_value)), max(rounded[-1], hi)
    return "log", sorted(set(rounded))


def bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Entities per bin, the last bin closed on the right (same as the sampler's SQL)."""
    e = np.asarray(edges, dtype=np.float64)
    index = np.searchsorted(e, np.asarray(values, dtype=np.float64), side="right") - 1
    index = np.clip(index, 0, len(e) - 2)
    return np.bincount(index, minlength=len(e) - 1).astype(np.int64)


def merge_small_cells(edges: list[float], counts: list[int], min_cell_size: int) -> tuple[list[float], list[int], int, int]:
    """Merge every non-empty bin with fewer than `min_cell_size` entities into its neighbours.

    Bins are merged left to right until each holds at least `min_cell_size` entities; a short
    remainder at the right end joins the last kept bin. Empty bins describe nobody and stay.
    When the whole histogram holds fewer than `min_cell_size` entities it is suppressed.
    Returns (edges, counts, merged_cells, suppressed_entities).
    """
    total = int(sum(counts))
    if total == 0:
        return list(edges), list(counts), 0, 0
    if total < min_cell_size:
        return [edges[0], edges[-1]], [0], max(len(counts) - 1, 0), total
    out_edges: list[float] = [edges[0]]
    out_counts: list[int] = []
    merged = 0
    run_sum, run_len = 0, 0
    for i, count in enumerate(counts):
        run_sum += int(count)
        run_len += 1
        if run_sum == 0 or run_sum >= min_cell_size:
            out_edges.append(edges[i + 1])
            out_counts.append(run_sum)
            merged += run_len - 1
            run_sum, run_len = 0, 0
    if run_len:
        # A short (or empty) remainder: fold it, and any empty bins before it, into the last non-empty bin.
        while out_counts and out_counts[-1] == 0:
            out_counts.pop()
            out_edges.pop()
            run_len += 1
        out_counts[-1] += run_sum
        out_edges[-1] = edges[-1]
        merged += run_len
    return out_edges, out_counts, merged, 0


def percentiles_of(values: np.ndarray) -> Percentiles:
    """Continuous percentiles (linear interpolation, like SQL percentile_cont)."""
    v = np.asarray(values, dtype=np.float64)
    p50, p90, p95, p99 = np.quantile(v, PERCENTILES, method="linear")
    return Percentiles(p50=float(p50), p90=float(p90), p95=float(p95), p99=float(p99), max=float(v.max()))


def distribution_from_values(values, unit: str, min_cell_size: int = 10) -> Distribution:
    """A pack `Distribution` from raw values, by the same rules the sampler applies in SQL."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("cannot describe an empty distribution")
    scale, edges = histogram_edges(float(v.min()), float(v.max()), unit)
    edges_out, counts_out, _, suppressed = merge_small_cells(edges, bin_counts(v, edges).tolist(), min_cell_size)
    return Distribution(
        unit=unit,
        count=int(v.size),
        mean=float(v.mean()),
        min=float(v.min()),
        percentiles=percentiles_of(v),
        histogram=Histogram(scale=scale, edges=edges_out, counts=counts_out, suppressed=suppressed),
    )
