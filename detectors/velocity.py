"""Share velocity of one cascade: shares per minute over sliding windows, and their change.

A cascade's shares are counted in a few rings of time buckets, one ring per window length. The
ring for a window of ``W`` seconds has buckets of ``W / 6`` seconds (10 s for the 1-minute window,
10 min for the 1-hour window) and keeps two windows of them plus the allowed lateness. So memory is
fixed per cascade (about 90 counts with the default windows, in one flat array of 32-bit integers;
the layout of the rings is shared by all cascades with the same windows), an update touches one bucket per
ring, and a share that arrives out of order but within the lateness lands in the bucket it belongs
to, exactly as if it had arrived in order.

Windows are aligned to buckets: the *latest window* at ``now_ms`` is the bucket holding ``now_ms``
plus the five buckets before it, and the rate divides its count by the time it actually covers,
from the start of its first bucket to ``now_ms``. The *previous window* is the six buckets before
that (exactly ``W`` long).
"""
from __future__ import annotations

from array import array
from typing import Any

#: Buckets per window. 6 keeps the rate within one sixth of a window of the exact sliding value
#: while the whole state of a cascade stays well under a kilobyte of JSON.
BUCKETS_PER_WINDOW = 6


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
_LAYOUTS: dict[tuple[tuple[int, ...], int], "_Layout"] = {}


class _Layout:
    """Where each window's ring lives in the flat counts array; shared by all estimators alike."""

    __slots__ = ("windows_s", "lateness_s", "lateness_ms", "index", "widths", "sizes", "offsets",
                 "total")

    def __init__(self, windows: tuple[int, ...], lateness_s: int):
        self.windows_s = windows
        self.lateness_s = lateness_s
        self.lateness_ms = lateness_s * 1000
        self.index = {w: k for k, w in enumerate(windows)}
        widths, sizes, offsets, total = [], [], [], 0
        for w in windows:
            width = w * 1000 // BUCKETS_PER_WINDOW
            # two windows for the acceleration, the lateness, and the partly filled head bucket
            size = 2 * BUCKETS_PER_WINDOW + -(-self.lateness_ms // width) + 1
            widths.append(width)
            sizes.append(size)
            offsets.append(total)
            total += size
        self.widths, self.sizes, self.offsets, self.total = tuple(widths), tuple(sizes), tuple(offsets), total


def _layout(windows: tuple[int, ...], lateness_s: int) -> _Layout:
    key = (windows, lateness_s)
    lay = _LAYOUTS.get(key)
    if lay is None:
        lay = _LAYOUTS[key] = _Layout(windows, lateness_s)
    return lay


class ShareVelocity:
    """Shares per minute of one cascade over sliding windows, with bounded memory.

    Parameters
    ----------
    windows_s
        Window lengths in seconds that :meth:`rate_per_min` and :meth:`acceleration_per_min2`
        can be asked about. Each must be a whole number of seconds divisible by 3 (so that it splits
        into 6 buckets of whole milliseconds).
    lateness_s
        How far behind the newest seen event time an event may arrive and still be counted. Older
        events are rejected by :meth:`learn_one` and counted in :attr:`late`.

    Examples
    --------
    >>> v = ShareVelocity(windows_s=(60, 300))
    >>> for t in (0, 10_000, 20_000, 65_000):
    ...     _ = v.learn_one(1_000_000 + t, followers=100)
    >>> v.shares, v.reach
    (4, 400)
    >>> v.rate_per_min(60, now_ms=1_069_999)   # 3 shares in the minute ending at now_ms
    3.0
    >>> v.learn_one(1_065_000 - 301_000)   # more than 5 minutes behind the newest share
    False
    >>> v.late
    1
    """

    __slots__ = ("_layout", "_heads", "_counts", "shares", "reach", "unknown_followers", "late",
                 "last_t_ms")

    def __init__(self, windows_s: tuple[int, ...] = (60, 300, 900, 3600), lateness_s: int = 300):
        windows = tuple(int(w) for w in windows_s)
        if not windows or any(w <= 0 for w in windows) or len(set(windows)) != len(windows):
            raise ValueError("windows_s must be distinct positive numbers of seconds")
        if any((w * 1000) % BUCKETS_PER_WINDOW for w in windows):
            raise ValueError(f"each window must split into {BUCKETS_PER_WINDOW} whole-millisecond buckets")
        if lateness_s < 0:
            raise ValueError("lateness_s must not be negative")
        self._layout = lay = _layout(windows, int(lateness_s))
        # newest bucket number held per ring, and the counts of all rings back to back
        self._heads = array("q", [_EMPTY]) * len(windows)
        self._counts = array("i", [0]) * lay.total
        self.shares = 0
        self.reach = 0
        self.unknown_followers = 0
        self.late = 0
        self.last_t_ms: int | None = None

    @property
    def windows_s(self) -> tuple[int, ...]:
        return self._layout.windows_s

    @property
    def lateness_s(self) -> int:
        return self._layout.lateness_s

    # -- learning ---------------------------------------------------------------------------

    def learn_one(self, t_ms: int, followers: int | None = None) -> bool:
        """Count one share at event time ``t_ms``; False (and counted in :attr:`late`) if too late."""
        last = self.last_t_ms
        lay = self._layout
        if last is not None and t_ms < last - lay.lateness_ms:
            self.late += 1
            return False
        if last is None or t_ms > last:
            self.last_t_ms = t_ms
        heads, counts = self._heads, self._counts
        for k in range(len(heads)):
            width, size, off = lay.widths[k], lay.sizes[k], lay.offsets[k]
            b = t_ms // width
            head = heads[k]
            if b > head:
                if b - head >= size:
                    for i in range(off, off + size):
                        counts[i] = 0
                else:
                    for j in range(head + 1, b + 1):
                        counts[off + j % size] = 0
                heads[k] = b
            # b <= head - size cannot happen: lateness is checked above and the ring is long enough
            counts[off + b % size] += 1
        self.shares += 1
        if followers is None:
            self.unknown_followers += 1
        else:
            self.reach += followers
        return True

    # -- answers ----------------------------------------------------------------------------

    def _ring(self, window_s: int) -> int:
        try:
            return self._layout.index[int(window_s)]
        except KeyError:
            raise ValueError(f"window {window_s} s is not one of {self.windows_s}") from None

    def _check_now(self, k: int, now_ms: int) -> int:
        b = now_ms // self._layout.widths[k]
        head = self._heads[k]
        if head != _EMPTY and b < head - (self._layout.sizes[k] - 2 * BUCKETS_PER_WINDOW):
            raise ValueError("now_ms is further behind the newest share than the lateness allows")
        return b

    def _sum(self, k: int, first: int, last: int) -> int:
        """Events in ring ``k``'s buckets ``first..last`` inclusive (absolute bucket numbers)."""
        head = self._heads[k]
        size, off = self._layout.sizes[k], self._layout.offsets[k]
        first = max(first, head - size + 1)
        last = min(last, head)
        counts = self._counts
        return sum(counts[off + b % size] for b in range(first, last + 1))

    def count(self, window_s: int, now_ms: int) -> int:
        """Shares in the latest window at ``now_ms`` (the bucket holding it and the 5 before)."""
        k = self._ring(window_s)
        b = self._check_now(k, now_ms)
        return self._sum(k, b - BUCKETS_PER_WINDOW + 1, b)

    def count_previous(self, window_s: int, now_ms: int) -> int:
        """Shares in the window before the latest one (the 6 buckets before those of :meth:`count`)."""
        k = self._ring(window_s)
        b = self._check_now(k, now_ms)
        return self._sum(k, b - 2 * BUCKETS_PER_WINDOW + 1, b - BUCKETS_PER_WINDOW)

    def rate_per_min(self, window_s: int, now_ms: int) -> float:
        """Shares per minute in the latest window of ``window_s`` seconds at ``now_ms``."""
        k = self._ring(window_s)
        b = self._check_now(k, now_ms)
        start_ms = (b - BUCKETS_PER_WINDOW + 1) * self._layout.widths[k]
        span_min = (now_ms - start_ms + 1) / 60_000.0  # +1: the window includes now_ms itself
        return self._sum(k, b - BUCKETS_PER_WINDOW + 1, b) / span_min

    def acceleration_per_min2(self, window_s: int, now_ms: int) -> float:
        """Change of the rate per minute: (latest rate - previous rate) / window length in minutes.

        Both rates are shares per minute over a window of ``window_s`` seconds; the previous window
        is the one just before the latest. Positive while a cascade speeds up.
        """
        prev = self.count_previous(window_s, now_ms)
        prev_rate = prev / (window_s / 60.0)
        return (self.rate_per_min(window_s, now_ms) - prev_rate) / (window_s / 60.0)

    # -- state ------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """A small JSON-safe dict; :meth:`from_state` rebuilds an estimator that answers the same."""
        return {
            "w": list(self.windows_s), "l": self.lateness_s, "n": self.shares, "r": self.reach,
            "u": self.unknown_followers, "late": self.late, "t": self.last_t_ms,
            "b": [self._newest_first(k) for k in range(len(self._heads))],
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> "ShareVelocity":
        v = cls(windows_s=tuple(d["w"]), lateness_s=d["l"])
        v.shares, v.reach, v.unknown_followers = d["n"], d["r"], d["u"]
        v.late, v.last_t_ms = d["late"], d["t"]
        lay = v._layout
        for k, (head, counts) in enumerate(d["b"]):
            if head is None:
                continue
            v._heads[k] = head
            size, off = lay.sizes[k], lay.offsets[k]
            for i, c in enumerate(counts):
                v._counts[off + (head - i) % size] = c
        return v

    def _newest_first(self, k: int) -> list:
        """``[head, counts from the head bucket backwards, trailing zeros dropped]`` (JSON form)."""
        head = self._heads[k]
        if head == _EMPTY:
            return [None, []]
        size = self._layout.sizes[k]
        out = [self._sum(k, head - i, head - i) for i in range(size)]
        while out and out[-1] == 0:
            out.pop()
        return [head, out]

    def __repr__(self) -> str:
        return f"ShareVelocity(shares={self.shares}, late={self.late}, last_t_ms={self.last_t_ms})"
