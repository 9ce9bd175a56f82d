"""From a metrics pack to a distribution spec: which pack figure feeds which spec parameter.

`calibrate(pack, sha256)` is pure (same pack -> same spec, no clock, no randomness beyond fixed
seeds); `calibrate_file` adds reading, validation and the atomic write. The families, the
criterion and the tolerances are in `fit.py`; the figures fits are held to are in `checks.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import jsonschema
import numpy as np

from synth_pipeline.calibration.binned import PERCENTILE_LEVELS, Binned, binned
from synth_pipeline.calibration.checks import burst_check, simulated_burst_coefficient, tail_check
from synth_pipeline.calibration.fit import Outcome, fit_distribution, sig
from synth_pipeline.contracts.distribution_spec import (
    AttachmentSpec,
    Categorical,
    DistributionSpec,
    Fitted,
    GoodnessOfFit,
    HeavyRoomSpec,
    HourOfWeekSpec,
    InterArrivalSpec,
    ReadSpec,
    SpecParameters,
    SpecSource,
    SpecTotals,
)
from synth_pipeline.contracts.files import load_pack, load_spec  # noqa: F401 - re-exported for the CLI
from synth_pipeline.contracts.metrics_pack import Distribution, MetricsPack
from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import atomic_write_json
from synth_pipeline.paths import DISTRIBUTION_SPEC_SCHEMA

COUNT_FAMILIES = ("discrete_power_law", "lognormal")
SIZE_FAMILIES = ("lognormal", "discrete_power_law")
INTER_ARRIVAL_FAMILIES = ("exponential", "mmpp2", "exponential_mixture_3")
LATENCY_FAMILIES = ("lognormal", "exponential", "exponential_mixture")
WEEKDAY_BINS = 120  # Monday 00:00 to Friday 24:00 in the pack's hour-of-week convention
DEVICE_CATEGORIES = ("web", "ios", "android", "unknown")
ATTACHMENT_KINDS = ("image", "video", "audio", "file")
# Used only when the pack shows attachments of a kind but suppressed that kind's sizes.
DEFAULT_SIZE_BYTES = {"image": (12.5, 0.8), "video": (15.5, 1.0), "audio": (12.0, 0.7), "file": (11.5, 1.5)}


@dataclass
class Calibration:
    spec: DistributionSpec
    notes: dict[str, list[str]] = field(default_factory=dict)


class _Notes:
    def __init__(self) -> None:
        self.by_parameter: dict[str, list[str]] = {}

    def keep(self, name: str, outcome: Outcome) -> Fitted:
        if outcome.notes:
            self.by_parameter.setdefault(name, []).extend(outcome.notes)
        return outcome.fitted

    def add(self, name: str, note: str) -> None:
        self.by_parameter.setdefault(name, []).append(note)


# --- reading and writing -----------------------------------------------------------------------


def spec_document(spec: DistributionSpec) -> dict:
    """The spec as JSON data, validated against specs/distribution-spec.schema.json."""
    document = spec.model_dump(mode="json")
    jsonschema.validate(document, json.loads(DISTRIBUTION_SPEC_SCHEMA.read_text()))
    return document


def write_spec(spec: DistributionSpec, path: str | Path) -> str:
    """Write the spec atomically as canonical JSON; return the sha256 of the bytes."""
    document = spec_document(spec)
    try:
        return atomic_write_json(path, document)
    except OSError as exc:
        raise SynthError(f"{path}: cannot write the spec ({exc.strerror or type(exc).__name__}); choose a writable --out") from None


def calibrate_file(pack_path: str | Path, out_path: str | Path, previous_path: str | Path | None = None) -> tuple[Calibration, DistributionSpec | None, str]:
    """Read, fit, write. Returns (calibration, previous spec or None, sha256 of the written spec)."""
    previous = load_spec(previous_path) if previous_path is not None else None
    pack, pack_sha = load_pack(pack_path)
    result = calibrate(pack, pack_sha, previous=previous)
    return result, previous, write_spec(result.spec, out_path)


# --- fitting -----------------------------------------------------------------------------------


def calibrate(pack: MetricsPack, pack_sha256: str, previous: DistributionSpec | None = None) -> Calibration:
    """Fit every spec parameter from the pack (pure: no clock, fixed seeds)."""
    totals = pack.totals
    for name in ("messages", "active_conversations", "users"):
        if getattr(totals, name) == 0:
            raise SynthError(f"the pack's totals.{name} is 0: nothing to calibrate; sample a window that holds messages (--window-days)")
    m = pack.metrics
    notes = _Notes()
    mpc = binned(m.messages_per_conversation, "metrics.messages_per_conversation")
    heavy = m.heavy_rooms
    parameters = SpecParameters(
        message_length=notes.keep("message_length", _fit_sizes(binned(m.message_length, "metrics.message_length"))),
        messages_per_conversation=notes.keep("messages_per_conversation", fit_distribution(
            mpc, COUNT_FAMILIES, low=mpc.minimum, high=mpc.maximum,
            check=tail_check(mpc.mean, heavy.threshold, heavy.share_of_conversations, heavy.share_of_messages) if heavy.count else tail_check(mpc.mean),
        )),
        messages_per_user=notes.keep("messages_per_user", _fit_counts(binned(m.messages_per_user, "metrics.messages_per_user"))),
        participants_per_group=notes.keep("participants_per_group", _participants_per_group(pack)),
        conversation_kind=_categorical(m.conversation_kind, ("direct", "group"), "conversation_kind", notes),
        heavy_rooms=_heavy_rooms(pack, notes),
        inter_arrival=_inter_arrival(pack, mpc, notes),
        hour_of_week=_hour_of_week(pack, notes),
        device=_categorical(m.device, DEVICE_CATEGORIES, "device", notes) if m.device else None,
        primary_device=_categorical(m.primary_device, DEVICE_CATEGORIES, "primary_device", notes) if m.primary_device else None,
        attachments=_attachments(pack, notes) if m.attachments else None,
        reads=_reads(pack, notes) if m.reads else None,
    )
    spec = DistributionSpec(
        spec_version=previous.spec_version + 1 if previous else 1,
        source=SpecSource(kind="pack", pack_sha256=pack_sha256, window_days=pack.window.days),
        # active_conversations: the population messages_per_conversation describes.
        # active_users: the population messages_per_user describes (the others sent nothing).
        totals=SpecTotals(users=totals.users, conversations=totals.active_conversations, messages=totals.messages,
                          active_users=min(totals.active_users, totals.users) if totals.active_users else None),
        parameters=parameters,
    )
    return Calibration(spec=spec, notes=notes.by_parameter)


def _fit_sizes(b: Binned, default: float = 1.0) -> Outcome:
    return fit_distribution(b, SIZE_FAMILIES, low=b.minimum, high=b.maximum, default=default)


def _fit_counts(b: Binned, default: float = 1.0) -> Outcome:
    return fit_distribution(b, COUNT_FAMILIES, low=b.minimum, high=b.maximum, default=default, check=tail_check(b.mean) if b.total else None)


def _participants_per_group(pack: MetricsPack) -> Outcome:
    m = pack.metrics
    if m.participants_per_group is not None:
        return _fit_sizes(binned(m.participants_per_group, "metrics.participants_per_group"), default=3)
    # No group histogram: groups are the conversations with 3+ participants.
    everyone = binned(m.participants_per_conversation, "metrics.participants_per_conversation")
    groups = _at_least(everyone, 3, everyone.total - int(everyone.counts[everyone.edges[1:] <= 3].sum()))
    outcome = _fit_sizes(groups, default=3)
    outcome.notes.insert(0, "pack has no participants_per_group: fitted on participants_per_conversation >= 3")
    return outcome


def _at_least(b: Binned, floor: int, entities: int, mean: float | None = None) -> Binned:
    """`b` restricted to values >= floor (an integer), given how many entities that leaves.

    A bin that straddles the floor keeps only the entities that belong above it (the pack says
    how many there are in total); the percentiles are re-read from the restricted histogram.
    """
    edges, counts = b.edges.copy(), b.counts.copy()
    first = int(np.searchsorted(edges, floor, side="right")) - 1  # the bin holding `floor`
    if first < 0:
        first = 0
    edges, counts = edges[first:], counts[first:]
    if edges[0] < floor:
        edges[0] = floor
        counts[0] = max(0, entities - int(counts[1:].sum()))
    if edges.size < 2 or edges[0] >= edges[-1]:
        edges, counts = np.array([float(floor), float(floor) + 1.0]), np.array([0])
    empty = counts.sum() == 0
    return replace(
        b,
        edges=edges,
        counts=counts,
        count=int(counts.sum()),
        minimum=max(b.minimum, float(floor)),
        mean=mean if mean is not None else (b.mean if empty else histogram_mean(edges, counts)),
        percentiles=b.percentiles if empty else histogram_quantiles(edges, counts, PERCENTILE_LEVELS),
    )


def histogram_quantiles(edges: np.ndarray, counts: np.ndarray, levels) -> tuple[float, ...]:
    cumulative = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
    return tuple(float(np.interp(q, cumulative, edges)) for q in levels)


def histogram_mean(edges: np.ndarray, counts: np.ndarray) -> float:
    """Mean of integer values binned [edge_i, edge_i+1): each bin at the middle of its integers."""
    middles = (np.ceil(edges[:-1]) + np.ceil(edges[1:]) - 1.0) / 2.0
    return float(np.sum(counts * middles) / counts.sum())


def _heavy_rooms(pack: MetricsPack, notes: _Notes) -> HeavyRoomSpec:
    heavy = pack.metrics.heavy_rooms
    size = None
    if heavy.count and heavy.sizes is not None:
        b = binned(heavy.sizes, "metrics.heavy_rooms.sizes")
        size = notes.keep("heavy_rooms.size", fit_distribution(
            b, COUNT_FAMILIES, low=float(heavy.threshold + 1), high=b.maximum, default=heavy.threshold + 1,
            check=tail_check(b.mean) if b.total else None,
        ))
    elif heavy.count:
        notes.add("heavy_rooms.size", "pack has no heavy-room size histogram (too few rooms): size is null")
    participants = None
    if heavy.count and heavy.participants is not None:
        b = binned(heavy.participants, "metrics.heavy_rooms.participants")
        participants = notes.keep("heavy_rooms.participants", _fit_sizes(b, default=3))
    elif heavy.count:
        notes.add("heavy_rooms.participants", "pack has no heavy-room participant histogram: heavy rooms draw ordinary group sizes")
    return HeavyRoomSpec(
        threshold=heavy.threshold,
        share_of_conversations=heavy.share_of_conversations,
        share_of_messages=heavy.share_of_messages,
        size=size,
        participants=participants,
    )


def _inter_arrival(pack: MetricsPack, mpc: Binned, notes: _Notes) -> InterArrivalSpec:
    ia = pack.metrics.inter_arrival_seconds
    if ia is None or ia.count == 0:
        # One conversation's messages spread over the window: a Poisson process at that rate.
        window_seconds = pack.window.days * 86_400
        model = Fitted(
            family="exponential", params={"rate": sig(max(mpc.mean, 1.0) / window_seconds)},
            gof=GoodnessOfFit(statistic="none", value=0.0, criterion="none"),
        )
        notes.add("inter_arrival.model", "pack has no inter-arrival histogram: exponential at messages per conversation / window")
        return InterArrivalSpec(model=model, burst_coefficient=sig(simulated_burst_coefficient(model), 6))
    b = binned(ia, "metrics.inter_arrival_seconds")
    model = notes.keep("inter_arrival.model", fit_distribution(b, INTER_ARRIVAL_FAMILIES, check=burst_check(ia.burst_coefficient)))
    return InterArrivalSpec(model=model, burst_coefficient=ia.burst_coefficient)


def _hour_of_week(pack: MetricsPack, notes: _Notes) -> HourOfWeekSpec:
    how = pack.metrics.hour_of_week
    counts = np.asarray(how.counts, dtype=np.float64)
    if counts.sum() == 0:
        notes.add("hour_of_week", "every hour-of-week bin is empty or suppressed: uniform weights")
        return HourOfWeekSpec(weights=[sig(1 / 168)] * 168, gof=GoodnessOfFit(statistic="none", value=0.0, criterion="none"))
    shares = counts / counts.sum()
    weights = [sig(w) for w in shares]
    fit_weekday = float(np.sum(weights[:WEEKDAY_BINS]) / np.sum(weights))
    gof = GoodnessOfFit(
        statistic="tv", value=sig(0.5 * float(np.abs(np.asarray(weights) - shares).sum()), 4), criterion="none",
        checks={"weekday_share_pack": how.weekday_share, "weekday_share_fit": sig(fit_weekday)},
    )
    return HourOfWeekSpec(weights=weights, gof=gof)


def _categorical(mix, categories: tuple[str, ...], name: str, notes: _Notes) -> Categorical:
    """Weights = the pack's shares; suppressed categories (fewer than min_cell_size) weigh 0."""
    counts = {c: float(getattr(mix, c)) for c in categories}
    total = sum(counts.values())
    if total == 0:
        known = [c for c in categories if c != "unknown"]
        notes.add(name, "every category is empty or suppressed: equal weights")
        return Categorical(weights={c: sig(1 / len(known)) for c in known}, gof=GoodnessOfFit(statistic="none", value=0.0, criterion="none"))
    weights = {c: sig(v / total) for c, v in counts.items() if v > 0}
    tv = 0.5 * sum(abs(weights.get(c, 0.0) - v / total) for c, v in counts.items())
    if mix.suppressed:
        notes.add(name, f"{mix.suppressed} suppressed entities (small cells) are not represented")
    return Categorical(weights=weights, gof=GoodnessOfFit(statistic="tv", value=sig(tv, 4), criterion="none"))


def _positive_part(dist: Distribution, share_positive: float, path: str) -> Binned:
    """The distribution over entities with at least one (the pack's histogram includes zeros)."""
    b = binned(dist, path)
    if b.minimum >= 1:
        return b
    positive = int(round(b.count * share_positive))
    mean = b.mean / share_positive if share_positive > 0 else 1.0
    return _at_least(b, 1, positive, mean=mean)


def _attachments(pack: MetricsPack, notes: _Notes) -> AttachmentSpec:
    a = pack.metrics.attachments
    per_message = _positive_part(a.per_message, a.share_of_messages, "metrics.attachments.per_message")
    kind = _categorical(a.kinds, ATTACHMENT_KINDS, "attachments.kind", notes)
    sizes: dict[str, Fitted] = {}
    for k in ATTACHMENT_KINDS:
        dist = getattr(a.size_bytes, k)
        name = f"attachments.size_bytes.{k}"
        if dist is not None and dist.count:
            b = binned(dist, f"metrics.{name}")
            sizes[k] = notes.keep(name, fit_distribution(b, ("lognormal",), low=b.minimum, high=b.maximum, default=1024))
        elif kind.weights.get(k, 0.0) > 0:
            mu, sigma = DEFAULT_SIZE_BYTES[k]
            sizes[k] = Fitted(family="lognormal", params={"mu": mu, "sigma": sigma}, low=1.0, high=2e9, discrete=True,
                              gof=GoodnessOfFit(statistic="none", value=0.0, criterion="none"))
            notes.add(name, "pack has no sizes for this kind (suppressed): default lognormal")
    return AttachmentSpec(
        share_of_messages=a.share_of_messages,
        per_message=notes.keep("attachments.per_message", _fit_counts(per_message)),
        kind=kind,
        size_bytes=sizes,
    )


def _reads(pack: MetricsPack, notes: _Notes) -> ReadSpec:
    r = pack.metrics.reads
    per_message = _positive_part(r.reads_per_message, r.share_of_messages_read, "metrics.reads.reads_per_message")
    latency = binned(r.latency_seconds, "metrics.reads.latency_seconds")
    return ReadSpec(
        share_of_messages_read=r.share_of_messages_read,
        reads_per_message=notes.keep("reads.reads_per_message", _fit_counts(per_message)),
        latency_seconds=notes.keep("reads.latency_seconds", fit_distribution(latency, LATENCY_FAMILIES, low=latency.minimum, high=latency.maximum, default=1.0)),
    )

