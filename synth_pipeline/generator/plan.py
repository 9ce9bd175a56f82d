"""The generation plan: everything global, decided once, cheaply, before any shard is built.

`plan_generation` is pure (no files, no clock) and fast (a few arrays of one entry per user or
conversation): the same spec, sizes, seed and shard count give the same plan in any process, so
every machine building one partition agrees with every other on who exists, which conversation
lives in which shard, how many messages it holds, and which ids each partition owns.

Seeds: `SeedSequence(seed).spawn(2 + n_shards)`: child 0 draws the plan, child 1 the users
partition, child 2 + k shard k. A partition's bytes depend only on the plan and its own child.

Sizes (see docs/generator.md for the reasoning):
- heavy rooms: `round(share_of_conversations * C)` group conversations carrying
  `share_of_messages` of all messages, sizes drawn from `heavy_rooms.size` (or from
  `messages_per_conversation` above the threshold when no size is given);
- the other conversations hold at most `threshold` messages each, sizes drawn from
  `messages_per_conversation` below the threshold;
- both groups are scaled by one factor each so that the totals are exact (the band's sizes rarely
  have the ratio the spec's source had; with a self-consistent spec the factor is ~1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synth_pipeline.calibration.families import cdf, sample
from synth_pipeline.contracts.distribution_spec import DistributionSpec, Fitted
from synth_pipeline.contracts.files import load_spec  # re-exported: generator.load_spec
from synth_pipeline.contracts.shard_manifest import IdRange, Sizes
from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import canonical_json
from synth_pipeline.generator.bands import band_sizes, default_shard_count, resolve_sizes
from synth_pipeline.generator.timeline import HourOfWeekClock, Window, solve_idle_cut
from synth_pipeline.schema.logical import ATTACHMENT_KINDS, CONVERSATION_KINDS, DEVICES

GENERATOR_VERSION = "1.2"  # bump whenever the same inputs would give different bytes
USERS_PARTITION = "users"
KIND_DIRECT, KIND_GROUP, KIND_HEAVY = 0, 1, 2
# The spec's device mixes carry NULL devices as the category "unknown" (metrics pack convention).
DEVICE_CATEGORIES = (*DEVICES, "unknown")
UNBOUNDED_ATTACHMENTS_CAP = 64  # attachments per message when the spec gives no upper bound


def shard_name(index: int) -> str:
    return f"shard-{index:05d}"


def spec_sha256(spec: DistributionSpec) -> str:
    """Hash of the spec's canonical JSON (equal to the file's sha256 when calibrate wrote it)."""
    return hashlib.sha256(canonical_json(spec.model_dump(mode="json"))).hexdigest()


@dataclass(frozen=True, eq=False)
class GenerationPlan:
    spec: DistributionSpec
    spec_sha256: str
    seed: int
    band: str
    sizes: Sizes
    n_shards: int
    window: Window
    user_target: np.ndarray  # float64[U]: messages each user should send (sums to M; 0 for inactive users)
    conversation_messages: np.ndarray  # int64[C]
    conversation_kind: np.ndarray  # int8[C]: KIND_DIRECT, KIND_GROUP, KIND_HEAVY
    conversation_number: np.ndarray  # int64[C]: n of "Heavy Room n" / "Group n"; 0 for direct chats
    conversation_participants: np.ndarray  # int64[C]
    slot_offsets: np.ndarray  # int64[C+1]: conversation c's participants are slots offsets[c] .. offsets[c+1]-1
    slot_user: np.ndarray  # int64[P]: 0-based user index (id - 1), ascending within a conversation
    slot_quota: np.ndarray  # float64[P]: expected messages the participant sends in the conversation
    conversation_bounds: np.ndarray  # int64[K+1]: shard k holds conversations [b[k], b[k+1]) (0-based)
    message_bounds: np.ndarray  # int64[K+1]: shard k holds message ids b[k]+1 .. b[k+1]
    attachment_bounds: np.ndarray  # int64[K+1]: shard k may use attachment ids b[k]+1 .. b[k+1]
    attachments_cap: int  # attachments per message never exceed this (it sizes the id ranges)
    idle_cut: float  # seconds: a gap above it starts a new session (timeline.solve_idle_cut)
    read_count_cdf: np.ndarray | None  # float64[K]: P(readers <= k + 1) before the cap at participants - 1
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", (USERS_PARTITION, *(shard_name(k) for k in range(self.n_shards))))

    # -- partitions -------------------------------------------------------------------------
    def partition_names(self) -> list[str]:
        return list(self.names)

    def shard_index(self, name: str) -> int:
        if name not in self.names or name == USERS_PARTITION:
            raise SynthError(f"unknown shard {name!r}; this plan has shard-00000 .. {shard_name(self.n_shards - 1)}")
        return int(name.removeprefix("shard-"))

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        index = 1 if name == USERS_PARTITION else 2 + self.shard_index(name)
        return np.random.SeedSequence(self.seed).spawn(2 + self.n_shards)[index]

    def rng(self, name: str) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name)))

    def id_ranges(self, name: str) -> dict[str, IdRange]:
        if name == USERS_PARTITION:
            return {"users": IdRange(first=1, last=self.sizes.users)}
        k = self.shard_index(name)
        ranges = {
            "conversations": IdRange(first=int(self.conversation_bounds[k]) + 1, last=int(self.conversation_bounds[k + 1])),
            "messages": IdRange(first=int(self.message_bounds[k]) + 1, last=int(self.message_bounds[k + 1])),
        }
        if self.spec.parameters.attachments is not None:
            ranges["attachments"] = IdRange(first=int(self.attachment_bounds[k]) + 1, last=int(self.attachment_bounds[k + 1]))
        return ranges

    def messages_in(self, name: str) -> int:
        if name == USERS_PARTITION:
            return 0
        k = self.shard_index(name)
        return int(self.message_bounds[k + 1] - self.message_bounds[k])

    @property
    def absent_tables(self) -> list[str]:
        p = self.spec.parameters
        return [t for t, part in (("attachments", p.attachments), ("message_reads", p.reads)) if part is None]

    @property
    def null_columns(self) -> dict[str, list[str]]:
        p = self.spec.parameters
        out: dict[str, list[str]] = {}
        if p.primary_device is None:
            out["users"] = ["primary_device"]
        if p.device is None:
            out["messages"] = ["device"]
        return out

    def generation_key(self) -> dict:
        """What every partition of one generation must agree on (checked when the manifest is written)."""
        return {
            "spec_sha256": self.spec_sha256, "seed": self.seed, "band": self.band,
            "sizes": self.sizes.model_dump(), "n_shards": self.n_shards, "generator_version": GENERATOR_VERSION,
        }


# -- drawing helpers --------------------------------------------------------------------------
def draw(name: str, fitted: Fitted, rng: np.random.Generator, n: int) -> np.ndarray:
    """`families.sample`, with a spec problem reported as one line naming the parameter."""
    try:
        values = sample(fitted, rng, n)
    except (ValueError, KeyError, TypeError, ZeroDivisionError, IndexError) as exc:
        raise SynthError(f"spec parameters.{name}: cannot draw from {fitted.family}: {exc}; fix the spec or re-run calibrate") from None
    if not np.all(np.isfinite(values)):
        raise SynthError(f"spec parameters.{name}: {fitted.family} with these params draws non-finite values; fix the spec")
    return values


def draw_between(name: str, fitted: Fitted, rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    """Draws conditional on [low, high], by rejection (vectorised rounds); clipped if the range is
    nearly impossible under the family."""
    out = np.empty(n, dtype=np.float64)
    filled, batch = 0, max(n, 1024)
    for _ in range(32):
        if filled == n:
            break
        values = draw(name, fitted, rng, batch)
        accepted = values[(values >= low) & (values <= high)]
        take = accepted[: n - filled]
        out[filled : filled + take.size] = take
        filled += take.size
        rate = max(accepted.size / batch, 1e-4)
        batch = int(min(max((n - filled) / rate * 1.2, 1024), 50_000_000))
    if filled < n:
        out[filled:] = np.clip(draw(name, fitted, rng, n - filled), low, high)
    return out


def fit_to_total(raw: np.ndarray, total: int, low: int, high: int) -> np.ndarray:
    """Integers in [low, high] proportional to `raw` (one common factor) summing to `total` exactly."""
    n = raw.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if not n * low <= total <= n * high:
        raise ValueError(f"{n} values in [{low}, {high}] cannot sum to {total}")
    raw = np.maximum(np.asarray(raw, dtype=np.float64), 1e-9)

    def realize(factor: float) -> np.ndarray:
        return np.clip(np.floor(raw * factor + 0.5), low, high).astype(np.int64)

    f_low = f_high = total / raw.sum()
    while realize(f_low).sum() > total:
        f_low /= 2.0
    while realize(f_high).sum() < total:
        f_high *= 2.0
    for _ in range(200):  # bisection on the factor (the realized sum is monotone in it)
        if f_high / f_low - 1.0 < 1e-15:
            break
        middle = (f_low * f_high) ** 0.5
        if realize(middle).sum() <= total:
            f_low = middle
        else:
            f_high = middle
    sizes = realize(f_low)
    deficit = total - int(sizes.sum())
    if deficit:
        # Values that round up between the two factors take the remaining units, lowest index first;
        # then, should rounding ties leave any, the largest values below the cap.
        candidates = np.flatnonzero(realize(f_high) > sizes)[:deficit]
        sizes[candidates] += 1
        deficit -= candidates.size
        while deficit > 0:
            room = np.flatnonzero(sizes < high)
            order = room[np.argsort(-raw[room], kind="stable")][:deficit]
            sizes[order] += 1
            deficit -= order.size
    return sizes


# -- the plan ---------------------------------------------------------------------------------
def _kind_share_group(spec: DistributionSpec) -> float:
    weights = {k: float(spec.parameters.conversation_kind.weights.get(k, 0.0)) for k in CONVERSATION_KINDS}
    total = sum(weights.values())
    if total <= 0:
        raise SynthError("spec parameters.conversation_kind.weights: direct and group weigh 0; give them positive weights")
    return weights["group"] / total


def _check_spec(spec: DistributionSpec) -> None:
    p = spec.parameters
    for name, mix, categories in (("device", p.device, DEVICE_CATEGORIES), ("primary_device", p.primary_device, DEVICE_CATEGORIES)):
        if mix is not None and sum(float(mix.weights.get(c, 0.0)) for c in categories) <= 0:
            raise SynthError(f"spec parameters.{name}.weights: web, ios, android and unknown weigh 0; fix the spec")
    if p.attachments is not None:
        kinds = {k: float(p.attachments.kind.weights.get(k, 0.0)) for k in ATTACHMENT_KINDS}
        if sum(kinds.values()) <= 0:
            raise SynthError("spec parameters.attachments.kind.weights: every kind weighs 0; fix the spec")
        for kind, weight in kinds.items():
            if weight > 0 and kind not in p.attachments.size_bytes:
                raise SynthError(f"spec parameters.attachments.size_bytes: no size for kind {kind!r}, which has weight {weight}; add one")


def _conversation_sizes(spec: DistributionSpec, sizes: Sizes, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(messages per conversation, heavy mask), in conversation-id order."""
    p = spec.parameters
    heavy_spec = p.heavy_rooms
    threshold = int(heavy_spec.threshold)
    n_conv, n_msg = sizes.conversations, sizes.messages
    n_heavy = int(round(heavy_spec.share_of_conversations * n_conv))
    heavy_messages = int(round(heavy_spec.share_of_messages * n_msg)) if n_heavy else 0
    if n_heavy and heavy_messages < n_heavy * (threshold + 1):  # too few messages for that many heavy rooms
        n_heavy = heavy_messages // (threshold + 1)
        heavy_messages = heavy_messages if n_heavy else 0
    if n_heavy and n_msg - heavy_messages < n_conv - n_heavy:  # heavy rooms would starve the others
        n_heavy, heavy_messages = 0, 0
    n_light, light_messages = n_conv - n_heavy, n_msg - heavy_messages
    if n_light == 0 and light_messages:
        heavy_messages, light_messages = n_msg, 0
    if light_messages > n_light * threshold:
        need = -(-light_messages // threshold) + n_heavy
        raise SynthError(
            f"{n_msg} messages in {n_conv} conversations: the non-heavy ones would exceed the heavy-room threshold "
            f"({threshold}); give at least --conversations {need}"
        )
    if light_messages < n_light:
        raise SynthError(f"{n_conv} conversations for {n_msg} messages: every conversation needs a message; lower --conversations")

    heavy = np.zeros(n_conv, dtype=bool)
    heavy[rng.permutation(n_conv)[:n_heavy]] = True
    per_conversation = np.zeros(n_conv, dtype=np.int64)
    if n_heavy:
        if heavy_spec.size is not None:
            raw = draw("heavy_rooms.size", heavy_spec.size, rng, n_heavy)
            high = heavy_spec.size.high
        else:
            raw = draw_between("messages_per_conversation", p.messages_per_conversation, rng, n_heavy, threshold + 1, np.inf)
            high = p.messages_per_conversation.high
        cap = max(int(high) if high is not None else heavy_messages, -(-heavy_messages // n_heavy))
        per_conversation[heavy] = _fit("heavy_rooms", raw, heavy_messages, threshold + 1, cap)
    raw = draw_between("messages_per_conversation", p.messages_per_conversation, rng, n_light, 1, threshold)
    per_conversation[~heavy] = _fit("messages_per_conversation", raw, light_messages, 1, threshold)
    return per_conversation, heavy


def _fit(name: str, raw: np.ndarray, total: int, low: int, high: int) -> np.ndarray:
    try:
        return fit_to_total(raw, total, low, high)
    except ValueError as exc:
        raise SynthError(f"spec parameters.{name}: {exc}; change the sizes or the spec") from None


def _weighted_users(cumulative: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    index = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    return np.minimum(index, cumulative.size - 1).astype(np.int64)


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Positions of the second and later occurrences of equal keys."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    return order[1:][ordered[1:] == ordered[:-1]]


def _slots_by_load(offsets: np.ndarray, conversation_load: np.ndarray) -> np.ndarray:
    """Slot indices, conversations in descending load (sorting C conversations, not P slots)."""
    order = np.argsort(-conversation_load, kind="stable")
    counts = np.diff(offsets)[order]
    starts = np.repeat(offsets[:-1][order], counts)
    return starts + np.arange(starts.size) - np.repeat(np.cumsum(counts) - counts, counts)


def _participants(rng: np.random.Generator, counts: np.ndarray, offsets: np.ndarray, per_conversation: np.ndarray,
                  target: np.ndarray, batches: int = 48) -> np.ndarray:
    """Users of every conversation, ascending within each, no user twice in one conversation.

    A slot of a conversation carries about n_c / p_c messages (its load). Slots are filled heaviest
    first, in batches, each drawing users in proportion to what they still have to send (target
    minus the load of the slots they already hold), strongly preferring those who can still afford
    the batch's slots: heavy rooms go to the most active users, and every user's slots add up to
    about its target, which the quotas (`_quotas`) then make exact where the memberships allow."""
    n_users = target.size
    conversation = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    conversation_load = per_conversation / counts
    load = conversation_load[conversation]
    by_load = _slots_by_load(offsets, conversation_load)
    floor = 1e-3 * target.mean()  # anyone may still be drawn, however full
    remaining = target.astype(np.float64)
    users = np.empty(conversation.size, dtype=np.int64)
    for batch in np.array_split(by_load, min(batches, max(conversation.size, 1))):
        affordable = remaining >= 0.5 * np.median(load[batch])
        weight = np.where(affordable, remaining, 0.002 * np.maximum(remaining, 0.0)) + floor  # 500x odds
        users[batch] = _weighted_users(np.cumsum(weight), rng, batch.size)
        remaining -= np.bincount(users[batch], weights=load[batch], minlength=n_users)
    still_to_send = np.maximum(remaining, floor)
    cumulative = np.cumsum(still_to_send)
    suspects = np.arange(conversation.size)  # slots of conversations that may still hold repeats
    for attempt in range(32):
        repeated = suspects[_repeated(conversation[suspects] * n_users + users[suspects])]
        if repeated.size == 0:
            break
        # Weighted redraws first; uniform ones when a conversation holds nearly every likely user.
        users[repeated] = _weighted_users(cumulative, rng, repeated.size) if attempt < 16 else rng.integers(0, n_users, repeated.size)
        dirty = np.zeros(counts.size, dtype=bool)
        dirty[conversation[repeated]] = True
        suspects = np.flatnonzero(dirty[conversation])
    else:  # a group of nearly every user of a tiny population: exact draws for what is left
        for c in np.unique(conversation[suspects[_repeated(conversation[suspects] * n_users + users[suspects])]]):
            users[offsets[c] : offsets[c + 1]] = rng.choice(n_users, int(counts[c]), replace=False)
    _cover_every_user(users, target, load, by_load[::-1])
    _an_active_member_everywhere(users, conversation, counts.size, target, still_to_send, rng)
    return np.sort(conversation * n_users + users) - conversation * n_users


def _an_active_member_everywhere(users: np.ndarray, conversation: np.ndarray, n_conversations: int, target: np.ndarray,
                                 still_to_send: np.ndarray, rng: np.random.Generator) -> None:
    """A conversation whose participants are all inactive (target 0) gets an active user in its
    first slot instead, drawn by what users still have to send: someone has to send its messages.
    None of its members is active, so the newcomer is not one of them."""
    active_members = np.bincount(conversation, weights=(target[users] > 0).astype(np.float64), minlength=n_conversations)
    silent = np.flatnonzero(active_members == 0)
    if silent.size == 0:
        return
    first_slot = np.searchsorted(conversation, silent)
    users[first_slot] = _weighted_users(np.cumsum(np.where(target > 0, still_to_send, 0.0)), rng, silent.size)


def _cover_every_user(users: np.ndarray, target: np.ndarray, load: np.ndarray, lightest_first: np.ndarray) -> None:
    """Give active users without a conversation a slot of a user with several (each keeps its last
    slot), the slot whose load is nearest above the user's target: an active user sends messages.
    Inactive users (target 0) may stay outside every conversation, as in the calibrated source."""
    n_users = target.size
    lonely = np.flatnonzero((np.bincount(users, minlength=n_users) == 0) & (target > 0))
    if lonely.size == 0:
        return
    keeper = np.full(n_users, -1, dtype=np.int64)
    np.maximum.at(keeper, users, np.arange(users.size))
    spare_mask = np.ones(users.size, dtype=bool)
    spare_mask[keeper[keeper >= 0]] = False
    spare = lightest_first[spare_mask[lightest_first]]
    if spare.size == 0:
        return
    lonely = lonely[np.argsort(target[lonely], kind="stable")][: spare.size]
    # Lonely users in ascending target take distinct spare slots in ascending load: each about the
    # first slot at or above its target, strictly increasing, leaving room for those after it.
    users[spare[_distinct_positions(load[spare], target[lonely])]] = lonely


def _distinct_positions(pool: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of `wanted` (ascending) a position in `pool` (ascending, at least as long): about
    the first entry at or above it, strictly increasing, leaving room for the ones after it."""
    steps = np.arange(wanted.size)
    position = np.minimum(np.searchsorted(pool, wanted), pool.size - wanted.size + steps)
    return np.maximum.accumulate(position - steps) + steps


def _quotas(offsets: np.ndarray, slot_user: np.ndarray, per_conversation: np.ndarray, target: np.ndarray,
            rounds: int = 32) -> np.ndarray:
    """Expected messages per (conversation, participant): iterative proportional fitting so that
    every conversation's quotas sum to its size exactly and every user's to its target as nearly
    as the memberships allow. Senders are then drawn with these weights, so messages per user
    follow messages_per_user instead of whatever the joins happen to produce."""
    conversation = np.repeat(np.arange(per_conversation.size, dtype=np.int64), np.diff(offsets))
    user_factor = np.ones(target.size)
    for _ in range(rounds):  # infeasible memberships (a heavy room of light users) stop at a compromise
        conversation_factor = per_conversation / np.bincount(conversation, weights=user_factor[slot_user], minlength=per_conversation.size)
        received = np.bincount(slot_user, weights=conversation_factor[conversation], minlength=target.size)
        updated = np.where(received > 0, target / np.where(received > 0, received, 1.0), 0.0)
        change = np.max(np.abs(updated - user_factor) / np.maximum(user_factor, 1e-12))
        user_factor = updated
        if change < 1e-3:
            break
    conversation_factor = per_conversation / np.bincount(conversation, weights=user_factor[slot_user], minlength=per_conversation.size)
    return conversation_factor[conversation] * user_factor[slot_user]


def _active_users(spec: DistributionSpec, n_users: int, rng: np.random.Generator) -> np.ndarray:
    """Indices (ascending) of the users who send messages: the spec's share of active users
    (`totals.active_users / totals.users`, every user when it is null), at least one."""
    totals = spec.totals
    if totals.active_users is None:
        return np.arange(n_users, dtype=np.int64)
    count = int(np.clip(round(min(totals.active_users / totals.users, 1.0) * n_users), 1, n_users))
    return np.sort(rng.permutation(n_users)[:count])


def _participant_counts(spec: DistributionSpec, kind: np.ndarray, n_users: int, rng: np.random.Generator) -> np.ndarray:
    """Participants per conversation: 2 in direct chats; groups from participants_per_group.

    With `heavy_rooms.participants`, heavy rooms draw from it, and ordinary groups take the drawn
    group sizes less the ones nearest (at or above) each heavy room's: participants_per_group
    describes all groups, heavy rooms included, so together they still follow it (heavy rooms
    larger than any drawn group size add the tail a smooth fit of all groups rounds off)."""
    p = spec.parameters
    participants = np.full(kind.size, 2, dtype=np.int64)
    groups = np.flatnonzero(kind != KIND_DIRECT)
    drawn = np.clip(np.rint(draw("participants_per_group", p.participants_per_group, rng, groups.size)), 2, n_users).astype(np.int64)
    heavy = np.flatnonzero(kind == KIND_HEAVY)
    if p.heavy_rooms.participants is None or heavy.size == 0:
        participants[groups] = drawn
        return participants
    wanted = np.sort(np.rint(draw("heavy_rooms.participants", p.heavy_rooms.participants, rng, heavy.size)))
    pool = np.sort(drawn)
    position = _distinct_positions(pool, wanted)
    participants[heavy] = rng.permutation(np.clip(wanted, 2, n_users).astype(np.int64))
    participants[kind == KIND_GROUP] = rng.permutation(np.delete(pool, position))
    return participants


def uncapped_read_counts(reads_per_message: Fitted, others: np.ndarray, messages: np.ndarray) -> np.ndarray:
    """The distribution of readers to draw before the cap at the other participants, such that
    after the cap the read messages' readers follow `reads_per_message`, which describes them
    after it (a direct chat's message has at most one reader). Returns its CDF over 1..K.

    A message's readers are Y = min(X, c), X drawn, c its cap (participants - 1, shares weighted by
    messages), independent: P(Y > k) = P(X > k) P(c > k), so P(X > k) = P(Y > k) / P(c > k).
    Exact when that ratio is a survival function (the caps allow the target with a count drawn
    independently of them); otherwise clipped to [0, 1] and made non-increasing, the nearest they
    allow (e.g. more messages in direct chats than single-reader messages in the target).
    """
    high = reads_per_message.high
    largest_cap = int(max(others.max(), 1))
    top = max(1, min(int(high) if high is not None and np.isfinite(high) else largest_cap, largest_cap))
    target_survival = 1.0 - cdf(reads_per_message, np.arange(1, top + 1, dtype=np.float64))  # P(Y > k), k = 1..top
    cap_share = np.bincount(np.clip(others, 1, top), weights=messages, minlength=top + 1)[1:]
    cap_survival = 1.0 - np.cumsum(cap_share) / max(cap_share.sum(), 1e-300)  # P(c > k)
    survival = np.where(cap_survival > 1e-12, target_survival / np.where(cap_survival > 1e-12, cap_survival, 1.0), 0.0)
    survival = np.minimum.accumulate(np.clip(survival, 0.0, 1.0))
    survival[-1] = 0.0  # nobody has more readers than the largest cap
    return 1.0 - survival


def _shard_bounds(per_conversation: np.ndarray, n_shards: int) -> np.ndarray:
    """Contiguous conversation ranges holding about the same number of messages each."""
    n_conv = per_conversation.size
    ends = np.cumsum(per_conversation)
    targets = ends[-1] * np.arange(n_shards + 1) / n_shards
    bounds = np.searchsorted(ends, targets, side="right").astype(np.int64)
    bounds[0], bounds[-1] = 0, n_conv
    steps = np.arange(n_shards + 1)
    bounds = np.clip(bounds, steps, n_conv - n_shards + steps)  # every shard gets a conversation
    return np.maximum.accumulate(bounds - steps) + steps


def plan_generation(
    spec: DistributionSpec | str | Path,
    band_or_sizes: str | Sizes,
    seed: int,
    n_shards: int | None = None,
) -> GenerationPlan:
    """The plan of one generation (see the module docstring). Pure and deterministic."""
    if not isinstance(spec, DistributionSpec):
        spec = load_spec(spec)
    if isinstance(band_or_sizes, str):
        band, sizes = band_or_sizes, band_sizes(band_or_sizes)
    else:
        band, sizes = "custom", band_or_sizes
    if seed < 0:
        raise SynthError(f"--seed {seed}: must be a non-negative integer")
    if n_shards is None:
        n_shards = default_shard_count(sizes)
    if not 1 <= n_shards <= min(sizes.conversations, 99_999):
        raise SynthError(f"--shards {n_shards}: must be between 1 and {min(sizes.conversations, 99_999)} (the number of conversations)")
    if sizes.users < 2:
        raise SynthError(f"{sizes.users} users: a conversation needs two participants; give at least 2")
    _check_spec(spec)
    p = spec.parameters
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(2 + n_shards)[0]))

    # Active users' message counts are drawn from messages_per_user and scaled to the total.
    active = _active_users(spec, sizes.users, rng)
    activity = draw("messages_per_user", p.messages_per_user, rng, active.size)
    user_target = np.zeros(sizes.users)
    user_target[active] = activity * (sizes.messages / max(activity.sum(), 1e-9))

    per_conversation, heavy = _conversation_sizes(spec, sizes, rng)
    n_heavy = int(heavy.sum())
    group_share = _kind_share_group(spec)
    n_light = sizes.conversations - n_heavy
    light_group_share = min(max((group_share * sizes.conversations - n_heavy) / n_light, 0.0), 1.0) if n_light else 0.0
    group = ~heavy & (rng.random(sizes.conversations) < light_group_share)
    kind = np.where(heavy, KIND_HEAVY, np.where(group, KIND_GROUP, KIND_DIRECT)).astype(np.int8)
    number = np.zeros(sizes.conversations, dtype=np.int64)
    number[heavy] = np.arange(1, n_heavy + 1)
    number[group] = np.arange(1, int(group.sum()) + 1)

    participants = _participant_counts(spec, kind, sizes.users, rng)

    slot_offsets = np.concatenate([[0], np.cumsum(participants)])
    slot_user = _participants(rng, participants, slot_offsets, per_conversation, user_target)
    slot_quota = _quotas(slot_offsets, slot_user, per_conversation, user_target)

    conversation_bounds = _shard_bounds(per_conversation, n_shards)
    message_bounds = np.concatenate([[0], np.cumsum(per_conversation)])[conversation_bounds]
    cap = 0
    if p.attachments is not None:
        high = p.attachments.per_message.high
        cap = max(1, int(high) if high is not None else UNBOUNDED_ATTACHMENTS_CAP)
    attachment_bounds = message_bounds * cap
    read_count_cdf = None
    if p.reads is not None:
        read_count_cdf = uncapped_read_counts(p.reads.reads_per_message, participants - 1, per_conversation)
    window = Window.for_days(spec.source.window_days)
    idle_cut = solve_idle_cut(p.inter_arrival.model, p.inter_arrival.burst_coefficient, per_conversation,
                              HourOfWeekClock(window, p.hour_of_week.weights), int(rng.integers(2**62)))

    return GenerationPlan(
        spec=spec, spec_sha256=spec_sha256(spec), seed=seed, band=band, sizes=sizes, n_shards=n_shards,
        window=window, user_target=user_target,
        conversation_messages=per_conversation, conversation_kind=kind, conversation_number=number,
        conversation_participants=participants, slot_offsets=slot_offsets, slot_user=slot_user,
        slot_quota=slot_quota, conversation_bounds=conversation_bounds,
        message_bounds=message_bounds, attachment_bounds=attachment_bounds, attachments_cap=cap,
        idle_cut=idle_cut, read_count_cdf=read_count_cdf,
    )


def plan_for(spec_path: str | Path, band: str | None, seed: int, n_shards: int | None,
             messages: int = 0, users: int = 0, conversations: int = 0) -> GenerationPlan:
    """The plan for a spec file and a size: `band` (dev | staging | perf), or `messages` > 0
    with `users`/`conversations` (0: from the spec's ratios), as the CLI and the Dagster
    definitions give them."""
    spec = load_spec(spec_path)
    band, sizes = resolve_sizes(spec, None if messages > 0 else band, messages=messages or None,
                                users=(users or None) if messages > 0 else None,
                                conversations=(conversations or None) if messages > 0 else None)
    return plan_generation(spec, sizes if band == "custom" else band, seed, n_shards)
