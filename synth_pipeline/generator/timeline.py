"""The dataset's calendar: a fixed window, and the hour-of-week clock that shapes message times.

The window never depends on the wall clock (determinism): it ends at `WINDOW_END`, a constant
Monday 00:00 UTC, and spans the spec's `source.window_days`. Users are created before every
conversation, conversations before their first message:

    users.created_at                 [end - days - 365 d, end - days - 90 d)
    conversations.created_at         [end - days - 90 d, first message of the conversation)
    conversation_participants.joined_at   [conversation created_at, its first message]
    messages.created_at              [end - days, end)
    message_reads.read_at            (message created_at, message created_at + latency high]

Message times are drawn in *operational time* (seconds in which the spec's inter-arrival model
runs at a constant rate) and mapped to calendar time through the cumulative hour-of-week
intensity (the time-change theorem): an hour whose weight is twice the average receives twice
the messages, and gaps inside it are half as long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from synth_pipeline.errors import SynthError

US_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400
WINDOW_END = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday 00:00 UTC: hour-of-week bin 0 starts here
USERS_CREATED_DAYS_BEFORE_WINDOW = (365, 90)
CONVERSATIONS_CREATED_DAYS_BEFORE_WINDOW = 90
_EPOCH_HOUR_OF_WEEK = 72  # 1970-01-01 00:00 UTC was a Thursday: bin 3 * 24


def _us(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def iso(us: int) -> str:
    return datetime.fromtimestamp(us // US_PER_SECOND, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Window:
    start_us: int
    end_us: int
    users_from_us: int
    users_to_us: int
    conversations_from_us: int

    @property
    def seconds(self) -> float:
        return (self.end_us - self.start_us) / US_PER_SECOND

    @classmethod
    def for_days(cls, window_days: int) -> Window:
        end = _us(WINDOW_END)
        start = end - window_days * SECONDS_PER_DAY * US_PER_SECOND
        day = SECONDS_PER_DAY * US_PER_SECOND
        first, last = USERS_CREATED_DAYS_BEFORE_WINDOW
        return cls(
            start_us=start, end_us=end, users_from_us=start - first * day, users_to_us=start - last * day,
            conversations_from_us=start - CONVERSATIONS_CREATED_DAYS_BEFORE_WINDOW * day,
        )


class HourOfWeekClock:
    """Maps operational seconds in [0, W) onto calendar microseconds in [start, end)."""

    def __init__(self, window: Window, weights: list[float]) -> None:
        hours = int(round(window.seconds / 3600))
        epoch_hours = window.start_us // (3600 * US_PER_SECOND) + np.arange(hours)
        bins = (epoch_hours + _EPOCH_HOUR_OF_WEEK) % 168
        intensity = np.asarray(weights, dtype=np.float64)[bins]
        if not np.all(np.isfinite(intensity)) or intensity.sum() <= 0:
            raise SynthError("spec parameters.hour_of_week.weights: all zero over the window; give at least one positive weight")
        self.window = window
        # Operational time at each hour boundary, scaled so that the window has W operational seconds.
        self.operational = np.concatenate([[0.0], np.cumsum(intensity)]) * (window.seconds / intensity.sum())
        self.calendar = np.arange(hours + 1, dtype=np.float64) * 3600.0

    def slowness_sample(self, n: int) -> np.ndarray:
        """Calendar seconds per operational second at n places where messages fall (hours drawn
        in proportion to their intensity, evenly spaced quantiles in a fixed shuffle)."""
        intensity = np.diff(self.operational) / 3600.0  # relative: its mean over the window is 1
        cumulative = np.cumsum(intensity) / intensity.sum()
        hours = np.minimum(np.searchsorted(cumulative, (np.arange(n) + 0.5) / n), intensity.size - 1)
        slowness = np.where(intensity > 0, 1.0 / np.where(intensity > 0, intensity, 1.0), 0.0)
        return slowness[hours][np.random.default_rng(0).permutation(n)]

    def to_calendar_us(self, operational_seconds: np.ndarray) -> np.ndarray:
        """Monotone: equal or increasing operational times stay equal or increasing."""
        seconds = np.interp(operational_seconds, self.operational, self.calendar)
        us = np.rint(seconds * US_PER_SECOND).astype(np.int64)
        np.clip(us, 0, self.window.end_us - self.window.start_us - 1, out=us)
        us += self.window.start_us
        return us
