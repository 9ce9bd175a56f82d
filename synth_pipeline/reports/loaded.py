"""Where a loaded synthetic schema is, as the reports need it (plain Python, used by the Dagster shell).

The loader's `loaded_schema` asset describes a load; the reports only need the schema, its
mapping and the provisioned environment (whose secrets give the read-only and owner roles).
`LoadedSchemaRef.from_value` accepts what the loader hands over: its `LoadResult`, a mapping with
the same fields, or the path of its `run_<id>.json` record. `fidelity_of_loaded_schema` is the one
core call behind the `fidelity_report` asset: sample, compare, plot, write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth_pipeline.errors import SynthError

if TYPE_CHECKING:
    from synth_pipeline.reports.fidelity import FidelityReport
    from synth_pipeline.sampler.tokens import Salt


@dataclass(frozen=True)
class LoadedSchemaRef:
    schema: str
    mapping: str = "reference"
    env: str | None = None
    run_id: str | None = None

    @classmethod
    def from_value(cls, value: Any, *, default_mapping: str = "reference") -> LoadedSchemaRef:
        if isinstance(value, LoadedSchemaRef):
            return value
        if isinstance(value, (str, Path)):
            path = Path(value)
            try:
                value = json.loads(path.read_bytes())
            except (OSError, ValueError):
                raise SynthError(f"cannot read the load record {path}; pass the loader's run_<id>.json") from None
        fields = value if isinstance(value, dict) else {k: getattr(value, k, None) for k in ("schema", "mapping", "env", "run_id")}
        schema = fields.get("schema")
        if not schema:
            raise SynthError("the loaded_schema value names no schema; expected the loader's LoadResult or run record")
        mapping = fields.get("mapping") or default_mapping
        if isinstance(mapping, dict):  # a record may describe the mapping as {name, sha256, ...}
            mapping = mapping.get("source_path") or mapping.get("name") or default_mapping
        return cls(schema=str(schema), mapping=str(mapping), env=fields.get("env"), run_id=fields.get("run_id"))


@dataclass
class FidelityRun:
    """A fidelity report on a loaded schema and the files it wrote."""

    report: "FidelityReport"
    actual_pack: Path
    report_json: Path
    report_markdown: Path
    plots: dict[str, Path]
    markdown: str  # the report with the plots embedded (for Dagster metadata)


def fidelity_of_loaded_schema(production_pack: str | Path, target_dsn: str, ref: LoadedSchemaRef, out_dir: str | Path, *,
                              threshold: float = 0.90, min_metric: float = 0.80, spec: str | Path | None = None,
                              salt: "Salt | None" = None) -> FidelityRun:
    """Sample the loaded schema like production was sampled, compare, plot, and write it all under `out_dir`.

    The synthetic pack uses the production pack's window length and small-cell size, so both
    sides are described by the same rules; `out_dir` receives `synthetic_pack.json` (and its
    mapping manifest), `fidelity.json`, `fidelity.md` and `plots/<metric>.png`.
    """
    from synth_pipeline.fsutil import atomic_write_bytes, atomic_write_json
    from synth_pipeline.reports.fidelity import compare_packs, load_pack, load_spec
    from synth_pipeline.reports.plots import markdown_report, plot_report, save_plots
    from synth_pipeline.sampler.core import sample_pack, write_pack

    out = Path(out_dir)
    expected = load_pack(production_pack)
    sampled = sample_pack(target_dsn, mapping=ref.mapping, schema=ref.schema, window_days=expected.window.days,
                          min_cell_size=expected.privacy.min_cell_size, salt=salt)
    actual_path, _ = write_pack(sampled, out / "synthetic_pack.json")
    report = compare_packs(expected, sampled.pack, threshold=threshold, min_metric=min_metric,
                           spec=load_spec(spec) if spec else None)
    plots = plot_report(report, expected, sampled.pack)
    plot_paths = save_plots(plots, out / "plots")
    markdown = markdown_report(report, plots)
    report_json = out / "fidelity.json"
    report_markdown = out / "fidelity.md"
    atomic_write_json(report_json, report.to_dict())
    # The file links the saved PNGs instead of embedding them.
    links = {name: f"plots/{path.name}" for name, path in plot_paths.items()}
    atomic_write_bytes(report_markdown, markdown_report(report, links).encode())
    return FidelityRun(report, actual_path, report_json, report_markdown, plot_paths, markdown)
