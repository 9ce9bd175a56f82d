"""Constrained scalar types shared by the contracts."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# HMAC-SHA256(salt, value) truncated to 16 lowercase hex characters (DESIGN.md section 7).
Token = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# UTC instant with second resolution, e.g. 2026-11-25T11:00:00Z. Nothing else is a free string.
IsoTimestamp = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegInt = Annotated[int, Field(ge=0)]
NonNegFloat = Annotated[float, Field(ge=0.0)]


class StrictModel(BaseModel):
    """Unknown keys are errors: an allowlist, not a denylist."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=True)
