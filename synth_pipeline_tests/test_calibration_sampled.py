"""Calibration of packs the real sampler produced from the production-like (fake) database.

The fits must be good the way the generator will use them: values drawn with
`families.sample` (and `sample_mmpp2_sequence` for gaps) land in the pack's bins with a CDF
within the fit's stated tolerance (+0.01 for the draws' own noise), and the heavy-room shares and
the burst coefficient come back. Then the whole Dagster graph on the same source:
metrics_pack -> [PII check] -> validated_pack -> calibrated_spec (the graph refusing planted PII
is tested by the privacy stage). (No `from __future__ import annotations`: Dagster reads the
context annotation.)
"""

import contextlib
import io
import json
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from synth_pipeline.calibration import families
from synth_pipeline.calibration.binned import binned
from synth_pipeline.calibration.calibrate import load_spec
from synth_pipeline.calibration.checks import simulated_burst_coefficient
from synth_pipeline.cli import main
from synth_pipeline.contracts.metrics_pack import MetricsPack
from synth_pipeline.defs.calibration.assets import calibrated_spec
from synth_pipeline.defs.privacy import ASSET_CHECKS, ASSETS
from synth_pipeline.defs.resources import LandingDirectory, PipelineStorage, PostgresDatabase
from synth_pipeline.defs.sampling.assets import metrics_pack
from synth_pipeline.fsutil import sha256_file
from synth_pipeline.sampler.core import sample_pack, write_pack
from synth_pipeline.sampler.tokens import Salt
from synth_pipeline_tests.dagster_fixtures import pack_instance
from synth_pipeline_tests.sampler_fixtures import TEST_SALT, build_small, salt_env  # noqa: F401

SOURCE_ENV = "CALIBRATION_TEST_SOURCE_URL"
DRAWS = 100_000


@pytest.fixture(scope="module")
def sampled(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    build_small(pg_dsn)
    build_small(pg_dsn, schema="bare_src", messages=8_000, attachments=False, reads=False, device=False)
    out = tmp_path_factory.mktemp("sampled")
    salt = Salt(TEST_SALT.encode())
    write_pack(sample_pack(pg_dsn, salt=salt), out / "pack.json")
    write_pack(sample_pack(pg_dsn, schema="bare_src", salt=salt), out / "bare.json")
    return pg_dsn, out


@pytest.fixture(scope="module")
def calibrated(sampled) -> tuple[MetricsPack, object, str]:
    _, out = sampled
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["calibrate", str(out / "pack.json"), "--out", str(out / "spec.json")])
    assert code == 0
    pack = MetricsPack.model_validate_json((out / "pack.json").read_text())
    return pack, load_spec(out / "spec.json"), stdout.getvalue()


def _drawn_ks(fitted, dist, draws: np.ndarray | None = None) -> float:
    """KS distance at the pack's bin edges between values drawn from the spec and the pack."""
    b = binned(dist, "pack")
    if draws is None:
        draws = families.sample(fitted, np.random.default_rng(1), DRAWS)
    below = np.searchsorted(np.sort(draws), b.edges, side="left") / draws.size
    below[0], below[-1] = 0.0, 1.0
    return float(np.max(np.abs(below - b.cumulative())))


def test_every_fit_of_the_sampled_pack_is_within_tolerance(calibrated) -> None:
    pack, spec, report = calibrated
    assert "0 poor fit(s)" in report and "\nPOOR" not in report
    p, m = spec.parameters, pack.metrics
    pairs = {
        "message_length": (p.message_length, m.message_length),
        "messages_per_conversation": (p.messages_per_conversation, m.messages_per_conversation),
        "messages_per_user": (p.messages_per_user, m.messages_per_user),
        "participants_per_group": (p.participants_per_group, m.participants_per_group),
        "attachments.per_message": (p.attachments.per_message, m.attachments.per_message),
        "reads.latency_seconds": (p.reads.latency_seconds, m.reads.latency_seconds),
        **{f"attachments.size_bytes.{k}": (f, getattr(m.attachments.size_bytes, k)) for k, f in p.attachments.size_bytes.items()},
    }
    for name, (fitted, dist) in pairs.items():
        assert not fitted.gof.poor and fitted.gof.value <= fitted.gof.tolerance, name
        assert _drawn_ks(fitted, dist) <= fitted.gof.tolerance + 0.01, name
    gaps = families.sample_mmpp2_sequence(p.inter_arrival.model, np.random.default_rng(2), DRAWS)
    assert _drawn_ks(p.inter_arrival.model, m.inter_arrival_seconds, gaps) <= p.inter_arrival.model.gof.tolerance + 0.01


def test_shares_heavy_rooms_and_bursts_come_back(calibrated) -> None:
    pack, spec, _ = calibrated
    p, m = spec.parameters, pack.metrics
    assert p.reads.share_of_messages_read == m.reads.share_of_messages_read
    assert p.attachments.share_of_messages == m.attachments.share_of_messages
    assert p.conversation_kind.weights["group"] == pytest.approx(m.conversation_kind.group / (m.conversation_kind.direct + m.conversation_kind.group), rel=1e-5)
    # reads per message: the spec is conditional on >= 1 read, the pack is not.
    reads = families.sample(p.reads.reads_per_message, np.random.default_rng(3), DRAWS)
    assert reads.min() >= 1
    assert abs(reads.mean() * m.reads.share_of_messages_read / m.reads.reads_per_message.mean - 1) < 0.05
    sizes = families.sample(p.messages_per_conversation, np.random.default_rng(4), DRAWS)
    threshold = p.heavy_rooms.threshold
    assert m.heavy_rooms.count > 0
    assert abs(np.mean(sizes > threshold) / m.heavy_rooms.share_of_conversations - 1) < 0.25
    assert abs(sizes[sizes > threshold].sum() / sizes.sum() / m.heavy_rooms.share_of_messages - 1) < 0.2
    assert abs(sizes.mean() / m.messages_per_conversation.mean - 1) < 0.1
    burst = m.inter_arrival_seconds.burst_coefficient
    assert abs(simulated_burst_coefficient(p.inter_arrival.model) / burst - 1) < 0.15


def test_source_without_optional_parts(sampled, tmp_path, capsys) -> None:
    _, out = sampled
    assert main(["calibrate", str(out / "bare.json"), "--out", str(tmp_path / "bare_spec.json")]) == 0
    document = json.loads((tmp_path / "bare_spec.json").read_text())["parameters"]
    assert document["attachments"] is None and document["reads"] is None and document["device"] is None
    assert "attachments" in capsys.readouterr().out


def _graph(tmp_path: Path, partition: str) -> tuple[dg.ExecuteInProcessResult, Path]:
    instance = pack_instance(partition)
    storage = tmp_path / "storage"
    result = dg.materialize(
        [metrics_pack, *ASSETS, calibrated_spec, *ASSET_CHECKS],
        partition_key=partition,
        instance=instance,
        resources={
            "source_db": PostgresDatabase(url_env=SOURCE_ENV),
            "landing": LandingDirectory(path=str(tmp_path / "landing")),
            "storage": PipelineStorage(root=str(storage)),
        },
        raise_on_error=False,
    )
    return result, storage


def test_dagster_graph_from_the_source_to_the_spec(sampled, salt_env, tmp_path, monkeypatch) -> None:
    dsn, _ = sampled
    monkeypatch.setenv(SOURCE_ENV, dsn)
    result, storage = _graph(tmp_path, "2026q4")
    assert result.success
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
        "metrics_pack", "validated_pack", "calibrated_spec"}
    spec_path = Path(result.output_for_node("calibrated_spec"))
    assert spec_path == storage / "specs" / "2026q4.json"
    spec = load_spec(spec_path)
    validated = Path(result.output_for_node("validated_pack"))
    assert spec.source.pack_sha256 == sha256_file(validated)
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "calibrated_spec"]
    metadata = event.materialization.metadata
    assert metadata["poor_fit_count"].value == 0
    assert metadata["families"].value["message_length"] in {"lognormal", "empirical"}

