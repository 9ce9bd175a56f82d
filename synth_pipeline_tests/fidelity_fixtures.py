"""Metrics packs built from seeded numpy draws, for fidelity tests (no database needed).

`make_pack(seed, **overrides)` draws a chat-shaped population (power-law messages per
conversation with heavy rooms, lognormal lengths and latencies, bursty inter-arrivals, a diurnal
hour-of-week profile, skewed mixes) and describes it with `contracts.binning.distribution_from_values`,
exactly the rule the sampler applies in SQL. Overrides change one knob so a test can perturb one
metric and check that fidelity blames that metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth_pipeline.contracts.binning import distribution_from_values
from synth_pipeline.contracts.metrics_pack import (
    AttachmentKindMix, Attachments, AttachmentSizes, ConversationKindMix, DeviceMix, HeavyRooms, HourOfWeek,
    InterArrival, Metrics, MetricsPack, PackPrivacy, Parts, Reads, Totals, Window,
)

DEFAULTS: dict[str, Any] = {
    "conversations": 4000,
    "users": 3000,
    "group_share": 0.35,
    "messages_alpha": 1.9,  # discrete power law of messages per ordinary conversation (<= 1000)
    "heavy_share": 0.02,  # share of conversations that are heavy rooms (lognormal sizes > 1000)
    "heavy_median": 1800,
    "length_mu": 3.6,  # lognormal of message length (characters)
    "length_sigma": 0.8,
    "device_weights": (0.5, 0.3, 0.2),  # web, ios, android
    "attachment_share": 0.08,
    "read_share": 0.7,
    "latency_mu": 5.0,  # lognormal of read latency (seconds)
    "burst_rate": 0.2,  # per second, inside bursts
    "idle_rate": 0.0005,
    "burst_weight": 0.7,
    "night_weight": 0.2,  # relative activity 00:00-07:00 UTC
    "with_reads": True,
    "with_attachments": True,
}

HEAVY_THRESHOLD = 1000
_STREAMS = ("conversations", "messages", "users", "content", "time", "device", "attachments", "reads")


def _power_law(rng: np.random.Generator, alpha: float, n: int, low: int, high: int) -> np.ndarray:
    u = rng.random(n)
    a, b = low - 0.5, high + 0.5
    x = (a ** (1 - alpha) + u * (b ** (1 - alpha) - a ** (1 - alpha))) ** (1 / (1 - alpha))
    return np.clip(np.rint(x), low, high).astype(np.int64)


def _mix(cls, names, counts):
    return cls(**{name: int(c) for name, c in zip(names, counts)})


def make_pack(seed: int = 7, **overrides: Any) -> MetricsPack:
    p = {**DEFAULTS, **overrides}
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown make_pack override(s): {sorted(unknown)}")
    # One stream per component: perturbing one knob leaves every other metric's draws unchanged.
    streams = dict(zip(_STREAMS, (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(_STREAMS)))))
    rng = streams["conversations"]
    n_conv = p["conversations"]
    is_group = rng.random(n_conv) < p["group_share"]
    participants = np.where(is_group, _power_law(rng, 2.2, n_conv, 3, 200), 2)
    rng = streams["messages"]
    per_conv = _power_law(rng, p["messages_alpha"], n_conv, 1, HEAVY_THRESHOLD)
    heavy = rng.random(n_conv) < p["heavy_share"]
    heavy_sizes = np.clip(np.rint(rng.lognormal(np.log(p["heavy_median"]), 0.5, n_conv)), HEAVY_THRESHOLD + 1, 20000)
    per_conv = np.where(heavy, heavy_sizes, per_conv).astype(np.int64)
    n_msg = int(per_conv.sum())
    rng = streams["users"]
    per_user = _power_law(rng, 2.0, p["users"], 1, 2000)
    rng = streams["content"]
    lengths = np.maximum(1, np.rint(rng.lognormal(p["length_mu"], p["length_sigma"], n_msg)))
    rng = streams["time"]
    burst = rng.random(n_msg) < p["burst_weight"]
    gaps = np.where(burst, rng.exponential(1 / p["burst_rate"], n_msg), rng.exponential(1 / p["idle_rate"], n_msg))
    hour_weights = np.array([p["night_weight"] if h % 24 < 7 else 1.0 for h in range(168)])
    hours = np.bincount(rng.choice(168, size=n_msg, p=hour_weights / hour_weights.sum()), minlength=168)
    rng = streams["device"]
    devices = rng.multinomial(n_msg, np.asarray(p["device_weights"]) / np.sum(p["device_weights"]))

    attachments = None
    if p["with_attachments"]:
        rng = streams["attachments"]
        n_with = max(20, int(n_msg * p["attachment_share"]))
        kinds = rng.multinomial(n_with, [0.6, 0.15, 0.1, 0.15])
        attachments = Attachments(
            share_of_messages=n_with / n_msg,
            per_message=distribution_from_values(_power_law(rng, 3.0, n_with, 1, 10), "attachments"),
            kinds=_mix(AttachmentKindMix, ("image", "video", "audio", "file"), kinds),
            size_bytes=AttachmentSizes(**{
                kind: distribution_from_values(np.rint(rng.lognormal(mu, 1.0, max(k, 20))), "bytes")
                for kind, mu, k in zip(("image", "video", "audio", "file"), (12, 15, 13, 11), kinds)
            }),
        )
    reads = None
    if p["with_reads"]:
        rng = streams["reads"]
        read = rng.random(n_msg) < p["read_share"]
        per_message = np.where(read, 1 + rng.poisson(1.5, n_msg), 0)
        reads = Reads(
            share_of_messages_read=float(read.mean()),
            reads_per_message=distribution_from_values(per_message, "reads"),
            latency_seconds=distribution_from_values(rng.lognormal(p["latency_mu"], 1.5, int(per_message.sum())), "seconds"),
        )
    gap_dist = distribution_from_values(gaps, "seconds")
    metrics = Metrics(
        message_length=distribution_from_values(lengths, "characters"),
        messages_per_conversation=distribution_from_values(per_conv, "messages"),
        participants_per_conversation=distribution_from_values(participants, "participants"),
        participants_per_group=distribution_from_values(participants[is_group], "participants"),
        messages_per_user=distribution_from_values(per_user, "messages"),
        inter_arrival_seconds=InterArrival(
            **gap_dist.model_dump(), burst_coefficient=gap_dist.percentiles.p95 / gap_dist.percentiles.p50
        ),
        hour_of_week=HourOfWeek(
            counts=hours.tolist(), weekday_share=float(hours[:120].sum() / n_msg), weekend_share=float(hours[120:].sum() / n_msg)
        ),
        conversation_kind=ConversationKindMix(direct=int((~is_group).sum()), group=int(is_group.sum())),
        heavy_rooms=HeavyRooms(
            threshold=HEAVY_THRESHOLD,
            count=int(heavy.sum()),
            share_of_conversations=float(heavy.mean()),
            share_of_messages=float(per_conv[heavy].sum() / n_msg),
            sizes=distribution_from_values(per_conv[heavy], "messages") if heavy.sum() >= 10 else None,
        ),
        device=_mix(DeviceMix, ("web", "ios", "android"), devices),
        primary_device=_mix(DeviceMix, ("web", "ios", "android"), streams["users"].multinomial(p["users"], [0.4, 0.35, 0.25])),
        attachments=attachments,
        reads=reads,
    )
    return MetricsPack(
        window=Window(days=30, start="2026-01-01T00:00:00Z", end="2026-01-31T00:00:00Z"),
        privacy=PackPrivacy(min_cell_size=10, suppressed_cells=0, merged_cells=0),
        parts=Parts(attachments=attachments is not None, reads=reads is not None, device=True, primary_device=True),
        totals=Totals(
            users=p["users"], active_users=p["users"], conversations=n_conv, active_conversations=n_conv,
            messages=n_msg, participants=int(participants.sum()),
            attachments=None if attachments is None else int(attachments.per_message.count),
            reads=None if reads is None else int(reads.latency_seconds.count),
        ),
        metrics=metrics,
    )
