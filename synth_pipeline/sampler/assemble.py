"""Assemble the metrics pack from the aggregate rows the statements returned.

Every statement returns rows (metric, label, key, n, v_min, v_max, v_sum); `FineRows` indexes
them and this module turns them into the pack's models, through `fine` (distributions) and the
`PrivacyLedger` (small cells, noise).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from synth_pipeline.contracts.metrics_pack import (
    AttachmentKindMix,
    Attachments,
    AttachmentSizes,
    ConversationKindMix,
    DeviceMix,
    Distribution,
    HeavyRoom,
    HeavyRooms,
    HourOfWeek,
    InterArrival,
    Metrics,
    Reads,
    Totals,
)
from synth_pipeline.sampler.fine import IntegerCounts, MicroCounts, empty_distribution
from synth_pipeline.sampler.noise import PrivacyLedger
from synth_pipeline.schema.logical import ATTACHMENT_KINDS, CONVERSATION_KINDS, DEVICES

HEAVY_ROOM_THRESHOLD = 1000
SUM_UNITS = {"seconds": Decimal(1_000_000), "bytes": Decimal(1)}  # v_sum: whole microseconds, whole bytes
MAX_HEAVY_ROOMS_LISTED = 1000
ANY_LABEL = object()


@dataclass(frozen=True)
class FineRow:
    metric: str
    label: str | None
    key: float | None
    n: int
    v_min: float | None
    v_max: float | None
    v_sum: Decimal | None  # exact: whole microseconds, bytes or participant rows


def _merged(rows) -> list[FineRow]:
    """Rows with the same (metric, label, key) combined: counts and sums add, extremes take the extreme."""
    merged: dict[tuple, FineRow] = {}
    for row in map(lambda r: FineRow(*r), rows):
        key = (row.metric, row.label, row.key)
        seen = merged.get(key)
        if seen is None:
            merged[key] = row
            continue
        pick = lambda f, a, b: b if a is None else a if b is None else f(a, b)  # noqa: E731
        merged[key] = FineRow(row.metric, row.label, row.key, seen.n + row.n, pick(min, seen.v_min, row.v_min),
                              pick(max, seen.v_max, row.v_max), pick(lambda a, b: a + b, seen.v_sum, row.v_sum))
    return sorted(merged.values(), key=lambda r: (r.metric, r.label or "", -1.0 if r.key is None else r.key))


class FineRows:
    def __init__(self, rows) -> None:
        self._by_metric: dict[str, list[FineRow]] = defaultdict(list)
        for fine in _merged(rows):
            self._by_metric[fine.metric].append(fine)

    def rows(self, metric: str) -> list[FineRow]:
        return self._by_metric.get(metric, [])

    def counts(self, metric: str, label: object = ANY_LABEL) -> IntegerCounts:
        pairs: dict[float, int] = defaultdict(int)
        for row in self.rows(metric):
            if label is ANY_LABEL or row.label == label:
                pairs[float(row.key)] += int(row.n)
        return IntegerCounts.from_pairs(pairs)

    def label_totals(self, metric: str) -> dict[str | None, int]:
        totals: dict[str | None, int] = defaultdict(int)
        for row in self.rows(metric):
            totals[row.label] += int(row.n)
        return dict(totals)

    def micro(self, unit: str, metric: str, stats_metric: str, label: str | None = None) -> MicroCounts | None:
        stats = [r for r in self.rows(stats_metric) if r.label == label]
        if not stats or not stats[0].n:
            return None
        pairs: dict[float, int] = defaultdict(int)
        for row in self.rows(metric):
            if row.label == label:
                pairs[float(row.key)] += int(row.n)
        s = stats[0]
        value_sum = float(Decimal(s.v_sum) / SUM_UNITS[unit])  # exact integer sum from the server
        return MicroCounts.from_rows(unit, pairs, s.n, s.v_min, s.v_max, value_sum)


def _share(part: int, whole: int) -> float:
    return min(1.0, part / whole) if whole else 0.0


def _optional(distribution_counts, ledger: PrivacyLedger) -> bool:
    """Optional distributions describing fewer entities than a cell are left out entirely."""
    return distribution_counts is not None and distribution_counts.total >= ledger.min_cell_size


@dataclass
class PackBuilder:
    fine: FineRows
    ledger: PrivacyLedger
    parts: dict[str, bool]
    window_messages: int = 0

    @property
    def receipt_modulus(self) -> int:
        """k of the receipt sample (the reads statement returns it as the key of its sample count)."""
        rows = self.fine.rows("receipt_sample_messages")
        return int(rows[0].key) if rows else 1

    def message_length(self) -> Distribution:
        lengths = self.fine.counts("message_length")
        self.window_messages = lengths.total
        return lengths.describe("characters", "message_length", self.ledger)

    def device(self) -> DeviceMix | None:
        if not self.parts["device"]:
            return None
        return self._device_mix("device", self.fine.label_totals("message_length"))

    def primary_device(self) -> DeviceMix | None:
        if not self.parts["primary_device"]:
            return None
        return self._device_mix("primary_device", self.fine.label_totals("primary_device"))

    def _device_mix(self, release: str, by_label: dict[str | None, int]) -> DeviceMix:
        raw = {d: by_label.get(d, 0) for d in DEVICES} | {"unknown": by_label.get(None, 0)}
        counts, suppressed = self.ledger.mix(release, raw)
        return DeviceMix(**counts, suppressed=suppressed)

    def per_conversation(self) -> tuple[Distribution, Distribution, Distribution | None, ConversationKindMix]:
        messages = self.fine.counts("messages_per_conversation")
        participants = self.fine.counts("participants_per_conversation")
        groups = self.fine.counts("participants_per_group")
        kinds = self.fine.label_totals("conversation_kind")
        kind_counts, suppressed = self.ledger.mix("conversation_kind", {k: kinds.get(k, 0) for k in CONVERSATION_KINDS})
        return (
            messages.describe("messages", "messages_per_conversation", self.ledger),
            participants.describe("participants", "participants_per_conversation", self.ledger),
            groups.describe("participants", "participants_per_group", self.ledger) if _optional(groups, self.ledger) else None,
            ConversationKindMix(**kind_counts, suppressed=suppressed),
        )

    def inter_arrival(self) -> InterArrival | None:
        gaps = self.fine.micro("seconds", "inter_arrival", "inter_arrival_stats")
        if not _optional(gaps, self.ledger):
            return None
        distribution = gaps.describe("inter_arrival_seconds", self.ledger)
        p50, p95 = distribution.percentiles.p50, distribution.percentiles.p95
        return InterArrival(**distribution.model_dump(), burst_coefficient=p95 / p50 if p50 > 0 else 0.0)

    def hour_of_week(self) -> HourOfWeek:
        raw = np.zeros(168, dtype=np.int64)
        for row in self.fine.rows("hour_of_week"):
            raw[int(row.key)] += int(row.n)
        counts, suppressed = self.ledger.hour_of_week(raw)
        total = sum(counts)
        weekend = sum(counts[5 * 24:])
        return HourOfWeek(
            counts=counts,
            weekday_share=_share(total - weekend, total),
            weekend_share=_share(weekend, total),
            suppressed=suppressed,
        )

    def heavy_rooms(self) -> HeavyRooms:
        rows = self.fine.rows("heavy_room")
        active = self.fine.counts("messages_per_conversation").total
        heavy_messages = sum(int(r.key) for r in rows)
        sizes = IntegerCounts.from_pairs(_tally(int(r.key) for r in rows)) if rows else None
        # the statement's n carries each room's participant count
        participants = IntegerCounts.from_pairs(_tally(int(r.n) for r in rows)) if rows else None
        listed: list[HeavyRoom] = []
        if not self.ledger.noisy:
            # A room describes its participants: rooms with fewer than a cell of them stay unlisted.
            for row in sorted(rows, key=lambda r: (-int(r.key), r.label)):
                if int(row.n) < self.ledger.min_cell_size or len(listed) >= MAX_HEAVY_ROOMS_LISTED:
                    self.ledger.suppressed_cells += 1
                    continue
                listed.append(HeavyRoom(token=row.label, messages=int(row.key)))
        return HeavyRooms(
            threshold=HEAVY_ROOM_THRESHOLD,
            count=len(rows),
            share_of_conversations=_share(len(rows), active),
            share_of_messages=_share(heavy_messages, self.window_messages),
            sizes=sizes.describe("messages", "heavy_room_sizes", self.ledger) if _optional(sizes, self.ledger) else None,
            participants=(participants.describe("participants", "heavy_room_participants", self.ledger)
                          if _optional(participants, self.ledger) else None),
            rooms=listed,
        )

    def messages_per_user(self) -> Distribution:
        return self.fine.counts("messages_per_user").describe("messages", "messages_per_user", self.ledger)

    def reads(self) -> Reads | None:
        if not self.parts["reads"]:
            return None
        per_message = self.fine.counts("reads_per_message")
        read = per_message.total
        sampled = self.receipt_sample_messages()
        with_zeros = IntegerCounts.from_pairs(
            dict(zip(per_message.values.tolist(), per_message.counts.tolist())) | {0.0: max(sampled - read, 0)}
        )
        latency = self.fine.micro("seconds", "read_latency", "read_latency_stats")
        return Reads(
            share_of_messages_read=_share(read, sampled),
            reads_per_message=with_zeros.describe("reads", "reads_per_message", self.ledger),
            latency_seconds=latency.describe("read_latency", self.ledger) if latency else empty_distribution("seconds"),
            sampled_share=1.0 / self.receipt_modulus,
        )

    def receipt_sample_messages(self) -> int:
        """Window messages in the receipt sample (all of them when the modulus is 1)."""
        return int(sum(r.n for r in self.fine.rows("receipt_sample_messages")))

    def attachments(self) -> Attachments | None:
        if not self.parts["attachments"]:
            return None
        per_message = self.fine.counts("attachments_per_message")
        kinds = {k: self.fine.micro("bytes", "attachment_size", "attachment_size_stats", label=k) for k in ATTACHMENT_KINDS}
        kind_counts, suppressed = self.ledger.mix("attachment_kinds", {k: (m.total if m else 0) for k, m in kinds.items()})
        sizes = {
            k: m.describe("attachment_sizes", self.ledger) if _optional(m, self.ledger) else None for k, m in kinds.items()
        }
        return Attachments(
            share_of_messages=_share(per_message.total, self.window_messages),
            per_message=(per_message.describe("attachments", "attachments_per_message", self.ledger)
                         if per_message.total else empty_distribution("attachments")),
            kinds=AttachmentKindMix(**kind_counts, suppressed=suppressed),
            size_bytes=AttachmentSizes(**sizes),
        )

    def metrics_and_totals(self) -> tuple[Metrics, Totals]:
        message_length = self.message_length()
        per_conversation, participants, groups, kinds = self.per_conversation()
        metrics = Metrics(
            message_length=message_length,
            messages_per_conversation=per_conversation,
            participants_per_conversation=participants,
            participants_per_group=groups,
            messages_per_user=self.messages_per_user(),
            inter_arrival_seconds=self.inter_arrival(),
            hour_of_week=self.hour_of_week(),
            conversation_kind=kinds,
            heavy_rooms=self.heavy_rooms(),
            device=self.device(),
            primary_device=self.primary_device(),
            attachments=self.attachments(),
            reads=self.reads(),
        )
        return metrics, self.totals()

    def totals(self) -> Totals:
        conversations = self.fine.rows("conversations")
        attachments = self.fine.counts("attachments_per_message")
        reads = self.fine.rows("read_latency_stats")
        return Totals(
            users=sum(self.fine.label_totals("primary_device").values()),
            active_users=self.fine.counts("messages_per_user").total,
            conversations=int(conversations[0].n) if conversations else 0,
            active_conversations=self.fine.counts("messages_per_conversation").total,
            messages=self.window_messages,
            participants=int(sum(r.v_sum or 0 for r in self.fine.rows("conversation_kind"))),
            attachments=int(attachments.value_sum) if self.parts["attachments"] else None,
            # an estimate (sample x modulus) when receipts were sampled
            reads=(int(reads[0].n) * self.receipt_modulus if reads else 0) if self.parts["reads"] else None,
        )


def _tally(values) -> dict[float, int]:
    out: dict[float, int] = defaultdict(int)
    for v in values:
        out[float(v)] += 1
    return out
