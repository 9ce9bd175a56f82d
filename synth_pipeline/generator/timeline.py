"""The dataset's calendar: a fixed window, and the hour-of-week clock that shapes message times.

The window never depends on the wall clock (determinism): it ends at `WINDOW_END`, a constant
Monday 00:00 UTC, and spans the spec's `source.window_days`. Users are created before every
conversation, conversations before their first message:

    users.created_at                 [end - days - 365 d, end - days - 90 d)
    conversations.created_at         [end - days - 90 d, first message of the conversation)
    conversation_participants.joined_at   [conversation created_at, its first message]
    messages.created_at              [end - days, end)
    message_reads.read_at            (message created_at, message created_at + latency high]

Messages come in *sessions* (`session_times`): a conversation's gaps are drawn from the spec's
inter-arrival model; a gap above the plan's idle cut starts a new session, the others are the
session's burst gaps, kept as drawn (calendar seconds: how fast people answer does not depend on
the hour). Session starts are spread uniformly over the window in *operational time* (seconds in
which activity runs at a constant rate) and mapped to calendar time through the cumulative
hour-of-week intensity (the time-change theorem): an hour whose weight is twice the average sees
twice the sessions start. So a conversation's idle gaps are as long as its number of sessions and
the window make them (a busy room's short, a quiet chat's days long), as in production, where the
pooled gaps mix both; `solve_idle_cut` picks the cut whose pooled p95/p50 is the spec's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from synth_pipeline.errors import SynthError

US_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400
WINDOW_END = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday 00:00 UTC: hour-of-week bin 0 starts here
USERS_CREATED_DAYS_BEFORE_WINDOW = (365, 90)
CONVERSATIONS_CREATED_DAYS_BEFORE_WINDOW = 90
_EPOCH_HOUR_OF_WEEK = 72  # 1970-01-01 00:00 UTC was a Thursday: bin 3 * 24


def _us(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def iso(us: int) -> str:
    return datetime.fromtimestamp(us // US_PER_SECOND, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Window:
    start_us: int
    end_us: int
    users_from_us: int
    users_to_us: int
    conversations_from_us: int

    @property
    def seconds(self) -> float:
        return (self.end_us - self.start_us) / US_PER_SECOND

    @classmethod
    def for_days(cls, window_days: int) -> Window:
        end = _us(WINDOW_END)
        start = end - window_days * SECONDS_PER_DAY * US_PER_SECOND
        day = SECONDS_PER_DAY * US_PER_SECOND
        first, last = USERS_CREATED_DAYS_BEFORE_WINDOW
        return cls(
            start_us=start, end_us=end, users_from_us=start - first * day, users_to_us=start - last * day,
            conversations_from_us=start - CONVERSATIONS_CREATED_DAYS_BEFORE_WINDOW * day,
        )


class HourOfWeekClock:
    """Maps operational seconds in [0, W) onto calendar microseconds in [start, end)."""

    def __init__(self, window: Window, weights: list[float]) -> None:
        hours = int(round(window.seconds / 3600))
        epoch_hours = window.start_us // (3600 * US_PER_SECOND) + np.arange(hours)
        bins = (epoch_hours + _EPOCH_HOUR_OF_WEEK) % 168
        intensity = np.asarray(weights, dtype=np.float64)[bins]
        if not np.all(np.isfinite(intensity)) or intensity.sum() <= 0:
            raise SynthError("spec parameters.hour_of_week.weights: all zero over the window; give at least one positive weight")
        self.window = window
        # Operational time at each hour boundary, scaled so that the window has W operational seconds.
        self.operational = np.concatenate([[0.0], np.cumsum(intensity)]) * (window.seconds / intensity.sum())
        self.calendar = np.arange(hours + 1, dtype=np.float64) * 3600.0
        # Operational seconds per calendar second in the busiest hour (1 = the window's average).
        self.max_intensity = float(np.max(np.diff(self.operational)) / 3600.0)


MAX_BURST_SHARE = 0.5  # a conversation's sessions may take at most this share of the window


class Sessions:
    """The sessions of a run of conversations (messages in conversation order, gaps drawn)."""

    def __init__(self, gaps: np.ndarray, sizes: np.ndarray, idle_cut: float) -> None:
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        starts = gaps > idle_cut
        starts[first] = True  # a conversation's first message starts its first session
        self.first = np.flatnonzero(starts)
        self.of_message = np.cumsum(starts) - 1
        self.per_conversation = np.add.reduceat(starts, first, dtype=np.int64) if sizes.size else np.zeros(0, np.int64)
        self.conversation = np.repeat(np.arange(sizes.size, dtype=np.int64), self.per_conversation)
        self.conversation_first = np.cumsum(self.per_conversation) - self.per_conversation
        # Seconds since the session's start: the burst gaps, accumulated.
        offset = np.where(starts, 0.0, gaps)
        np.cumsum(offset, out=offset)
        offset -= offset[self.first][self.of_message]
        self.offset = offset
        last = np.concatenate([self.first[1:] - 1, [gaps.size - 1]]) if gaps.size else self.first
        self.duration = offset[last]

    def within_conversation(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inclusive running sum of `values` within each conversation's sessions, the conversation total)."""
        running = np.cumsum(values)
        base = running[self.conversation_first] - values[self.conversation_first]
        total = np.add.reduceat(values, self.conversation_first) if values.size else values
        return running - base[self.conversation], total


def session_times(gaps: np.ndarray, sizes: np.ndarray, idle_cut: float, clock: HourOfWeekClock,
                  rng: np.random.Generator) -> np.ndarray:
    """Calendar seconds since the window's start of every message (conversation order, gaps from
    the inter-arrival model, the first of each conversation unused); non-decreasing within a
    conversation, inside [0, W).

    A conversation with k sessions places their starts like k sorted uniform points over the
    window in operational time (normalised sums of k + 1 exponentials: no sort), after reserving
    for each session enough operational time that its calendar duration fits even in the busiest
    hour: sessions never overlap and the last one ends inside the window. Conversations whose
    sessions would take more than MAX_BURST_SHARE of the window have their bursts shortened.
    """
    sessions = Sessions(gaps, sizes, idle_cut)
    window = clock.window.seconds
    reserve = sessions.duration * clock.max_intensity
    reserved_before, reserved = sessions.within_conversation(reserve)
    reserved_before -= reserve
    budget = MAX_BURST_SHARE * window
    if np.any(reserved > budget):
        squeeze = np.minimum(budget / np.where(reserved > 0, reserved, 1.0), 1.0)
        sessions.offset *= squeeze[sessions.conversation][sessions.of_message]
        reserved_before *= squeeze[sessions.conversation]
        reserved = np.minimum(reserved, budget)
    spacing = rng.exponential(1.0, sessions.first.size)
    tail = rng.exponential(1.0, sizes.size)  # the spacing after the last session
    position, total = sessions.within_conversation(spacing)
    position /= (total + tail)[sessions.conversation]
    position *= (window - reserved)[sessions.conversation]
    position += reserved_before
    start = np.interp(position, clock.operational, clock.calendar)
    seconds = start[sessions.of_message]
    seconds += sessions.offset
    np.clip(seconds, 0.0, window - 1.0 / US_PER_SECOND, out=seconds)
    return seconds


def pooled_gaps(seconds: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Gaps between consecutive messages of each conversation (conversation order)."""
    gaps = np.diff(seconds)
    last = np.cumsum(sizes)[:-1] - 1  # the gap from a conversation's last message to the next's first
    keep = np.ones(gaps.size, dtype=bool)
    keep[last] = False
    return gaps[keep]


SOLVE_GAPS = 100_000  # gaps simulated per candidate cut (a size-stratified sample of conversations)
_IDLE_SHARES = np.geomspace(0.6, 0.001, 12)  # candidate shares of gaps above the cut
KS_BINS_PER_E = 24
BURST_WEIGHT = 1.0  # objective: KS + this x |log(simulated p95/p50 / the spec's)|, as fidelity values them
_GOLDEN = (5 ** 0.5 - 1) / 2
GOLDEN_STEPS = 6


def _stratified_sample(sizes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """About SOLVE_GAPS gaps' worth of conversations: the conversations sorted by size, cut into
    strata of `step` neighbours, one drawn from each. Each of its gaps weighs the stratum's gaps /
    its own, so every size class counts exactly as many gaps as in the population (a heavy tail
    is not under- or over-represented by which room happened to be picked). Returns (sizes of
    the sampled conversations, weight of each of their gaps in conversation order)."""
    gaps = sizes - 1
    step = max(1, int(np.ceil(gaps.sum() / SOLVE_GAPS)))
    order = np.argsort(sizes, kind="stable")
    starts = np.arange(0, sizes.size, step)
    lengths = np.minimum(step, sizes.size - starts)
    picked = order[starts + (rng.random(starts.size) * lengths).astype(np.int64)]
    picked = np.where(gaps[picked] > 0, picked, order[starts + lengths - 1])  # the stratum's largest
    stratum_gaps = np.add.reduceat(gaps[order], starts)
    keep = gaps[picked] > 0
    picked, weight = picked[keep], stratum_gaps[keep] / gaps[picked[keep]]
    per_gap = np.repeat(weight, gaps[picked])
    return sizes[picked], per_gap


def solve_idle_cut(model, target: float, sizes: np.ndarray, clock: HourOfWeekClock, seed: int) -> float:
    """The gap above which a new session starts.

    Simulates `session_times` on a size-stratified sample of the conversations
    (`_stratified_sample`) for candidate cuts (quantiles of the model: a share of gaps above the
    cut) and keeps the one whose pooled gaps are nearest the model: KS distance to the model's CDF
    plus BURST_WEIGHT x the log error of their p95/p50 against the spec's burst coefficient
    (`target`), as the fidelity report weighs the two; a grid, then a golden-section
    search between the best grid point's neighbours. The same draws serve every candidate, so the
    comparison is not blurred by sampling noise. No cut (one session per conversation) when no
    conversation has two messages.
    """
    from synth_pipeline.calibration.families import cdf, sample_mmpp2_sequence

    if sizes.size == 0 or sizes.max() < 2:
        return float("inf")
    sample_sizes, gap_weight = _stratified_sample(sizes, np.random.default_rng(seed))
    gaps = sample_mmpp2_sequence(model, np.random.default_rng(seed), int(sample_sizes.sum()))
    ordered = np.sort(gaps)
    # KS on a fine logarithmic grid (KS_BINS_PER_E per factor e) instead of a sort per candidate;
    # no simulated gap exceeds the window.
    positive = ordered[ordered > 0]
    low_key = int(np.floor(np.log(max(positive[0] if positive.size else 1e-6, 1e-6)) * KS_BINS_PER_E)) - 1
    high_key = int(np.ceil(np.log(clock.window.seconds) * KS_BINS_PER_E)) + 1
    model_cdf = cdf(model, np.exp(np.arange(low_key, high_key + 1) / KS_BINS_PER_E))

    def cut_at(log_share: float) -> float:
        return float(ordered[min(int((1.0 - np.exp(log_share)) * ordered.size), ordered.size - 1)])

    def objective(log_share: float) -> float:
        seconds = session_times(gaps, sample_sizes, cut_at(log_share), clock, np.random.default_rng(seed + 1))
        pooled = pooled_gaps(seconds, sample_sizes)
        keys = np.floor(np.log(np.maximum(pooled, 1e-300)) * KS_BINS_PER_E)
        np.clip(keys, low_key, high_key, out=keys)
        counts = np.bincount((keys - low_key).astype(np.int64), weights=gap_weight, minlength=high_key - low_key + 1)
        simulated = np.cumsum(counts) / counts.sum()
        ks = float(np.max(np.abs(simulated[:-1] - model_cdf[1:])))  # both at the upper edge of each bin
        # p95/p50 from the same histogram (log-linear inside a bin: within a fraction of a percent)
        p50, p95 = np.interp([0.5, 0.95], simulated, np.arange(low_key + 1, high_key + 2) / KS_BINS_PER_E)
        coefficient = float(np.exp(p95 - p50))
        burst_error = abs(np.log(coefficient / target)) if target > 0 else 0.0
        return ks + BURST_WEIGHT * burst_error

    grid = np.log(_IDLE_SHARES)
    values = [objective(x) for x in grid]
    best = int(np.argmin(values))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    best_x, best_value = grid[best], values[best]
    a, b = high + _GOLDEN * (low - high), low + _GOLDEN * (high - low)  # golden section on [low, high]
    fa, fb = objective(a), objective(b)
    for _ in range(GOLDEN_STEPS):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high + _GOLDEN * (low - high)
            fa = objective(a)
        else:
            low, a, fa = a, b, fb
            b = low + _GOLDEN * (high - low)
            fb = objective(b)
    for x, value in ((a, fa), (b, fb)):
        if value < best_value:
            best_x, best_value = x, value
    return cut_at(best_x)
