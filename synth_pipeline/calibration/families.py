"""Distribution families of the spec: draw samples and evaluate CDFs, vectorised with numpy.

Calibration fits these families; the generator draws from them. Every draw takes a
`numpy.random.Generator` so that a seed fixes the bytes. See
`synth_pipeline.contracts.distribution_spec` for the parameters of each family.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from synth_pipeline.contracts.distribution_spec import Categorical, Fitted

_TINY = 1e-300


def _truncated_uniform(rng: np.random.Generator, n: int, lo_p: float, hi_p: float) -> np.ndarray:
    return lo_p + (hi_p - lo_p) * rng.random(n)


def _support(f: Fitted) -> tuple[float, float]:
    return (-np.inf if f.low is None else f.low, np.inf if f.high is None else f.high)


def _lognormal_ppf_bounds(mu: float, sigma: float, low: float, high: float) -> tuple[float, float]:
    lo_p = special.ndtr((np.log(low) - mu) / sigma) if low > 0 else 0.0
    hi_p = special.ndtr((np.log(high) - mu) / sigma) if np.isfinite(high) else 1.0
    return float(lo_p), float(hi_p)


def _power_law_bounds(low: float, high: float) -> tuple[float, float]:
    # Continuous approximation of a discrete power law on [low, high]: integrate over
    # [low - 0.5, high + 0.5] so that rounding puts the right mass on each integer.
    return max(low - 0.5, 0.5), (high + 0.5) if np.isfinite(high) else np.inf


def sample(f: Fitted, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw `n` independent values (float64; integral values when `f.discrete`)."""
    p = f.params
    low, high = _support(f)
    family = f.family
    if n == 0:
        return np.empty(0, dtype=np.float64)
    if family == "constant":
        out = np.full(n, float(p["value"]))
    elif family == "lognormal":
        out = _lognormal(float(p["mu"]), float(p["sigma"]), max(low, 0.0), high, rng, n)
    elif family == "exponential":
        out = rng.exponential(1.0 / float(p["rate"]), n)
    elif family in ("exponential_mixture", "mmpp2"):
        weights, rates = mixture_components(f)
        component = rng.choice(len(weights), size=n, p=weights)
        out = rng.exponential(1.0, n) / np.asarray(rates)[component]
    elif family == "discrete_power_law":
        alpha = float(p["alpha"])
        a, b = _power_law_bounds(low if np.isfinite(low) else 1.0, high)
        u = rng.random(n)
        if abs(alpha - 1.0) < 1e-9:
            out = a * np.exp(u * np.log(b / a))
        else:
            e = 1.0 - alpha
            b_e = 0.0 if not np.isfinite(b) else b**e
            out = (a**e + u * (b_e - a**e)) ** (1.0 / e)
    elif family == "empirical":
        out = _empirical_quantile(f, rng.random(n))
    else:  # pragma: no cover - the model's Literal forbids it
        raise ValueError(f"unknown family {family!r}")
    if f.discrete:
        out = np.rint(out)
    if np.isfinite(low) or np.isfinite(high):
        out = np.clip(out, low, high)
    return out


def _lognormal(mu: float, sigma: float, low: float, high: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """Lognormal truncated to [low, high]. When most of the mass is inside, plain normal draws
    (twice as fast as the inverse CDF) with those outside redrawn by the inverse CDF of the
    truncated distribution: accepted and redrawn values both follow it, so the result is exact."""
    lo_p, hi_p = _lognormal_ppf_bounds(mu, sigma, low, high)

    def inverse(k: int) -> np.ndarray:
        u = np.clip(_truncated_uniform(rng, k, lo_p, hi_p), 1e-15, 1 - 1e-15)
        return np.exp(mu + sigma * special.ndtri(u))

    if hi_p - lo_p < 0.5:
        return inverse(n)
    out = rng.standard_normal(n)
    out *= sigma
    out += mu
    np.exp(out, out=out)
    outside = np.flatnonzero((out < low) | (out > high))
    if outside.size:
        out[outside] = inverse(outside.size)
    return out


def mixture_components(f: Fitted) -> tuple[np.ndarray, np.ndarray]:
    """Weights and rates of an exponential mixture; for mmpp2, the stationary mixture."""
    p = f.params
    if f.family == "mmpp2":
        to_idle, to_burst = float(p["p_burst_to_idle"]), float(p["p_idle_to_burst"])
        w_burst = to_burst / (to_idle + to_burst) if (to_idle + to_burst) > 0 else 1.0
        return np.array([w_burst, 1.0 - w_burst]), np.array([float(p["rate_burst"]), float(p["rate_idle"])])
    weights = np.asarray(p["weights"], dtype=np.float64)
    return weights / weights.sum(), np.asarray(p["rates"], dtype=np.float64)


def sample_mmpp2_sequence(f: Fitted, rng: np.random.Generator, n: int) -> np.ndarray:
    """Inter-arrival times with state persistence: runs of bursts and idles, vectorised.

    The state after each event switches with the family's probabilities, so run lengths are
    geometric; we draw run lengths, repeat the state per run, and draw exponential gaps.
    """
    if f.family != "mmpp2":
        return sample(f, rng, n)
    p = f.params
    leave = np.array([float(p["p_burst_to_idle"]), float(p["p_idle_to_burst"])])
    rates = np.array([float(p["rate_burst"]), float(p["rate_idle"])])
    weights, _ = mixture_components(f)
    if n == 0:
        return np.empty(0)
    first_state = int(rng.random() >= weights[0])
    mean_run = 1.0 / np.clip(leave, 1e-9, 1.0)
    n_runs = int(np.ceil(n / mean_run.min())) + 2
    # Alternate states starting from first_state; draw each run's length from its state's geometric.
    states = (first_state + np.arange(n_runs)) % 2
    lengths = rng.geometric(np.clip(leave[states], 1e-9, 1.0))
    state_per_event = np.repeat(states, lengths)[:n]
    if state_per_event.size < n:  # astronomically unlikely; pad with the stationary draw
        extra = (rng.random(n - state_per_event.size) >= weights[0]).astype(np.int64)
        state_per_event = np.concatenate([state_per_event, extra])
    return rng.exponential(1.0, n) / rates[state_per_event]


def cdf(f: Fitted, x: np.ndarray) -> np.ndarray:
    """P(X <= x) for the family (the discrete families use the rounding convention of `sample`)."""
    x = np.asarray(x, dtype=np.float64)
    p = f.params
    low, high = _support(f)
    family = f.family
    if family == "constant":
        out = (x >= float(p["value"])).astype(np.float64)
    elif family == "lognormal":
        mu, sigma = float(p["mu"]), float(p["sigma"])
        xx = np.floor(x) + 0.5 if f.discrete else x
        lo_p, hi_p = _lognormal_ppf_bounds(mu, sigma, max(low, 0.0), high)
        raw = special.ndtr((np.log(np.maximum(xx, _TINY)) - mu) / sigma)
        out = (raw - lo_p) / max(hi_p - lo_p, _TINY)
    elif family == "exponential":
        out = 1.0 - np.exp(-float(p["rate"]) * np.maximum(x, 0.0))
    elif family in ("exponential_mixture", "mmpp2"):
        weights, rates = mixture_components(f)
        out = np.sum(weights[:, None] * (1.0 - np.exp(-rates[:, None] * np.maximum(x, 0.0)[None, :])), axis=0)
    elif family == "discrete_power_law":
        alpha = float(p["alpha"])
        a, b = _power_law_bounds(low if np.isfinite(low) else 1.0, high)
        xx = np.clip(np.floor(x) + 0.5, a, b if np.isfinite(b) else None)
        if abs(alpha - 1.0) < 1e-9:
            out = np.log(xx / a) / np.log(b / a)
        else:
            e = 1.0 - alpha
            b_e = 0.0 if not np.isfinite(b) else b**e
            out = (xx**e - a**e) / (b_e - a**e)
    elif family == "empirical":
        out = _empirical_cdf(f, np.floor(x) + 0.5 if f.discrete else x)
    else:  # pragma: no cover
        raise ValueError(f"unknown family {family!r}")
    out = np.where(x < low, 0.0, out)
    out = np.where(x >= high, 1.0, out)
    return np.clip(out, 0.0, 1.0)


def _empirical_parts(f: Fitted) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities, values, alphas, shaped): alphas[j] shapes segment j (0 = linear, the
    default); shaped[j] says whether segment j actually takes the power-law shape."""
    probs = np.asarray(f.params["probabilities"], dtype=np.float64)
    values = np.asarray(f.params["values"], dtype=np.float64)
    alphas = np.asarray(f.params.get("alphas", np.zeros(max(values.size - 1, 0))), dtype=np.float64)
    a, b = values[:-1], values[1:]
    shaped = (alphas != 0) & (a > 0) & (b > a) & (probs[1:] > probs[:-1])
    return probs, values, alphas, shaped


def _power_exponent(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1 - alpha, near_one): the exponent of the integrated density, and where alpha ~ 1 (log)."""
    e = 1.0 - alpha
    near_one = np.abs(e) < 1e-9
    return np.where(near_one, 1.0, e), near_one


def segment_quantile(a: np.ndarray, b: np.ndarray, alpha: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Quantile t in [0, 1] of the density x^-alpha on [a, b], 0 < a < b, alpha != 0."""
    e, near_one = _power_exponent(alpha)
    power = (a**e + t * (b**e - a**e)) ** (1.0 / e)
    return np.where(near_one, a * (b / a) ** t, power)


def segment_cdf(a: np.ndarray, b: np.ndarray, alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(X <= x) within [a, b] for the density x^-alpha (the inverse of `segment_quantile`)."""
    e, near_one = _power_exponent(alpha)
    x = np.clip(x, a, b)
    power = (x**e - a**e) / (b**e - a**e)
    return np.clip(np.where(near_one, np.log(x / a) / np.log(b / a), power), 0.0, 1.0)


_GUIDE_CELLS = 4096  # a power of two: u * _GUIDE_CELLS is exact in floating point


def locate(edges: np.ndarray, u: np.ndarray) -> np.ndarray:
    """`np.searchsorted(edges, u, side="right")` for u in [0, 1) and increasing `edges`, through a
    guide table of equal probability cells: a cell without an edge inside decides at once (nearly
    every draw), the others fall back to the binary search. Several times faster for millions of
    draws (random needles make the binary search miss the branch predictor at every step)."""
    guide = np.searchsorted(edges, np.arange(_GUIDE_CELLS + 1) / _GUIDE_CELLS, side="right")
    cell = (u * _GUIDE_CELLS).astype(np.int64)
    out = guide[cell]
    unsure = np.flatnonzero(out != guide[cell + 1])
    out[unsure] = np.searchsorted(edges, u[unsure], side="right")
    return out


def _empirical_quantile(f: Fitted, u: np.ndarray) -> np.ndarray:
    probs, values, alphas, shaped = _empirical_parts(f)
    # np.interp(u, probs, values), with the segment found by `locate`
    j = np.clip(locate(probs, u) - 1, 0, max(probs.size - 2, 0))
    width = np.diff(probs)
    if width.size == 0:
        return np.full(u.size, values[0] if values.size else 0.0)
    t = (u - probs[j]) / np.where(width > 0, width, 1.0)[j]
    np.clip(t, 0.0, 1.0, out=t)
    out = values[j] + t * np.diff(values)[j]
    if np.any(shaped):
        # Only the draws that fall in shaped segments (a heavy tail: a few %) pay for the powers.
        hit = np.flatnonzero(shaped[j])
        jh = j[hit]
        out[hit] = segment_quantile(values[jh], values[jh + 1], alphas[jh], t[hit])
    return out


def _empirical_cdf(f: Fitted, x: np.ndarray) -> np.ndarray:
    probs, values, alphas, shaped = _empirical_parts(f)
    out = np.interp(x, values, probs, left=0.0, right=1.0)
    if np.any(shaped):
        first, last = np.flatnonzero(shaped)[[0, -1]]
        near = np.flatnonzero((x >= values[first]) & (x < values[last + 1]))
        j = np.clip(np.searchsorted(values, x[near], side="right") - 1, 0, values.size - 2)
        hit = near[shaped[j]]
        jh = j[shaped[j]]
        inside = segment_cdf(values[jh], values[jh + 1], alphas[jh], x[hit])
        out[hit] = probs[jh] + inside * (probs[jh + 1] - probs[jh])
    return out


def sample_categorical(c: Categorical, rng: np.random.Generator, n: int, categories: tuple[str, ...]) -> np.ndarray:
    """Indices into `categories`, drawn with the spec's weights (missing categories weigh 0)."""
    weights = np.array([float(c.weights.get(k, 0.0)) for k in categories])
    total = weights.sum()
    if total <= 0:
        raise ValueError("categorical weights sum to zero")
    return rng.choice(len(categories), size=n, p=weights / total)
