"""Small, valid shard directories for loader tests (the layout of contracts/shard_manifest.py).

`write_shard_set` writes a users partition and `n_shards` shard partitions of Parquet files with
exactly the Arrow schemas of schema/arrow.py, consistent data (senders and readers are
participants, reads after their message, synthetic identities of DESIGN.md section 4) and a
manifest with row counts and sha256. Deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synth_pipeline.contracts.shard_manifest import IdRange, Partition, ShardFile, ShardManifest, Sizes
from synth_pipeline.fsutil import atomic_write_json, sha256_file
from synth_pipeline.schema.arrow import ARROW_SCHEMAS

WINDOW_START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
DAY_US = 86_400_000_000
WORDS = np.array(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "ünïcødé", "zulu"])
CONVS_ID_SPAN = 1_000_000
MESSAGES_ID_SPAN = 10_000_000


@dataclass(frozen=True)
class FixtureSizes:
    users: int = 40
    conversations_per_shard: int = 6
    messages_per_conversation: int = 25


def _ts(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64), type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def users_table(n: int, rng: np.random.Generator) -> pa.Table:
    ids = np.arange(1, n + 1)
    devices = rng.choice(np.array(["web", "ios", "android", None], dtype=object), n)
    return pa.Table.from_arrays([
        pa.array(ids, pa.int64()),
        pa.array([f"syn_user_{i}@synthetic.test" for i in ids]),
        pa.array([f"synuser{i}" for i in ids]),
        pa.array(["User"] * n),
        pa.array([str(i) for i in ids]),
        pa.array([f"Synthetic test user {i}" if i % 7 else None for i in ids]),
        pa.array(list(devices), pa.string()),
        pa.array(rng.random(n) < 0.9),
        _ts(WINDOW_START_US - rng.integers(1, 400, n) * DAY_US),
    ], schema=ARROW_SCHEMAS["users"])


def shard_tables(shard: int, n_users: int, sizes: FixtureSizes, rng: np.random.Generator) -> dict[str, pa.Table]:
    n_conv = sizes.conversations_per_shard
    conv_ids = shard * CONVS_ID_SPAN + np.arange(1, n_conv + 1)
    kinds = np.where(np.arange(n_conv) % 3 == 0, "direct", "group")
    conv_created = WINDOW_START_US + rng.integers(0, 5, n_conv) * DAY_US
    conversations = pa.Table.from_arrays([
        pa.array(conv_ids, pa.int64()),
        pa.array([None if k == "direct" else f"Group {c}" for k, c in zip(kinds, conv_ids)], pa.string()),
        pa.array(kinds),
        _ts(conv_created),
    ], schema=ARROW_SCHEMAS["conversations"])

    part_conv, part_user, members = [], [], []
    for conv, kind in zip(conv_ids, kinds):
        size = 2 if kind == "direct" else int(rng.integers(3, 8))
        users = rng.choice(np.arange(1, n_users + 1), size=size, replace=False)
        members.append(users)
        part_conv += [conv] * size
        part_user += list(users)
    participants = pa.Table.from_arrays([
        pa.array(part_conv, pa.int64()), pa.array(part_user, pa.int64()),
        _ts(np.repeat(conv_created, [len(m) for m in members])),
    ], schema=ARROW_SCHEMAS["conversation_participants"])

    per_conv = sizes.messages_per_conversation
    msg_ids = shard * MESSAGES_ID_SPAN + np.arange(1, n_conv * per_conv + 1)
    msg_conv_index = np.repeat(np.arange(n_conv), per_conv)
    senders = np.array([rng.choice(members[i]) for i in msg_conv_index])
    msg_created = conv_created[msg_conv_index] + rng.integers(1, 10 * DAY_US, len(msg_ids))
    content = [" ".join(rng.choice(WORDS, int(rng.integers(0, 12)))) for _ in msg_ids]
    messages = pa.Table.from_arrays([
        pa.array(msg_ids, pa.int64()), pa.array(conv_ids[msg_conv_index], pa.int64()), pa.array(senders, pa.int64()),
        pa.array(content), pa.array(list(rng.choice(np.array(["web", "ios", "android", None], dtype=object), len(msg_ids))), pa.string()),
        _ts(msg_created),
    ], schema=ARROW_SCHEMAS["messages"])

    with_attachment = np.flatnonzero(rng.random(len(msg_ids)) < 0.2)
    attachments = pa.Table.from_arrays([
        pa.array(shard * MESSAGES_ID_SPAN + np.arange(1, len(with_attachment) + 1), pa.int64()),
        pa.array(msg_ids[with_attachment], pa.int64()),
        pa.array(["image"] * len(with_attachment)), pa.array(["image/png"] * len(with_attachment)),
        pa.array(rng.integers(100, 10_000_000, len(with_attachment)), pa.int64()),
    ], schema=ARROW_SCHEMAS["attachments"])

    read_msg, read_user, read_at = [], [], []
    for m, ci, created in zip(msg_ids, msg_conv_index, msg_created):
        for user in members[ci]:
            if rng.random() < 0.5:
                read_msg.append(m)
                read_user.append(user)
                read_at.append(created + int(rng.integers(0, DAY_US)))
    reads = pa.Table.from_arrays([
        pa.array(read_msg, pa.int64()), pa.array(read_user, pa.int64()), _ts(np.array(read_at)),
    ], schema=ARROW_SCHEMAS["message_reads"])
    return {"conversations": conversations, "conversation_participants": participants, "messages": messages,
            "attachments": attachments, "message_reads": reads}


def _write(root: Path, relative: str, table_name: str, table: pa.Table) -> ShardFile:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return ShardFile(table=table_name, path=relative, rows=table.num_rows, bytes=path.stat().st_size, sha256=sha256_file(path))


def write_partitions(root: Path, partitions: dict[str, dict[str, pa.Table]], *, seed: int, band: str = "custom",
                     generator_version: str = "loader-fixture") -> ShardManifest:
    """Write `{partition: {table: arrow table}}` as Parquet files plus a valid manifest."""
    root.mkdir(parents=True, exist_ok=True)
    written: list[Partition] = []
    totals: dict[str, int] = {}
    for name, tables in partitions.items():
        directory = "users" if name == "users" else name
        files = [_write(root, f"{directory}/{t}.parquet", t, table) for t, table in tables.items()]
        for f in files:
            totals[f.table] = totals.get(f.table, 0) + f.rows
        written.append(Partition(name=name, files=files, id_ranges=_id_ranges(tables)))
    manifest = ShardManifest(
        spec_sha256=hashlib.sha256(b"fixture-spec").hexdigest(), seed=seed, band=band,
        sizes=Sizes(users=totals["users"], conversations=totals["conversations"], messages=totals["messages"]),
        n_shards=len(partitions) - 1, window_start="2026-01-01T00:00:00Z", window_end="2026-02-01T00:00:00Z",
        generator_version=generator_version, partitions=written, table_rows=totals,
    )
    atomic_write_json(root / "manifest.json", manifest.model_dump(mode="json"))
    return manifest


def _id_ranges(tables: dict[str, pa.Table]) -> dict[str, IdRange]:
    ranges = {}
    for name in ("users", "conversations", "messages", "attachments"):
        if name in tables and tables[name].num_rows:
            ids = tables[name].column("id")
            ranges[name] = IdRange(first=pc.min(ids).as_py(), last=pc.max(ids).as_py())
    return ranges


def write_shard_set(root: Path, *, n_shards: int = 2, seed: int = 7, sizes: FixtureSizes = FixtureSizes()) -> ShardManifest:
    rng = np.random.default_rng(seed)
    partitions = {"users": {"users": users_table(sizes.users, rng)}}
    for shard in range(n_shards):
        partitions[f"shard-{shard:05d}"] = shard_tables(shard, sizes.users, sizes, rng)
    return write_partitions(root, partitions, seed=seed)


# --- fixtures shared by the loader / lifecycle test modules (import them by name); the
# isolated-state fixtures and `provisioner` are in conftest.py, `database_exists` in pg.py ---

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory) -> Path:
    """A two-shard fixture set, shared read-only by a test module."""
    root = tmp_path_factory.mktemp("shards")
    write_shard_set(root)
    return root


GENERATED_SIZES = {"users": 60, "conversations": 90, "messages": 12_000}


def generate_small(root: Path, *, n_shards: int = 3, seed: int = 11) -> ShardManifest:
    """A small shard set from the real generator and the reference spec."""
    from synth_pipeline.generator import generate
    from synth_pipeline.paths import REFERENCE_SPEC

    generate(REFERENCE_SPEC, root, seed=seed, band=Sizes(**GENERATED_SIZES), n_shards=n_shards, progress=None)
    return ShardManifest.model_validate_json((root / "manifest.json").read_bytes())


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("generated")
    generate_small(root)
    return root
