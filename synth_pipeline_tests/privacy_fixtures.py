"""A full, valid metrics pack and mapping manifest for the privacy tests (every optional part
present, so every key of the schema appears), built through the contract models."""

from __future__ import annotations

import copy
import hashlib
import hmac
from pathlib import Path
from typing import Any

import numpy as np

from synth_pipeline.contracts.binning import distribution_from_values
from synth_pipeline.contracts.metrics_pack import (
    AttachmentKindMix, Attachments, AttachmentSizes, ConversationKindMix, DeviceMix, HeavyRoom, HeavyRooms,
    HourOfWeek, InterArrival, Metrics, MetricsPack, PackPrivacy, Parts, Reads, Totals, Window,
)
from synth_pipeline.contracts.pack_manifest import ManifestPrivacy, MappingUsed, PackManifest, Tokenization
from synth_pipeline.fsutil import atomic_write_json

SALT = b"privacy-test-salt"


def token(value: int) -> str:
    return hmac.new(SALT, str(value).encode(), hashlib.sha256).hexdigest()[:16]


def _tokens(count: int) -> list[str]:
    """HMAC tokens, skipping the rare all-digit ones (a Luhn-valid one would be a card finding)."""
    out, value = [], 0
    while len(out) < count:
        candidate = token(value)
        value += 1
        if not candidate.isdigit():
            out.append(candidate)
    return out


def valid_pack() -> dict[str, Any]:
    rng = np.random.default_rng(11)

    def dist(values, unit):
        return distribution_from_values(np.asarray(values), unit)

    inter = dist(rng.exponential(60.0, 5000), "seconds")
    pack = MetricsPack(
        window=Window(days=30, start="2026-10-26T00:00:00Z", end="2026-11-25T00:00:00Z"),
        privacy=PackPrivacy(min_cell_size=10, suppressed_cells=2, merged_cells=5),
        parts=Parts(attachments=True, reads=True, device=True, primary_device=True),
        totals=Totals(users=5000, active_users=4100, conversations=8000, active_conversations=7000,
                      messages=300_000_000, participants=25000, attachments=40000, reads=900_000_000),
        metrics=Metrics(
            message_length=dist(rng.lognormal(3.5, 0.8, 5000).round() + 1, "characters"),
            messages_per_conversation=dist(rng.zipf(1.8, 5000), "messages"),
            participants_per_conversation=dist(rng.integers(2, 30, 5000), "participants"),
            participants_per_group=dist(rng.integers(3, 30, 5000), "participants"),
            messages_per_user=dist(rng.zipf(1.6, 5000), "messages"),
            inter_arrival_seconds=InterArrival(**inter.model_dump(), burst_coefficient=4.2),
            hour_of_week=HourOfWeek(counts=[int(c) for c in rng.integers(100, 1000, 168)],
                                    weekday_share=0.8, weekend_share=0.2),
            conversation_kind=ConversationKindMix(direct=6000, group=2000),
            heavy_rooms=HeavyRooms(
                threshold=1000, count=12, share_of_conversations=0.015, share_of_messages=0.4,
                sizes=dist(rng.integers(1000, 50000, 200), "messages"),
                rooms=[HeavyRoom(token=t, messages=int(m)) for t, m in zip(_tokens(12), rng.integers(1000, 50000, 12))],
            ),
            device=DeviceMix(web=100, ios=200, android=300, unknown=10),
            primary_device=DeviceMix(web=1000, ios=2000, android=2000),
            attachments=Attachments(
                share_of_messages=0.12,
                per_message=dist(rng.integers(1, 4, 5000), "attachments"),
                kinds=AttachmentKindMix(image=100, video=20, audio=15, file=30),
                size_bytes=AttachmentSizes(
                    image=dist(rng.lognormal(12, 1, 2000), "bytes"),
                    video=dist(rng.lognormal(16, 1, 2000), "bytes"),
                    audio=dist(rng.lognormal(13, 1, 2000), "bytes"),
                    file=dist(rng.lognormal(11, 2, 2000), "bytes"),
                ),
            ),
            reads=Reads(
                share_of_messages_read=0.7,
                reads_per_message=dist(rng.integers(0, 6, 5000), "reads"),
                latency_seconds=dist(rng.exponential(300.0, 5000), "seconds"),
            ),
        ),
    )
    return pack.model_dump(mode="json")


def big_pack() -> dict[str, Any]:
    """A valid pack of a large source: 11-digit totals and attachments of 10-25 GB, whose sizes
    reach the percentiles and histogram edges as 11-digit numbers (phone-shaped, legitimate)."""
    pack = valid_pack()
    pack["totals"]["messages"] = 20_000_000_000
    pack["totals"]["reads"] = int(12e9)
    sizes = np.concatenate([np.random.default_rng(12).lognormal(16, 1, 2000), [10_737_418_240, 26_843_545_600]])
    pack["metrics"]["attachments"]["size_bytes"]["video"] = distribution_from_values(sizes, "bytes").model_dump(mode="json")
    return pack


def valid_manifest(pack_sha256: str = "0" * 64) -> dict[str, Any]:
    manifest = PackManifest(
        pack_sha256=pack_sha256,
        created_at="2026-11-25T11:00:00Z",
        tool_version="0.1.0",
        tokenization=Tokenization(fields_tokenized=["conversations.id"], salt_fingerprint=token(-1)),
        mapping=MappingUsed(name="reference", sha256="ab" * 32),
        window=Window(days=30, start="2026-10-26T00:00:00Z", end="2026-11-25T00:00:00Z"),
        privacy=ManifestPrivacy(min_cell_size=10, suppressed_cells=2, merged_cells=5),
        statements_executed=42,
    )
    return manifest.model_dump(mode="json")


def write_pack(directory: Path, stem: str, pack: dict[str, Any] | None = None, *, manifest: bool = True) -> Path:
    """Write `<stem>.json` (and `<stem>_mapping.json`) into `directory`; returns the pack path."""
    path = directory / f"{stem}.json"
    digest = atomic_write_json(path, pack if pack is not None else valid_pack())
    if manifest:
        atomic_write_json(directory / f"{stem}_mapping.json", valid_manifest(digest))
    return path


def planted(pack: dict[str, Any]) -> dict[str, Any]:
    """A copy of `pack` carrying PII in a known key, an unknown key and a token position."""
    doc = copy.deepcopy(pack)
    doc["metrics"]["heavy_rooms"]["rooms"][0]["token"] = PLANTED["email"]
    doc["metrics"]["heavy_rooms"]["rooms"][1]["owner"] = PLANTED["name"]
    doc["notes"] = PLANTED["phone"]
    doc[PLANTED["card"]] = 1
    return doc


# Unique strings that must never appear in any output of the gate.
PLANTED = {
    "email": "zelda.quinterossa@example.org",
    "name": "Maria Quinterossa",
    "phone": "+44 20 7946 0958",
    "card": "4539 1488 0343 6467",
}
