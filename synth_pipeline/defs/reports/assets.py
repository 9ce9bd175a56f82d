"""`fidelity_report` and `query_baselines`: the proofs, after `loaded_schema`.

Thin shells over `synth_pipeline.reports`:
- `fidelity_report` samples the loaded schema with the sampler (the production pack's window and
  small-cell size; ANONYMIZATION_SALT from the run's environment, as for the production pack),
  compares it with the production pack of the most recent pack partition (the one the shards were
  generated from: generation reads the latest calibrated spec too), and attaches what a person
  would rather look at than read: the score table and one overlaid plot per metric as markdown.
  Its check `fidelity_above_threshold` fails (severity ERROR) below 0.90 overall or 0.80 on any
  metric, and names the worst metrics with the spec parameters that drive them.
- `query_baselines` runs the hot-path catalog before and after the recommended indexes, with the
  provisioned read-only role for measurements and the owner role for index changes when the load
  went into a provisioned environment, and attaches the before/after table. It changes indexes and
  writes (rolled back), so it refuses what the loader refuses: the named production source
  (SYNTH_SOURCE_URL, the `source_db` resource), and a schema the loader did not create.
Both measure the database of the loader's `perf_target` resource (a provisioned environment's
secrets, or SYNTH_PERF_URL); the schema, mapping and environment come from the `loaded_schema` value.
"""

from typing import Any

import dagster as dg

from synth_pipeline.defs.loading.resources import PerfTarget, production_sources
from synth_pipeline.defs.resources import PipelineStorage, PostgresDatabase
from synth_pipeline.errors import SynthError

FIDELITY_CHECK = "fidelity_above_threshold"
LAST_PACK = dg.LastPartitionMapping()


class FidelityConfig(dg.Config):
    threshold: float = 0.90  # minimum overall score
    min_metric: float = 0.80  # minimum score of every metric


class BaselinesConfig(dg.Config):
    runs: int = 5
    write_rows: int = 20_000
    regression_threshold: float = 0.5
    keep_indexes: bool = False


def _measure_dsn(perf_target: PerfTarget, env: str | None) -> str:
    """The read-only role of a provisioned environment when there is one, else the resource's DSN."""
    from synth_pipeline.reports.baselines import resolve_roles

    return resolve_roles(perf_target.dsn(), env).measure_dsn


def _failure(exc: SynthError) -> dg.Failure:
    return dg.Failure(description=str(exc), allow_retries=False)


@dg.asset(
    ins={
        "loaded_schema": dg.AssetIn(),
        "validated_pack": dg.AssetIn(partition_mapping=LAST_PACK),
        "calibrated_spec": dg.AssetIn(partition_mapping=LAST_PACK),
    },
    check_specs=[dg.AssetCheckSpec(FIDELITY_CHECK, asset="fidelity_report",
                                   description="overall fidelity >= 0.90 and every metric >= 0.80 (configurable)")],
    tags={"stage": "reports"},
    kinds={"postgres", "python"},
    description="How closely the loaded synthetic schema matches the production pack: scores in [0, 1] per metric "
    "(KS, total variation, relative error, cardinality shape), overall score, overlaid plots, and the spec "
    "parameter behind every low metric. Value: the report JSON's path.",
)
def fidelity_report(context: dg.AssetExecutionContext, config: FidelityConfig, perf_target: PerfTarget,
                    storage: PipelineStorage, loaded_schema: Any, validated_pack: str, calibrated_spec: str):
    from synth_pipeline.reports.loaded import LoadedSchemaRef, fidelity_of_loaded_schema
    from synth_pipeline.reports.plots import score_table_markdown

    try:
        ref = LoadedSchemaRef.from_value(loaded_schema)
        out_dir = storage.path("fidelity", ref.schema, "fidelity.json").parent
        run = fidelity_of_loaded_schema(validated_pack, _measure_dsn(perf_target, ref.env), ref, out_dir,
                                        threshold=config.threshold, min_metric=config.min_metric, spec=calibrated_spec)
    except SynthError as exc:
        raise _failure(exc) from None
    report = run.report
    context.log.info(f"fidelity {report.overall:.4f} of schema {ref.schema}; worst: "
                     + ", ".join(f"{m.name} {m.score:.3f}" for m in report.metrics[:3]))
    yield dg.Output(str(run.report_json), metadata={
        "overall": dg.MetadataValue.float(round(report.overall, 4)),
        "worst_metric": dg.MetadataValue.text(f"{report.metrics[0].name} {report.metrics[0].score:.4f}"),
        "groups": dg.MetadataValue.json({k: round(v, 4) for k, v in report.groups.items()}),
        "report": dg.MetadataValue.md(run.markdown),
        "report_path": dg.MetadataValue.path(str(run.report_markdown)),
        "plots_dir": dg.MetadataValue.path(str(out_dir / "plots")),
        "synthetic_pack": dg.MetadataValue.path(str(run.actual_pack)),
    })
    low = report.low_metrics
    yield dg.AssetCheckResult(
        check_name=FIDELITY_CHECK,
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"fidelity {report.overall:.4f} (threshold {config.threshold:.2f}, every metric >= "
                     f"{config.min_metric:.2f})"),
        metadata={
            "overall": dg.MetadataValue.float(round(report.overall, 4)),
            "scores": dg.MetadataValue.md(score_table_markdown(report)),
            "feedback": dg.MetadataValue.json({m.name: {"score": round(m.score, 4), "drives": m.drives, "fit": m.fit}
                                               for m in low}),
        },
    )


@dg.asset(
    ins={"loaded_schema": dg.AssetIn()},
    tags={"stage": "reports"},
    kinds={"postgres"},
    description="The chat hot paths (keyset pages, conversation list, unread counts, sender range, read receipts, "
    "heavy-room scan) with EXPLAIN ANALYZE before and after the recommended indexes, their size and write cost, "
    "and regressions against the previous run. Value: the run's JSON path.",
)
def query_baselines(context: dg.AssetExecutionContext, config: BaselinesConfig, perf_target: PerfTarget,
                    source_db: PostgresDatabase, storage: PipelineStorage, loaded_schema: Any) -> dg.Output[str]:
    from synth_pipeline.reports.baselines import BaselineOptions, run_baselines
    from synth_pipeline.reports.loaded import LoadedSchemaRef

    options = BaselineOptions(runs=config.runs, write_rows=config.write_rows,
                              regression_threshold=config.regression_threshold, keep_indexes=config.keep_indexes)
    try:
        ref = LoadedSchemaRef.from_value(loaded_schema)
        dsn = perf_target.dsn()
        out_dir = storage.path("baselines", ref.schema, "runs").parent
        result = run_baselines(dsn, ref.schema, mapping_name=ref.mapping, out_dir=out_dir, options=options,
                               env=ref.env, source_urls=production_sources(source_db))
    except SynthError as exc:
        raise _failure(exc) from None
    context.log.info(f"baselines run {result.run_id} of schema {ref.schema}: {result.roles}")
    if result.regressions:
        context.log.warning(f"{len(result.regressions)} regression(s) against run {result.previous_run_id}")
    return dg.Output(str(result.json_path), metadata={
        "baselines": dg.MetadataValue.md(result.markdown_table()),
        "report_path": dg.MetadataValue.path(str(result.markdown_path)),
        "roles": dg.MetadataValue.text(result.roles),
        "plans_changed": dg.MetadataValue.int(sum(1 for c in result.cases if c.before and c.after
                                                  and c.before.shape != c.after.shape)),
        "index_bytes": dg.MetadataValue.json({i.name: i.size_bytes for i in result.indexes}),
        "write_wal_records_ratio": dg.MetadataValue.json(
            {w.table: round(w.ratios("with_indexes")["wal_records"], 3) for w in result.write_costs}),
        "regressions": dg.MetadataValue.int(len(result.regressions)),
    })
