"""The distribution spec: what calibration fits and the generator draws from.

Each fitted parameter names its family, its parameters, its support, whether it is discrete, and
how well it fits the pack it came from (`gof`). The families and how to draw from them live in
`synth_pipeline.calibration.families`; this module only describes the document.

Families and their `params`:
- `constant`: value
- `lognormal`: mu, sigma (of log x), truncated to [low, high] when given
- `exponential`: rate (per second for times)
- `exponential_mixture`: weights (list), rates (list)
- `mmpp2`: two-state Markov-modulated Poisson process for inter-arrival times: rate_burst,
  rate_idle, p_burst_to_idle, p_idle_to_burst (state switch probability after each event)
- `discrete_power_law`: alpha, truncated to the integers in [low, high]
- `empirical`: probabilities (list, ascending from 0 to 1), values (list, non-decreasing): the
  quantile function, interpolated linearly; optional alphas (list, one per segment): segment j
  has density proportional to x^-alphas[j] on [values[j], values[j+1]] instead (0 = linear), so
  that wide tail bins keep a heavy tail's shape and mean

Which population each parameter describes (calibration writes them so):
- `messages_per_conversation`: every active conversation, heavy rooms included; its mass above
  `heavy_rooms.threshold` reproduces `heavy_rooms.share_of_conversations` / `share_of_messages`
  (calibration holds the fit to them). `heavy_rooms.size` is that tail on its own, fitted on the
  pack's heavy-room sizes: a generator either draws every size from `messages_per_conversation`,
  or draws `share_of_conversations` of the rooms from `heavy_rooms.size` and the others from
  `messages_per_conversation` below the threshold (never both: heavy rooms would double).
- `participants_per_group`: conversations of kind `group`; direct chats have 2.
- `attachments.per_message` and `reads.reads_per_message`: messages with at least one (the
  zeros are `share_of_messages` / `share_of_messages_read`).
- `totals.conversations`: active conversations (those with a message in the window).
- `hour_of_week.weights`: relative weights (calibrated specs write shares summing to 1); bin 0 =
  Monday 00:00 UTC.
- `device` / `primary_device` weights may include `unknown`: the share of NULL devices in the source.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from synth_pipeline.contracts.common import NonNegFloat, NonNegInt, Sha256Hex, Share, StrictModel

SPEC_SCHEMA_VERSION = "1.0"
SPEC_KIND = "synth-pipeline/distribution-spec"

Family = Literal[
    "constant", "lognormal", "exponential", "exponential_mixture", "mmpp2", "discrete_power_law", "empirical",
]


class GoodnessOfFit(StrictModel):
    statistic: Literal["ks", "tv", "relative_error", "none"] = Field(
        description="ks: Kolmogorov-Smirnov distance to the pack histogram; tv: total variation"
    )
    value: NonNegFloat = Field(description="0 is a perfect fit")
    criterion: Literal["aic", "ks", "none"] = Field(description="How the family was chosen among candidates")
    candidates: dict[str, float] = Field(default_factory=dict, description="Criterion value per candidate family")
    poor: bool = Field(False, description="True when the fit is outside the stated tolerance")
    tolerance: NonNegFloat | None = Field(None, description="The tolerance `value` was held to (null: not checked)")
    checks: dict[str, float] = Field(
        default_factory=dict,
        description="Other figures compared with the pack, as <figure>_pack / <figure>_fit pairs (e.g. burst_coefficient)",
    )


class Fitted(StrictModel):
    family: Family
    params: dict[str, float | list[float]]
    low: float | None = None
    high: float | None = None
    discrete: bool = False
    gof: GoodnessOfFit | None = None


class Categorical(StrictModel):
    weights: dict[str, NonNegFloat]
    gof: GoodnessOfFit | None = None


class HourOfWeekSpec(StrictModel):
    weights: list[NonNegFloat] = Field(min_length=168, max_length=168, description="Bin 0 = Monday 00:00 UTC")
    gof: GoodnessOfFit | None = None


class HeavyRoomSpec(StrictModel):
    threshold: NonNegInt = 1000
    share_of_conversations: Share
    share_of_messages: Share
    size: Fitted | None = Field(None, description="Messages per heavy room")
    participants: Fitted | None = Field(
        None, description="Participants per heavy room; null: heavy rooms draw ordinary group sizes"
    )


class InterArrivalSpec(StrictModel):
    model: Fitted
    burst_coefficient: NonNegFloat = Field(description="Target p95/p50 of inter-arrival times")


class AttachmentSpec(StrictModel):
    share_of_messages: Share
    per_message: Fitted = Field(description="Attachments per message among messages that have any (>= 1)")
    kind: Categorical
    size_bytes: dict[Literal["image", "video", "audio", "file"], Fitted]


class ReadSpec(StrictModel):
    share_of_messages_read: Share
    reads_per_message: Fitted = Field(description="Receipts per message among messages read at least once (>= 1)")
    latency_seconds: Fitted


class SpecParameters(StrictModel):
    message_length: Fitted
    messages_per_conversation: Fitted
    messages_per_user: Fitted
    participants_per_group: Fitted
    conversation_kind: Categorical
    heavy_rooms: HeavyRoomSpec
    inter_arrival: InterArrivalSpec
    hour_of_week: HourOfWeekSpec
    device: Categorical | None
    primary_device: Categorical | None
    attachments: AttachmentSpec | None
    reads: ReadSpec | None


class SpecTotals(StrictModel):
    """What the source pack observed; the generator derives unspecified sizes from these ratios."""

    users: Annotated[int, Field(ge=1)]
    conversations: Annotated[int, Field(ge=1)]
    messages: Annotated[int, Field(ge=1)]
    active_users: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Users who sent a message in the window; null: every user sends"
    )


class SpecSource(StrictModel):
    kind: Literal["reference", "pack"]
    pack_sha256: Sha256Hex | None = None
    window_days: Annotated[int, Field(ge=1)]


class DistributionSpec(StrictModel):
    schema_version: Literal["1.0"] = SPEC_SCHEMA_VERSION
    kind: Literal["synth-pipeline/distribution-spec"] = SPEC_KIND
    spec_version: Annotated[int, Field(ge=1)] = Field(1, description="previous spec_version + 1 when --previous is given")
    source: SpecSource
    totals: SpecTotals
    parameters: SpecParameters
