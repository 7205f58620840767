"""Baseline viral-share detectors, for comparison with the forecast-based decision.

* :class:`ShareCountThreshold`: flag once a cascade has ``threshold`` shares.
* :class:`SpikeRule`: the usual social-listening "spike" alert: flag when the shares of the last
  hour reach ``ratio`` times the hourly mean of the 12 hours before, and at least ``min_count``.

Both take event time as an argument and keep bounded state, like the detectors.
"""
from __future__ import annotations

from typing import Any


class _Ring:
    """Counts of events per bucket of ``width_ms``, for the newest ``size`` buckets."""

    __slots__ = ("width_ms", "size", "head", "counts")

    def __init__(self, width_ms: int, size: int):
        self.width_ms = width_ms
        self.size = size
        self.head: int | None = None  # absolute number of the newest bucket held
        self.counts = [0] * size

    def add(self, t_ms: int) -> None:
        b = t_ms // self.width_ms
        head = self.head
        if head is None:
            self.head = b
        elif b > head:
            counts, size = self.counts, self.size
            if b - head >= size:
                for i in range(size):
                    counts[i] = 0
            else:
                for k in range(head + 1, b + 1):
                    counts[k % size] = 0
            self.head = b
        # b < head - size + 1 cannot happen: lateness is checked before and the ring is long enough.
        self.counts[b % self.size] += 1

    def get(self, b: int) -> int:
        head = self.head
        if head is None or b > head or b <= head - self.size:
            return 0
        return self.counts[b % self.size]

    def sum(self, first: int, last: int) -> int:
        """Events in buckets ``first..last`` inclusive (absolute bucket numbers)."""
        return sum(self.get(b) for b in range(first, last + 1))

    def newest_first(self) -> list[int]:
        """Counts from the head bucket backwards, trailing zeros dropped (the JSON form)."""
        if self.head is None:
            return []
        out = [self.get(self.head - k) for k in range(self.size)]
        while out and out[-1] == 0:
            out.pop()
        return out


#: Head of a ring that has seen no event yet.
_EMPTY = -(1 << 62)


class ShareCountThreshold:
    """Flag a cascade once it has at least ``threshold`` shares.

    Examples
    --------
    >>> b = ShareCountThreshold(3)
    >>> for t in (0, 1000, 2000):
    ...     b.learn_one(t)
    >>> b.flag(now_ms=2000)
    True
    """

    def __init__(self, threshold: int):
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = int(threshold)
        self.shares = 0

    def learn_one(self, t_ms: int) -> None:
        self.shares += 1

    def flag(self, now_ms: int) -> bool:
        return self.shares >= self.threshold

    def to_state(self) -> dict[str, Any]:
        return {"k": self.threshold, "n": self.shares}

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> "ShareCountThreshold":
        b = cls(d["k"])
        b.shares = d["n"]
        return b


class SpikeRule:
    """Last hour against the hourly mean of the previous 12 hours, in 5-minute buckets.

    The latest hour is the 5-minute bucket holding ``now_ms`` and the 11 before it; the previous
    12 hours are the 144 buckets before those.

    Parameters
    ----------
    ratio
        Flag when the last hour has at least ``ratio`` times the previous hourly mean ...
    min_count
        ... and at least this many shares.

    Examples
    --------
    >>> s = SpikeRule(ratio=3.0, min_count=5)
    >>> for i in range(6):
    ...     s.learn_one(i * 60_000)
    >>> s.flag(now_ms=6 * 60_000)
    True
    """

    BUCKET_MS = 300_000
    _HOUR = 12           # buckets per hour
    _HISTORY = 12 * 12   # buckets in the previous 12 hours

    def __init__(self, ratio: float = 3.0, min_count: int = 50):
        self.ratio = float(ratio)
        self.min_count = int(min_count)
        self._ring = _Ring(self.BUCKET_MS, self._HOUR + self._HISTORY)

    def learn_one(self, t_ms: int) -> None:
        ring = self._ring
        if ring.head is not None and t_ms // ring.width_ms <= ring.head - ring.size:
            return  # older than anything the rule looks at
        ring.add(t_ms)

    def last_hour(self, now_ms: int) -> int:
        b = now_ms // self.BUCKET_MS
        return self._ring.sum(b - self._HOUR + 1, b)

    def previous_hourly_mean(self, now_ms: int) -> float:
        b = now_ms // self.BUCKET_MS
        return self._ring.sum(b - self._HOUR - self._HISTORY + 1, b - self._HOUR) / 12.0

    def flag(self, now_ms: int) -> bool:
        last = self.last_hour(now_ms)
        return last >= self.min_count and last >= self.ratio * self.previous_hourly_mean(now_ms)

    def to_state(self) -> dict[str, Any]:
        return {"r": self.ratio, "m": self.min_count, "h": self._ring.head,
                "c": self._ring.newest_first()}

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> "SpikeRule":
        s = cls(d["r"], d["m"])
        ring = s._ring
        ring.head = d["h"]
        for k, c in enumerate(d["c"]):
            ring.counts[(ring.head - k) % ring.size] = c
        return s
