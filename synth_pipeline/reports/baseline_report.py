"""The markdown report of a baselines run: before/after per query, indexes, write cost, regressions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synth_pipeline.reports.baselines import BaselineResult
    from synth_pipeline.reports.plans import Measurement


def _ms(m: Measurement | None) -> str:
    return "-" if m is None else f"{m.median_ms:.3f}"


def _buffers(m: Measurement | None) -> str:
    return "-" if m is None else f"{m.shared_hit + m.shared_read}"


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def case_table(result: BaselineResult) -> str:
    """The summary table: one row per case, median times before/after and the speed-up."""
    lines = [
        "| query | rows | before ms | after ms | speed-up | buffers before/after | plan changed |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in result.cases:
        if case.skipped:
            lines.append(f"| {case.name} | - | - | - | - | - | skipped: {case.skipped} |")
            continue
        speedup = "-" if case.speedup is None else f"{case.speedup:.2f}x"
        changed = "yes" if case.before and case.after and case.before.shape != case.after.shape else "no"
        rows = case.after.rows if case.after else case.before.rows if case.before else "-"
        lines.append(
            f"| {case.name} | {rows} | {_ms(case.before)} | {_ms(case.after)} | {speedup} | "
            f"{_buffers(case.before)}/{_buffers(case.after)} | {changed} |"
        )
    return "\n".join(lines)


def _plans_section(result: BaselineResult) -> list[str]:
    out = ["## Plans", ""]
    for case in result.cases:
        if case.skipped:
            continue
        out.append(f"### {case.name}")
        out.append("")
        out.append(case.description)
        out.append("")
        for phase in ("before", "after"):
            m = getattr(case, phase)
            if m is None:
                continue
            out.append(
                f"- **{phase}**: `{m.shape}` — {m.rows} rows, median {m.median_ms:.3f} ms (planning {m.planning_ms:.3f} ms), "
                f"buffers hit {m.shared_hit} read {m.shared_read}, heap fetches {m.heap_fetches}"
            )
        out.append("")
    return out


def _index_section(result: BaselineResult) -> list[str]:
    out = ["## Recommended indexes", "",
           "| index | size | build ms | supersedes | for |", "|---|---|---|---|---|"]
    for index in result.indexes:
        out.append(f"| `{index.name}` | {_bytes(index.size_bytes)} | {index.build_ms:.0f} | `{index.supersedes}` | "
                   f"{index.why} |")
    out.append("")
    out += [f"- `{index.definition}`" for index in result.indexes]
    out.append("")
    return out


def _write_cell(sample, ratios: dict[str, float] | None, field: str, text: str) -> str:
    return text if ratios is None else f"{text} ({ratios[field]:.2f}x)"


def _write_section(result: BaselineResult) -> list[str]:
    out = [
        "## Write amplification", "",
        f"A batch insert per table inside a transaction that is rolled back, median of {result.options.write_repeats} "
        "batches, measured with EXPLAIN (ANALYZE, WAL) of the INSERT alone: with the base indexes; with the "
        "recommended indexes added; and with them replacing the base indexes they supersede (the cost after "
        "adopting them). WAL records (one per row and per index entry) are the steady figure; WAL bytes include "
        "full-page images, which depend on checkpoint timing; times are server time on a possibly busy machine.",
        "",
        "| table | rows | scenario | ms | WAL records | WAL bytes (fpi) |",
        "|---|---|---|---|---|---|",
    ]
    for w in result.write_costs:
        for scenario, label in (("base", "base indexes"), ("with_indexes", "+ recommended"), ("replacing", "replacing")):
            sample = getattr(w, scenario)
            ratios = None if scenario == "base" else w.ratios(scenario)
            out.append(
                f"| {w.table} | {w.rows} | {label} | {_write_cell(sample, ratios, 'time', f'{sample.ms:.1f}')} | "
                f"{_write_cell(sample, ratios, 'wal_records', str(sample.wal_records))} | "
                f"{_write_cell(sample, ratios, 'wal_bytes', _bytes(sample.wal_bytes))} ({sample.wal_fpi}) |"
            )
    out.append("")
    return out


def _regression_section(result: BaselineResult) -> list[str]:
    if result.previous_run_id is None:
        return ["## Regressions", "", "No earlier run in this directory: this run is the baseline.", ""]
    out = ["## Regressions", "", f"Compared with run `{result.previous_run_id}` "
           f"(time threshold +{result.options.regression_threshold:.0%}).", ""]
    if not result.regressions:
        return out + ["None: same plans, no median worse than the threshold.", ""]
    out += ["| query | phase | kind | previous | now |", "|---|---|---|---|---|"]
    out += [f"| {r.case} | {r.phase} | {r.kind} | `{r.previous}` | `{r.current}` |" for r in result.regressions]
    out.append("")
    return out


def markdown_report(result: BaselineResult) -> str:
    header = [
        f"# Query baselines: schema `{result.schema}` ({result.mapping} mapping)", "",
        f"- run `{result.run_id}` at {result.created_at}, PostgreSQL {result.server_version}",
        f"- roles: {result.roles}",
        f"- {result.options.runs} measured runs per query after one warm-up; median of EXPLAIN ANALYZE execution time",
        "- parameters: " + "; ".join(
            f"{profile} = " + ", ".join(f"{k} {v}" for k, v in values.items()) for profile, values in result.parameters.items()
        ),
    ]
    header += [f"- note: {n}" for n in result.notes]
    body = [
        "", "## Before and after the recommended indexes", "", case_table(result), "",
        *_plans_section(result), *_index_section(result), *_write_section(result), *_regression_section(result),
    ]
    return "\n".join(header + body)
