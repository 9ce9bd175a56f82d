"""Metrics packs built from seeded numpy draws, for fidelity tests (no database needed).

`make_pack(seed, **overrides)` draws a chat-shaped population (power-law messages per
conversation with heavy rooms, lognormal lengths and latencies, bursty inter-arrivals, a diurnal
hour-of-week profile, skewed mixes) and describes it with calibration's `pack_from_arrays` (the
binning rule the sampler applies in SQL, `contracts.binning`). Each component draws from its own
random stream, so an override changes one knob and only the metrics it drives: a test perturbs
one metric and checks that fidelity blames that metric. (`calibration_fixtures.make_pack` draws
from known fitted families for recovery tests; this one is for targeted perturbations.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth_pipeline.calibration.synthetic_pack import AttachmentArrays, ReadArrays, pack_from_arrays
from synth_pipeline.contracts.metrics_pack import MetricsPack
from synth_pipeline.schema.logical import ATTACHMENT_KINDS, DEVICES

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
    hours = rng.choice(168, size=n_msg, p=hour_weights / hour_weights.sum())
    rng = streams["device"]
    devices = rng.multinomial(n_msg, np.asarray(p["device_weights"]) / np.sum(p["device_weights"]))

    attachments = None
    if p["with_attachments"]:
        rng = streams["attachments"]
        has = rng.random(n_msg) < p["attachment_share"]
        per_message = np.zeros(n_msg)
        per_message[has] = _power_law(rng, 3.0, int(has.sum()), 1, 10)
        kinds = dict(zip(ATTACHMENT_KINDS, rng.multinomial(int(per_message.sum()), [0.6, 0.15, 0.1, 0.15]).tolist()))
        sizes = {kind: np.rint(rng.lognormal(mu, 1.0, max(kinds[kind], 20))) for kind, mu in zip(ATTACHMENT_KINDS, (12, 15, 13, 11))}
        attachments = AttachmentArrays(per_message=per_message, kinds=kinds, sizes=sizes)
    reads = None
    if p["with_reads"]:
        rng = streams["reads"]
        read = rng.random(n_msg) < p["read_share"]
        per_message = np.where(read, 1 + rng.poisson(1.5, n_msg), 0)
        reads = ReadArrays(per_message=per_message, latency_seconds=rng.lognormal(p["latency_mu"], 1.5, int(per_message.sum())))
    return pack_from_arrays(
        message_length=lengths,
        messages_per_conversation=per_conv,
        participants_per_conversation=participants,
        participants_per_group=participants[is_group],
        messages_per_user=per_user,
        inter_arrival_seconds=gaps,
        hour_of_week_bins=hours,
        conversation_kind={"direct": int((~is_group).sum()), "group": int(is_group.sum())},
        device=dict(zip(DEVICES, devices.tolist())),
        primary_device=dict(zip(DEVICES, streams["users"].multinomial(p["users"], [0.4, 0.35, 0.25]).tolist())),
        attachments=attachments,
        reads=reads,
        heavy_threshold=HEAVY_THRESHOLD,
    )
