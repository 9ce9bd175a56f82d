"""Pictures of a fidelity report: one small PNG per metric, production and synthetic overlaid.

- distributions (shape, cardinality): density of each histogram (count / bin width / total, so
  different edges stay comparable) and the two CDFs fidelity compared (`reports/cdf.py`);
- categorical mixes: shares side by side (hour of week: two lines over the 168 hours);
- scalars: the two values as bars.

Matplotlib's object API with the Agg canvas (no pyplot, no global state), so plots can be drawn
from any thread of a Dagster run. `markdown_report` embeds the PNGs as base64 data URIs, which
Dagster's markdown metadata renders inline.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from synth_pipeline.contracts.metrics_pack import Distribution, MetricsPack
from synth_pipeline.fsutil import atomic_write_bytes
from synth_pipeline.reports.cdf import cdf_of
from synth_pipeline.reports.fidelity import METRICS, FidelityReport, MetricScore

EXPECTED_STYLE = {"color": "#1f77b4", "label": "production"}
ACTUAL_STYLE = {"color": "#ff7f0e", "label": "synthetic"}
_DPI = 72
_BY_NAME = {m.name: m for m in METRICS}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def _density(d: Distribution) -> tuple[np.ndarray, np.ndarray]:
    edges = np.asarray(d.histogram.edges, dtype=np.float64)
    counts = np.asarray(d.histogram.counts, dtype=np.float64)
    total = counts.sum() or 1.0
    return edges, counts / np.diff(edges) / total


def _use_log_x(*dists: Distribution) -> bool:
    return all(d.histogram.edges[0] > 0 for d in dists) and any(d.histogram.scale == "log" for d in dists)


def _plot_distribution(fig: Figure, expected: Distribution, actual: Distribution) -> None:
    density_ax, cdf_ax = fig.subplots(1, 2)
    log_x = _use_log_x(expected, actual)
    grid = np.union1d(cdf_of(expected).x, cdf_of(actual).x)
    for d, style in ((expected, EXPECTED_STYLE), (actual, ACTUAL_STYLE)):
        edges, density = _density(d)
        density_ax.stairs(density, edges, **style)
        cdf_ax.plot(grid, cdf_of(d)(grid), **style)
    for ax in (density_ax, cdf_ax):
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(expected.unit, fontsize=8)
        ax.tick_params(labelsize=7)
    if log_x:
        density_ax.set_yscale("log")
    density_ax.set_title("density", fontsize=8)
    cdf_ax.set_title("CDF", fontsize=8)
    cdf_ax.legend(fontsize=7, loc="lower right")


def _plot_mix(fig: Figure, expected: dict[str, float], actual: dict[str, float], hourly: bool) -> None:
    ax = fig.subplots()
    keys = list(dict.fromkeys([*expected, *actual]))
    e = np.array([expected.get(k, 0.0) for k in keys])
    a = np.array([actual.get(k, 0.0) for k in keys])
    e, a = e / (e.sum() or 1.0), a / (a.sum() or 1.0)
    if hourly:
        ax.plot(np.arange(len(keys)), e, **EXPECTED_STYLE)
        ax.plot(np.arange(len(keys)), a, **ACTUAL_STYLE)
        ax.set_xticks(np.arange(0, 168, 24), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
    else:
        x = np.arange(len(keys))
        ax.bar(x - 0.2, e, width=0.4, **EXPECTED_STYLE)
        ax.bar(x + 0.2, a, width=0.4, **ACTUAL_STYLE)
        ax.set_xticks(x, keys)
    ax.set_ylabel("share", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)


def _plot_scalar(fig: Figure, expected: float, actual: float) -> None:
    ax = fig.subplots()
    ax.barh([1, 0], [expected, actual], color=[EXPECTED_STYLE["color"], ACTUAL_STYLE["color"]])
    ax.set_yticks([1, 0], ["production", "synthetic"])
    ax.set_xlim(0, max(expected, actual, 1e-12) * 1.25)  # room for the value labels
    ax.tick_params(labelsize=7)
    for y, value in ((1, expected), (0, actual)):
        ax.annotate(f"{value:.4g}", (value, y), fontsize=7, xytext=(3, 0), textcoords="offset points", va="center")


def plot_metric(score: MetricScore, expected_pack: MetricsPack, actual_pack: MetricsPack) -> bytes | None:
    """A PNG of one metric, or None when one side is absent (nothing to overlay)."""
    metric = _BY_NAME[score.name]
    expected, actual = metric.get(expected_pack), metric.get(actual_pack)
    if expected is None or actual is None:
        return None
    fig = Figure(figsize=(7.0, 2.4) if metric.group in ("shape", "cardinality") else (5.0, 2.2), dpi=_DPI)
    # Fixed margins: matplotlib's constrained layout would take ~70 % of the drawing time.
    fig.subplots_adjust(left=0.12 if metric.group != "scalar" else 0.2, right=0.97, bottom=0.2, top=0.83, wspace=0.3)
    if metric.group in ("shape", "cardinality"):
        _plot_distribution(fig, expected, actual)
    elif metric.group == "categorical":
        _plot_mix(fig, expected, actual, hourly=score.name == "hour_of_week")
    else:
        _plot_scalar(fig, float(expected), float(actual))
    fig.suptitle(f"{score.name}: {score.score:.3f}", fontsize=9)
    return _png(fig)


def plot_report(report: FidelityReport, expected: MetricsPack, actual: MetricsPack) -> dict[str, bytes]:
    """{metric name: PNG bytes}, worst metric first."""
    out = {}
    for score in report.metrics:
        png = plot_metric(score, expected, actual)
        if png is not None:
            out[score.name] = png
    return out


def save_plots(plots: dict[str, bytes], directory: str | Path) -> dict[str, Path]:
    """Write each PNG atomically as `<metric>.png` under `directory`; returns the paths."""
    directory = Path(directory)
    paths = {}
    for name, png in plots.items():
        path = directory / f"{name}.png"
        atomic_write_bytes(path, png)
        paths[name] = path
    return paths


def score_table_markdown(report: FidelityReport) -> str:
    lines = ["| metric | group | score | production | synthetic | driven by |", "|---|---|---|---|---|---|"]
    for m in report.metrics:
        flag = " ⚠" if m in report.low_metrics else ""
        lines.append(
            f"| {m.name}{flag} | {m.group} | {m.score:.4f} | {m.expected} | {m.actual} | {', '.join(m.drives)} |"
        )
    return "\n".join(lines)


def markdown_report(report: FidelityReport, plots: dict[str, bytes | str]) -> str:
    """Overall verdict, groups, score table, feedback and the plots, as one markdown text.

    A plot given as PNG bytes is embedded as a base64 data URI (Dagster metadata); one given as
    a string is linked as a relative path (a report file beside its plots/ directory)."""
    verdict = "PASS" if report.passed else "FAIL"
    parts = [
        f"**Fidelity {report.overall:.4f}** (threshold {report.threshold:.2f}): **{verdict}**",
        "Groups: " + ", ".join(f"{g} {s:.4f}" for g, s in report.groups.items()),
        score_table_markdown(report),
    ]
    low = report.low_metrics
    if low:
        feedback = ["**Calibration feedback**"]
        for m in low:
            extra = "; ".join(x for x in (m.fit, m.finding) if x)
            feedback.append(f"- `{m.name}` {m.score:.4f} <- `{'`, `'.join(m.drives)}`" + (f" ({extra})" if extra else ""))
        parts.append("\n".join(feedback))
    for name, image in plots.items():
        target = image if isinstance(image, str) else f"data:image/png;base64,{base64.b64encode(image).decode('ascii')}"
        parts.append(f"![{name}]({target})")
    return "\n\n".join(parts) + "\n"
