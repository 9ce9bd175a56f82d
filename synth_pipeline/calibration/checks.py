"""Figures of a fitted distribution that the pack also states, so a fit can be held to them.

- heavy-room tail: share of conversations above the threshold, their share of messages, and the
  mean (the generator derives sizes from the totals' ratios, so the mean matters too);
- burst coefficient: p95/p50 of inter-arrival times drawn with `sample_mmpp2_sequence`, exactly
  as the generator draws them (fixed seed: the same spec always gives the same figure).
"""

from __future__ import annotations

import numpy as np

from synth_pipeline.calibration import families
from synth_pipeline.calibration.fit import Check
from synth_pipeline.contracts.distribution_spec import Fitted

INTEGER_GRID = 200_000
GEOMETRIC_POINTS = 20_000
RELATIVE_TOLERANCE = 0.15  # mean, heavy shares and burst coefficient, relative to the pack
ABSOLUTE_SHARE_SLACK = 0.005
BURST_DRAWS = 200_000
BURST_SEED = 20_240_601


def integer_masses(f: Fitted) -> tuple[np.ndarray, np.ndarray]:
    """(values, probabilities) of a discrete family on its support; geometric cells far out."""
    lo = max(int(np.floor(f.low if f.low is not None else 0.0)), 0)
    hi = int(np.ceil(f.high)) if f.high is not None else lo + INTEGER_GRID
    exact = np.arange(lo, min(hi, lo + INTEGER_GRID) + 1, dtype=np.float64)
    if hi > exact[-1]:
        far = np.unique(np.rint(np.geomspace(exact[-1] + 1, hi, GEOMETRIC_POINTS)))
        grid = np.concatenate([exact, far[far > exact[-1]]])
    else:
        grid = exact
    cumulative = families.cdf(f, grid)
    masses = np.diff(np.concatenate([[0.0], cumulative]))
    # A cell (g_{j-1}, g_j] of the geometric part is represented by its midpoint.
    values = grid.copy()
    values[exact.size:] = (grid[exact.size - 1:-1] + 1 + grid[exact.size:]) / 2
    return values, masses


def _close(fit: float, pack: float, slack: float = 0.0) -> bool:
    return abs(fit - pack) <= RELATIVE_TOLERANCE * abs(pack) + slack


def tail_check(mean: float, threshold: int | None = None, share_of_conversations: float = 0.0, share_of_messages: float = 0.0) -> Check:
    """Hold a per-conversation (or per-user) size distribution to the pack's mean and heavy tail."""

    def check(f: Fitted) -> tuple[bool, dict[str, float]]:
        values, masses = integer_masses(f)
        fit_mean = float(np.sum(values * masses))
        figures = {"mean_pack": mean, "mean_fit": fit_mean}
        passed = _close(fit_mean, mean)
        if threshold is not None:
            heavy = values > threshold
            fit_conv = float(masses[heavy].sum())
            fit_msgs = float(np.sum(values[heavy] * masses[heavy]) / max(fit_mean, 1e-300))
            figures.update({
                "heavy_share_of_conversations_pack": share_of_conversations,
                "heavy_share_of_conversations_fit": fit_conv,
                "heavy_share_of_messages_pack": share_of_messages,
                "heavy_share_of_messages_fit": fit_msgs,
            })
            passed = passed and _close(fit_conv, share_of_conversations, ABSOLUTE_SHARE_SLACK)
            passed = passed and _close(fit_msgs, share_of_messages, ABSOLUTE_SHARE_SLACK)
        return passed, figures

    return check


def simulated_burst_coefficient(f: Fitted) -> float:
    draws = families.sample_mmpp2_sequence(f, np.random.default_rng(BURST_SEED), BURST_DRAWS)
    p50, p95 = np.quantile(draws, [0.5, 0.95])
    return float(p95 / p50) if p50 > 0 else 0.0


def burst_check(burst_coefficient: float) -> Check:
    def check(f: Fitted) -> tuple[bool, dict[str, float]]:
        simulated = simulated_burst_coefficient(f)
        figures = {"burst_coefficient_pack": burst_coefficient, "burst_coefficient_fit": simulated}
        return _close(simulated, burst_coefficient), figures

    return check
