"""Small cells and (optional) epsilon-differential privacy for the counts of a metrics pack.

Small cells: a histogram bin holding fewer than `min_cell_size` entities is merged with its
neighbours (`binning.merge_small_cells`); a category of a mix or an hour-of-week bin with fewer is
suppressed (set to 0, its entities counted in `suppressed`). Everything is tallied in the pack's
`privacy` block.

Epsilon mode (`--epsilon E`): user-level differential privacy on the histogram and mix counts.
- Contributions are bounded on the server (`statements.capped`): at most B rows per user in every
  source (messages sent, receipts made, participations, attachments of their messages) and at
  most B receipts per message.
- Each noised release r has an L1 sensitivity Δ_r under adding or removing one user
  (`SENSITIVITY`, as a function of B). The budget is split evenly over the releases of the pack
  (sequential composition), ε_r = E / releases, and every count of the release gets two-sided
  geometric noise with α = exp(-ε_r / Δ_r): the discrete Laplace mechanism. Noise comes before the
  small-cell merge, so the merge is post-processing of noisy counts. Counts are clamped at 0.
- The noise generator is a numpy Generator seeded from HMAC(salt, digest of the exact
  aggregates): the same data and salt give the same pack (no averaging attack by re-running),
  and without the salt the noise cannot be reproduced.
Not covered by the guarantee (documented in docs/sampler.md): totals, means, min/max/percentiles
and the histogram edges derived from them; heavy-room tokens are left out in epsilon mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# L1 sensitivity of each noised release when one user (with at most B rows per source) is added
# or removed. Message-level counts move by at most B; per-conversation counts can move B
# conversations between two bins (2B) and drop B conversations out of the window (3B for the
# participant histograms); one message removed merges two gaps into one (3 per message); the
# receipt latencies lose the user's own B receipts plus up to B receipts on each of their B messages.
SENSITIVITY: dict[str, Callable[[int], int]] = {
    "message_length": lambda b: b,
    "messages_per_conversation": lambda b: 2 * b,
    "participants_per_conversation": lambda b: 3 * b,
    "participants_per_group": lambda b: 3 * b,
    "messages_per_user": lambda b: 1,
    "inter_arrival_seconds": lambda b: 3 * b,
    "hour_of_week": lambda b: b,
    "conversation_kind": lambda b: b,
    "heavy_room_sizes": lambda b: 2 * b,
    # B participations move B rooms between bins (2B); B messages drop up to B rooms below the threshold
    "heavy_room_participants": lambda b: 3 * b,
    "device": lambda b: b,
    "primary_device": lambda b: 1,
    "attachments_per_message": lambda b: b,
    "attachment_kinds": lambda b: b,
    # the four per-kind size histograms partition the attachments: one release, one share
    "attachment_sizes": lambda b: b,
    "reads_per_message": lambda b: 3 * b,
    "read_latency": lambda b: b + b * b,
}


def releases_for(parts: dict[str, bool]) -> list[str]:
    """The noised releases of a pack with these optional parts present."""
    optional = {
        "device": parts["device"],
        "primary_device": parts["primary_device"],
        "attachments_per_message": parts["attachments"],
        "attachment_kinds": parts["attachments"],
        "attachment_sizes": parts["attachments"],
        "reads_per_message": parts["reads"],
        "read_latency": parts["reads"],
    }
    return [name for name in SENSITIVITY if optional.get(name, True)]


def two_sided_geometric(rng: np.random.Generator, alpha: float, size: int) -> np.ndarray:
    """Discrete Laplace noise: P(k) ∝ alpha^|k|, as the difference of two geometric draws."""
    p = 1.0 - alpha
    return (rng.geometric(p, size) - 1) - (rng.geometric(p, size) - 1)


@dataclass
class PrivacyLedger:
    """Applies small-cell rules and noise, and keeps the tallies for the pack's privacy block."""

    min_cell_size: int
    epsilon: float | None = None
    contribution_bound: int | None = None
    releases: list[str] = field(default_factory=list)
    rng: np.random.Generator | None = None
    merged_cells: int = 0
    suppressed_cells: int = 0
    epsilon_spent: float = 0.0
    _noised: set[str] = field(default_factory=set)

    @property
    def noisy(self) -> bool:
        return self.epsilon is not None

    def noise_counts(self, release: str, counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.int64)
        if not self.noisy:
            return counts
        if release not in self.releases or self.rng is None or self.contribution_bound is None:
            raise ValueError(f"release {release!r} is not in the epsilon budget")
        share = self.epsilon / len(self.releases)
        alpha = math.exp(-share / SENSITIVITY[release](self.contribution_bound))
        noisy = np.maximum(counts + two_sided_geometric(self.rng, alpha, counts.size), 0)
        if release not in self._noised:  # a release split in parts (sizes per kind) spends its share once
            self._noised.add(release)
            self.epsilon_spent += share
        return noisy

    def note_histogram(self, merged_cells: int, suppressed_entities: int) -> None:
        self.merged_cells += merged_cells
        if suppressed_entities:
            self.suppressed_cells += 1

    def mix(self, release: str, counts: dict[str, int]) -> tuple[dict[str, int], int]:
        """Noise (epsilon mode) then suppress categories below the cell size: (counts, suppressed entities)."""
        labels = list(counts)
        values = self.noise_counts(release, np.array([counts[k] for k in labels], dtype=np.int64))
        out, suppressed = {}, 0
        for label, value in zip(labels, values.tolist()):
            if 0 < value < self.min_cell_size:
                out[label] = 0
                suppressed += value
                self.suppressed_cells += 1
            else:
                out[label] = value
        return out, suppressed

    def hour_of_week(self, counts: np.ndarray) -> tuple[list[int], int]:
        mixed, suppressed = self.mix("hour_of_week", {str(h): int(c) for h, c in enumerate(counts)})
        return [mixed[str(h)] for h in range(len(counts))], suppressed
