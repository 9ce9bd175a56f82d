"""Metrics packs built from draws of KNOWN distributions (for calibration and anyone else).

`make_pack(seed)` gives a complete, schema-valid pack; every metric is drawn from the matching
entry of `TRUE` (or from an array you pass instead). Optional parts default to present; pass
`None` to make them absent, as a source without attachments/reads/devices would.

    pack = make_pack(7, reads=None)
    pack = make_pack(7, message_length=np.full(500, 42))

`write_pack(pack, path)` writes it as the sampler would (canonical JSON).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synth_pipeline.calibration.families import sample, sample_mmpp2_sequence
from synth_pipeline.calibration.synthetic_pack import AttachmentArrays, ReadArrays, pack_from_arrays
from synth_pipeline.contracts.distribution_spec import Fitted
from synth_pipeline.contracts.metrics_pack import MetricsPack
from synth_pipeline.fsutil import atomic_write_json

DRAW = object()  # "draw this metric from TRUE"

TRUE: dict[str, Fitted] = {
    "message_length": Fitted(family="lognormal", params={"mu": 3.5, "sigma": 1.0}, low=1, high=4000, discrete=True),
    "messages_per_conversation": Fitted(family="discrete_power_law", params={"alpha": 1.8}, low=1, high=50_000, discrete=True),
    "participants_per_group": Fitted(family="lognormal", params={"mu": 1.6, "sigma": 0.6}, low=3, high=500, discrete=True),
    "messages_per_user": Fitted(family="discrete_power_law", params={"alpha": 1.9}, low=1, high=20_000, discrete=True),
    "inter_arrival": Fitted(family="mmpp2", params={"rate_burst": 0.1, "rate_idle": 0.0005, "p_burst_to_idle": 0.15, "p_idle_to_burst": 0.35}),
    "attachments_per_message": Fitted(family="lognormal", params={"mu": 0.1, "sigma": 0.5}, low=1, high=20, discrete=True),
    "reads_per_message": Fitted(family="lognormal", params={"mu": 0.7, "sigma": 0.6}, low=1, high=100, discrete=True),
    "read_latency": Fitted(family="lognormal", params={"mu": 5.5, "sigma": 2.0}, low=0.5, high=2_592_000),
    "size_image": Fitted(family="lognormal", params={"mu": 12.5, "sigma": 0.8}, low=100, high=2e9, discrete=True),
    "size_video": Fitted(family="lognormal", params={"mu": 15.5, "sigma": 1.0}, low=100, high=2e9, discrete=True),
    "size_audio": Fitted(family="lognormal", params={"mu": 12.0, "sigma": 0.7}, low=100, high=2e9, discrete=True),
    "size_file": Fitted(family="lognormal", params={"mu": 11.5, "sigma": 1.5}, low=100, high=2e9, discrete=True),
}
SHARE_DIRECT = 0.7
SHARE_ATTACHMENTS = 0.12
SHARE_READ = 0.85
DEVICE = {"web": 7000, "ios": 8000, "android": 5000}
PRIMARY_DEVICE = {"web": 600, "ios": 550, "android": 350}
ATTACHMENT_KINDS = {"image": 1200, "video": 300, "audio": 200, "file": 300}
# A diurnal cycle with quiet weekends (weights per hour of week, Monday 00:00 UTC first).
_DAY = 0.15 + np.exp(-0.5 * ((np.arange(24) - 11) / 2.5) ** 2) + 0.8 * np.exp(-0.5 * ((np.arange(24) - 20) / 2.0) ** 2)
HOUR_OF_WEEK = np.concatenate([np.tile(_DAY, 5), np.tile(0.6 * _DAY, 2)])

SIZES = {"messages": 20_000, "conversations": 3_000, "users": 1_500, "gaps": 20_000, "reads_latency": 20_000}


def draw(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
    return sample(TRUE[name], rng, n)


def make_pack(
    seed: int = 0,
    *,
    message_length=DRAW,
    messages_per_conversation=DRAW,
    participants_per_conversation=DRAW,
    participants_per_group=DRAW,
    messages_per_user=DRAW,
    inter_arrival_seconds=DRAW,
    hour_of_week_bins=DRAW,
    conversation_kind=DRAW,
    device=DRAW,
    primary_device=DRAW,
    attachments=DRAW,
    reads=DRAW,
    heavy_threshold: int = 1000,
    min_cell_size: int = 10,
    heavy_room_participants: bool = False,
) -> MetricsPack:
    """`heavy_room_participants` describes the heavy rooms' participants too: pass
    `participants_per_conversation` aligned with `messages_per_conversation` for it to mean anything."""
    rng = np.random.default_rng(seed)
    n_msg, n_conv = SIZES["messages"], SIZES["conversations"]
    if messages_per_conversation is DRAW:
        messages_per_conversation = draw("messages_per_conversation", rng, n_conv)
    if participants_per_group is DRAW or participants_per_conversation is DRAW:
        n_group = int(round(n_conv * (1 - SHARE_DIRECT)))
        groups = draw("participants_per_group", rng, n_group)
        if participants_per_group is DRAW:
            participants_per_group = groups
        if participants_per_conversation is DRAW:
            participants_per_conversation = np.concatenate([np.full(n_conv - n_group, 2.0), groups])
    if conversation_kind is DRAW:
        n_group = int(np.count_nonzero(np.asarray(participants_per_conversation) > 2))
        conversation_kind = {"direct": len(participants_per_conversation) - n_group, "group": n_group}
    if attachments is DRAW:
        has = rng.random(n_msg) < SHARE_ATTACHMENTS
        per_message = np.zeros(n_msg)
        per_message[has] = draw("attachments_per_message", rng, int(has.sum()))
        sizes = {k: draw(f"size_{k}", rng, n) for k, n in ATTACHMENT_KINDS.items()}
        attachments = AttachmentArrays(per_message=per_message, kinds=dict(ATTACHMENT_KINDS), sizes=sizes)
    if reads is DRAW:
        read = rng.random(n_msg) < SHARE_READ
        per_message = np.zeros(n_msg)
        per_message[read] = draw("reads_per_message", rng, int(read.sum()))
        reads = ReadArrays(per_message=per_message, latency_seconds=draw("read_latency", rng, SIZES["reads_latency"]))
    return pack_from_arrays(
        message_length=draw("message_length", rng, n_msg) if message_length is DRAW else message_length,
        messages_per_conversation=messages_per_conversation,
        participants_per_conversation=participants_per_conversation,
        participants_per_group=participants_per_group,
        messages_per_user=draw("messages_per_user", rng, SIZES["users"]) if messages_per_user is DRAW else messages_per_user,
        inter_arrival_seconds=(
            sample_mmpp2_sequence(TRUE["inter_arrival"], rng, SIZES["gaps"]) if inter_arrival_seconds is DRAW else inter_arrival_seconds
        ),
        hour_of_week_bins=(
            rng.choice(168, size=n_msg, p=HOUR_OF_WEEK / HOUR_OF_WEEK.sum()) if hour_of_week_bins is DRAW else hour_of_week_bins
        ),
        conversation_kind=conversation_kind,
        device=dict(DEVICE) if device is DRAW else device,
        primary_device=dict(PRIMARY_DEVICE) if primary_device is DRAW else primary_device,
        attachments=attachments,
        reads=reads,
        heavy_threshold=heavy_threshold,
        min_cell_size=min_cell_size,
        heavy_room_participants=heavy_room_participants,
    )


def write_pack(pack: MetricsPack, path: str | Path) -> Path:
    atomic_write_json(path, pack.model_dump(mode="json"))
    return Path(path)
