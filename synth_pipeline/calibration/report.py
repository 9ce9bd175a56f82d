"""What `calibrate` prints: per parameter the family, key values and fit; old -> new vs a previous spec.

Key values are comparable across families: besides each family's own scalar parameters, every
fitted distribution shows its median and 99th percentile as the generator would draw them
(`families.sample` with a fixed seed), so "lognormal -> empirical" still says what moved.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from synth_pipeline.calibration.families import sample
from synth_pipeline.calibration.fit import describe_figures
from synth_pipeline.contracts.distribution_spec import Categorical, DistributionSpec, Fitted, GoodnessOfFit, HourOfWeekSpec

QUANTILE_DRAWS = 20_000
QUANTILE_SEED = 0
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Value = float | int | str


def parameters(spec: DistributionSpec) -> Iterator[tuple[str, object]]:
    """(name, value) for every reported parameter, in a fixed order; absent parts as None."""
    yield from (("totals.users", spec.totals.users), ("totals.active_users", spec.totals.active_users),
                ("totals.conversations", spec.totals.conversations), ("totals.messages", spec.totals.messages))
    p = spec.parameters
    yield from (("message_length", p.message_length), ("messages_per_conversation", p.messages_per_conversation),
                ("messages_per_user", p.messages_per_user), ("participants_per_group", p.participants_per_group),
                ("conversation_kind", p.conversation_kind))
    h = p.heavy_rooms
    yield from (("heavy_rooms.threshold", h.threshold), ("heavy_rooms.share_of_conversations", h.share_of_conversations),
                ("heavy_rooms.share_of_messages", h.share_of_messages), ("heavy_rooms.size", h.size),
                ("heavy_rooms.participants", h.participants))
    yield from (("inter_arrival.model", p.inter_arrival.model), ("inter_arrival.burst_coefficient", p.inter_arrival.burst_coefficient),
                ("hour_of_week", p.hour_of_week), ("device", p.device), ("primary_device", p.primary_device))
    a = p.attachments
    if a is None:
        yield ("attachments", None)
    else:
        yield from (("attachments.share_of_messages", a.share_of_messages), ("attachments.per_message", a.per_message),
                    ("attachments.kind", a.kind))
        yield from ((f"attachments.size_bytes.{k}", v) for k, v in sorted(a.size_bytes.items()))
    r = p.reads
    if r is None:
        yield ("reads", None)
    else:
        yield from (("reads.share_of_messages_read", r.share_of_messages_read), ("reads.reads_per_message", r.reads_per_message),
                    ("reads.latency_seconds", r.latency_seconds))


def _drawn_quantiles(f: Fitted) -> tuple[float, float]:
    draws = sample(f, np.random.default_rng(QUANTILE_SEED), QUANTILE_DRAWS)
    p50, p99 = np.quantile(draws, [0.5, 0.99], method="inverted_cdf")
    return float(p50), float(p99)


def key_values(value: object) -> dict[str, Value]:
    """The scalars worth reading (and diffing) for one parameter; '' names the value itself."""
    if value is None:
        return {"": "absent"}
    if isinstance(value, Fitted):
        out: dict[str, Value] = {"family": value.family}
        for name, v in value.params.items():
            if isinstance(v, list):
                if len(v) <= 4:
                    out.update({f"{name}[{i}]": x for i, x in enumerate(v)})
            else:
                out[name] = v
        out["p50"], out["p99"] = _drawn_quantiles(value)
        return out
    if isinstance(value, Categorical):
        return dict(sorted(value.weights.items()))
    if isinstance(value, HourOfWeekSpec):
        w = np.asarray(value.weights)
        peak = int(np.argmax(w))
        return {"weekday_share": float(w[:120].sum() / w.sum()), "peak": f"{WEEKDAYS[peak // 24]} {peak % 24:02d}:00"}
    return {"": value}


def fmt(v: Value) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, int) or float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


def _describe(value: object) -> str:
    values = key_values(value)
    if set(values) == {""}:
        return fmt(values[""])
    family = values.pop("family", None)
    text = " ".join(f"{k}={fmt(v)}" for k, v in values.items())
    if isinstance(value, Fitted) and (value.low is not None or value.high is not None):
        text += f" [{fmt(value.low) if value.low is not None else '-inf'}, {fmt(value.high) if value.high is not None else 'inf'}]"
    return f"{family} {text}" if family else text


def _fit_text(gof: GoodnessOfFit | None) -> str:
    if gof is None:
        return ""
    if gof.statistic == "none":
        return "not checked (no data)"
    text = f"{gof.statistic} {gof.value:.4f}"
    if gof.tolerance is not None:
        text += f" {'>' if gof.value > gof.tolerance else '<='} {gof.tolerance:.3f}"
    if gof.candidates:
        text += " aic: " + ", ".join(f"{k} {v:.6g}" for k, v in sorted(gof.candidates.items(), key=lambda kv: kv[1]))
    figures = describe_figures(gof.checks)
    if figures:
        text += "; " + "; ".join(figures)
    return text


def poor_parameters(spec: DistributionSpec) -> list[str]:
    return [name for name, value in parameters(spec) if getattr(getattr(value, "gof", None), "poor", False)]


def families_of(spec: DistributionSpec) -> dict[str, str]:
    return {name: value.family for name, value in parameters(spec) if isinstance(value, Fitted)}


def format_report(spec: DistributionSpec, notes: dict[str, list[str]] | None = None, previous: DistributionSpec | None = None) -> str:
    notes = notes or {}
    poor = set(poor_parameters(spec))
    lines = [f"distribution spec version {spec.spec_version} from pack {(spec.source.pack_sha256 or 'reference')[:12]} "
             f"({spec.source.window_days}-day window)"]
    width = max(len(name) for name, _ in parameters(spec)) + 2
    for name, value in parameters(spec):
        flag = "POOR " if name in poor else "     "
        fit = _fit_text(getattr(value, "gof", None))
        lines.append(f"{flag}{name:<{width}}{_describe(value)}" + (f"  | {fit}" if fit else ""))
        lines.extend(f"     {'':<{width}}note: {note}" for note in notes.get(name, []))
    empirical = sum(1 for f in families_of(spec).values() if f == "empirical")
    lines.append(f"{len(poor)} poor fit(s); {empirical} parameter(s) use the empirical quantile function")
    if previous is not None:
        changes = diff(previous, spec)
        lines.append(f"changes vs previous spec (version {previous.spec_version} -> {spec.spec_version}): {len(changes) or 'none'}")
        lines.extend(f"  {line}" for line in changes)
    return "\n".join(lines)


def diff(old: DistributionSpec, new: DistributionSpec) -> list[str]:
    """'attachments.share_of_messages 0.15 -> 0.17' for every key value that changed."""
    before = _flat(old)
    after = _flat(new)
    lines = []
    for key in dict.fromkeys([*before, *after]):
        a, b = before.get(key, "absent"), after.get(key, "absent")
        if fmt(a) != fmt(b):
            lines.append(f"{key} {fmt(a)} -> {fmt(b)}")
    tv = 0.5 * float(np.abs(_shares(old.parameters.hour_of_week) - _shares(new.parameters.hour_of_week)).sum())
    if tv >= 5e-5:
        lines.append(f"hour_of_week.weights moved by total variation {tv:.4f}")
    return lines


def _shares(how: HourOfWeekSpec) -> np.ndarray:
    w = np.asarray(how.weights, dtype=np.float64)
    return w / w.sum()


def _flat(spec: DistributionSpec) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, value in parameters(spec):
        for key, v in key_values(value).items():
            out[f"{name}.{key}" if key else name] = v
    return out
