"""The shard manifest (DIR/manifest.json), written last and atomically by the generator.

Layout of a shard directory:

    DIR/manifest.json
    DIR/users/users.parquet                      the global users partition
    DIR/shard-00000/conversations.parquet        one directory per shard: a disjoint slice of
    DIR/shard-00000/conversation_participants.parquet    conversations with their participants,
    DIR/shard-00000/messages.parquet             messages, attachments and reads
    DIR/shard-00000/attachments.parquet          (absent tables are simply not listed)
    DIR/shard-00000/message_reads.parquet
    DIR/<partition>/_partition.json              the generator's completion record of a partition
                                                 (files, id ranges, generation); loaders ignore it

Every file is listed with its row count and sha256; the loader verifies both before loading.
Ids are globally unique: each shard owns fixed id ranges (see `id_ranges`).

When the spec says the source lacks an optional part, the generator produces none of it:
a table in `absent_tables` has no file in any partition and no entry in `table_rows`; a column
in `null_columns` is present in the files (the Arrow schema never changes) but NULL in every row.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from synth_pipeline.contracts.common import IsoTimestamp, NonNegInt, Sha256Hex, StrictModel

SHARD_MANIFEST_KIND = "synth-pipeline/shard-manifest"
TableName = Literal["users", "conversations", "conversation_participants", "messages", "attachments", "message_reads"]
PartitionName = Annotated[str, StringConstraints(pattern=r"^(users|shard-[0-9]{5})$")]


class ShardFile(StrictModel):
    table: TableName
    path: str = Field(description="Relative to the shard directory, POSIX separators")
    rows: NonNegInt
    bytes: NonNegInt
    sha256: Sha256Hex


class IdRange(StrictModel):
    first: NonNegInt
    last: NonNegInt = Field(description="Inclusive upper bound reserved for this partition")


class Partition(StrictModel):
    name: PartitionName
    files: list[ShardFile]
    id_ranges: dict[TableName, IdRange] = Field(default_factory=dict)


class Sizes(StrictModel):
    users: Annotated[int, Field(ge=1)]
    conversations: Annotated[int, Field(ge=1)]
    messages: Annotated[int, Field(ge=1)]


class ShardManifest(StrictModel):
    schema_version: Literal["1.0"] = "1.0"
    kind: Literal["synth-pipeline/shard-manifest"] = SHARD_MANIFEST_KIND
    spec_sha256: Sha256Hex
    seed: NonNegInt
    band: Literal["dev", "staging", "perf", "custom"]
    sizes: Sizes
    n_shards: Annotated[int, Field(ge=1)]
    window_start: IsoTimestamp
    window_end: IsoTimestamp
    generator_version: str
    partitions: list[Partition]
    table_rows: dict[TableName, NonNegInt]
    absent_tables: list[TableName] = Field(
        default_factory=list, description="Optional tables the source lacks: no files, no table_rows entry"
    )
    null_columns: dict[TableName, list[str]] = Field(
        default_factory=dict, description="Optional columns the source lacks: present in the files, NULL in every row"
    )
