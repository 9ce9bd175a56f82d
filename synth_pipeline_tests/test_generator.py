"""The generator: plan, determinism, integrity, identities, distributions vs the spec, validation.

One ~1M-message generation from the reference spec (custom size, the spec's own ratios) serves
the integrity, identity, vocabulary and distribution tests; small generations serve determinism.
The KS bounds are stated next to each distribution (`KS_BOUNDS`) and explained in docs/generator.md.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from synth_pipeline.calibration.families import cdf
from synth_pipeline.contracts.shard_manifest import ShardManifest, Sizes
from synth_pipeline.errors import CheckFailed, SynthError
from synth_pipeline.generator import (
    BANDS,
    generate,
    generate_partition,
    generate_plan,
    load_spec,
    plan_generation,
    resolve_sizes,
    write_manifest,
)
from synth_pipeline.generator.tables import build_partition
from synth_pipeline.generator.validate import check_invariants, check_sample, sample_rows, validate_partition
from synth_pipeline.paths import REFERENCE_SPEC
from synth_pipeline.privacy.neutral_words import NEUTRAL_WORD_SET
from synth_pipeline.schema.arrow import ARROW_SCHEMAS
from synth_pipeline_tests.helpers import file_hashes, run_cli

# KS distance bounds on the ~1M-message sample (see docs/generator.md, "Fidelity to the spec").
KS_BOUNDS = {
    "message_length": 0.03,  # whole words: lengths are off by up to half a word each
    "messages_per_conversation": 0.03,
    "participants_per_group": 0.06,  # ~500 groups: sampling noise alone is ~0.04
    "messages_per_user": 0.06,  # emergent from memberships; matched by quotas as far as they allow
    "inter_arrival": 0.06,  # pooled gaps: idle gaps come from each conversation's sessions over the window
    "latency_seconds": 0.01,
    "reads_per_message": 0.01,  # the read messages' readers, after the cap at participants - 1
    "attachments_per_message": 0.01,
    "size_bytes": 0.03,
}
HOUR_OF_WEEK_TV = 0.03
BURST_COEFFICIENT_LOG_ERROR = 0.15  # |log(p95/p50 of the pooled gaps / the spec's)|
SAMPLE_MESSAGES = 1_000_000


def read_table(root: Path, manifest: ShardManifest, table: str) -> pa.Table:
    paths = [root / f.path for p in manifest.partitions for f in p.files if f.table == table]
    return pa.concat_tables([pq.read_table(path) for path in sorted(paths)])


def discrete_ks(fitted, values: np.ndarray) -> float:
    points, counts = np.unique(values, return_counts=True)
    empirical = np.cumsum(counts) / values.size
    below = np.concatenate([[0.0], empirical[:-1]])
    return float(max(np.max(np.abs(cdf(fitted, points) - empirical)), np.max(np.abs(cdf(fitted, points - 1) - below))))


def continuous_ks(fitted, values: np.ndarray) -> float:
    x = np.sort(values)
    model = cdf(fitted, x)
    n = x.size
    return float(max(np.max(np.arange(1, n + 1) / n - model), np.max(model - np.arange(n) / n)))


@pytest.fixture(scope="module")
def spec():
    return load_spec(REFERENCE_SPEC)


@pytest.fixture(scope="module")
def big(spec, tmp_path_factory):
    """~1M messages from the reference spec at its own ratios, 3 shards; all tables read back."""
    _, sizes = resolve_sizes(spec, messages=SAMPLE_MESSAGES)
    plan = plan_generation(spec, sizes, seed=5, n_shards=3)
    root = tmp_path_factory.mktemp("big")
    result = generate_plan(plan, root, progress=None)
    manifest = ShardManifest.model_validate_json((root / "manifest.json").read_bytes())
    tables = {t: read_table(root, manifest, t) for t in ARROW_SCHEMAS}
    return plan, result, manifest, tables


def _small_plan(spec, seed: int = 11, shards: int = 3):
    return plan_generation(spec, Sizes(users=300, conversations=400, messages=60_000), seed=seed, n_shards=shards)


def _build_in_process(args: tuple[str, str, int, str]) -> None:
    spec_path, partition, seed, out = args
    plan = plan_generation(load_spec(spec_path), Sizes(users=300, conversations=400, messages=60_000), seed=seed, n_shards=3)
    generate_partition(plan, partition, out)


# -- plan and sizes ----------------------------------------------------------------------------------
def test_bands_and_derived_sizes(spec) -> None:
    assert resolve_sizes(spec, "perf") == ("perf", BANDS["perf"])
    assert BANDS["dev"].messages == 5_000_000 and BANDS["staging"].conversations == 300_000
    band, sizes = resolve_sizes(spec, messages=1_000_000)
    ratio = spec.totals
    assert band == "custom"
    assert sizes.users == round(1_000_000 * ratio.users / ratio.messages)
    assert sizes.conversations == round(1_000_000 * ratio.conversations / ratio.messages)
    assert resolve_sizes(spec, messages=1_000_000, users=77).__getitem__(1).users == 77
    with pytest.raises(SynthError, match="--conversations"):
        resolve_sizes(spec, messages=100, conversations=500)


def test_plan_totals_heavy_rooms_and_shards(spec) -> None:
    plan = plan_generation(spec, "perf", seed=1)
    sizes = plan.conversation_messages
    heavy = plan.conversation_kind == 2
    threshold = spec.parameters.heavy_rooms.threshold
    assert int(sizes.sum()) == 300_000_000
    assert heavy.sum() == round(spec.parameters.heavy_rooms.share_of_conversations * 600_000)
    assert sizes[heavy].min() > threshold and sizes[~heavy].max() <= threshold
    assert int(sizes[heavy].sum()) == round(spec.parameters.heavy_rooms.share_of_messages * 300_000_000)
    assert plan.n_shards == 300
    per_shard = np.diff(plan.message_bounds)
    assert per_shard.min() > 500_000 and per_shard.max() < 1_600_000  # about 1M messages per shard
    assert np.all(np.diff(plan.conversation_bounds) >= 1)
    # Quotas split every conversation exactly; every user sends.
    conversation = np.repeat(np.arange(sizes.size), np.diff(plan.slot_offsets))
    assert np.allclose(np.bincount(conversation, weights=plan.slot_quota), sizes)
    assert np.bincount(plan.slot_user, minlength=plan.sizes.users).min() >= 1


def test_impossible_sizes_are_one_line_errors(spec) -> None:
    with pytest.raises(SynthError, match="--conversations"):
        plan_generation(spec, Sizes(users=10, conversations=5, messages=100_000), seed=1)
    with pytest.raises(SynthError, match="--shards"):
        plan_generation(spec, Sizes(users=10, conversations=5, messages=50), seed=1, n_shards=6)


# -- determinism --------------------------------------------------------------------------------------
def test_byte_identical_across_runs_orders_and_processes(spec, tmp_path) -> None:
    plan = _small_plan(spec)
    generate_plan(plan, tmp_path / "a", progress=None)
    # Same seed, partitions built one by one in reverse order, then the manifest.
    for name in reversed(plan.partition_names()):
        generate_partition(plan, name, tmp_path / "b")
    write_manifest(plan, tmp_path / "b")
    # Same seed, partitions built by two other processes.
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(REFERENCE_SPEC.read_text())
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        list(pool.map(_build_in_process, [(str(spec_path), name, 11, str(tmp_path / "c")) for name in plan.partition_names()]))
    write_manifest(plan, tmp_path / "c")
    a, b, c = (file_hashes(tmp_path / d) for d in "abc")
    assert a == b == c
    assert any(name.endswith("messages.parquet") for name in a) and "manifest.json" in a


def test_different_seed_gives_different_data(spec, tmp_path) -> None:
    first = build_partition(_small_plan(spec, seed=11), "shard-00001")
    second = build_partition(_small_plan(spec, seed=12), "shard-00001")
    for table, column in (("messages", "content"), ("messages", "created_at"), ("messages", "sender_id"), ("message_reads", "read_at")):
        assert not first[table].column(column).equals(second[table].column(column)), (table, column)


def test_window_does_not_depend_on_the_clock(big) -> None:
    _, _, manifest, _ = big
    assert (manifest.window_start, manifest.window_end) == ("2025-12-06T00:00:00Z", "2026-01-05T00:00:00Z")


# -- layout, manifest, integrity ------------------------------------------------------------------------
def test_manifest_lists_every_file_with_rows_and_sha256(big) -> None:
    plan, result, manifest, tables = big
    root = result.out_dir
    assert [p.name for p in manifest.partitions] == plan.partition_names()
    for partition in manifest.partitions:
        for f in partition.files:
            data = (root / f.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f.sha256 and len(data) == f.bytes
            assert pq.ParquetFile(root / f.path).metadata.num_rows == f.rows
            assert pq.read_schema(root / f.path).equals(ARROW_SCHEMAS[f.table], check_metadata=False)
            assert pq.ParquetFile(root / f.path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert manifest.table_rows == {t: tables[t].num_rows for t in ARROW_SCHEMAS}
    assert manifest.table_rows["messages"] == SAMPLE_MESSAGES
    assert manifest.absent_tables == [] and manifest.null_columns == {}


def test_the_loader_accepts_the_shard_set(big) -> None:
    from synth_pipeline.loader.shards import read_shard_set, verify_partitions

    shard_set = read_shard_set(big[1].out_dir)
    verify_partitions(shard_set, shard_set.partitions)


def test_referential_integrity_within_and_across_shards(big) -> None:
    plan, _, manifest, t = big
    n_users = plan.sizes.users
    users = t["users"]["id"].to_numpy()
    assert np.array_equal(users, np.arange(1, n_users + 1))
    conversations = t["conversations"]["id"].to_numpy()
    assert np.array_equal(np.sort(conversations), np.arange(1, plan.sizes.conversations + 1))
    messages = t["messages"]
    message_ids = messages["id"].to_numpy()
    assert np.array_equal(np.sort(message_ids), np.arange(1, SAMPLE_MESSAGES + 1))
    # Each partition's ids stay inside its manifest id ranges.
    for partition in manifest.partitions:
        for shard_file in partition.files:
            if shard_file.table in partition.id_ranges:
                ids = pq.read_table(big[1].out_dir / shard_file.path, columns=["id"])["id"].to_numpy()
                r = partition.id_ranges[shard_file.table]
                assert ids.min() >= r.first and ids.max() <= r.last
    # Participants: unique pairs, existing users and conversations.
    p_conv, p_user = t["conversation_participants"]["conversation_id"].to_numpy(), t["conversation_participants"]["user_id"].to_numpy()
    keys = p_conv * (n_users + 1) + p_user
    assert np.unique(keys).size == keys.size
    assert p_user.min() >= 1 and p_user.max() <= n_users and np.isin(p_conv, conversations).all()
    # Every sender is a participant of the message's conversation.
    m_conv, m_sender = messages["conversation_id"].to_numpy(), messages["sender_id"].to_numpy()
    assert np.isin(m_conv * (n_users + 1) + m_sender, keys).all()
    # Reads: by participants other than the sender, after the message, one per (message, user).
    order = np.argsort(message_ids)
    reads = t["message_reads"]
    r_msg, r_user = reads["message_id"].to_numpy(), reads["user_id"].to_numpy()
    row = order[r_msg - 1]
    assert np.unique(r_msg * (n_users + 1) + r_user).size == r_msg.size
    assert np.isin(m_conv[row] * (n_users + 1) + r_user, keys).all()
    assert not np.any(r_user == m_sender[row])
    created = messages["created_at"].cast(pa.int64()).to_numpy()
    assert np.all(reads["read_at"].cast(pa.int64()).to_numpy() > created[row])
    # Attachments: unique ids, existing messages.
    att = t["attachments"]
    assert np.unique(att["id"].to_numpy()).size == att.num_rows
    assert np.isin(att["message_id"].to_numpy(), message_ids).all()
    # Time order: conversations before their first message, joins in between; ids follow time in a conversation.
    first_message = np.full(plan.sizes.conversations + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_message, m_conv, created)
    conv_created = np.zeros(plan.sizes.conversations + 1, dtype=np.int64)
    conv_created[conversations] = t["conversations"]["created_at"].cast(pa.int64()).to_numpy()
    joined = t["conversation_participants"]["joined_at"].cast(pa.int64()).to_numpy()
    assert np.all(conv_created[p_conv] <= joined) and np.all(joined <= first_message[p_conv])
    by_conversation = np.lexsort((message_ids, m_conv))
    same = m_conv[by_conversation][1:] == m_conv[by_conversation][:-1]
    assert np.all(np.diff(created[by_conversation])[same] >= 0)
    window = plan.window
    assert created.min() >= window.start_us and created.max() < window.end_us


def test_identity_contract(big) -> None:
    plan, _, _, t = big
    users = t["users"].to_pydict()
    for i, user_id in enumerate(users["id"]):
        assert users["email"][i] == f"syn_user_{user_id}@synthetic.test"
        assert users["username"][i] == f"synuser{user_id}"
        assert (users["first_name"][i], users["last_name"][i]) == ("User", str(user_id))
        assert users["bio"][i] == f"Synthetic test user {user_id}"
    conversations = t["conversations"].sort_by("id").to_pydict()
    heavy, groups = [], []
    for name, kind in zip(conversations["name"], conversations["kind"], strict=True):
        if kind == "direct":
            assert name is None
        elif name.startswith("Heavy Room "):
            heavy.append(int(name.removeprefix("Heavy Room ")))
        else:
            groups.append(int(name.removeprefix("Group ")))
    # Numbered 1..n across all shards, in id order.
    assert heavy == list(range(1, len(heavy) + 1)) and groups == list(range(1, len(groups) + 1))
    per_conversation = np.bincount(t["messages"]["conversation_id"].to_numpy())
    threshold = plan.spec.parameters.heavy_rooms.threshold
    named_heavy = np.array([n is not None and n.startswith("Heavy") for n in conversations["name"]])
    assert np.array_equal(per_conversation[np.array(conversations["id"])] > threshold, named_heavy)


def test_no_word_outside_the_neutral_vocabulary(big) -> None:
    content = big[3]["messages"]["content"]
    words = pc.unique(pc.list_flatten(pc.split_pattern(content, " "))).to_pylist()
    assert set(words) <= NEUTRAL_WORD_SET
    assert pc.sum(pc.starts_with(content, " ")).as_py() == 0 and pc.sum(pc.ends_with(content, " ")).as_py() == 0
    assert pc.min(pc.utf8_length(content)).as_py() >= 1


# -- distributions ---------------------------------------------------------------------------------------
def test_distributions_match_the_spec(big) -> None:
    plan, _, _, t = big
    p = plan.spec.parameters
    messages = t["messages"]
    ks: dict[str, float] = {}
    ks["message_length"] = discrete_ks(p.message_length, pc.utf8_length(messages["content"]).to_numpy())
    conversation_ids = t["conversations"]["id"].to_numpy()
    per_conversation = np.bincount(messages["conversation_id"].to_numpy())[conversation_ids]
    ks["messages_per_conversation"] = discrete_ks(p.messages_per_conversation, per_conversation)
    kinds = t["conversations"]["kind"].to_numpy(zero_copy_only=False)
    participants = np.bincount(t["conversation_participants"]["conversation_id"].to_numpy())[conversation_ids]
    ks["participants_per_group"] = discrete_ks(p.participants_per_group, participants[kinds == "group"])
    per_user = np.bincount(messages["sender_id"].to_numpy(), minlength=plan.sizes.users + 1)[1:]
    ks["messages_per_user"] = discrete_ks(p.messages_per_user, per_user)
    # Pooled gaps between consecutive messages of a conversation.
    created = messages["created_at"].cast(pa.int64()).to_numpy()
    conversation = messages["conversation_id"].to_numpy()
    order = np.lexsort((created, conversation))
    same = conversation[order][1:] == conversation[order][:-1]
    gaps = np.diff(created[order])[same] / 1e6
    ks["inter_arrival"] = continuous_ks(p.inter_arrival.model, gaps)
    p50, p95 = np.percentile(gaps, [50, 95])
    assert abs(np.log(p95 / p50 / p.inter_arrival.burst_coefficient)) < BURST_COEFFICIENT_LOG_ERROR
    # Reads.
    reads = t["message_reads"]
    row = reads["message_id"].to_numpy() - 1  # message ids are 1..M
    by_id = np.argsort(messages["id"].to_numpy())
    latency = (reads["read_at"].cast(pa.int64()).to_numpy() - created[by_id][row]) / 1e6
    ks["latency_seconds"] = continuous_ks(p.reads.latency_seconds, latency)
    per_message = np.bincount(row, minlength=SAMPLE_MESSAGES)
    read = per_message > 0
    assert abs(read.mean() - p.reads.share_of_messages_read) < 0.005
    cap = (participants[np.searchsorted(conversation_ids, conversation[by_id])] - 1)[read]
    assert np.all(per_message[read] <= cap)  # never more readers than other participants
    ks["reads_per_message"] = discrete_ks(p.reads.reads_per_message, per_message[read])  # after the cap, as a pack sees it
    # Attachments.
    att = t["attachments"]
    per_message = np.bincount(att["message_id"].to_numpy() - 1, minlength=SAMPLE_MESSAGES)
    assert abs((per_message > 0).mean() - p.attachments.share_of_messages) < 0.005
    ks["attachments_per_message"] = discrete_ks(p.attachments.per_message, per_message[per_message > 0])
    kind = att["kind"].to_numpy(zero_copy_only=False)
    size = att["size_bytes"].to_numpy()
    ks["size_bytes"] = max(discrete_ks(p.attachments.size_bytes[k], size[kind == k]) for k in p.attachments.size_bytes)
    for k, weight in p.attachments.kind.weights.items():
        assert abs((kind == k).mean() - weight / sum(p.attachments.kind.weights.values())) < 0.01
    assert {k: v for k, v in ks.items() if v >= KS_BOUNDS[k]} == {}, ks
    # Hour of week: shares per bin against the weights times how often the bin occurs in the window.
    hour = created // 3_600_000_000
    bins = (hour + 72) % 168
    window_hours = np.arange(plan.window.start_us // 3_600_000_000, plan.window.end_us // 3_600_000_000)
    expected = np.asarray(p.hour_of_week.weights) * np.bincount((window_hours + 72) % 168, minlength=168)
    observed = np.bincount(bins, minlength=168) / bins.size
    assert 0.5 * np.abs(observed - expected / expected.sum()).sum() < HOUR_OF_WEEK_TV
    device = messages["device"].to_numpy(zero_copy_only=False)
    for d, weight in p.device.weights.items():
        assert abs((device == d).mean() - weight / sum(p.device.weights.values())) < 0.005


def test_heavy_room_share(big) -> None:
    plan, _, _, t = big
    heavy = plan.spec.parameters.heavy_rooms
    per_conversation = np.bincount(t["messages"]["conversation_id"].to_numpy())[1:]
    above = per_conversation > heavy.threshold
    assert abs(above.mean() - heavy.share_of_conversations) < 0.002
    assert abs(per_conversation[above].sum() / per_conversation.sum() - heavy.share_of_messages) < 0.002


# -- optional parts and validation ------------------------------------------------------------------------
def test_absent_optional_parts_produce_none(spec, tmp_path) -> None:
    lean = spec.model_copy(update={"parameters": spec.parameters.model_copy(
        update={"device": None, "primary_device": None, "attachments": None, "reads": None})})
    result = generate(lean, tmp_path, seed=3, band=Sizes(users=50, conversations=60, messages=5_000), progress=None)
    manifest = ShardManifest.model_validate_json(result.manifest_path.read_bytes())
    assert manifest.absent_tables == ["attachments", "message_reads"]
    assert manifest.null_columns == {"users": ["primary_device"], "messages": ["device"]}
    assert set(manifest.table_rows) == {"users", "conversations", "conversation_participants", "messages"}
    assert not list(tmp_path.rglob("attachments.parquet")) and not list(tmp_path.rglob("message_reads.parquet"))
    messages = read_table(tmp_path, manifest, "messages")
    assert messages.schema.equals(ARROW_SCHEMAS["messages"], check_metadata=False)
    assert messages["device"].null_count == messages.num_rows
    assert read_table(tmp_path, manifest, "users")["primary_device"].null_count == 50


def test_unknown_device_share_becomes_null(spec) -> None:
    from synth_pipeline.contracts.distribution_spec import Categorical

    mixed = spec.model_copy(update={"parameters": spec.parameters.model_copy(
        update={"device": Categorical(weights={"web": 0.5, "unknown": 0.5})})})
    messages = build_partition(_small_plan(mixed), "shard-00000")["messages"]
    nulls = messages["device"].null_count / messages.num_rows
    assert 0.45 < nulls < 0.55 and set(pc.unique(pc.drop_null(messages["device"])).to_pylist()) == {"web"}


def test_validation_names_table_column_and_check(spec) -> None:
    plan = _small_plan(spec)
    tables = build_partition(plan, "shard-00001")
    check_invariants(plan, "shard-00001", tables)
    check_sample(plan, "shard-00001", tables)
    messages = tables["messages"]
    broken = messages.set_column(2, messages.schema.field("sender_id"), pc.add(messages["sender_id"], plan.sizes.users))
    with pytest.raises(CheckFailed, match="table messages column sender_id failed check fk_range"):
        check_invariants(plan, "shard-00001", {**tables, "messages": broken})
    reads = tables["message_reads"]
    early = reads.set_column(2, reads.schema.field("read_at"), pc.subtract(reads["read_at"], pa.scalar(10**13, pa.duration("us"))))
    with pytest.raises(CheckFailed, match="table message_reads column read_at failed check read_after_message"):
        check_invariants(plan, "shard-00001", {**tables, "message_reads": early})
    rude = messages.set_column(3, messages.schema.field("content"), pa.chunked_array([pa.array(["hello qwzx"] * messages.num_rows)]))
    with pytest.raises(CheckFailed, match="table messages column content failed check neutral_vocabulary"):
        check_sample(plan, "shard-00001", {**tables, "messages": rude})
    users = build_partition(plan, "users")["users"]
    impostor = users.set_column(1, users.schema.field("email"), pa.array(["someone@example.com"] * users.num_rows))
    with pytest.raises(CheckFailed, match="table users column email failed check identity_contract"):
        check_invariants(plan, "users", {"users": impostor})


def _with_column(table: pa.Table, column: str, values: np.ndarray) -> pa.Table:
    index = table.schema.get_field_index(column)
    return table.set_column(index, table.schema.field(column), pa.array(values, type=table.schema.field(column).type))


def test_full_row_rules_catch_one_corrupt_row(spec) -> None:
    """Participants, read uniqueness and the content alphabet are checked on every row, not only on
    the sample: one corrupt row far from the sampled ones is a named error."""
    plan = _small_plan(spec)
    name = "shard-00001"
    tables = build_partition(plan, name)
    check_invariants(plan, name, tables)
    messages, reads, participants = tables["messages"], tables["message_reads"], tables["conversation_participants"]
    sampled = set(sample_rows(messages.num_rows).tolist()) | set(sample_rows(reads.num_rows).tolist())
    members: dict[int, set[int]] = {}
    for conversation, user in zip(participants["conversation_id"].to_pylist(), participants["user_id"].to_pylist()):
        members.setdefault(conversation, set()).add(user)

    # A sender who is a user (in the fk range) but not a participant of the conversation.
    message_row = next(r for r in range(1, messages.num_rows) if r not in sampled)
    conversation = messages["conversation_id"][message_row].as_py()
    senders = messages["sender_id"].to_numpy().copy()
    senders[message_row] = min(set(range(1, plan.sizes.users + 1)) - members[conversation])
    with pytest.raises(CheckFailed, match="table messages column sender_id failed check sender_is_participant: 1 rows"):
        check_invariants(plan, name, {**tables, "messages": _with_column(messages, "sender_id", senders)})

    # A reader who is not a participant (nor the sender).
    r_msg, r_user = reads["message_id"].to_numpy(), reads["user_id"].to_numpy()
    first_id = messages["id"][0].as_py()
    row = next(r for r in range(reads.num_rows) if r not in sampled)
    conversation = messages["conversation_id"][int(r_msg[row]) - first_id].as_py()
    readers = r_user.copy()
    readers[row] = min(set(range(1, plan.sizes.users + 1)) - members[conversation])
    with pytest.raises(CheckFailed, match="table message_reads column user_id failed check reader_is_participant: 1 rows"):
        check_invariants(plan, name, {**tables, "message_reads": _with_column(reads, "user_id", readers)})

    # Duplicate (message_id, user_id): next to each other (the linear check) and two rows apart
    # (a message with three readers or more: the sort fallback).
    runs = np.flatnonzero((r_msg[2:] == r_msg[:-2]) & ~np.isin(np.arange(r_msg.size - 2), list(sampled)))
    assert runs.size
    for gap in (1, 2):
        row = int(runs[-1])
        duplicated = r_user.copy()
        duplicated[row + gap] = duplicated[row]
        with pytest.raises(CheckFailed, match="table message_reads column message_id,user_id failed check unique: 1 duplicate rows"):
            check_invariants(plan, name, {**tables, "message_reads": _with_column(reads, "user_id", duplicated)})
        with pytest.raises(CheckFailed, match="failed check unique"):
            validate_partition(plan, name, {**tables, "message_reads": _with_column(reads, "user_id", duplicated)})

    # Content outside the neutral words' alphabet, or with a stray space, in one row.
    for text in ("Hello world", "call 555 0100", "two  spaces", "trailing ", ""):
        content = messages["content"].to_pylist()
        content[message_row] = text
        with pytest.raises(CheckFailed, match="table messages column content failed check neutral_charset"):
            check_invariants(plan, name, {**tables, "messages": _with_column(messages, "content", np.array(content, dtype=object))})


def test_manifest_refuses_missing_or_foreign_partitions(spec, tmp_path) -> None:
    plan = _small_plan(spec)
    generate_plan(plan, tmp_path, only=["users", "shard-00000"], progress=None)
    assert not (tmp_path / "manifest.json").exists()
    with pytest.raises(SynthError, match="missing shard-00001, shard-00002"):
        write_manifest(plan, tmp_path)
    other = _small_plan(spec, seed=99)
    generate_plan(other, tmp_path, only=["shard-00001", "shard-00002"], progress=None)
    with pytest.raises(SynthError, match="from another generation or changed: shard-00001, shard-00002"):
        write_manifest(plan, tmp_path)
    generate_plan(plan, tmp_path, only=["shard-00001", "shard-00002", "manifest"], progress=None)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 11 and len(manifest["partitions"]) == 4


def test_cli_generate_with_only_and_errors(tmp_path, capsys) -> None:
    from synth_pipeline.cli import main

    common = ["generate", "--out", str(tmp_path), "--seed", "4", "--messages", "20000", "--shards", "2"]
    assert main([*common, "--only", "users", "shard-00001"]) == 0
    out, err = capsys.readouterr()
    assert "no manifest yet" in out
    assert "generate: shard-00001:" in err and "rows/s" in err
    assert main([*common, "--only", "shard-00000", "manifest"]) == 0 and (tmp_path / "manifest.json").exists()
    # The installed entry point, end to end: the same bytes as the partitions built above.
    everything = run_cli("generate", "--out", str(tmp_path / "all"), "--seed", "4", "--messages", "20000", "--shards", "2")
    assert everything.returncode == 0, everything.stderr
    assert file_hashes(tmp_path / "all") == {k: v for k, v in file_hashes(tmp_path).items() if not k.startswith("all/")}
    capsys.readouterr()
    for bad, needle in (
        (["--band", "dev", "--users", "5"], "--users and --conversations go with --messages"),
        (["--messages", "0"], "--messages: 0 must be an integer of at least 1"),
        (["--messages", "100", "--only", "shard-00042"], "unknown partition"),
        (["--messages", "100", "--spec", str(tmp_path / "nope.json")], "cannot read the distribution spec"),
    ):
        try:
            code = main(["generate", "--out", str(tmp_path / "x"), "--seed", "1", *bad])
        except SystemExit as usage_error:  # argparse's own refusal of a bad number
            code = usage_error.code
        assert code == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1


def test_cli_generate_into_a_file_is_an_input_error(tmp_path, capsys) -> None:
    from synth_pipeline.cli import main

    taken = tmp_path / "taken"
    taken.write_text("not a directory")
    assert main(["generate", "--out", str(taken), "--seed", "1", "--messages", "2000"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "internal error" not in err and len(err.strip().splitlines()) == 1
    assert taken.read_text() == "not a directory"
