"""Dataset sizes: the bands of DESIGN.md section 6, custom sizes, and the default shard count."""

from __future__ import annotations

import math

from synth_pipeline.contracts.distribution_spec import DistributionSpec
from synth_pipeline.contracts.shard_manifest import Sizes
from synth_pipeline.errors import SynthError

BANDS: dict[str, Sizes] = {
    "dev": Sizes(users=5_000, conversations=8_000, messages=5_000_000),
    "staging": Sizes(users=150_000, conversations=300_000, messages=100_000_000),
    "perf": Sizes(users=250_000, conversations=600_000, messages=300_000_000),
}
# About 1M messages per shard: small enough that two shards in flight (one generated, one
# written) stay far below the 1.5 GB memory target, large enough that per-shard overheads vanish.
MESSAGES_PER_SHARD = 1_000_000


def band_sizes(band: str, alternative: str = "") -> Sizes:
    """The sizes of a named band; `alternative` ends the error (what else the caller accepts)."""
    if band not in BANDS:
        raise SynthError(f"unknown band {band!r}; choose one of {', '.join(BANDS)}{alternative}")
    return BANDS[band]


def resolve_sizes(
    spec: DistributionSpec,
    band: str | None = None,
    *,
    messages: int | None = None,
    users: int | None = None,
    conversations: int | None = None,
) -> tuple[str, Sizes]:
    """(band name, sizes): a named band, or `messages` with the other sizes given or derived
    from the ratios of the spec's totals (what the calibrated source observed)."""
    if band is not None:
        if messages is not None or users is not None or conversations is not None:
            raise SynthError("give either --band or --messages [--users --conversations], not both")
        return band, band_sizes(band, " or give --messages N")
    if messages is None:
        raise SynthError("give --band dev|staging|perf or --messages N")
    if messages < 1:
        raise SynthError(f"--messages {messages}: must be at least 1")
    totals = spec.totals
    if users is None:
        users = max(2, round(messages * totals.users / totals.messages))
    if conversations is None:
        conversations = max(1, min(messages, round(messages * totals.conversations / totals.messages)))
    if users < 2:
        raise SynthError(f"--users {users}: a conversation needs two participants; give at least 2")
    if not 1 <= conversations <= messages:
        raise SynthError(f"--conversations {conversations}: must be between 1 and --messages ({messages}), every conversation has a message")
    return "custom", Sizes(users=users, conversations=conversations, messages=messages)


def default_shard_count(sizes: Sizes) -> int:
    return max(1, min(sizes.conversations, math.ceil(sizes.messages / MESSAGES_PER_SHARD)))
