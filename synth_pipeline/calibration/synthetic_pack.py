"""Assemble a complete metrics pack from raw arrays, by the sampler's binning and small-cell rules.

Calibration's recovery tests draw arrays from known distributions and check that calibrating
the resulting pack gives the distributions back; the reference spec is calibrated from a pack
built here from a documented, plausible chat product (`reference.py`). Totals are derived from
the arrays (messages = sum of messages per conversation), so the spec's ratios are consistent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from synth_pipeline.contracts.binning import distribution_from_values
from synth_pipeline.contracts.metrics_pack import (
    AttachmentKindMix,
    Attachments,
    AttachmentSizes,
    ConversationKindMix,
    DeviceMix,
    Distribution,
    HeavyRoom,
    HeavyRooms,
    Histogram,
    HourOfWeek,
    InterArrival,
    Metrics,
    MetricsPack,
    PackPrivacy,
    Parts,
    Percentiles,
    Reads,
    Totals,
    Window,
)

WINDOW_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
WEEKDAY_BINS = 120


@dataclass
class AttachmentArrays:
    per_message: np.ndarray  # attachments per message, over ALL messages (zeros included)
    kinds: dict[str, int]
    sizes: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class ReadArrays:
    per_message: np.ndarray  # receipts per message, over all messages (zeros included)
    latency_seconds: np.ndarray


def distribution(values, unit: str, min_cell_size: int) -> Distribution:
    """`distribution_from_values`, plus the empty case (count 0, one empty bin)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        zeros = Percentiles(p50=0.0, p90=0.0, p95=0.0, p99=0.0, max=0.0)
        return Distribution(unit=unit, count=0, mean=0.0, min=0.0, percentiles=zeros,
                            histogram=Histogram(scale="linear", edges=[0.0, 1.0], counts=[0]))
    return distribution_from_values(v, unit, min_cell_size)


def _suppress(counts: dict[str, int], min_cell_size: int) -> tuple[dict[str, int], int, int]:
    """Categories below the cell size publish 0; returns (counts, suppressed entities, cells)."""
    kept = {k: (int(v) if v >= min_cell_size else 0) for k, v in counts.items()}
    small = [int(v) for v in counts.values() if 0 < v < min_cell_size]
    return kept, sum(small), len(small)


def _token(i: int) -> str:
    return hashlib.sha256(f"room-{i}".encode()).hexdigest()[:16]


def _heavy_rooms(messages_per_conversation: np.ndarray, threshold: int, min_cell_size: int,
                 participants_per_conversation=None) -> HeavyRooms:
    sizes = np.asarray(messages_per_conversation, dtype=np.int64)
    heavy = np.flatnonzero(sizes > threshold)
    total = max(int(sizes.sum()), 1)
    order = heavy[np.argsort(-sizes[heavy], kind="stable")][:1000]
    return HeavyRooms(
        threshold=threshold,
        count=int(heavy.size),
        share_of_conversations=float(heavy.size / max(sizes.size, 1)),
        share_of_messages=float(sizes[heavy].sum() / total),
        sizes=distribution(sizes[heavy], "messages", min_cell_size) if heavy.size >= min_cell_size else None,
        participants=(distribution(np.asarray(participants_per_conversation)[heavy], "participants", min_cell_size)
                      if participants_per_conversation is not None and heavy.size >= min_cell_size else None),
        rooms=[HeavyRoom(token=_token(int(i)), messages=int(sizes[i])) for i in order],
    )


def _hour_of_week(hours: np.ndarray, min_cell_size: int) -> tuple[HourOfWeek, int]:
    raw = np.bincount(np.asarray(hours, dtype=np.int64), minlength=168)[:168]
    small = (raw > 0) & (raw < min_cell_size)
    counts = np.where(small, 0, raw)
    total = max(int(counts.sum()), 1)
    weekday = float(counts[:WEEKDAY_BINS].sum() / total)
    return (
        HourOfWeek(counts=counts.tolist(), weekday_share=weekday, weekend_share=1.0 - weekday if counts.sum() else 0.0,
                   suppressed=int(raw[small].sum())),
        int(small.sum()),
    )


def _mix(model, counts: dict[str, int] | None, min_cell_size: int, cells: list[int]):
    if counts is None:
        return None
    kept, suppressed, n_cells = _suppress(counts, min_cell_size)
    cells.append(n_cells)
    return model(**kept, suppressed=suppressed)


def _attachments(a: AttachmentArrays, min_cell_size: int, cells: list[int]) -> Attachments:
    per_message = np.asarray(a.per_message)
    with_any = per_message[per_message > 0]
    return Attachments(
        share_of_messages=float(with_any.size / max(per_message.size, 1)),
        per_message=distribution(with_any, "attachments", min_cell_size),
        kinds=_mix(AttachmentKindMix, a.kinds, min_cell_size, cells),
        size_bytes=AttachmentSizes(**{k: distribution(v, "bytes", min_cell_size) for k, v in a.sizes.items() if len(v)}),
    )


def _reads(r: ReadArrays, min_cell_size: int) -> Reads:
    per_message = np.asarray(r.per_message)
    return Reads(
        share_of_messages_read=float(np.mean(per_message > 0)) if per_message.size else 0.0,
        reads_per_message=distribution(per_message, "reads", min_cell_size),
        latency_seconds=distribution(r.latency_seconds, "seconds", min_cell_size),
    )


def _inter_arrival(values, min_cell_size: int) -> InterArrival | None:
    if values is None:
        return None
    d = distribution(values, "seconds", min_cell_size)
    burst = d.percentiles.p95 / d.percentiles.p50 if d.percentiles.p50 > 0 else 0.0
    return InterArrival(**d.model_dump(), burst_coefficient=float(burst))


def pack_from_arrays(
    *,
    message_length,
    messages_per_conversation,
    participants_per_conversation,
    messages_per_user,
    hour_of_week_bins,
    conversation_kind: dict[str, int],
    participants_per_group=None,
    inter_arrival_seconds=None,
    device: dict[str, int] | None = None,
    primary_device: dict[str, int] | None = None,
    attachments: AttachmentArrays | None = None,
    reads: ReadArrays | None = None,
    users: int | None = None,
    heavy_threshold: int = 1000,
    min_cell_size: int = 10,
    window_days: int = 30,
    heavy_room_participants: bool = False,
) -> MetricsPack:
    """A valid MetricsPack from arrays of per-entity values; None parts are absent in the pack.

    `participants_per_conversation` is aligned with `messages_per_conversation` (entity by
    entity); `heavy_room_participants` also describes the heavy rooms' participants (as the
    sampler does since it measures them), read from that alignment.
    """
    cells: list[int] = []
    mpc = np.asarray(messages_per_conversation)
    mpu = np.asarray(messages_per_user)
    how, how_cells = _hour_of_week(hour_of_week_bins, min_cell_size)
    cells.append(how_cells)
    metrics = Metrics(
        message_length=distribution(message_length, "characters", min_cell_size),
        messages_per_conversation=distribution(mpc, "messages", min_cell_size),
        participants_per_conversation=distribution(participants_per_conversation, "participants", min_cell_size),
        participants_per_group=None if participants_per_group is None else distribution(participants_per_group, "participants", min_cell_size),
        messages_per_user=distribution(mpu, "messages", min_cell_size),
        inter_arrival_seconds=_inter_arrival(inter_arrival_seconds, min_cell_size),
        hour_of_week=how,
        conversation_kind=_mix(ConversationKindMix, conversation_kind, min_cell_size, cells),
        heavy_rooms=_heavy_rooms(mpc, heavy_threshold, min_cell_size,
                                 participants_per_conversation if heavy_room_participants else None),
        device=_mix(DeviceMix, device, min_cell_size, cells),
        primary_device=_mix(DeviceMix, primary_device, min_cell_size, cells),
        attachments=None if attachments is None else _attachments(attachments, min_cell_size, cells),
        reads=None if reads is None else _reads(reads, min_cell_size),
    )
    end = WINDOW_START + timedelta(days=window_days)
    return MetricsPack(
        window=Window(days=window_days, start=WINDOW_START.strftime("%Y-%m-%dT%H:%M:%SZ"), end=end.strftime("%Y-%m-%dT%H:%M:%SZ")),
        privacy=PackPrivacy(min_cell_size=min_cell_size, suppressed_cells=sum(cells), merged_cells=0),
        parts=Parts(attachments=attachments is not None, reads=reads is not None, device=device is not None, primary_device=primary_device is not None),
        totals=Totals(
            users=int(users if users is not None else mpu.size),
            active_users=int(np.count_nonzero(mpu)),
            conversations=int(mpc.size),
            active_conversations=int(np.count_nonzero(mpc)),
            messages=int(mpc.sum()),
            participants=int(np.sum(participants_per_conversation)),
            attachments=None if attachments is None else int(np.sum(attachments.per_message)),
            reads=None if reads is None else int(np.sum(reads.per_message)),
        ),
        metrics=metrics,
    )
