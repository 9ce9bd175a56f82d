"""The mapping manifest written beside a pack (PACK_mapping.json): how identifiers were made.

It records the tokenization (algorithm, truncation, which fields), a salt *fingerprint* (never
the salt), the mapping used, the window, and the suppression and noise settings.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from synth_pipeline.contracts.common import IsoTimestamp, NonNegInt, Sha256Hex, StrictModel, Token
from synth_pipeline.contracts.metrics_pack import PackPrivacy, Window

MANIFEST_KIND = "synth-pipeline/pack-mapping-manifest"
LogicalField = Literal[
    "conversations.id", "users.id", "messages.id", "attachments.id",
]
MappingName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


class Tokenization(StrictModel):
    algorithm: Literal["HMAC-SHA256"] = "HMAC-SHA256"
    truncation_hex_chars: Literal[16] = 16
    fields_tokenized: list[LogicalField]
    salt_fingerprint: Token = Field(description="HMAC-SHA256(salt, 'synth-pipeline/salt-fingerprint')[:16]")
    salt_source: Literal["ANONYMIZATION_SALT"] = "ANONYMIZATION_SALT"


class MappingUsed(StrictModel):
    name: MappingName
    sha256: Sha256Hex


class ManifestPrivacy(PackPrivacy):
    epsilon_spent: Annotated[float, Field(ge=0)] = 0.0


class PackManifest(StrictModel):
    schema_version: Literal["1.0"] = "1.0"
    kind: Literal["synth-pipeline/pack-mapping-manifest"] = MANIFEST_KIND
    pack_sha256: Sha256Hex
    created_at: IsoTimestamp
    tool_version: Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]
    tokenization: Tokenization
    mapping: MappingUsed
    window: Window
    privacy: ManifestPrivacy
    statements_executed: NonNegInt = Field(description="SQL statements the sampler ran (all aggregates)")
