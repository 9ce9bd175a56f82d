"""Fit one pack histogram: binned maximum likelihood per candidate family, AIC to choose.

The criterion (stated in every `gof`): each candidate family is fitted by maximising the
multinomial log-likelihood of the histogram counts (`binned.log_likelihood`); the candidate with
the lowest AIC = 2k - 2 log L wins (among candidates within AIC_PARSIMONY = 2 of the lowest, the
one with the fewest parameters: a mixture that gains less than that is noise). Its goodness of
fit is the KS distance between its CDF and the histogram's CDF at the bin edges. When that
distance exceeds the tolerance (`KS_TOLERANCE`, widened to `KS_NOISE / sqrt(n)` for small
histograms, the 1% critical value of the KS test), or a parameter-specific check fails (mean,
heavy-room tail, burst coefficient), the parameter falls back to the `empirical` quantile
function of the histogram, which matches it at every edge.

Degenerate histograms get degenerate fits instead of an optimiser run: all mass in one integer
-> `constant`; all mass in one wider bin, or every bin suppressed -> `empirical` through the pack's
percentiles; nothing at all -> `constant` at the caller's default. Everything is deterministic:
optimiser starts come from the pack's percentiles, and checks that sample use fixed seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from synth_pipeline.calibration.binned import (
    PERCENTILE_LEVELS,
    Binned,
    ks_distance,
    ks_tolerance,
    log_likelihood,
)
from synth_pipeline.contracts.distribution_spec import Fitted, GoodnessOfFit

KS_TOLERANCE = 0.02
KS_NOISE = 1.63
# Candidates within this many AIC units of the lowest are equally supported: take the simplest.
AIC_PARSIMONY = 2.0
# A check returns (passed, figures): figures go into gof.checks as <name>_pack / <name>_fit.
Check = Callable[[Fitted], tuple[bool, dict[str, float]]]


@dataclass
class Outcome:
    """A fitted parameter plus the human-readable notes the report prints next to it."""

    fitted: Fitted
    notes: list[str] = field(default_factory=list)


def sig(value: float, digits: int = 6) -> float:
    """Round to `digits` significant digits: short JSON, and the spec's bytes stay stable."""
    return float(f"{float(value):.{digits}g}")


def _model(family: str, params: dict, low: float | None, high: float | None, discrete: bool) -> Fitted:
    # model_construct: the optimiser builds thousands of these; the final one is validated.
    return Fitted.model_construct(family=family, params=params, low=low, high=high, discrete=discrete, gof=None)


def _positive(x: float, fallback: float) -> float:
    return x if np.isfinite(x) and x > 0 else fallback


# --- candidate families -------------------------------------------------------------------


def _fit_lognormal(b: Binned, low: float | None, high: float | None) -> dict:
    p50, p90 = b.percentiles[0], b.percentiles[1]
    mu0 = np.log(_positive(p50, _positive(b.mean, 1.0)))
    sigma0 = np.clip((np.log(_positive(p90, 1.0)) - mu0) / 1.2816, 0.05, 5.0) if p90 > 0 else 1.0
    floor = np.log(_positive(low or 0.0, 1e-3))
    ceiling = np.log(_positive(high or 0.0, _positive(b.maximum, 1.0)))

    def nll(theta: np.ndarray) -> float:
        return -log_likelihood(_model("lognormal", {"mu": theta[0], "sigma": np.exp(theta[1])}, low, high, b.discrete), b)

    result = optimize.minimize(
        nll, x0=[mu0, np.log(sigma0)], method="Nelder-Mead",
        bounds=[(floor - 15.0, ceiling + 5.0), (np.log(0.01), np.log(20.0))],
        options={"xatol": 1e-6, "fatol": 1e-4, "maxiter": 4000},
    )
    return {"mu": float(result.x[0]), "sigma": float(np.exp(result.x[1]))}


def _fit_power_law(b: Binned, low: float | None, high: float | None) -> dict:
    def nll(alpha: float) -> float:
        return -log_likelihood(_model("discrete_power_law", {"alpha": alpha}, low, high, True), b)

    result = optimize.minimize_scalar(nll, bounds=(0.05, 6.0), method="bounded", options={"xatol": 1e-7})
    return {"alpha": float(result.x)}


def _fit_exponential(b: Binned, low: float | None, high: float | None) -> dict:
    rate0 = 1.0 / _positive(b.mean, _positive(b.percentiles[0], 1.0))

    def nll(log_rate: float) -> float:
        return -log_likelihood(_model("exponential", {"rate": np.exp(log_rate)}, None, None, False), b)

    result = optimize.minimize_scalar(nll, bounds=(np.log(rate0) - 12, np.log(rate0) + 12), method="bounded", options={"xatol": 1e-9})
    return {"rate": float(np.exp(result.x))}


def _mixture_params(theta: np.ndarray, k: int) -> dict:
    logits = np.concatenate([[0.0], theta[: k - 1]])
    weights = np.exp(logits - logits.max())
    rates = np.exp(theta[k - 1:])
    order = np.argsort(-rates, kind="stable")  # fastest component first: a stable, readable order
    return {"weights": (weights[order] / weights.sum()).tolist(), "rates": rates[order].tolist()}


def _fit_mixture(b: Binned, k: int) -> dict:
    # Starts: component rates at the inverse of spread-out quantiles (bursts fast, idles slow).
    scales = [_positive(v, 1.0) for v in (b.percentiles[0] / 2, b.percentiles[2], b.percentiles[3])]
    if k == 2:
        scales = [scales[0], scales[2]]

    def nll(theta: np.ndarray) -> float:
        return -log_likelihood(_model("exponential_mixture", _mixture_params(theta, k), None, None, False), b)

    best = None
    for start_weight in (0.5, 0.8):
        logits = [np.log((1 - start_weight) / start_weight / (k - 1))] * (k - 1)
        x0 = np.array(logits + [-np.log(s) for s in scales])
        result = optimize.minimize(nll, x0=x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-4, "maxiter": 6000})
        if best is None or result.fun < best.fun:
            best = result
    return _mixture_params(best.x, k)


# Switching probabilities are not identifiable from a marginal histogram: only the stationary
# burst share is. We fix p_burst_to_idle + p_idle_to_burst = MMPP_SWITCH_SUM, i.e. the state's
# lag-1 autocorrelation is 1 - 0.5 = 0.5: runs of bursts and idles, same marginal distribution.
MMPP_SWITCH_SUM = 0.5


def mmpp2_from_mixture(params: dict) -> dict:
    w_burst = float(params["weights"][0])
    rate_burst, rate_idle = (float(r) for r in params["rates"])
    return {
        "rate_burst": rate_burst,
        "rate_idle": rate_idle,
        "p_idle_to_burst": w_burst * MMPP_SWITCH_SUM,
        "p_burst_to_idle": (1.0 - w_burst) * MMPP_SWITCH_SUM,
    }


# Candidate name -> (family written to the spec, number of free parameters, fitter).
CANDIDATES: dict[str, tuple[str, int, Callable[[Binned, float | None, float | None], dict]]] = {
    "lognormal": ("lognormal", 2, _fit_lognormal),
    "discrete_power_law": ("discrete_power_law", 1, _fit_power_law),
    "exponential": ("exponential", 1, _fit_exponential),
    "exponential_mixture": ("exponential_mixture", 3, lambda b, low, high: _fit_mixture(b, 2)),
    "exponential_mixture_3": ("exponential_mixture", 5, lambda b, low, high: _fit_mixture(b, 3)),
    # An MMPP's marginal is the 2-component mixture; see MMPP_SWITCH_SUM for the persistence.
    "mmpp2": ("mmpp2", 3, lambda b, low, high: mmpp2_from_mixture(_fit_mixture(b, 2))),
}
# Families that take the [low, high] truncation (the others are clipped by `families.sample`).
TRUNCATED = frozenset({"lognormal", "discrete_power_law"})


def _rounded(params: dict) -> dict:
    return {k: [sig(x) for x in v] if isinstance(v, list) else sig(v) for k, v in params.items()}


# --- empirical and degenerate fits -----------------------------------------------------------


def _collapse_flat_runs(probabilities: np.ndarray, values: np.ndarray) -> tuple[list[float], list[float]]:
    """Keep the first and last point of each run of equal probability (empty bins): a jump."""
    keep = np.ones(probabilities.size, dtype=bool)
    same_as_prev = np.concatenate([[False], probabilities[1:] == probabilities[:-1]])
    same_as_next = np.concatenate([probabilities[:-1] == probabilities[1:], [False]])
    keep &= ~(same_as_prev & same_as_next)
    return probabilities[keep].tolist(), values[keep].tolist()


def empirical(b: Binned) -> Fitted:
    """The histogram's quantile function, through every edge and the pack's percentiles.

    Discrete quantities map the edge e to ceil(e) - 0.5, so that rounding a draw puts exactly
    the bin's mass on the bin's integers. Inside a bin the function is linear, except in wide
    bins (merged small cells in a heavy tail), which share one power-law shape chosen so that
    the distribution's mean equals the pack's mean (`_mean_matching_alphas`).
    """
    probabilities = np.round(b.cumulative(), 9)
    values = np.ceil(b.edges) - 0.5 if b.discrete else b.edges.copy()
    probabilities, values = _with_percentile_anchors(b, probabilities, values)
    probs, vals = _collapse_flat_runs(probabilities, values)
    params: dict = {"probabilities": probs, "values": [sig(v, 9) for v in vals]}
    alphas = _mean_matching_alphas(np.asarray(probs), np.asarray(params["values"]), b.mean)
    if alphas is not None:
        params["alphas"] = alphas
    low, high = (b.minimum, b.maximum) if b.discrete else (None, None)
    return _model("empirical", params, low, high, b.discrete)


# A segment whose ends differ by more than this ratio is "wide": a uniform spread inside it
# would overstate a heavy tail's mean (a bin of 10 conversations spanning 200..12,000 messages).
WIDE_SEGMENT_RATIO = 1.5
ALPHA_RANGE = (-2.0, 6.0)
MEAN_SLACK = 0.01


def _segment_means(a: np.ndarray, b: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Mean of the density x^-alpha on [a, b] (alpha 0: the midpoint)."""

    def integral(k: np.ndarray) -> np.ndarray:  # integral of x^(k-1) over [a, b]
        near_zero = np.abs(k) < 1e-9
        safe = np.where(near_zero, 1.0, k)
        return np.where(near_zero, np.log(b / a), (b**safe - a**safe) / safe)

    return np.where(alpha == 0, (a + b) / 2, integral(2.0 - alpha) / integral(1.0 - alpha))


def _mean_matching_alphas(probs: np.ndarray, values: np.ndarray, target: float) -> list[float] | None:
    a, b, w = values[:-1], values[1:], np.diff(probs)
    wide = (a > 0) & (b > a * WIDE_SEGMENT_RATIO) & (w > 0)
    if not np.any(wide) or not np.isfinite(target) or target <= 0:
        return None
    safe_a, safe_b = np.where(wide, a, 1.0), np.where(wide, b, 2.0)

    def mean(alpha: float) -> float:
        shaped = _segment_means(safe_a, safe_b, np.full(a.size, alpha))
        return float(np.sum(w * np.where(wide, shaped, (a + b) / 2)))

    gap_linear = mean(0.0) - target
    if abs(gap_linear) <= MEAN_SLACK * target:
        return None  # linear already keeps the mean: leave the bins alone
    lo, hi = ALPHA_RANGE
    gap_lo, gap_hi = mean(lo) - target, mean(hi) - target
    if gap_lo * gap_hi <= 0:
        alpha = float(optimize.brentq(lambda x: mean(x) - target, lo, hi, xtol=1e-9))
    else:  # out of reach (the gap is not in the wide bins): the closest end, if it helps much
        alpha, gap = (lo, gap_lo) if abs(gap_lo) < abs(gap_hi) else (hi, gap_hi)
        if abs(gap) > 0.5 * abs(gap_linear):
            return None
    return [sig(alpha) if is_wide else 0.0 for is_wide in wide]


def _with_percentile_anchors(b: Binned, probabilities: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = list(zip(probabilities.tolist(), values.tolist()))
    for level, value in zip(PERCENTILE_LEVELS, b.percentiles):
        i = int(np.searchsorted(probabilities, level, side="right")) - 1
        # Only inside the bin the histogram puts that quantile in, or the function would not be
        # monotone; for integers only in bins holding several values (else it changes nothing).
        inside = 0 <= i < len(b.counts) and probabilities[i] < level < probabilities[i + 1] and values[i] <= value <= values[i + 1]
        if inside and (not b.discrete or values[i + 1] - values[i] > 1):
            points.append((level, value))
    points.sort()
    return np.array([p for p, _ in points]), np.array([v for _, v in points])


def from_percentiles(b: Binned) -> Fitted:
    """The quantile function through (0, min), the pack's percentiles and (1, max)."""
    values = np.maximum.accumulate(np.array([b.minimum, *b.percentiles, b.maximum]))
    probabilities = [0.0, *PERCENTILE_LEVELS, 1.0]
    low, high = (b.minimum, b.maximum) if b.discrete else (None, None)
    return _model("empirical", {"probabilities": probabilities, "values": [sig(v, 9) for v in values]}, low, high, b.discrete)


def constant(value: float, discrete: bool) -> Fitted:
    return _model("constant", {"value": sig(value)}, None, None, discrete)


def _validated(f: Fitted, gof: GoodnessOfFit | None) -> Fitted:
    return Fitted.model_validate({**f.model_dump(exclude={"gof"}), "gof": gof})


def _degenerate(b: Binned, default: float) -> Outcome | None:
    """A fit without an optimiser for histograms that cannot support one; None otherwise."""
    if b.count == 0:
        gof = GoodnessOfFit(statistic="none", value=0.0, criterion="none")
        return Outcome(_validated(constant(default, b.discrete), gof), [f"no data in {b.path}: constant {default:g}"])
    if b.total == 0:
        gof = GoodnessOfFit(statistic="none", value=0.0, criterion="none")
        if b.minimum == b.maximum:
            return Outcome(_validated(constant(b.minimum, b.discrete), gof), ["histogram suppressed; constant from min = max"])
        return Outcome(_validated(from_percentiles(b), gof), ["histogram suppressed (small cells); empirical through the pack's percentiles"])
    nonempty = b.nonempty_bins()
    if nonempty.size > 1:
        return None
    i = int(nonempty[0])
    lo, hi = b.edges[i], b.edges[i + 1]
    gof = GoodnessOfFit(statistic="ks", value=0.0, criterion="none")
    single_integer = b.discrete and np.ceil(hi) - np.ceil(lo) <= 1
    if single_integer or b.minimum == b.maximum:
        value = np.ceil(lo) if single_integer else b.minimum
        return Outcome(_validated(constant(value, b.discrete), gof), ["all mass in one value: constant"])
    return Outcome(_validated(from_percentiles(b), gof), ["all mass in one bin: empirical through the pack's percentiles"])


# --- selection ---------------------------------------------------------------------------------


def fit_distribution(
    b: Binned,
    candidates: Sequence[str],
    *,
    low: float | None = None,
    high: float | None = None,
    default: float = 1.0,
    check: Check | None = None,
) -> Outcome:
    """Fit each candidate, keep the lowest AIC, fall back to `empirical` outside tolerance."""
    degenerate = _degenerate(b, default)
    if degenerate is not None:
        return degenerate
    tolerance = sig(ks_tolerance(b, KS_TOLERANCE, KS_NOISE), 4)
    low, high = (None if v is None else sig(v, 9) for v in (low, high))
    aic: dict[str, float] = {}
    fitted: dict[str, Fitted] = {}
    for name in candidates:
        family, k, fitter = CANDIDATES[name]
        bounds = (low, high) if family in TRUNCATED else (None, None)
        model = _model(family, _rounded(fitter(b, *bounds)), *bounds, b.discrete or family == "discrete_power_law")
        fitted[name] = model
        aic[name] = sig(2 * k - 2 * log_likelihood(model, b), 9)
    lowest = min(aic.values())
    supported = [name for name in aic if aic[name] - lowest < AIC_PARSIMONY]
    best = min(supported, key=lambda name: (CANDIDATES[name][1], aic[name], name))
    choice = fitted[best]
    ks = ks_distance(choice, b)
    passed, figures = check(choice) if check else (True, {})
    notes = []
    if ks > tolerance or not passed:
        reason = f"KS {ks:.3f} > {tolerance:.3f}" if ks > tolerance else "; ".join(describe_figures(figures))
        notes.append(f"best family {best} rejected ({reason}): empirical quantile function")
        figures = {f"{best}_ks": ks}
        choice = empirical(b)
        ks = ks_distance(choice, b)
        passed, empirical_figures = check(choice) if check else (True, {})
        figures.update(empirical_figures)
    gof = GoodnessOfFit(
        statistic="ks", value=sig(ks, 4), criterion="aic", candidates=aic,
        poor=bool(ks > tolerance or not passed), tolerance=tolerance, checks={k: sig(v, 6) for k, v in figures.items()},
    )
    return Outcome(_validated(choice, gof), notes)


def describe_figures(figures: dict[str, float]) -> list[str]:
    """'mean fit 6.09 vs pack 6.70' for every <name>_pack / <name>_fit pair."""
    names = sorted(k[: -len("_pack")] for k in figures if k.endswith("_pack") and k[: -len("_pack")] + "_fit" in figures)
    return [f"{n} fit {figures[n + '_fit']:.4g} vs pack {figures[n + '_pack']:.4g}" for n in names]
