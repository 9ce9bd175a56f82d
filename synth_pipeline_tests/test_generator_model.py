"""The generator's model where a round trip depends on it: sessions over the window, the idle
cut, readers before the cap, active users and heavy-room participants.

Small and fast: plans and single shards of at most 60,000 messages, or the timeline functions on
their own. The 1M-message distribution test against the reference spec is in test_generator.py.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from synth_pipeline.calibration.families import cdf, sample
from synth_pipeline.contracts.distribution_spec import Fitted
from synth_pipeline.contracts.shard_manifest import Sizes
from synth_pipeline.generator import load_spec, plan_generation
from synth_pipeline.generator.plan import KIND_DIRECT, KIND_HEAVY, uncapped_read_counts
from synth_pipeline.generator.tables import build_partition
from synth_pipeline.generator.timeline import (
    MAX_BURST_SHARE,
    SOLVE_GAPS,
    HourOfWeekClock,
    Sessions,
    Window,
    _stratified_sample,
    pooled_gaps,
    session_times,
    solve_idle_cut,
)
from synth_pipeline.paths import REFERENCE_SPEC

WINDOW = Window.for_days(30)
SMALL = Sizes(users=600, conversations=800, messages=60_000)


@pytest.fixture(scope="module")
def spec():
    return load_spec(REFERENCE_SPEC)


def _weekly_clock() -> HourOfWeekClock:
    day = 0.15 + np.exp(-0.5 * ((np.arange(24) - 11) / 2.5) ** 2)
    return HourOfWeekClock(WINDOW, np.concatenate([np.tile(day, 5), np.tile(0.5 * day, 2)]).tolist())


def _session_process(rng: np.random.Generator, sizes: np.ndarray, start_probability: float, burst_seconds: float) -> np.ndarray:
    """Ground truth written independently of the generator: each message starts a session with a
    fixed probability, sessions start at uniform times over the window (no clock), bursts are
    exponential; returns the pooled gaps within conversations."""
    gaps = []
    for size in sizes:
        new = rng.random(size) < start_probability
        new[0] = True
        starts = np.sort(rng.random(int(new.sum()))) * WINDOW.seconds
        burst = np.where(new, 0.0, rng.exponential(burst_seconds, size))
        offset = np.cumsum(burst)
        session = np.cumsum(new) - 1
        offset -= offset[np.flatnonzero(new)][session]
        gaps.append(np.diff(np.sort(starts[session] + offset)))
    return np.concatenate(gaps)


# -- sessions ---------------------------------------------------------------------------------------
def test_sessions_stay_in_the_window_keep_their_bursts_and_never_overlap() -> None:
    rng = np.random.default_rng(1)
    sizes = np.array([1, 2, 40, 300, 5_000, 60_000])  # the last one's bursts alone would fill the window
    gaps = rng.exponential(30.0, sizes.sum()) * np.where(rng.random(sizes.sum()) < 0.2, 200.0, 1.0)
    clock = _weekly_clock()
    seconds = session_times(gaps, sizes, 600.0, clock, np.random.default_rng(2))
    assert seconds.min() >= 0 and seconds.max() < WINDOW.seconds
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    conversation = np.repeat(np.arange(sizes.size), sizes)
    step = np.diff(seconds)
    same = conversation[1:] == conversation[:-1]
    assert np.all(step[same] >= 0)  # in order within a conversation
    burst = same & (gaps[1:] <= 600.0)
    squeezed = conversation[1:] == sizes.size - 1
    # Burst gaps are kept in calendar seconds (rounding aside), except in the conversation whose
    # sessions had to be shortened to MAX_BURST_SHARE of the window.
    assert np.allclose(step[burst & ~squeezed], gaps[1:][burst & ~squeezed], atol=1e-6)
    assert np.sum(step[burst & squeezed]) < MAX_BURST_SHARE * WINDOW.seconds
    assert np.all(step[burst & squeezed] < gaps[1:][burst & squeezed])
    assert first.size == sizes.size


def test_idle_gaps_follow_the_number_of_sessions() -> None:
    """k sessions spread over the window: their idle gaps average about W / (k + 1), so a busy
    room's are short and a quiet chat's long (production's pooled gaps mix both)."""
    rng = np.random.default_rng(3)
    sizes = np.concatenate([np.full(400, 20), np.full(20, 2_000)])
    gaps = np.where(rng.random(sizes.sum()) < 0.2, 1e6, 5.0)  # every fifth gap starts a session
    sessions = Sessions(gaps, sizes, 100.0)
    seconds = session_times(gaps, sizes, 100.0, HourOfWeekClock(WINDOW, [1.0] * 168), np.random.default_rng(4))
    conversation = np.repeat(np.arange(sizes.size), sizes)[1:]
    idle = (np.diff(seconds) > 0) & (gaps[1:] > 100.0) & (conversation == np.repeat(np.arange(sizes.size), sizes)[:-1])
    k = sessions.per_conversation[conversation[idle]]
    scaled = np.diff(seconds)[idle] * (k + 1) / WINDOW.seconds
    small, big = sizes[conversation[idle]] == 20, sizes[conversation[idle]] == 2_000
    assert abs(scaled[small].mean() - 1) < 0.1 and abs(scaled[big].mean() - 1) < 0.1
    assert np.median(np.diff(seconds)[idle][big]) * 50 < np.median(np.diff(seconds)[idle][small])


def test_the_idle_cut_reproduces_a_session_process() -> None:
    """From the pooled gaps of a known session process (what a pack measures) and the
    conversation sizes, the cut's simulated gaps match the truth's distribution and p95/p50."""
    rng = np.random.default_rng(5)
    sizes = np.clip(np.rint(rng.lognormal(4.0, 1.2, 1_500)), 1, 20_000).astype(np.int64)
    truth = _session_process(rng, sizes, 0.12, 20.0)
    levels = np.linspace(0, 1, 401)
    model = Fitted(family="empirical", params={"probabilities": levels.tolist(), "values": np.quantile(truth, levels).tolist()})
    p50, p95 = np.percentile(truth, [50, 95])
    clock = HourOfWeekClock(WINDOW, [1.0] * 168)
    cut = solve_idle_cut(model, p95 / p50, sizes, clock, seed=6)
    drawn = sample(model, np.random.default_rng(7), int(sizes.sum()))
    simulated = np.sort(pooled_gaps(session_times(drawn, sizes, cut, clock, np.random.default_rng(8)), sizes))
    ks = np.max(np.abs(np.searchsorted(simulated, np.sort(truth), side="right") / simulated.size - np.arange(1, truth.size + 1) / truth.size))
    q50, q95 = np.percentile(simulated, [50, 95])
    assert ks < 0.03
    assert abs(np.log((q95 / q50) / (p95 / p50))) < 0.15


def test_the_cut_is_solved_on_a_sample_that_counts_every_gap_once() -> None:
    """A heavy tail of sizes: the solver simulates ~SOLVE_GAPS gaps, one conversation per stratum
    of neighbours by size, each weighing its stratum's gaps, so heavy rooms count as many gaps
    as they have (the middle room of each stratum would under-count them)."""
    sizes = np.clip(np.rint(np.random.default_rng(9).lognormal(5.0, 1.5, 20_000)), 1, 200_000).astype(np.int64)
    sampled, weight = _stratified_sample(sizes, np.random.default_rng(10))
    assert (sizes - 1).sum() > 20 * SOLVE_GAPS and (sampled - 1).sum() < 3 * SOLVE_GAPS
    assert weight.sum() == pytest.approx((sizes - 1).sum())
    heavy = np.repeat(sampled > 1000, sampled - 1)
    assert weight[heavy].sum() == pytest.approx((sizes - 1)[sizes > 1000].sum(), rel=0.02)


def test_no_cut_without_a_second_message() -> None:
    model = Fitted(family="exponential", params={"rate": 0.01})
    assert solve_idle_cut(model, 4.3, np.ones(10, dtype=np.int64), _weekly_clock(), seed=1) == float("inf")


# -- reads ------------------------------------------------------------------------------------------
def _capped_cdf(uncapped: np.ndarray, others: np.ndarray, messages: np.ndarray, k: np.ndarray) -> np.ndarray:
    """P(min(X, cap) <= k) for X with CDF `uncapped` over 1..K and caps weighted by messages."""
    x_survival = 1.0 - uncapped[np.minimum(k, uncapped.size) - 1]
    cap_survival = np.array([messages[others > v].sum() for v in k]) / messages.sum()
    return 1.0 - x_survival * cap_survival


def test_readers_drawn_before_the_cap_follow_the_spec_after_it() -> None:
    target = Fitted(family="lognormal", params={"mu": 0.8, "sigma": 0.7}, low=1, high=40, discrete=True)
    others = np.array([1, 4, 60])
    messages = np.array([100, 100, 800])  # 10 % of messages in direct chats, 10 % in groups of 5
    uncapped = uncapped_read_counts(target, others, messages)
    k = np.arange(1, 41)
    assert np.max(np.abs(_capped_cdf(uncapped, others, messages, k) - cdf(target, k.astype(float)))) < 1e-9
    assert np.all(np.diff(uncapped) >= 0) and uncapped[-1] == 1.0


def test_readers_come_as_close_as_the_caps_allow() -> None:
    """Half the messages in direct chats (one reader at most), more than the target's messages
    with one or two readers: the capped CDF is max(target, 0.5), the nearest possible."""
    target = Fitted(family="lognormal", params={"mu": 1.2, "sigma": 0.6}, low=1, high=30, discrete=True)
    others = np.array([1, 30])
    messages = np.array([500, 500])
    uncapped = uncapped_read_counts(target, others, messages)
    k = np.arange(1, 31)
    wanted = cdf(target, k.astype(float))
    assert wanted[1] < 0.5 < wanted[2]
    assert np.max(np.abs(_capped_cdf(uncapped, others, messages, k) - np.maximum(wanted, 0.5))) < 1e-9


# -- users and heavy rooms --------------------------------------------------------------------------
def _with_totals(spec, **totals):
    return spec.model_copy(update={"totals": spec.totals.model_copy(update=totals)})


def test_only_the_active_share_of_users_sends(spec) -> None:
    active_spec = _with_totals(spec, active_users=int(0.6 * spec.totals.users))
    plan = plan_generation(active_spec, SMALL, seed=3, n_shards=1)
    active = plan.user_target > 0
    assert active.sum() == 360  # 60 % of 600, exactly
    messages = build_partition(plan, "shard-00000")["messages"]
    senders = np.unique(messages["sender_id"].to_numpy()) - 1
    assert np.all(active[senders])  # nobody inactive sends
    assert senders.size >= 0.95 * active.sum()  # and nearly every active user does
    # Every conversation has an active participant; inactive users may still be members.
    conversation = np.repeat(np.arange(SMALL.conversations), plan.conversation_participants)
    assert np.all(np.bincount(conversation, weights=active[plan.slot_user]) > 0)
    everyone = plan_generation(spec.model_copy(update={"totals": spec.totals.model_copy(update={"active_users": None})}),
                               SMALL, seed=3, n_shards=1)
    assert np.all(everyone.user_target > 0)


def test_heavy_rooms_draw_their_own_participants(spec) -> None:
    sizes = Sizes(users=3_000, conversations=4_000, messages=600_000)
    plan = plan_generation(spec, sizes, seed=4, n_shards=1)
    kind, participants = plan.conversation_kind, plan.conversation_participants
    heavy, groups = participants[kind == KIND_HEAVY], participants[kind != KIND_DIRECT]
    p = spec.parameters
    assert heavy.size >= 100

    def ks(fitted, values):
        points = np.unique(values)
        return np.max(np.abs(cdf(fitted, points.astype(float)) - np.searchsorted(np.sort(values), points, side="right") / values.size))

    assert ks(p.heavy_rooms.participants, heavy) < 0.15  # ~120 rooms: 1.63 / sqrt(120) = 0.15 at 1 %
    assert ks(p.participants_per_group, groups) < 0.05  # all groups together still follow the spec
    assert np.median(heavy) > 3 * np.median(participants[kind == 1])
    # Without the parameter, heavy rooms are ordinary groups.
    ordinary = spec.model_copy(update={"parameters": p.model_copy(update={"heavy_rooms": p.heavy_rooms.model_copy(update={"participants": None})})})
    plain = plan_generation(ordinary, sizes, seed=4, n_shards=1)
    plain_heavy = plain.conversation_participants[plain.conversation_kind == KIND_HEAVY]
    assert np.median(plain_heavy) < 2 * np.median(plain.conversation_participants[plain.conversation_kind == 1])


def test_reads_never_exceed_the_other_participants(spec) -> None:
    plan = plan_generation(spec, SMALL, seed=5, n_shards=2)
    tables = build_partition(plan, "shard-00001")
    reads, messages = tables["message_reads"], tables["messages"]
    per_message = pc.value_counts(reads["message_id"]).to_pylist()
    counts = {row["values"]: row["counts"] for row in per_message}
    conversation_of = dict(zip(messages["id"].to_pylist(), messages["conversation_id"].to_pylist()))
    others = plan.conversation_participants - 1
    assert all(n <= others[conversation_of[m] - 1] for m, n in counts.items())
