"""The contract models, their generated JSON Schemas, and the shipped reference spec agree."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from synth_pipeline.calibration.families import cdf, sample
from synth_pipeline.contracts.distribution_spec import DistributionSpec, Fitted
from synth_pipeline.contracts.export import main as export_main
from synth_pipeline.paths import DISTRIBUTION_SPEC_SCHEMA, METRICS_PACK_SCHEMA, REFERENCE_SPEC


def test_json_schemas_are_up_to_date() -> None:
    assert export_main(["--check"]) == 0, "run: python -m synth_pipeline.contracts.export"


def test_reference_spec_validates_against_schema_and_model() -> None:
    document = json.loads(REFERENCE_SPEC.read_text())
    jsonschema.validate(document, json.loads(DISTRIBUTION_SPEC_SCHEMA.read_text()))
    spec = DistributionSpec.model_validate(document)
    assert len(spec.parameters.hour_of_week.weights) == 168


def test_pack_schema_is_an_allowlist() -> None:
    schema = json.loads(METRICS_PACK_SCHEMA.read_text())
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object":
            assert definition.get("additionalProperties") is False, name
            assert set(definition.get("required", [])) == set(definition["properties"]), name


def _discrete_ks(f: Fitted, draws: np.ndarray) -> float:
    values, counts = np.unique(draws, return_counts=True)
    return float(np.max(np.abs(cdf(f, values) - np.cumsum(counts) / draws.size)))


@pytest.mark.parametrize(
    "fitted",
    [
        Fitted(family="lognormal", params={"mu": 3.5, "sigma": 1.0}, low=1, high=4000, discrete=True),
        Fitted(family="discrete_power_law", params={"alpha": 1.8}, low=1, high=100000, discrete=True),
        Fitted(family="discrete_power_law", params={"alpha": 1.0}, low=2, high=5000, discrete=True),
        Fitted(family="exponential_mixture", params={"weights": [0.7, 0.3], "rates": [0.5, 0.001]}),
        Fitted(family="mmpp2", params={"rate_burst": 0.2, "rate_idle": 0.001, "p_burst_to_idle": 0.1, "p_idle_to_burst": 0.3}),
        Fitted(family="empirical", params={"probabilities": [0, 0.5, 1], "values": [1, 10, 100]}),
        Fitted(family="constant", params={"value": 2}, discrete=True),
    ],
    ids=lambda f: f.family,
)
def test_family_samples_match_their_cdf(fitted: Fitted) -> None:
    draws = sample(fitted, np.random.default_rng(7), 100_000)
    assert _discrete_ks(fitted, draws) < 0.01
    if fitted.low is not None:
        assert draws.min() >= fitted.low and draws.max() <= fitted.high


def test_family_draws_are_seeded() -> None:
    fitted = Fitted(family="lognormal", params={"mu": 1.0, "sigma": 0.5})
    a = sample(fitted, np.random.default_rng(3), 1000)
    b = sample(fitted, np.random.default_rng(3), 1000)
    c = sample(fitted, np.random.default_rng(4), 1000)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
