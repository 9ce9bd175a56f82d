"""Fidelity of a schema in a real database: sampled by the real sampler, compared, plotted, written."""

from __future__ import annotations

import json

import pytest

from synth_pipeline.errors import SynthError
from synth_pipeline.reports.fidelity import load_pack
from synth_pipeline.reports.loaded import LoadedSchemaRef, fidelity_of_loaded_schema
from synth_pipeline.sampler.core import sample_pack, write_pack
from synth_pipeline.sampler.fake_production import build_fake_production
from synth_pipeline.sampler.tokens import Salt

SALT = "fidelity-test-salt-0123456789abcdef"


@pytest.fixture(scope="module")
def production(pg_dsn, tmp_path_factory):
    """Two production-like schemas of the same shape (different seeds) and the pack of the first."""
    build_fake_production(pg_dsn, schema="prod", messages=40_000, seed=3, canaries=0)
    build_fake_production(pg_dsn, schema="other", messages=40_000, seed=4, canaries=0)
    out = tmp_path_factory.mktemp("fidelity_loaded")
    pack_path, _ = write_pack(sample_pack(pg_dsn, schema="prod", salt=Salt(SALT.encode())), out / "prod_pack.json")
    return pg_dsn, pack_path


def test_the_schema_the_pack_came_from_scores_one(production, tmp_path):
    dsn, pack_path = production
    run = fidelity_of_loaded_schema(pack_path, dsn, LoadedSchemaRef("prod"), tmp_path, salt=Salt(SALT.encode()))
    assert run.report.overall == 1.0 and run.report.passed
    assert load_pack(run.actual_pack) == load_pack(pack_path)  # same sampler, same rules, same bytes
    document = json.loads(run.report_json.read_text())
    assert document["overall"] == 1.0 and document["passed"]


def test_another_schema_of_the_same_shape_scores_high_and_writes_everything(production, tmp_path):
    dsn, pack_path = production
    run = fidelity_of_loaded_schema(pack_path, dsn, LoadedSchemaRef("other"), tmp_path, salt=Salt(SALT.encode()))
    assert 0.85 < run.report.overall < 1.0
    assert (tmp_path / "synthetic_pack.json").is_file() and (tmp_path / "synthetic_pack_mapping.json").is_file()
    assert run.plots and all(p.is_file() and p.parent == tmp_path / "plots" for p in run.plots.values())
    text = run.report_markdown.read_text()
    assert "| metric | group | score |" in text and "](plots/" in text and "base64" not in text
    assert run.markdown.count("data:image/png;base64,") == len(run.plots)


def test_loaded_schema_values_are_understood(tmp_path):
    record = tmp_path / "run_x.json"
    record.write_text(json.dumps({"schema": "synth_dev", "mapping": "prisma", "env": "dev", "run_id": "x"}))
    assert LoadedSchemaRef.from_value(str(record)) == LoadedSchemaRef("synth_dev", "prisma", "dev", "x")
    assert LoadedSchemaRef.from_value({"schema": "s"}).mapping == "reference"

    class Result:  # the loader's LoadResult carries these attributes
        schema, env, run_id = "s2", None, "r"

    assert LoadedSchemaRef.from_value(Result()) == LoadedSchemaRef("s2", "reference", None, "r")
    with pytest.raises(SynthError, match="names no schema"):
        LoadedSchemaRef.from_value({})
