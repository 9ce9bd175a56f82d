"""`synth-pipeline calibrate`: the written spec, the report, --previous, and bad input."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from synth_pipeline.calibration.calibrate import load_spec
from synth_pipeline.cli import main
from synth_pipeline.fsutil import sha256_file
from synth_pipeline.paths import DISTRIBUTION_SPEC_SCHEMA, PROJECT_ROOT, REFERENCE_SPEC
from synth_pipeline_tests.calibration_fixtures import make_pack, write_pack
from synth_pipeline_tests.helpers import run_cli


@pytest.fixture(scope="module")
def pack_path(tmp_path_factory):
    return write_pack(make_pack(21), tmp_path_factory.mktemp("packs") / "pack.json")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["calibrate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_calibrate_writes_a_valid_versioned_spec_and_reports_each_parameter(pack_path, tmp_path, capsys) -> None:
    out = tmp_path / "spec.json"
    code, stdout, stderr = _run(capsys, pack_path, "--out", out)
    assert code == 0 and stderr == ""
    document = json.loads(out.read_text())
    jsonschema.validate(document, json.loads(DISTRIBUTION_SPEC_SCHEMA.read_text()))
    assert document["spec_version"] == 1
    assert document["source"] == {"kind": "pack", "pack_sha256": sha256_file(pack_path), "window_days": 30}
    for name in ("message_length", "messages_per_conversation", "inter_arrival.model", "hour_of_week", "reads.latency_seconds"):
        assert any(name in line.split()[:2] for line in stdout.splitlines()), name
    assert "lognormal mu=" in stdout and "ks " in stdout and "aic:" in stdout
    assert "poor fit(s)" in stdout


def test_same_pack_gives_byte_identical_specs(pack_path, tmp_path, capsys) -> None:
    _run(capsys, pack_path, "--out", tmp_path / "a.json")
    _run(capsys, pack_path, "--out", tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_previous_bumps_the_version_and_prints_old_to_new(pack_path, tmp_path, capsys) -> None:
    _run(capsys, pack_path, "--out", tmp_path / "v1.json")
    changed = json.loads(pack_path.read_text())
    old_share = changed["metrics"]["attachments"]["share_of_messages"]
    changed["metrics"]["attachments"]["share_of_messages"] = 0.17
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(changed))
    code, stdout, _ = _run(capsys, newer, "--out", tmp_path / "v2.json", "--previous", tmp_path / "v1.json")
    assert code == 0
    assert load_spec(tmp_path / "v2.json").spec_version == 2
    changes = stdout[stdout.index("changes vs previous spec"):].splitlines()
    assert changes[0].startswith("changes vs previous spec (version 1 -> 2): 1")
    assert changes[1].strip() == f"attachments.share_of_messages {old_share:.4g} -> 0.17"


def test_previous_with_the_same_pack_reports_no_change(pack_path, tmp_path, capsys) -> None:
    _run(capsys, pack_path, "--out", tmp_path / "v1.json")
    _, stdout, _ = _run(capsys, pack_path, "--out", tmp_path / "v2.json", "--previous", tmp_path / "v1.json")
    assert "(version 1 -> 2): none" in stdout


def test_missing_parts_are_reported_absent(tmp_path, capsys) -> None:
    path = write_pack(make_pack(22, reads=None, attachments=None, device=None), tmp_path / "bare.json")
    code, stdout, _ = _run(capsys, path, "--out", tmp_path / "spec.json")
    assert code == 0
    document = json.loads((tmp_path / "spec.json").read_text())
    assert document["parameters"]["reads"] is None and document["parameters"]["attachments"] is None
    assert document["parameters"]["device"] is None
    assert any(line.split()[:2] == ["reads", "absent"] for line in stdout.splitlines())


def test_poor_fits_are_flagged(tmp_path, capsys) -> None:
    # The privacy-suppressed case: no histogram to check the fit against is "not checked";
    # a burst coefficient no marginal can reproduce is POOR.
    pack = make_pack(23)
    pack.metrics.inter_arrival_seconds.burst_coefficient = 5000.0
    path = write_pack(pack, tmp_path / "odd.json")
    code, stdout, _ = _run(capsys, path, "--out", tmp_path / "spec.json")
    assert code == 0
    assert any(line.startswith("POOR inter_arrival.model") for line in stdout.splitlines())
    assert "1 poor fit(s)" in stdout
    assert json.loads((tmp_path / "spec.json").read_text())["parameters"]["inter_arrival"]["model"]["gof"]["poor"] is True


@pytest.mark.parametrize(
    "content,expected",
    [
        (None, "cannot read the metrics pack"),
        ("{not json", "not valid JSON at line 1 column 2"),
        ('{"a": NaN}', "not valid JSON"),
        ('{"a": 1e999}', "not valid JSON"),  # overflows to Infinity
        ("[]", "not a valid metrics pack: $ breaks the 'type' rule"),
    ],
    ids=["missing", "not-json", "nan", "overflow", "wrong-type"],
)
def test_unreadable_packs_are_one_line_errors(tmp_path, capsys, content, expected) -> None:
    path = tmp_path / "pack.json"
    if content is not None:
        path.write_text(content)
    code, stdout, stderr = _run(capsys, path, "--out", tmp_path / "spec.json")
    assert code == 2 and stdout == ""
    assert expected in stderr and str(path) in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "spec.json").exists()


def test_schema_failures_name_the_path_but_not_the_value(pack_path, tmp_path, capsys) -> None:
    document = json.loads(pack_path.read_text())
    document["metrics"]["device"]["jane.doe@example.com"] = 3
    document["totals"]["users"] = -987654
    for key, expected in (("metrics", "$.metrics.device breaks the 'additionalProperties' rule"), ("totals", "$.totals.users breaks the 'minimum' rule")):
        broken = json.loads(pack_path.read_text())
        broken[key] = document[key]
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(broken))
        code, _, stderr = _run(capsys, path, "--out", tmp_path / "spec.json")
        assert code == 2 and expected in stderr, stderr
        assert "jane.doe" not in stderr and "987654" not in stderr


def test_zero_count_pack_and_bad_previous_exit_2(pack_path, tmp_path, capsys) -> None:
    empty = write_pack(make_pack(24, messages_per_conversation=np.zeros(30)), tmp_path / "empty.json")
    code, _, stderr = _run(capsys, empty, "--out", tmp_path / "spec.json")
    assert code == 2 and "totals.messages is 0" in stderr
    code, _, stderr = _run(capsys, pack_path, "--out", tmp_path / "spec.json", "--previous", pack_path)
    assert code == 2 and "not a valid distribution spec" in stderr
    code, _, stderr = _run(capsys, pack_path, "--out", pack_path / "spec.json")
    assert code == 2 and "cannot write the spec" in stderr


def test_histogram_shape_errors_are_input_errors(pack_path, tmp_path, capsys) -> None:
    document = json.loads(pack_path.read_text())
    document["metrics"]["message_length"]["histogram"]["edges"].pop()
    path = tmp_path / "bad_edges.json"
    path.write_text(json.dumps(document))
    code, _, stderr = _run(capsys, path, "--out", tmp_path / "spec.json")
    assert code == 2 and "metrics.message_length.histogram" in stderr


def test_reference_spec_is_the_calibrated_reference_and_works_as_previous(pack_path, tmp_path, capsys) -> None:
    from synth_pipeline.calibration.reference import reference_spec

    # Approximately: another numpy/scipy build may move the last digits of an optimum.
    shipped = json.loads(REFERENCE_SPEC.read_text())
    assert shipped == _approx(json.loads(json.dumps(reference_spec().model_dump(mode="json")))), (
        "run: python -m synth_pipeline.calibration.reference"
    )
    reference = load_spec(REFERENCE_SPEC)
    assert reference.source.kind == "reference" and reference.source.pack_sha256 is None
    heavy = reference.parameters.heavy_rooms
    assert 0.01 <= heavy.share_of_conversations <= 0.05 and heavy.size is not None
    checks = reference.parameters.messages_per_conversation.gof.checks
    assert abs(checks["heavy_share_of_messages_fit"] / checks["heavy_share_of_messages_pack"] - 1) < 0.15
    code, stdout, _ = _run(capsys, pack_path, "--out", tmp_path / "spec.json", "--previous", REFERENCE_SPEC)
    assert code == 0 and "heavy_rooms.share_of_conversations 0.03 ->" in stdout


def _approx(value):
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-3, abs=1e-9)
    return value


def test_console_script_runs(pack_path, tmp_path) -> None:
    result = run_cli("calibrate", str(pack_path), "--out", str(tmp_path / "s.json"), cwd=PROJECT_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "distribution spec version 1" in result.stdout
