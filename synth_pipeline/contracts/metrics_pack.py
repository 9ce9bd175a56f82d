"""The metrics pack: the only thing that leaves production (DESIGN.md sections 2 and 7).

Aggregates only. Every string in a pack is an enum value, a 16-hex HMAC token or an ISO UTC
timestamp; everything else is a number. Optional parts of a source (attachments, reads, device)
are `null` when absent. The pack carries no generation time: the same data and salt give the same
bytes (run-dependent facts go into the mapping manifest).

Histogram convention: `edges` has k+1 ascending values, `counts` has k values; bin i holds
entities with edges[i] <= x < edges[i+1], except the last bin, which also holds x == edges[k].
Bins describing fewer than `privacy.min_cell_size` entities are merged into a neighbour or
suppressed (their entities counted in `suppressed`), so the counts may sum to less than `count`.

Hour of week: bin h = 24 * weekday + hour, weekday 0 = Monday, in UTC.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from synth_pipeline.contracts.common import IsoTimestamp, NonNegFloat, NonNegInt, Share, StrictModel, Token

PACK_SCHEMA_VERSION = "1.0"
PACK_KIND = "synth-pipeline/metrics-pack"


class Percentiles(StrictModel):
    p50: float
    p90: float
    p95: float
    p99: float
    max: float


class Histogram(StrictModel):
    scale: Literal["linear", "log"] = Field(description="How the edges were spaced")
    edges: list[float] = Field(min_length=2, max_length=513)
    counts: list[NonNegInt] = Field(min_length=1, max_length=512)
    suppressed: NonNegInt = Field(0, description="Entities in bins suppressed for small-cell protection")


class Distribution(StrictModel):
    """A numeric distribution over `count` entities (messages, conversations, users, reads...)."""

    unit: Literal["characters", "messages", "participants", "seconds", "bytes", "reads", "attachments"]
    count: NonNegInt
    mean: float
    min: float
    percentiles: Percentiles
    histogram: Histogram


class InterArrival(Distribution):
    """Seconds between consecutive messages of one conversation."""

    burst_coefficient: NonNegFloat = Field(description="p95 / p50 of the inter-arrival time")


class HourOfWeek(StrictModel):
    counts: list[NonNegInt] = Field(min_length=168, max_length=168)
    weekday_share: Share
    weekend_share: Share
    suppressed: NonNegInt = 0


class DeviceMix(StrictModel):
    web: NonNegInt = 0
    ios: NonNegInt = 0
    android: NonNegInt = 0
    unknown: NonNegInt = Field(0, description="NULL device")
    suppressed: NonNegInt = 0


class ConversationKindMix(StrictModel):
    direct: NonNegInt = 0
    group: NonNegInt = 0
    suppressed: NonNegInt = 0


class AttachmentKindMix(StrictModel):
    image: NonNegInt = 0
    video: NonNegInt = 0
    audio: NonNegInt = 0
    file: NonNegInt = 0
    suppressed: NonNegInt = 0


class AttachmentSizes(StrictModel):
    image: Distribution | None = None
    video: Distribution | None = None
    audio: Distribution | None = None
    file: Distribution | None = None


class HeavyRoom(StrictModel):
    token: Token
    messages: NonNegInt


class HeavyRooms(StrictModel):
    threshold: NonNegInt = Field(description="A conversation is heavy above this many messages in the window")
    count: NonNegInt
    share_of_conversations: Share
    share_of_messages: Share
    sizes: Distribution | None = Field(None, description="Messages per heavy room; null if too few rooms")
    participants: Distribution | None = Field(
        None, description="Participants per heavy room; null if too few rooms (or an older sampler)"
    )
    rooms: list[HeavyRoom] = Field(default_factory=list, max_length=1000)


class Attachments(StrictModel):
    share_of_messages: Share = Field(description="Messages with at least one attachment / messages")
    per_message: Distribution = Field(description="Attachments per message, over messages that have any")
    kinds: AttachmentKindMix
    size_bytes: AttachmentSizes


class Reads(StrictModel):
    share_of_messages_read: Share
    reads_per_message: Distribution = Field(description="Receipts per message, over all messages (zeros included)")
    latency_seconds: Distribution = Field(description="read_at - message created_at")
    sampled_share: Share = Field(
        1.0,
        description="Share of the window's messages these receipt metrics describe: 1 = all; below 1 the sampler "
        "measured the messages whose id is a multiple of round(1 / sampled_share) (large sources)",
    )


class Metrics(StrictModel):
    message_length: Distribution
    messages_per_conversation: Distribution
    participants_per_conversation: Distribution
    participants_per_group: Distribution | None
    messages_per_user: Distribution
    inter_arrival_seconds: InterArrival | None
    hour_of_week: HourOfWeek
    conversation_kind: ConversationKindMix
    heavy_rooms: HeavyRooms
    device: DeviceMix | None = Field(description="Message device mix; null if the source has no device column")
    primary_device: DeviceMix | None = Field(description="Users' primary device; null if absent")
    attachments: Attachments | None
    reads: Reads | None


class Totals(StrictModel):
    users: NonNegInt
    active_users: NonNegInt = Field(description="Users who sent a message in the window")
    conversations: NonNegInt
    active_conversations: NonNegInt = Field(description="Conversations with a message in the window")
    messages: NonNegInt = Field(description="Messages in the window")
    participants: NonNegInt = Field(description="Participant rows of active conversations")
    attachments: NonNegInt | None = None
    reads: NonNegInt | None = None


class Window(StrictModel):
    days: Annotated[int, Field(ge=1, le=3660)]
    start: IsoTimestamp
    end: IsoTimestamp


class PackPrivacy(StrictModel):
    min_cell_size: Annotated[int, Field(ge=1)]
    suppressed_cells: NonNegInt
    merged_cells: NonNegInt
    epsilon: Annotated[float, Field(gt=0)] | None = None
    noise_mechanism: Literal["none", "geometric", "laplace"] = "none"
    contribution_bound: Annotated[int, Field(ge=1)] | None = None


class Parts(StrictModel):
    """Which optional parts the source had."""

    attachments: bool
    reads: bool
    device: bool
    primary_device: bool


class MetricsPack(StrictModel):
    schema_version: Literal["1.0"] = PACK_SCHEMA_VERSION
    kind: Literal["synth-pipeline/metrics-pack"] = PACK_KIND
    window: Window
    privacy: PackPrivacy
    parts: Parts
    totals: Totals
    metrics: Metrics
