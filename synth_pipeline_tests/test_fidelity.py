"""Fidelity scores, the CDF rebuilt from packs, plots and the `fidelity` CLI (no database needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synth_pipeline.cli import main
from synth_pipeline.contracts.binning import distribution_from_values
from synth_pipeline.contracts.distribution_spec import DistributionSpec
from synth_pipeline.paths import SPECS_DIR
from synth_pipeline.reports.cdf import cdf_of, ks_distance
from synth_pipeline.reports.fidelity import DRIVERS, METRICS, compare_packs, format_table, load_pack
from synth_pipeline.reports.plots import markdown_report, plot_report, save_plots
from synth_pipeline_tests.fidelity_fixtures import make_pack


@pytest.fixture(scope="module")
def production():
    return make_pack(seed=11)


def _score(report, name):
    return next(m for m in report.metrics if m.name == name)


def _write(tmp_path, name, pack):
    path = tmp_path / name
    path.write_text(pack.model_dump_json())
    return path


# --- CDFs from histograms with different edges -------------------------------------------------

def test_cdf_matches_the_empirical_cdf_of_the_values():
    values = np.random.default_rng(3).lognormal(4.0, 1.2, 20000)
    cdf = cdf_of(distribution_from_values(values, "seconds"))
    probe = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95, 0.995])
    empirical = np.searchsorted(np.sort(values), probe, side="right") / values.size
    assert np.max(np.abs(cdf(probe) - empirical)) < 0.01


def test_ks_on_different_edges_recovers_the_true_distance():
    rng = np.random.default_rng(5)
    a, b = rng.lognormal(3.0, 1.0, 30000), rng.lognormal(3.3, 1.0, 30000) * 1.5
    # The two samples have different min/max, hence different edges.
    da, db = distribution_from_values(a, "seconds"), distribution_from_values(b, "seconds")
    assert da.histogram.edges != db.histogram.edges
    grid = np.sort(np.concatenate([a, b]))
    true_ks = np.max(np.abs(np.searchsorted(np.sort(a), grid, "right") / a.size - np.searchsorted(np.sort(b), grid, "right") / b.size))
    assert ks_distance(cdf_of(da), cdf_of(db)) == pytest.approx(true_ks, abs=0.01)


def test_integer_units_compare_exactly_when_bins_are_one_per_value():
    a = np.array([1] * 50 + [2] * 30 + [3] * 20)
    b = np.array([1] * 30 + [2] * 30 + [3] * 20 + [4] * 20)
    ks = ks_distance(cdf_of(distribution_from_values(a, "messages")), cdf_of(distribution_from_values(b, "messages")))
    assert ks == pytest.approx(0.20)


def test_a_suppressed_histogram_falls_back_to_percentiles():
    d = distribution_from_values(np.arange(1, 8), "messages", min_cell_size=10)
    assert d.histogram.suppressed == 7 and sum(d.histogram.counts) == 0
    cdf = cdf_of(d)
    assert cdf(d.min) == 0.0 and cdf(d.percentiles.max + 1) == 1.0
    assert 0.3 < float(cdf(d.percentiles.p50 + 0.5)) <= 0.5 + 1e-9


# --- scores --------------------------------------------------------------------------------------

def test_a_pack_against_itself_scores_one(production):
    report = compare_packs(production, production)
    assert report.overall == 1.0 and report.passed
    assert all(m.score == 1.0 for m in report.metrics)
    assert {m.name for m in report.metrics} | set(report.skipped) == {m.name for m in METRICS}


def test_another_sample_of_the_same_shape_scores_high(production):
    report = compare_packs(production, make_pack(seed=12))
    assert report.overall > 0.95 and report.passed


@pytest.mark.parametrize(
    ("override", "blamed"),
    [
        ({"length_mu": 4.0}, "message_length"),
        ({"messages_alpha": 2.5}, "messages_per_conversation"),
        ({"heavy_median": 3000}, "heavy_rooms.sizes"),
        ({"device_weights": (0.2, 0.6, 0.2)}, "device"),
        ({"night_weight": 1.0}, "hour_of_week"),
        ({"burst_weight": 0.3}, "inter_arrival_seconds.burst_coefficient"),
        ({"read_share": 0.4}, "reads.share_of_messages_read"),
        ({"latency_mu": 6.0}, "reads.latency_seconds"),
        ({"group_share": 0.7}, "conversation_kind"),
    ],
)
def test_a_perturbed_pack_scores_lower_in_the_right_metric(production, override, blamed):
    report = compare_packs(production, make_pack(seed=11, **override))
    assert report.overall < 1.0
    perturbed = _score(report, blamed)
    assert perturbed.score < 0.9
    # The blamed metric is among the worst and names the spec parameter that drives it.
    assert blamed in [m.name for m in report.metrics[:4]]
    assert perturbed.drives == list(DRIVERS[blamed]) and perturbed.drives[0].startswith("parameters.")
    # Metrics untouched by the perturbation still score 1 (one random stream per component).
    assert _score(report, "primary_device").score == 1.0 or blamed == "primary_device"


def test_heavy_rooms_drive_the_messages_per_conversation_feedback(production):
    report = compare_packs(production, make_pack(seed=11, heavy_share=0.006))
    low = {m.name: m for m in report.low_metrics}
    assert low["messages_per_conversation"].drives == ["parameters.messages_per_conversation", "parameters.heavy_rooms"]
    assert {"heavy_rooms.share_of_messages", "heavy_rooms.share_of_conversations"} <= set(low)
    text = "\n".join(format_table(report))
    assert "calibration feedback" in text and "parameters.heavy_rooms.share_of_messages" in text


def test_absent_on_one_side_scores_zero_absent_on_both_is_skipped(production):
    no_reads = make_pack(seed=11, with_reads=False)
    report = compare_packs(production, no_reads)
    for name in ("reads.share_of_messages_read", "reads.reads_per_message", "reads.latency_seconds"):
        m = _score(report, name)
        assert m.score == 0.0 and "absent in the actual" in m.finding
    both = compare_packs(no_reads, no_reads)
    assert "reads.latency_seconds" in both.skipped and both.overall == 1.0


def test_overall_is_the_mean_of_group_means(production):
    report = compare_packs(production, make_pack(seed=11, length_mu=4.0, night_weight=1.0))
    assert report.overall == pytest.approx(np.mean(list(report.groups.values())))
    for group, value in report.groups.items():
        assert value == pytest.approx(np.mean([m.score for m in report.metrics if m.group == group]))
    assert [m.score for m in report.metrics] == sorted(m.score for m in report.metrics)


def test_spec_goodness_of_fit_is_shown_for_low_metrics(production):
    spec = DistributionSpec.model_validate_json((SPECS_DIR / "distribution-spec.json").read_text())
    report = compare_packs(production, make_pack(seed=11, length_mu=4.0), spec=spec)
    assert _score(report, "message_length").fit  # family and statistic of the reference spec


# --- plots ---------------------------------------------------------------------------------------

def test_plots_are_pngs_and_the_markdown_embeds_them(production, tmp_path):
    actual = make_pack(seed=11, with_reads=False, night_weight=0.6)
    report = compare_packs(production, actual)
    plots = plot_report(report, production, actual)
    assert "reads.latency_seconds" not in plots  # absent on one side: nothing to overlay
    assert {"hour_of_week", "messages_per_conversation", "device", "heavy_rooms.share_of_messages"} <= set(plots)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in plots.values())
    paths = save_plots(plots, tmp_path / "plots")
    assert paths["hour_of_week"].read_bytes() == plots["hour_of_week"]
    md = markdown_report(report, plots)
    assert md.count("data:image/png;base64,") == len(plots)
    assert "| reads.latency_seconds" in md and "Calibration feedback" in md


# --- CLI -----------------------------------------------------------------------------------------

def test_cli_pass_prints_score_and_table(production, tmp_path, capsys):
    path = _write(tmp_path, "prod.json", production)
    assert main(["fidelity", "--expected", str(path), "--actual", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("fidelity 1.0000 (threshold 0.90): PASS")
    assert "messages_per_conversation" in out


def test_cli_threshold_and_exit_codes(production, tmp_path, capsys):
    expected = _write(tmp_path, "prod.json", production)
    actual = _write(tmp_path, "synthetic.json", make_pack(seed=11, heavy_share=0.005, length_mu=4.2, with_reads=False))
    score = compare_packs(production, load_pack(actual)).overall
    assert 0.5 < score < 0.9
    assert main(["fidelity", "--expected", str(expected), "--actual", str(actual)]) == 1
    assert "below the threshold" in capsys.readouterr().err
    assert main(["fidelity", "--expected", str(expected), "--actual", str(actual), "--threshold", f"{score - 0.01:.4f}"]) == 0
    capsys.readouterr()
    # The per-metric floor fails even when the overall score passes.
    assert main(["fidelity", "--expected", str(expected), "--actual", str(actual), "--threshold", "0.1",
                 "--min-metric", "0.5"]) == 1


def test_cli_json_output(production, tmp_path, capsys):
    expected = _write(tmp_path, "prod.json", production)
    actual = _write(tmp_path, "synthetic.json", make_pack(seed=11, length_mu=4.0))
    code = main(["fidelity", "--expected", str(expected), "--actual", str(actual), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == (0 if document["passed"] else 1)
    assert document["metrics"][0]["score"] <= document["metrics"][-1]["score"]
    assert {"overall", "groups", "threshold", "skipped"} <= set(document)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the metrics pack"),
        ("{not json", "not valid JSON"),
        ('{"schema_version": "1.0"}', "not a valid metrics pack"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(production, tmp_path, capsys, content, message):
    good = _write(tmp_path, "prod.json", production)
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["fidelity", "--expected", str(good), "--actual", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "bad.json" in err and len(err.splitlines()) == 1


def test_cli_rejects_a_threshold_outside_the_unit_interval(production, tmp_path, capsys):
    good = _write(tmp_path, "prod.json", production)
    with pytest.raises(SystemExit) as exc:
        main(["fidelity", "--expected", str(good), "--actual", str(good), "--threshold", "1.5"])
    assert exc.value.code == 2
