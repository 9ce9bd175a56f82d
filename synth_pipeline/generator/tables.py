"""Build one partition's tables as Arrow, fully vectorised (numpy for numbers, Arrow kernels for text).

`build_partition(plan, name)` returns the partition's tables in `TABLE_ORDER`, with exactly the
schemas of `synth_pipeline.schema.arrow`. Everything random comes from the partition's own
generator (`plan.rng(name)`), drawn in a fixed order, so a partition's bytes do not depend on
which other partitions exist, were built before, or run in the same process.

Model of a shard (docs/generator.md has the reasons):
- participants and senders: the plan's (who is in which conversation, and how many messages each
  participant should send there); each message's sender is drawn with those quotas;
- times: per conversation, gaps from the inter-arrival model (`sample_mmpp2_sequence`); gaps
  above the plan's idle cut start sessions, spread over the window by the hour-of-week clock,
  the others keep their length inside a session (`timeline.session_times`); messages are ordered
  by time (to the 1/65536 of the window) and numbered in that order, so ids grow with time within
  a shard, exactly within a conversation;
- attachments: a share of messages has 1..cap attachments; kind, size per kind; the MIME type is
  not calibrated and comes from a fixed list per kind;
- reads: a share of messages is read by 1..(participants - 1) participants other than the sender
  (a run of consecutive participants after the sender, from a random start), `latency` after it;
  the count is drawn from the plan's distribution before the cap, so that after it the read
  messages' readers follow the spec's `reads_per_message`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_pipeline.calibration.families import locate, sample_categorical, sample_mmpp2_sequence
from synth_pipeline.contracts.distribution_spec import Categorical
from synth_pipeline.generator.plan import (
    DEVICE_CATEGORIES,
    KIND_DIRECT,
    KIND_HEAVY,
    USERS_PARTITION,
    GenerationPlan,
    draw,
)
from synth_pipeline.generator.timeline import US_PER_SECOND, HourOfWeekClock, session_times
from synth_pipeline.generator.words import content_column
from synth_pipeline.schema.arrow import ARROW_SCHEMAS, TIMESTAMP
from synth_pipeline.schema.logical import ATTACHMENT_KINDS, FIRST_NAME

TIME_BUCKETS = 65_536  # messages are ordered by time to 1/65536 of the window (uint16 radix sort)
# Not calibrated (a metrics pack carries no MIME types): a fixed mix per attachment kind.
MIME_TYPES: dict[str, dict[str, float]] = {
    "image": {"image/jpeg": 0.62, "image/png": 0.28, "image/gif": 0.05, "image/webp": 0.05},
    "video": {"video/mp4": 0.85, "video/quicktime": 0.12, "video/webm": 0.03},
    "audio": {"audio/mp4": 0.45, "audio/mpeg": 0.3, "audio/ogg": 0.25},
    "file": {"application/pdf": 0.55, "application/zip": 0.15, "text/plain": 0.1, "text/csv": 0.1,
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 0.1},
}


# -- Arrow helpers (zero copy where possible) ---------------------------------------------------
def _int64(values: np.ndarray) -> pa.Array:
    return pa.array(np.ascontiguousarray(values, dtype=np.int64))


def _timestamps(us: np.ndarray) -> pa.Array:
    us = np.ascontiguousarray(us, dtype=np.int64)
    return pa.Array.from_buffers(TIMESTAMP, us.size, [None, pa.py_buffer(us)])


def _labels(labels: tuple[str | None, ...], index: np.ndarray) -> pa.Array:
    return pc.take(pa.array(list(labels), type=pa.string()), pa.array(index))


def _device_column(mix: Categorical | None, rng: np.random.Generator, n: int) -> pa.Array:
    """Devices from the spec's mix; "unknown" (the pack's NULL device) and an absent mix give NULL."""
    if mix is None:
        return pa.nulls(n, pa.string())
    index = sample_categorical(mix, rng, n, DEVICE_CATEGORIES)
    return _labels((*DEVICE_CATEGORIES[:-1], None), index)


def _table(name: str, columns: dict[str, pa.Array | pa.ChunkedArray]) -> pa.Table:
    schema = ARROW_SCHEMAS[name]
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def _uniform_us(rng: np.random.Generator, low: np.ndarray | int, high: np.ndarray | int, n: int) -> np.ndarray:
    """Integers in [low, high) (high > low), or [low, low] where high == low."""
    span = np.maximum(np.asarray(high, dtype=np.int64) - low, 1)
    return low + (rng.random(n) * span).astype(np.int64)


# -- users ---------------------------------------------------------------------------------------
def identity_columns(text_id: pa.Array | pa.ChunkedArray, n: int) -> dict[str, pa.Array | pa.ChunkedArray]:
    """The identity contract (DESIGN.md section 4): the users' text columns, from their ids as text."""
    return {
        "email": pc.binary_join_element_wise("syn_user_", text_id, "@synthetic.test", ""),
        "username": pc.binary_join_element_wise("synuser", text_id, ""),
        "first_name": pa.repeat(pa.scalar(FIRST_NAME, pa.string()), n),
        "last_name": text_id,
        "bio": pc.binary_join_element_wise("Synthetic test user ", text_id, ""),
    }


def build_users(plan: GenerationPlan) -> pa.Table:
    """The identity contract (DESIGN.md section 4): every text column is a function of the id."""
    rng = plan.rng(USERS_PARTITION)
    n = plan.sizes.users
    ids = np.arange(1, n + 1, dtype=np.int64)
    text_id = pc.cast(_int64(ids), pa.string())
    w = plan.window
    return _table("users", {
        "id": _int64(ids),
        **identity_columns(text_id, n),
        "primary_device": _device_column(plan.spec.parameters.primary_device, rng, n),
        # The spec carries no activity flag: every synthetic user is active.
        "is_active": pa.repeat(pa.scalar(True), n),
        "created_at": _timestamps(_uniform_us(rng, w.users_from_us, w.users_to_us, n)),
    })


# -- shards --------------------------------------------------------------------------------------
class _Participants:
    """The plan's participant slots of one shard's conversations (sorted by conversation, user)."""

    def __init__(self, plan: GenerationPlan, c0: int, c1: int) -> None:
        s0, s1 = int(plan.slot_offsets[c0]), int(plan.slot_offsets[c1])
        self.counts = plan.conversation_participants[c0:c1]
        self.start = plan.slot_offsets[c0:c1] - s0
        self.last = plan.slot_offsets[c0 + 1 : c1 + 1] - s0 - 1
        self.conversation = np.repeat(np.arange(c1 - c0, dtype=np.int64), self.counts)
        self.user_index = plan.slot_user[s0:s1]  # 0-based; user id = index + 1
        self.cumulative_quota = np.cumsum(plan.slot_quota[s0:s1])
        self.segment_low = np.concatenate([[0.0], self.cumulative_quota])[self.start]
        self.segment_quota = self.cumulative_quota[self.last] - self.segment_low

    def senders(self, message_conversation: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A slot per message, in proportion to the slot's quota within its conversation. Keys are
        grouped by conversation, which keeps the binary search cache-friendly."""
        keys = self.segment_low[message_conversation]
        keys += rng.random(message_conversation.size) * self.segment_quota[message_conversation]
        slot = np.searchsorted(self.cumulative_quota, keys, side="right")
        return np.minimum(slot, self.last[message_conversation])


def _calendar_us(window, seconds: np.ndarray) -> np.ndarray:
    us = np.rint(seconds * US_PER_SECOND).astype(np.int64)
    np.clip(us, 0, window.end_us - window.start_us - 1, out=us)
    us += window.start_us
    return us


def _time_order(seconds: np.ndarray, window_seconds: float) -> np.ndarray:
    bucket = np.minimum(seconds * (TIME_BUCKETS / window_seconds), TIME_BUCKETS - 1).astype(np.uint16)
    return np.argsort(bucket, kind="stable")  # radix sort for 16-bit keys: O(n)


def _attachments(plan: GenerationPlan, message_ids: np.ndarray, rng: np.random.Generator, k: int) -> pa.Table:
    spec = plan.spec.parameters.attachments
    n = message_ids.size
    with_attachments = np.flatnonzero(rng.random(n) < spec.share_of_messages)
    counts = np.clip(np.rint(draw("attachments.per_message", spec.per_message, rng, with_attachments.size)), 1, plan.attachments_cap)
    message = np.repeat(with_attachments, counts.astype(np.int64))
    total = message.size
    kind = sample_categorical(spec.kind, rng, total, ATTACHMENT_KINDS)
    size = np.zeros(total, dtype=np.int64)
    mime_labels: list[str] = []
    mime = np.zeros(total, dtype=np.int64)
    mime_draw = rng.random(total)
    for j, kind_name in enumerate(ATTACHMENT_KINDS):
        mask = kind == j
        types = MIME_TYPES[kind_name]
        cumulative = np.cumsum(list(types.values()))
        mime[mask] = len(mime_labels) + np.minimum(np.searchsorted(cumulative / cumulative[-1], mime_draw[mask], side="right"), len(types) - 1)
        mime_labels.extend(types)
        count = int(mask.sum())
        if count:
            drawn = draw(f"attachments.size_bytes.{kind_name}", spec.size_bytes[kind_name], rng, count)
            size[mask] = np.maximum(np.rint(drawn), 0).astype(np.int64)
    first_id = int(plan.attachment_bounds[k]) + 1
    return _table("attachments", {
        "id": _int64(np.arange(first_id, first_id + total, dtype=np.int64)),
        "message_id": _int64(message_ids[message]),
        "kind": _labels(ATTACHMENT_KINDS, kind),
        "mime_type": _labels(tuple(mime_labels), mime),
        "size_bytes": _int64(size),
    })


def _reads(plan: GenerationPlan, people: _Participants, message_conversation: np.ndarray, sender: np.ndarray,
           message_ids: np.ndarray, created_us: np.ndarray, rng: np.random.Generator) -> pa.Table:
    spec = plan.spec.parameters.reads
    read = np.flatnonzero(rng.random(message_ids.size) < spec.share_of_messages_read)
    conversation = message_conversation[read]
    others = people.counts[conversation] - 1  # readers exclude the sender
    # Drawn from the plan's uncapped distribution, so that after the cap the spec's holds.
    count = locate(plan.read_count_cdf, rng.random(read.size)) + 1
    np.minimum(count, others, out=count)
    first_other = rng.integers(0, others)  # where the run of readers starts among the others
    total = int(count.sum())
    which = np.repeat(np.arange(read.size, dtype=np.int64), count)  # sorted: the gathers below stay sequential
    # Reader t of a message is other number (first_other + t) mod others, counting from the slot
    # after the sender and wrapping around the conversation's slots. Both operands stay below twice
    # the modulus, so a compare-and-subtract replaces the integer division.
    position = np.arange(total, dtype=np.int64)
    position -= (np.concatenate([[0], np.cumsum(count)[:-1]]) - first_other)[which]
    modulus = others[which]
    position -= modulus * (position >= modulus)
    position += (sender[read] - people.start[conversation] + 1)[which]
    modulus += 1
    position -= modulus * (position >= modulus)
    position += people.start[conversation][which]
    latency = np.rint(draw("reads.latency_seconds", spec.latency_seconds, rng, total) * US_PER_SECOND).astype(np.int64)
    np.maximum(latency, 1, out=latency)
    latency += created_us[read][which]
    return _table("message_reads", {
        "message_id": _int64(message_ids[read][which]),
        "user_id": _int64(people.user_index[position] + 1),
        "read_at": _timestamps(latency),
    })


def iter_shard(plan: GenerationPlan, name: str) -> Iterator[tuple[str, pa.Table]]:
    """The shard's tables one by one, each as soon as it is complete (a writer can start encoding
    messages while reads are still being drawn); the draws happen in the same order regardless."""
    k = plan.shard_index(name)
    rng = plan.rng(name)
    p = plan.spec.parameters
    c0, c1 = int(plan.conversation_bounds[k]), int(plan.conversation_bounds[k + 1])
    sizes = plan.conversation_messages[c0:c1]
    n_conv, n_msg = c1 - c0, int(sizes.sum())
    window = plan.window

    people = _Participants(plan, c0, c1)
    message_conversation = np.repeat(np.arange(n_conv, dtype=np.int64), sizes)  # conversation order
    sender = people.senders(message_conversation, rng)
    clock = HourOfWeekClock(window, p.hour_of_week.weights)
    gaps = sample_mmpp2_sequence(p.inter_arrival.model, rng, n_msg)
    seconds = session_times(gaps, sizes, plan.idle_cut, clock, rng)
    del gaps
    first_message_us = _calendar_us(window, seconds[np.concatenate([[0], np.cumsum(sizes)[:-1]])])

    # Within a conversation times never decrease in conversation order, so the stable sort by
    # time bucket keeps each conversation's messages in time order.
    order = _time_order(seconds, window.seconds)
    message_conversation, sender = message_conversation[order], sender[order]
    created_us = _calendar_us(window, seconds[order])
    del seconds, order
    conversation_created = _uniform_us(rng, window.conversations_from_us, first_message_us, n_conv)
    slot_created = conversation_created[people.conversation]
    joined = slot_created + (rng.random(people.conversation.size) * (first_message_us[people.conversation] - slot_created + 1)).astype(np.int64)

    first_message_id = int(plan.message_bounds[k]) + 1
    message_ids = np.arange(first_message_id, first_message_id + n_msg, dtype=np.int64)
    conversation_ids = np.arange(c0 + 1, c1 + 1, dtype=np.int64)
    lengths = np.maximum(np.rint(draw("message_length", p.message_length, rng, n_msg)), 1).astype(np.int64)
    yield "conversations", _conversations(plan, c0, c1, conversation_created)
    yield "conversation_participants", _table("conversation_participants", {
        "conversation_id": _int64(conversation_ids[people.conversation]),
        "user_id": _int64(people.user_index + 1),
        "joined_at": _timestamps(joined),
    })
    yield "messages", _table("messages", {
        "id": _int64(message_ids),
        "conversation_id": _int64(conversation_ids[message_conversation]),
        "sender_id": _int64(people.user_index[sender] + 1),
        "content": content_column(lengths, rng),
        "device": _device_column(p.device, rng, n_msg),
        "created_at": _timestamps(created_us),
    })
    if p.attachments is not None:
        yield "attachments", _attachments(plan, message_ids, rng, k)
    if p.reads is not None:
        yield "message_reads", _reads(plan, people, message_conversation, sender, message_ids, created_us, rng)


def _conversations(plan: GenerationPlan, c0: int, c1: int, created_us: np.ndarray) -> pa.Table:
    kind = plan.conversation_kind[c0:c1]
    number = pc.cast(_int64(plan.conversation_number[c0:c1]), pa.string())
    name = pc.if_else(
        pa.array(kind == KIND_HEAVY),
        pc.binary_join_element_wise("Heavy Room ", number, ""),
        pc.if_else(pa.array(kind == KIND_DIRECT), pa.scalar(None, pa.string()), pc.binary_join_element_wise("Group ", number, "")),
    )
    return _table("conversations", {
        "id": _int64(np.arange(c0 + 1, c1 + 1, dtype=np.int64)),
        "name": name,
        "kind": _labels(("direct", "group"), (kind != KIND_DIRECT).astype(np.int64)),
        "created_at": _timestamps(created_us),
    })


def iter_partition(plan: GenerationPlan, name: str) -> Iterator[tuple[str, pa.Table]]:
    """(logical table, table) of the partition in TABLE_ORDER; absent optional tables are skipped."""
    if name == USERS_PARTITION:
        yield "users", build_users(plan)
    else:
        yield from iter_shard(plan, name)


def build_partition(plan: GenerationPlan, name: str) -> dict[str, pa.Table]:
    """The partition's tables by logical name (absent optional tables are not in the dict)."""
    return dict(iter_partition(plan, name))
