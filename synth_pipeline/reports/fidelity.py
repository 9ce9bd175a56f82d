"""Fidelity: how closely a synthetic metrics pack matches the production one, metric by metric.

Both packs come from the same sampler (the synthetic one samples the loaded schema), so every
metric is compared like for like. Scores are in [0, 1], 1 = identical, in the spirit of SDMetrics:

- `shape` (continuous distributions): 1 - KS distance of the two CDFs rebuilt from the packs'
  histograms and percentiles (`reports/cdf.py`: union of edges, exact for piecewise-linear CDFs),
  less the distance two samples of the same distribution show on average,
  0.87 * sqrt((n + m) / (n m)) (the mean of the Kolmogorov distribution): a difference that pure
  sampling noise explains is not an infidelity. It is negligible for large n (0.002 at a million
  entities) and matters for small ones (0.39 for two sets of 10 heavy rooms).
- `cardinality` (children per parent: messages or participants per conversation, messages per
  user, ...): the mean of that KS complement and a tail agreement, the mean of min/max ratios of
  the mean, p50, p90 and p99, a quantile being compared only when at least 5 entities lie above it
  on both sides (the p99 of 10 rooms is their max, noise). KS alone barely sees the top 1 %, and
  the top 1 % (heavy rooms, heavy users) is what breaks query plans.
- `categorical` (device, primary device, attachment kind, direct/group, hour of week):
  1 - total variation distance of the two normalised mixes (suppressed counts excluded), less
  the distance two multinomial samples of one mix show on average,
  1/2 sum_k sqrt(2/pi) sqrt(p_k (1 - p_k) (1/n + 1/m)) (0.05 for 168 hours and 20,000 messages).
- `scalar` (burst coefficient, heavy-room shares, attachment share, read share): 1 minus the
  symmetric relative error |a - e| / max(|a|, |e|) (= min/max for positive values; both 0 -> 1).
  A share of independent entities (heavy share of conversations, attachment and read shares of
  messages) first loses the gap two binomial samples show on average,
  sqrt(2/pi) * sqrt(p (1 - p) (1/n + 1/m)), for the same reason as the KS allowance.

Overall score: the mean of the group means (shape, cardinality, categorical, scalar), so that a
group with many metrics (four attachment sizes) does not outweigh one with few; the per-metric
scores sit beside it, worst first, and a floor on each metric can be enforced separately.

A metric present in one pack and absent in the other (the source had reads, the synthetic schema
has none) scores 0 and says so; a metric absent in both is skipped. Totals are not compared: the
synthetic database is meant to be bigger or smaller than production, with the same shape.

Each metric names the distribution-spec parameters that drive it (`DRIVERS`), so a low score
points calibration (or the generator) at the parameter to look at. With the spec at hand
(`compare_packs(..., spec=...)`), the report also says whether that parameter's fit was already
poor (a calibration problem) or good (then the generator or loader lost the shape).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synth_pipeline.contracts.distribution_spec import DistributionSpec
from synth_pipeline.contracts.metrics_pack import Distribution, MetricsPack
from synth_pipeline.paths import METRICS_PACK_SCHEMA
from synth_pipeline.reports.cdf import cdf_of, ks_distance

DEFAULT_THRESHOLD = 0.90
GROUPS = ("shape", "cardinality", "categorical", "scalar")

# metric -> spec parameter paths that drive it (first = the main one).
DRIVERS: dict[str, tuple[str, ...]] = {
    "message_length": ("parameters.message_length",),
    "messages_per_conversation": ("parameters.messages_per_conversation", "parameters.heavy_rooms"),
    "participants_per_conversation": ("parameters.participants_per_group", "parameters.conversation_kind"),
    "participants_per_group": ("parameters.participants_per_group",),
    "messages_per_user": ("parameters.messages_per_user",),
    "inter_arrival_seconds": ("parameters.inter_arrival.model",),
    "inter_arrival_seconds.burst_coefficient": ("parameters.inter_arrival.burst_coefficient", "parameters.inter_arrival.model"),
    "hour_of_week": ("parameters.hour_of_week",),
    "conversation_kind": ("parameters.conversation_kind",),
    "heavy_rooms.share_of_conversations": ("parameters.heavy_rooms.share_of_conversations",),
    "heavy_rooms.share_of_messages": ("parameters.heavy_rooms.share_of_messages", "parameters.heavy_rooms.size"),
    "heavy_rooms.sizes": ("parameters.heavy_rooms.size",),
    "heavy_rooms.participants": ("parameters.heavy_rooms.participants",),
    "device": ("parameters.device",),
    "primary_device": ("parameters.primary_device",),
    "attachments.share_of_messages": ("parameters.attachments.share_of_messages",),
    "attachments.per_message": ("parameters.attachments.per_message",),
    "attachments.kind": ("parameters.attachments.kind",),
    "attachments.size_bytes.image": ("parameters.attachments.size_bytes.image",),
    "attachments.size_bytes.video": ("parameters.attachments.size_bytes.video",),
    "attachments.size_bytes.audio": ("parameters.attachments.size_bytes.audio",),
    "attachments.size_bytes.file": ("parameters.attachments.size_bytes.file",),
    "reads.share_of_messages_read": ("parameters.reads.share_of_messages_read",),
    "reads.reads_per_message": ("parameters.reads.reads_per_message", "parameters.reads.share_of_messages_read"),
    "reads.latency_seconds": ("parameters.reads.latency_seconds",),
}


@dataclass(frozen=True)
class MetricDef:
    name: str
    group: str
    get: Callable[[MetricsPack], Any]  # the value, or None when the pack lacks it
    trials: Callable[[MetricsPack], int] | None = None  # a share's denominator (binomial noise allowance)


def _path(*attrs: str) -> Callable[[MetricsPack], Any]:
    def get(pack: MetricsPack) -> Any:
        value: Any = pack.metrics
        for attr in attrs:
            if value is None:
                return None
            value = getattr(value, attr)
        return value

    return get


def _mix(*attrs: str) -> Callable[[MetricsPack], dict[str, float] | None]:
    """A categorical mix as {category: count}, without the `suppressed` bucket."""
    inner = _path(*attrs)

    def get(pack: MetricsPack) -> dict[str, float] | None:
        value = inner(pack)
        if value is None:
            return None
        return {k: float(v) for k, v in value.model_dump().items() if k != "suppressed"}

    return get


def _read_trials(pack: MetricsPack) -> int:
    """Messages the read metrics describe: all of the window's, or the sampler's subsample of them."""
    share = getattr(pack.metrics.reads, "sampled_share", 1.0) if pack.metrics.reads is not None else 1.0
    return int(round(pack.totals.messages * share))


def _hour_of_week(pack: MetricsPack) -> dict[str, float]:
    return {f"h{h:03d}": float(c) for h, c in enumerate(pack.metrics.hour_of_week.counts)}


METRICS: tuple[MetricDef, ...] = (
    MetricDef("message_length", "shape", _path("message_length")),
    MetricDef("messages_per_conversation", "cardinality", _path("messages_per_conversation")),
    MetricDef("participants_per_conversation", "cardinality", _path("participants_per_conversation")),
    MetricDef("participants_per_group", "cardinality", _path("participants_per_group")),
    MetricDef("messages_per_user", "cardinality", _path("messages_per_user")),
    MetricDef("inter_arrival_seconds", "shape", _path("inter_arrival_seconds")),
    MetricDef("inter_arrival_seconds.burst_coefficient", "scalar", _path("inter_arrival_seconds", "burst_coefficient")),
    MetricDef("hour_of_week", "categorical", _hour_of_week),
    MetricDef("conversation_kind", "categorical", _mix("conversation_kind")),
    MetricDef("heavy_rooms.share_of_conversations", "scalar", _path("heavy_rooms", "share_of_conversations"),
              trials=lambda pack: pack.totals.active_conversations),
    MetricDef("heavy_rooms.share_of_messages", "scalar", _path("heavy_rooms", "share_of_messages")),
    MetricDef("heavy_rooms.sizes", "cardinality", _path("heavy_rooms", "sizes")),
    MetricDef("heavy_rooms.participants", "cardinality", _path("heavy_rooms", "participants")),
    MetricDef("device", "categorical", _mix("device")),
    MetricDef("primary_device", "categorical", _mix("primary_device")),
    MetricDef("attachments.share_of_messages", "scalar", _path("attachments", "share_of_messages"),
              trials=lambda pack: pack.totals.messages),
    MetricDef("attachments.per_message", "cardinality", _path("attachments", "per_message")),
    MetricDef("attachments.kind", "categorical", _mix("attachments", "kinds")),
    *(
        MetricDef(f"attachments.size_bytes.{kind}", "shape", _path("attachments", "size_bytes", kind))
        for kind in ("image", "video", "audio", "file")
    ),
    MetricDef("reads.share_of_messages_read", "scalar", _path("reads", "share_of_messages_read"),
              trials=lambda pack: _read_trials(pack)),
    MetricDef("reads.reads_per_message", "cardinality", _path("reads", "reads_per_message")),
    MetricDef("reads.latency_seconds", "shape", _path("reads", "latency_seconds")),
)


# --- scores ---------------------------------------------------------------------------------------

KS_NOISE_FACTOR = 0.87  # mean of the Kolmogorov distribution: E[sqrt(nm/(n+m)) D] under the null
TAIL_SUPPORT = 5  # entities that must lie above a quantile for it to be compared


def ks_noise(n: int, m: int) -> float:
    """The KS distance two samples of sizes n and m of one distribution show on average."""
    if n <= 0 or m <= 0:
        return 0.0
    return KS_NOISE_FACTOR * float(np.sqrt((n + m) / (n * m)))


def shape_score(expected: Distribution, actual: Distribution) -> float:
    distance = ks_distance(cdf_of(expected), cdf_of(actual))
    return 1.0 - max(0.0, distance - ks_noise(expected.count, actual.count))


def _ratio(a: float, b: float) -> float:
    """min/max of two magnitudes in [0, 1]; 1 when both are 0."""
    a, b = abs(float(a)), abs(float(b))
    return 1.0 if max(a, b) == 0 else min(a, b) / max(a, b)


def tail_agreement(expected: Distribution, actual: Distribution) -> float:
    pairs = [(expected.mean, actual.mean)]
    n = min(expected.count, actual.count)
    for name, level in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99)):
        if n * (1.0 - level) >= TAIL_SUPPORT:
            pairs.append((getattr(expected.percentiles, name), getattr(actual.percentiles, name)))
    return float(np.mean([_ratio(e, a) for e, a in pairs]))


def cardinality_score(expected: Distribution, actual: Distribution) -> float:
    return 0.5 * shape_score(expected, actual) + 0.5 * tail_agreement(expected, actual)


def tv_noise(pooled: np.ndarray, n: float, m: float) -> float:
    """The total variation two multinomial samples (n and m draws) of one mix show on average."""
    return 0.5 * float(np.sum(np.sqrt(2.0 / np.pi * pooled * (1.0 - pooled) * (1.0 / n + 1.0 / m))))


def categorical_score(expected: dict[str, float], actual: dict[str, float]) -> float | None:
    """1 - (total variation beyond sampling noise); None when both mixes are empty."""
    keys = sorted(set(expected) | set(actual))
    e = np.array([expected.get(k, 0.0) for k in keys])
    a = np.array([actual.get(k, 0.0) for k in keys])
    if e.sum() == 0 and a.sum() == 0:
        return None
    if e.sum() == 0 or a.sum() == 0:
        return 0.0
    distance = 0.5 * float(np.abs(e / e.sum() - a / a.sum()).sum())
    return 1.0 - max(0.0, distance - tv_noise((e + a) / (e.sum() + a.sum()), e.sum(), a.sum()))


def share_noise(expected: float, actual: float, n: int, m: int) -> float:
    """The gap two binomial samples (n and m trials) of one share show on average."""
    if n <= 0 or m <= 0:
        return 0.0
    p = (expected * n + actual * m) / (n + m)
    return float(np.sqrt(2.0 / np.pi) * np.sqrt(p * (1.0 - p) * (1.0 / n + 1.0 / m)))


def scalar_score(expected: float, actual: float, allowance: float = 0.0) -> float:
    """1 - |a - e| / max(|a|, |e|): symmetric relative error, in [0, 1] for same-sign values."""
    e, a = float(expected), float(actual)
    scale = max(abs(e), abs(a))
    return 1.0 if scale == 0 else max(0.0, 1.0 - max(0.0, abs(a - e) - allowance) / scale)


_SCORERS: dict[str, Callable[[Any, Any], float | None]] = {
    "shape": shape_score,
    "cardinality": cardinality_score,
    "categorical": categorical_score,
    "scalar": scalar_score,
}


# --- report ---------------------------------------------------------------------------------------

@dataclass
class MetricScore:
    name: str
    group: str
    score: float
    expected: str  # a short human summary of each side (numbers only, never a value of a row)
    actual: str
    drives: list[str]
    finding: str = ""  # why the score is what it is, when that is not obvious
    fit: str = ""  # the spec's goodness of fit for the main driving parameter, when a spec was given


@dataclass
class FidelityReport:
    overall: float
    threshold: float
    min_metric: float
    passed: bool
    groups: dict[str, float]
    metrics: list[MetricScore]  # worst first
    skipped: list[str] = field(default_factory=list)

    @property
    def low_metrics(self) -> list[MetricScore]:
        return [m for m in self.metrics if m.score < max(self.threshold, self.min_metric)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": round(self.overall, 6),
            "threshold": self.threshold,
            "min_metric": self.min_metric,
            "passed": self.passed,
            "groups": {k: round(v, 6) for k, v in self.groups.items()},
            "metrics": [{**asdict(m), "score": round(m.score, 6)} for m in self.metrics],
            "skipped": self.skipped,
        }


def _summary(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, Distribution):
        p = value.percentiles
        return f"n={value.count} mean={value.mean:.4g} p50={p.p50:.4g} p99={p.p99:.4g} max={p.max:.4g}"
    if isinstance(value, dict):
        total = sum(value.values())
        if len(value) > 8:
            return f"{len(value)} bins, n={total:.0f}"
        return ", ".join(f"{k}={v / total:.3f}" if total else f"{k}=0" for k, v in value.items())
    return f"{float(value):.4g}"


def _spec_fit(spec: DistributionSpec | None, path: str) -> str:
    if spec is None:
        return ""
    node: Any = spec
    for part in path.split("."):
        if node is None:
            return "absent in the spec"
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
    gof = getattr(node, "gof", None)
    if node is None:
        return "absent in the spec"
    if isinstance(node, (int, float)):  # a target value (share, burst coefficient): compare with both sides
        return f"target {node:.4g}"
    if gof is None:
        return "no goodness of fit recorded"
    family = getattr(node, "family", "categorical")
    verdict = "poor fit: calibration" if gof.poor else "fit ok: look at generation/loading"
    return f"{family} {gof.statistic}={gof.value:.3g} ({verdict})"


def _score_metric(metric: MetricDef, expected_pack: MetricsPack, actual_pack: MetricsPack,
                  spec: DistributionSpec | None) -> MetricScore | None:
    expected, actual = metric.get(expected_pack), metric.get(actual_pack)
    drives = list(DRIVERS.get(metric.name, ()))
    base = dict(name=metric.name, group=metric.group, expected=_summary(expected), actual=_summary(actual), drives=drives)
    if expected is None and actual is None:
        return None
    if expected is None or actual is None:
        side = "actual (synthetic)" if actual is None else "expected (production)"
        other = "expected" if actual is None else "actual"
        return MetricScore(score=0.0, finding=f"absent in the {side} pack but present in the {other} one", **base)
    if metric.trials is not None:
        allowance = share_noise(expected, actual, metric.trials(expected_pack), metric.trials(actual_pack))
        score = scalar_score(expected, actual, allowance)
    else:
        score = _SCORERS[metric.group](expected, actual)
    if score is None:
        return None
    fit = _spec_fit(spec, drives[0]) if drives else ""
    return MetricScore(score=float(min(1.0, max(0.0, score))), fit=fit, **base)


def compare_packs(expected: MetricsPack, actual: MetricsPack, *, threshold: float = DEFAULT_THRESHOLD,
                  min_metric: float = 0.0, spec: DistributionSpec | None = None) -> FidelityReport:
    """Score `actual` (synthetic) against `expected` (production), metric by metric."""
    scores: list[MetricScore] = []
    skipped: list[str] = []
    for metric in METRICS:
        result = _score_metric(metric, expected, actual, spec)
        if result is None:
            skipped.append(metric.name)
        else:
            scores.append(result)
    groups = {
        g: float(np.mean([m.score for m in scores if m.group == g])) for g in GROUPS if any(m.group == g for m in scores)
    }
    overall = float(np.mean(list(groups.values()))) if groups else 0.0
    scores.sort(key=lambda m: (m.score, m.name))
    passed = overall >= threshold and all(m.score >= min_metric for m in scores)
    return FidelityReport(overall, threshold, min_metric, passed, groups, scores, skipped)


# --- input ----------------------------------------------------------------------------------------

def load_pack(path: str | Path) -> MetricsPack:
    """Read and validate a metrics pack (its JSON Schema, then the model): a bad file is one
    SynthError line naming the file and the JSON path, never the offending value."""
    from synth_pipeline.contracts.files import load_model

    return load_model(path, MetricsPack, METRICS_PACK_SCHEMA, "metrics pack")


def load_spec(path: str | Path) -> DistributionSpec:
    from synth_pipeline.contracts.files import load_spec as load_distribution_spec

    return load_distribution_spec(path)


# --- text -----------------------------------------------------------------------------------------

def format_table(report: FidelityReport) -> Iterator[str]:
    """The report as plain text lines: overall, groups, per-metric table, calibration feedback."""
    verdict = "PASS" if report.passed else "FAIL"
    floor = f", every metric >= {report.min_metric:.2f}" if report.min_metric > 0 else ""
    yield f"fidelity {report.overall:.4f} (threshold {report.threshold:.2f}{floor}): {verdict}"
    yield "groups: " + ", ".join(f"{g} {s:.4f}" for g, s in report.groups.items())
    width = max((len(m.name) for m in report.metrics), default=10)
    yield f"{'metric':<{width}}  {'group':<11}  score   expected | actual"
    for m in report.metrics:
        yield f"{m.name:<{width}}  {m.group:<11}  {m.score:.4f}  {m.expected} | {m.actual}"
    if report.skipped:
        yield "skipped (absent in both packs): " + ", ".join(report.skipped)
    low = report.low_metrics
    if low:
        yield "calibration feedback (metrics below the threshold):"
        for m in low:
            detail = f"; {m.finding}" if m.finding else ""
            fit = f"; spec: {m.fit}" if m.fit else ""
            yield f"  {m.name} {m.score:.4f} <- {', '.join(m.drives) or '(no spec parameter)'}{fit}{detail}"
