"""The shipped reference spec (specs/distribution-spec.json): calibrated, like any spec, from a pack.

The pack is not from production: it describes a plausible chat product at the dev band's scale
(5,000 users, 8,000 active conversations, about 4.7M messages in 30 days), drawn with a fixed seed
from the shapes below and binned by the sampler's rules. Calibrating it (instead of writing
parameters by hand) keeps the reference internally consistent: its messages per conversation
reproduce its heavy-room shares, and its totals match its means.

    python -m synth_pipeline.calibration.reference           # rewrite specs/distribution-spec.json
    python -m synth_pipeline.calibration.reference --check   # exit 1 if the shipped file differs

The product (what it measures is drawn conversation by conversation, as a sampler would see it):
- 70 % direct chats, 30 % groups (3..500 participants, lognormal around 5); the 3 % heavy rooms
  are groups of their own size (lognormal around 33 members);
- 97 % of conversations hold lognormal(5.4, 1.1) messages (at most 1,000), 3 % are heavy rooms
  with lognormal(9.0, 0.8) messages: about 55 % of all messages;
- message length lognormal(3.6, 0.95) characters (1..4,000);
- messages per user lognormal(5.99, 1.3) (a few very active users), every user active;
- messages come in sessions: a message starts a new one with probability 0.15, otherwise it
  follows the previous after ~8 s (exponential); a conversation's sessions start at uniform times
  over the 30-day window, so a heavy room's idle gaps are minutes and a quiet chat's days;
- a diurnal cycle (peaks at 11:00 and 20:00 UTC) with quieter weekends;
- devices web 35 %, iOS 40 %, Android 25 %; attachments on 8 % of messages (images mostly);
- 85 % of messages read, by lognormal(0.6, 0.8) participants (~2 on median) but never more than
  the other participants of the conversation, after a lognormal latency (median ~4 min).
"""

from __future__ import annotations

import sys

import numpy as np

from synth_pipeline.calibration.calibrate import calibrate, spec_document
from synth_pipeline.calibration.families import sample
from synth_pipeline.calibration.synthetic_pack import AttachmentArrays, ReadArrays, pack_from_arrays
from synth_pipeline.contracts.distribution_spec import DistributionSpec, Fitted, SpecSource
from synth_pipeline.contracts.metrics_pack import MetricsPack
from synth_pipeline.fsutil import atomic_write_bytes, canonical_json
from synth_pipeline.paths import REFERENCE_SPEC

SEED = 20_260_101
USERS, CONVERSATIONS = 5_000, 8_000
SAMPLE = 200_000  # draws for the per-message and per-gap histograms (their shape, not their total)
HEAVY_SHARE = 0.03
WINDOW_DAYS = 30
SESSION_START = 0.15  # a message starts a new session with this probability
BURST_GAP_SECONDS = 8.0


def _lognormal(mu: float, sigma: float, low: float, high: float, discrete: bool = True) -> Fitted:
    return Fitted(family="lognormal", params={"mu": mu, "sigma": sigma}, low=low, high=high, discrete=discrete)


def _hour_of_week_weights() -> np.ndarray:
    hours = np.arange(24)
    day = 0.15 + np.exp(-0.5 * ((hours - 11) / 2.5) ** 2) + 0.8 * np.exp(-0.5 * ((hours - 20) / 2.0) ** 2)
    return np.concatenate([np.tile(day, 5), np.tile(0.6 * day, 2)])


def _session_gaps(rng: np.random.Generator, per_conversation: np.ndarray, n_gaps: int) -> np.ndarray:
    """Gaps between consecutive messages of a size-stratified sample of conversations holding
    about n_gaps gaps: bursts of exponential gaps, sessions starting at uniform times."""
    window = WINDOW_DAYS * 86_400.0
    order = np.argsort(per_conversation, kind="stable")
    step = max(1, int(np.ceil((per_conversation.sum() - per_conversation.size) / n_gaps)))
    gaps = []
    for size in per_conversation[order[step // 2 :: step]].astype(np.int64):
        new_session = rng.random(size) < SESSION_START
        new_session[0] = True
        starts = np.sort(rng.random(int(new_session.sum()))) * window
        burst = np.where(new_session, 0.0, rng.exponential(BURST_GAP_SECONDS, size))
        offset = np.cumsum(burst)
        session = np.cumsum(new_session) - 1
        offset -= offset[np.flatnonzero(new_session)][session]
        times = np.sort(starts[session] + offset)
        gaps.append(np.diff(times))
    return np.concatenate(gaps)


def reference_pack(seed: int = SEED) -> MetricsPack:
    rng = np.random.default_rng(seed)
    n_heavy = int(round(CONVERSATIONS * HEAVY_SHARE))
    per_conversation = np.concatenate([
        sample(_lognormal(5.4, 1.1, 1, 1000), rng, CONVERSATIONS - n_heavy),
        sample(_lognormal(9.0, 0.8, 1001, 500_000), rng, n_heavy),
    ])
    n_groups = int(round(CONVERSATIONS * 0.3))
    # Heavy rooms (the last n_heavy) are groups with their own sizes; other groups at random.
    participants = np.full(CONVERSATIONS, 2.0)
    light_groups = rng.permutation(CONVERSATIONS - n_heavy)[: n_groups - n_heavy]
    participants[light_groups] = sample(_lognormal(1.6, 0.6, 3, 500), rng, light_groups.size)
    participants[CONVERSATIONS - n_heavy :] = sample(_lognormal(3.5, 0.7, 3, 2000), rng, n_heavy)
    # Receipts of a sample of messages: their conversation bounds the readers.
    message_conversation = rng.choice(CONVERSATIONS, size=SAMPLE, p=per_conversation / per_conversation.sum())
    read = rng.random(SAMPLE) < 0.85
    reads = np.zeros(SAMPLE)
    reads[read] = np.minimum(sample(_lognormal(0.6, 0.8, 1, 500), rng, int(read.sum())), participants[message_conversation[read]] - 1)
    with_attachment = rng.random(SAMPLE) < 0.08
    attachments = np.zeros(SAMPLE)
    attachments[with_attachment] = sample(_lognormal(0.05, 0.45, 1, 10), rng, int(with_attachment.sum()))
    kinds = {"image": 9600, "video": 1600, "audio": 1600, "file": 3200}
    sizes = {"image": (12.5, 0.8), "video": (15.5, 1.0), "audio": (12.0, 0.7), "file": (11.5, 1.5)}
    weights = _hour_of_week_weights()
    return pack_from_arrays(
        message_length=sample(_lognormal(3.6, 0.95, 1, 4000), rng, SAMPLE),
        messages_per_conversation=per_conversation,
        participants_per_conversation=participants,
        participants_per_group=participants[participants > 2],
        messages_per_user=sample(_lognormal(5.99, 1.3, 1, 200_000), rng, USERS),
        inter_arrival_seconds=_session_gaps(rng, per_conversation, SAMPLE),
        hour_of_week_bins=rng.choice(168, size=SAMPLE, p=weights / weights.sum()),
        conversation_kind={"direct": CONVERSATIONS - n_groups, "group": n_groups},
        device={"web": 1_750_000, "ios": 2_000_000, "android": 1_250_000},
        primary_device={"web": 1_750, "ios": 2_000, "android": 1_250},
        attachments=AttachmentArrays(
            per_message=attachments, kinds=kinds,
            sizes={k: sample(_lognormal(*sizes[k], 100, 2e9), rng, n) for k, n in kinds.items()},
        ),
        reads=ReadArrays(per_message=reads, latency_seconds=sample(_lognormal(5.5, 2.0, 0.1, 2_592_000, False), rng, SAMPLE)),
        users=USERS,
        window_days=WINDOW_DAYS,
        heavy_room_participants=True,
    )


def reference_spec() -> DistributionSpec:
    spec = calibrate(reference_pack(), "0" * 64).spec
    return spec.model_copy(update={"source": SpecSource(kind="reference", pack_sha256=None, window_days=spec.source.window_days)})


def main(argv: list[str] | None = None) -> int:
    payload = canonical_json(spec_document(reference_spec()))
    if "--check" in (argv if argv is not None else sys.argv[1:]):
        if not REFERENCE_SPEC.exists() or REFERENCE_SPEC.read_bytes() != payload:
            print(f"{REFERENCE_SPEC.name} differs from the calibrated reference; run python -m synth_pipeline.calibration.reference", file=sys.stderr)
            return 1
        return 0
    atomic_write_bytes(REFERENCE_SPEC, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
