"""Calibration recovers the distributions a pack was drawn from, and chooses their families.

Tolerances (stated here, checked below): lognormal mu within 0.05 and sigma within 5 % on
20,000 draws (0.1 and 10 % on 2,000); power-law alpha within 0.05 on 5,000 draws; exponential
mixture rates within 10 % and weights within 0.03 on 20,000 gaps; shares and categorical weights
exact (to the spec's 6 significant digits). Model selection: the generating family has the lowest
AIC among the candidates.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from synth_pipeline.calibration import families
from synth_pipeline.calibration.binned import binned, ks_distance
from synth_pipeline.calibration.calibrate import calibrate
from synth_pipeline.calibration.checks import integer_masses, simulated_burst_coefficient
from synth_pipeline.calibration.fit import fit_distribution
from synth_pipeline.contracts.binning import distribution_from_values
from synth_pipeline.contracts.distribution_spec import Fitted
from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import canonical_json
from synth_pipeline_tests.calibration_fixtures import SHARE_DIRECT, TRUE, make_pack

SHA = "ab" * 32


def _fit(values, unit: str, candidates, **bounds):
    b = binned(distribution_from_values(values, unit), "metrics.test")
    kwargs = {"low": b.minimum, "high": b.maximum} if not bounds else bounds
    return fit_distribution(b, candidates, **kwargs).fitted


def _aic_winner(f: Fitted) -> str:
    return min(f.gof.candidates, key=f.gof.candidates.get)


@pytest.fixture(scope="module")
def spec():
    return calibrate(make_pack(11), SHA).spec


@pytest.mark.parametrize("n,mu_tol,sigma_rel", [(20_000, 0.05, 0.05), (2_000, 0.1, 0.10)])
def test_lognormal_is_recovered_and_chosen(n: int, mu_tol: float, sigma_rel: float) -> None:
    draws = families.sample(TRUE["message_length"], np.random.default_rng(1), n)
    f = _fit(draws, "characters", ("discrete_power_law", "lognormal"))
    assert f.family == "lognormal" and _aic_winner(f) == "lognormal"
    assert abs(f.params["mu"] - 3.5) < mu_tol
    assert abs(f.params["sigma"] - 1.0) < sigma_rel
    assert f.gof.statistic == "ks" and f.gof.criterion == "aic" and not f.gof.poor
    assert f.gof.value <= f.gof.tolerance


def test_discrete_power_law_is_recovered_and_chosen() -> None:
    draws = families.sample(TRUE["messages_per_conversation"], np.random.default_rng(2), 5_000)
    f = _fit(draws, "messages", ("lognormal", "discrete_power_law"))
    assert f.family == "discrete_power_law" and _aic_winner(f) == "discrete_power_law"
    assert abs(f.params["alpha"] - 1.8) < 0.05


def test_exponential_mixture_is_recovered_as_mmpp2() -> None:
    draws = families.sample_mmpp2_sequence(TRUE["inter_arrival"], np.random.default_rng(3), 20_000)
    f = _fit(draws, "seconds", ("exponential", "mmpp2", "exponential_mixture_3"), low=None, high=None)
    assert f.family == "mmpp2" and _aic_winner(f) == "mmpp2"
    true = TRUE["inter_arrival"].params
    assert abs(f.params["rate_burst"] / true["rate_burst"] - 1) < 0.10
    assert abs(f.params["rate_idle"] / true["rate_idle"] - 1) < 0.10
    w_true, _ = families.mixture_components(TRUE["inter_arrival"])
    w_fit, _ = families.mixture_components(f)
    assert abs(w_fit[0] - w_true[0]) < 0.03


def test_plain_exponential_beats_mixtures_by_aic() -> None:
    draws = np.random.default_rng(4).exponential(30.0, 20_000)
    f = _fit(draws, "seconds", ("lognormal", "exponential", "exponential_mixture"), low=None, high=None)
    assert f.family == "exponential"
    assert abs(f.params["rate"] * 30.0 - 1) < 0.05


def test_no_family_within_tolerance_gives_the_empirical_quantile_function() -> None:
    rng = np.random.default_rng(5)
    bimodal = np.concatenate([rng.integers(1, 30, 6_000), rng.integers(300, 600, 4_000)])
    dist = distribution_from_values(bimodal, "characters")
    outcome = fit_distribution(binned(dist, "metrics.message_length"), ("lognormal", "discrete_power_law"), low=1, high=599)
    f = outcome.fitted
    assert f.family == "empirical" and f.gof.value < 1e-6 and not f.gof.poor
    assert f.gof.candidates and f.gof.checks["lognormal_ks"] > f.gof.tolerance
    assert "rejected" in outcome.notes[0]
    # What the generator draws from it reproduces the pack: histogram and mean.
    draws = families.sample(f, np.random.default_rng(6), 200_000)
    redrawn = binned(distribution_from_values(draws, "characters"), "x")
    assert np.max(np.abs(redrawn.cumulative()[:-1] - np.interp(redrawn.edges[:-1], dist.histogram.edges, binned(dist, "x").cumulative()))) < 0.02
    assert abs(draws.mean() / bimodal.mean() - 1) < 0.01


def test_empirical_tail_keeps_the_mean_through_wide_merged_bins() -> None:
    # 3,000 power-law conversations: the tail bins are merged into wide ones (small cells).
    draws = families.sample(TRUE["messages_per_conversation"], np.random.default_rng(7), 3_000)
    b = binned(distribution_from_values(draws, "messages"), "metrics.messages_per_conversation")
    f = fit_distribution(b, ("lognormal",), low=b.minimum, high=b.maximum).fitted
    assert f.family == "empirical" and "alphas" in f.params
    values, masses = integer_masses(f)
    assert abs(np.sum(values * masses) / draws.mean() - 1) < 0.02
    redrawn = families.sample(f, np.random.default_rng(8), 400_000)
    assert abs(redrawn.mean() / draws.mean() - 1) < 0.05


def test_empirical_with_alphas_samples_match_cdf() -> None:
    f = Fitted(family="empirical", params={"probabilities": [0, 0.5, 0.9, 1], "values": [1, 10, 100, 10_000], "alphas": [0, 1.0, 1.8]})
    draws = families.sample(f, np.random.default_rng(9), 200_000)
    grid = np.geomspace(1, 10_000, 50)
    assert np.max(np.abs(families.cdf(f, grid) - np.searchsorted(np.sort(draws), grid, side="right") / draws.size)) < 0.005


def test_calibrated_pack_recovers_every_parameter(spec) -> None:
    p = spec.parameters
    assert p.message_length.family == "lognormal"
    assert abs(p.message_length.params["mu"] - 3.5) < 0.05 and abs(p.message_length.params["sigma"] - 1.0) < 0.05
    assert p.participants_per_group.family == "lognormal"
    assert abs(p.participants_per_group.params["mu"] - 1.6) < 0.1 and abs(p.participants_per_group.params["sigma"] - 0.6) < 0.06
    assert _aic_winner(p.messages_per_conversation) == "discrete_power_law"
    assert _aic_winner(p.messages_per_user) == "discrete_power_law"
    assert p.conversation_kind.weights == {"direct": SHARE_DIRECT, "group": pytest.approx(1 - SHARE_DIRECT)}
    assert p.device.weights == {"web": 0.35, "ios": 0.4, "android": 0.25}
    assert p.attachments.kind.weights == {"image": 0.6, "video": 0.15, "audio": 0.1, "file": 0.15}
    for kind in ("image", "video", "audio", "file"):
        fitted, true = p.attachments.size_bytes[kind], TRUE[f"size_{kind}"].params
        assert abs(fitted.params["mu"] - true["mu"]) < 0.15 and abs(fitted.params["sigma"] / true["sigma"] - 1) < 0.1, kind
    latency = p.reads.latency_seconds
    assert latency.family == "lognormal" and abs(latency.params["mu"] - 5.5) < 0.05 and abs(latency.params["sigma"] - 2.0) < 0.1
    assert abs(sum(p.hour_of_week.weights) - 1) < 1e-4


def test_reads_per_message_is_conditional_on_one_read(spec) -> None:
    pack = make_pack(11)
    reads = spec.parameters.reads
    assert reads.share_of_messages_read == pack.metrics.reads.share_of_messages_read
    assert pack.metrics.reads.reads_per_message.min == 0  # the pack counts zeros ...
    fitted = reads.reads_per_message  # ... the spec does not
    assert fitted.low == 1 and fitted.family == "lognormal"
    assert abs(fitted.params["mu"] - 0.7) < 0.05 and abs(fitted.params["sigma"] - 0.6) < 0.05
    assert families.sample(fitted, np.random.default_rng(0), 1000).min() >= 1
    per_message = spec.parameters.attachments.per_message
    assert abs(per_message.params["mu"] - 0.1) < 0.1 and abs(per_message.params["sigma"] - 0.5) < 0.06


def test_inter_arrival_reproduces_the_burst_coefficient(spec) -> None:
    ia = spec.parameters.inter_arrival
    assert ia.model.family == "mmpp2"
    assert ia.burst_coefficient == make_pack(11).metrics.inter_arrival_seconds.burst_coefficient
    assert abs(simulated_burst_coefficient(ia.model) / ia.burst_coefficient - 1) < 0.15
    assert ia.model.gof.checks["burst_coefficient_pack"] == pytest.approx(ia.burst_coefficient, rel=1e-5)


def test_heavy_room_tail_is_preserved() -> None:
    rng = np.random.default_rng(12)
    body = families.sample(Fitted(family="lognormal", params={"mu": 4.0, "sigma": 1.0}, low=1, high=1000, discrete=True), rng, 4_850)
    heavy = families.sample(Fitted(family="lognormal", params={"mu": 8.5, "sigma": 0.7}, low=1001, high=200_000, discrete=True), rng, 150)
    pack = make_pack(12, messages_per_conversation=np.concatenate([body, heavy]))
    spec = calibrate(pack, SHA).spec
    hr, mpc = pack.metrics.heavy_rooms, spec.parameters.messages_per_conversation
    assert spec.parameters.heavy_rooms.share_of_conversations == hr.share_of_conversations == 0.03
    assert spec.parameters.heavy_rooms.share_of_messages == hr.share_of_messages
    assert not mpc.gof.poor
    draws = families.sample(mpc, np.random.default_rng(13), 500_000)
    assert abs(np.mean(draws > 1000) / hr.share_of_conversations - 1) < 0.15
    assert abs(draws[draws > 1000].sum() / draws.sum() / hr.share_of_messages - 1) < 0.15
    size = spec.parameters.heavy_rooms.size
    assert size.family == "lognormal" and size.low == 1001 and abs(size.params["mu"] - 8.5) < 0.2


def _pack_with_heavy_rooms_and_silent_users(seed: int, heavy_room_participants: bool):
    """3,000 conversations, 90 heavy rooms of ~e^3.5 = 33 participants (ordinary groups ~5), and
    1,500 users of whom 300 sent nothing in the window."""
    rng = np.random.default_rng(seed)
    n, n_heavy = 3_000, 90
    lognormal = lambda mu, sigma, low, high, k: families.sample(  # noqa: E731
        Fitted(family="lognormal", params={"mu": mu, "sigma": sigma}, low=low, high=high, discrete=True), rng, k)
    per_conversation = np.concatenate([lognormal(4.0, 1.0, 1, 1000, n - n_heavy), lognormal(8.0, 0.5, 1001, 100_000, n_heavy)])
    participants = np.full(n, 2.0)
    light_groups = rng.permutation(n - n_heavy)[:810]
    participants[light_groups] = lognormal(1.6, 0.6, 3, 500, light_groups.size)
    participants[n - n_heavy:] = lognormal(3.5, 0.5, 3, 2000, n_heavy)
    per_user = np.concatenate([families.sample(TRUE["messages_per_user"], rng, 1_200), np.zeros(300)])
    return make_pack(seed, messages_per_conversation=per_conversation, participants_per_conversation=participants,
                     participants_per_group=participants[participants > 2], messages_per_user=per_user,
                     heavy_room_participants=heavy_room_participants)


def test_heavy_room_participants_and_active_users_reach_the_spec() -> None:
    from synth_pipeline.calibration.report import format_report

    pack = _pack_with_heavy_rooms_and_silent_users(21, heavy_room_participants=True)
    result = calibrate(pack, SHA)
    spec = result.spec
    assert (spec.totals.users, spec.totals.active_users) == (1_500, 1_200)
    fitted = spec.parameters.heavy_rooms.participants
    assert fitted is not None and not fitted.gof.poor and fitted.low == pack.metrics.heavy_rooms.participants.min
    median = np.median(families.sample(fitted, np.random.default_rng(0), 20_000))
    assert abs(median / np.exp(3.5) - 1) < 0.15  # 90 rooms: the median's sampling error is ~7 %
    report = format_report(spec, result.notes, None)
    assert "heavy_rooms.participants" in report and "totals.active_users" in report

    without = calibrate(_pack_with_heavy_rooms_and_silent_users(21, heavy_room_participants=False), SHA)
    assert without.spec.parameters.heavy_rooms.participants is None
    assert "ordinary group sizes" in " ".join(without.notes["heavy_rooms.participants"])


def test_calibration_is_deterministic() -> None:
    pack = make_pack(3)
    first = canonical_json(calibrate(pack, SHA).spec.model_dump(mode="json"))
    second = canonical_json(calibrate(pack, SHA).spec.model_dump(mode="json"))
    assert first == second


def test_all_mass_in_one_value_is_a_constant() -> None:
    pack = make_pack(4, message_length=np.full(500, 42.0), participants_per_group=np.full(300, 3.0))
    p = calibrate(pack, SHA).spec.parameters
    assert p.message_length.family == "constant" and p.message_length.params == {"value": 42.0}
    assert p.participants_per_group.family == "constant" and p.participants_per_group.params == {"value": 3.0}
    assert families.sample(p.message_length, np.random.default_rng(0), 10).tolist() == [42.0] * 10


def test_all_mass_in_one_wide_bin_goes_through_the_percentiles() -> None:
    b = binned(distribution_from_values(np.arange(100, 200), "seconds"), "metrics.x")
    merged = replace(b, edges=np.array([100.0, 199.0]), counts=np.array([100]))
    f = fit_distribution(merged, ("lognormal",)).fitted
    assert f.family == "empirical" and f.params["values"][0] == 100 and f.params["values"][-1] == 199


def test_suppressed_histograms_fall_back_to_the_percentiles() -> None:
    # 8 heavy users: fewer than min_cell_size, so the whole histogram is suppressed.
    pack = make_pack(5, messages_per_user=np.array([1, 2, 3, 5, 8, 13, 21, 34]))
    assert sum(pack.metrics.messages_per_user.histogram.counts) == 0
    f = calibrate(pack, SHA).spec.parameters.messages_per_user
    assert f.family == "empirical" and f.gof.statistic == "none"
    assert f.params["values"][0] == 1 and f.params["values"][-1] == 34


def test_absent_optional_parts_are_absent_in_the_spec() -> None:
    pack = make_pack(6, device=None, primary_device=None, attachments=None, reads=None, participants_per_group=None, inter_arrival_seconds=None)
    result = calibrate(pack, SHA)
    p = result.spec.parameters
    assert p.device is None and p.primary_device is None and p.attachments is None and p.reads is None
    # Required parameters the pack lacks are derived: groups from participants >= 3, gaps from the window.
    assert p.participants_per_group.low == 3 and abs(p.participants_per_group.params["mu"] - 1.6) < 0.1
    assert p.inter_arrival.model.family == "exponential" and p.inter_arrival.model.gof.statistic == "none"
    assert "participants_per_group" in result.notes and "inter_arrival.model" in result.notes


def test_present_but_empty_parts_get_degenerate_fits() -> None:
    from synth_pipeline.calibration.synthetic_pack import AttachmentArrays, ReadArrays

    pack = make_pack(
        7,
        attachments=AttachmentArrays(per_message=np.zeros(1000), kinds={}),
        reads=ReadArrays(per_message=np.zeros(1000), latency_seconds=np.array([])),
    )
    pack.metrics.reads.latency_seconds.histogram.edges = [0.0, 0.0]  # an empty histogram may have no width
    p = calibrate(pack, SHA).spec.parameters
    assert p.attachments.share_of_messages == 0 and p.attachments.per_message.family == "constant"
    # No kind observed: equal kind weights, each with a default size, so the spec stays drawable.
    assert set(p.attachments.kind.weights) == set(p.attachments.size_bytes) == {"image", "video", "audio", "file"}
    assert all(f.gof.statistic == "none" for f in p.attachments.size_bytes.values())
    assert p.reads.share_of_messages_read == 0 and p.reads.reads_per_message.params == {"value": 1.0}
    assert p.reads.latency_seconds.family == "constant"


def test_zero_count_pack_is_a_clear_error() -> None:
    pack = make_pack(8, messages_per_conversation=np.array([0.0] * 20))
    with pytest.raises(SynthError, match="totals.messages is 0"):
        calibrate(pack, SHA)


def test_fitted_ks_is_measured_against_the_pack_histogram(spec) -> None:
    pack = make_pack(11)
    b = binned(pack.metrics.message_length, "metrics.message_length")
    assert spec.parameters.message_length.gof.value == pytest.approx(ks_distance(spec.parameters.message_length, b), abs=1e-4)


@pytest.mark.parametrize("low, high", [(0.5, 2e6), (3.0, 8.0)])  # most mass inside (normal draws), a narrow window (inverse CDF)
def test_truncated_lognormal_draws_follow_the_truncated_cdf(low: float, high: float) -> None:
    f = Fitted(family="lognormal", params={"mu": 1.5, "sigma": 1.2}, low=low, high=high)
    draws = np.sort(families.sample(f, np.random.default_rng(3), 200_000))
    assert draws[0] >= low and draws[-1] <= high
    model = families.cdf(f, draws)
    ks = max(np.max(np.arange(1, draws.size + 1) / draws.size - model), np.max(model - np.arange(draws.size) / draws.size))
    assert ks < 0.005  # the 1 % critical value at 200,000 draws is 0.0036


def test_locate_is_searchsorted() -> None:
    rng = np.random.default_rng(4)
    edges = np.concatenate([[0.0, 1e-6, 2e-6], np.sort(rng.random(300)), [0.5, 0.5, 1.0]])  # dense cells, ties
    u = np.concatenate([rng.random(200_000), edges[edges < 1], [0.0, 0.5, np.nextafter(1.0, 0.0)]])
    assert np.array_equal(families.locate(np.sort(edges), u), np.searchsorted(np.sort(edges), u, side="right"))
