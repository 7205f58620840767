"""Share velocity of one cascade: shares per minute over sliding windows, and their change.

A cascade's shares are counted in a few rings of time buckets, one ring per window length. The
ring for a window of ``W`` seconds has buckets of ``W / 6`` seconds (10 s for the 1-minute window,
10 min for the 1-hour window) and keeps two windows of them plus one bucket. So memory is fixed per
cascade (52 counts with the default windows, in one flat array; the layout of the rings is shared
by all cascades with the same windows). The array starts with one byte per count and is widened
to 16, 32 and then 64 bits the first time a bucket outgrows it: most cascades never have 256 shares
in one bucket, so most cost 52 bytes of counts, a busy one 104 or 208. Shares are added per *unit*, the
largest span that lies inside one bucket of every ring (10 s by default): shares of the same unit
are counted once and added to every ring together when the next unit starts or an answer is read.
A share that arrives out of order but within the lateness lands in the bucket it belongs to;
answers are given from the newest share's bucket on, so a late share older than the rings keep
lies outside every window that can still be asked about, and every answer is exact.

Windows are aligned to buckets: the *latest window* at ``now_ms`` is the bucket holding ``now_ms``
plus the five buckets before it, and the rate divides its count by the time it actually covers,
from the start of its first bucket to ``now_ms``. The *previous window* is the six buckets before
that (exactly ``W`` long).
"""
from __future__ import annotations

import math
from array import array
from typing import Any

#: Buckets per window. 6 keeps the rate within one sixth of a window of the exact sliding value
#: while the whole state of a cascade stays well under a kilobyte of JSON.
BUCKETS_PER_WINDOW = 6


#: Buckets per ring: two windows for the acceleration, and one more so that an answer may be asked
#: a bucket behind the newest share.
RING_SIZE = 2 * BUCKETS_PER_WINDOW + 1
#: No pending unit.
_EMPTY = -(1 << 62)
_LAYOUTS: dict[tuple[tuple[int, ...], int], "_Layout"] = {}
#: Widths of the counts array, narrowest first, and the next wider one of each.
_WIDER = {"B": "H", "H": "i", "i": "q"}
_MAX_COUNT = {"B": 255, "H": 65_535, "i": 2**31 - 1, "q": 2**63 - 1}


def _wide_enough(counts: array, value: int) -> array:
    """``counts``, or a wider copy of it if ``value`` does not fit its item type."""
    while value > _MAX_COUNT[counts.typecode]:
        counts = array(_WIDER[counts.typecode], counts)
    return counts


class _Layout:
    """Where each window's ring lives in the flat counts array; shared by all estimators alike."""

    __slots__ = ("windows_s", "lateness_s", "lateness_ms", "index", "widths", "total", "rings",
                 "unit_ms")

    def __init__(self, windows: tuple[int, ...], lateness_s: int):
        self.windows_s = windows
        self.lateness_s = lateness_s
        self.lateness_ms = lateness_s * 1000
        self.index = {w: k for k, w in enumerate(windows)}
        self.widths = tuple(w * 1000 // BUCKETS_PER_WINDOW for w in windows)
        # (bucket width, ring size, offset in the counts array) per window
        self.rings = tuple((width, RING_SIZE, k * RING_SIZE) for k, width in enumerate(self.widths))
        self.total = RING_SIZE * len(windows)
        # the largest span that lies inside one bucket of every ring: shares are added per unit
        self.unit_ms = math.gcd(*self.widths)


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

    __slots__ = ("_layout", "_counts", "_rt", "_pg", "_pn", "shares", "reach", "unknown_followers",
                 "late", "last_t_ms")

    def __init__(self, windows_s: tuple[int, ...] = (60, 300, 900, 3600), lateness_s: int = 300):
        windows = tuple(int(w) for w in windows_s)
        if not windows or any(w <= 0 for w in windows) or len(set(windows)) != len(windows):
            raise ValueError("windows_s must be distinct positive numbers of seconds")
        if any((w * 1000) % BUCKETS_PER_WINDOW for w in windows):
            raise ValueError(f"each window must split into {BUCKETS_PER_WINDOW} whole-millisecond buckets")
        if lateness_s < 0:
            raise ValueError("lateness_s must not be negative")
        self._layout = lay = _layout(windows, int(lateness_s))
        self._counts = array("B", bytes(lay.total))   # all rings back to back, widened as needed
        self._rt: int | None = None   # newest time applied to the rings (their heads derive from it)
        self._pg = _EMPTY             # the pending unit (number of a bucket of ``unit_ms``) ...
        self._pn = 0                  # ... and the shares in it not yet added to the rings
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

    @lateness_s.setter
    def lateness_s(self, value: int) -> None:
        """Change the allowed lateness (a new setting, for a cascade stored under the old one). The
        rings do not depend on it: only which later shares are accepted changes."""
        if value < 0:
            raise ValueError("lateness_s must not be negative")
        self._layout = _layout(self._layout.windows_s, int(value))

    # -- learning ---------------------------------------------------------------------------

    def learn_one(self, t_ms: int, followers: int | None = None) -> bool:
        """Count one share at event time ``t_ms``; False (and counted in :attr:`late`) if too late."""
        last = self.last_t_ms
        if last is None or t_ms > last:
            self.last_t_ms = t_ms
        elif t_ms < last - self._layout.lateness_ms:
            self.late += 1
            return False
        u = t_ms // self._layout.unit_ms
        if u == self._pg:
            self._pn += 1
        else:
            if self._pn:
                self._apply(self._pg, self._pn)
            self._pg = u
            self._pn = 1
        self.shares += 1
        if followers is None:
            self.unknown_followers += 1
        else:
            self.reach += followers
        return True

    def _apply(self, unit: int, n: int) -> None:
        """Add ``n`` shares of unit ``unit`` to every ring (a unit lies inside one bucket of each)."""
        t = unit * self._layout.unit_ms
        rt = self._rt
        counts = self._counts
        for width, size, off in self._layout.rings:
            b = t // width
            head = b if rt is None else rt // width
            if b > head:
                if b - head >= size:
                    for i in range(off, off + size):
                        counts[i] = 0
                else:
                    for j in range(head + 1, b + 1):
                        counts[off + j % size] = 0
            elif b <= head - size:
                continue  # older than any window a query can still ask about
            i = off + b % size
            try:
                counts[i] += n
            except OverflowError:  # the bucket outgrew the item type: widen the whole array
                counts = self._counts = _wide_enough(counts, counts[i] + n)
                counts[i] += n
        if rt is None or t > rt:
            self._rt = t

    def _settle(self) -> None:
        """Add the pending shares to the rings (before any answer is read from them)."""
        if self._pn:
            self._apply(self._pg, self._pn)
            self._pn = 0
            self._pg = _EMPTY

    # -- answers ----------------------------------------------------------------------------

    def _ring(self, window_s: int) -> int:
        try:
            return self._layout.index[int(window_s)]
        except KeyError:
            raise ValueError(f"window {window_s} s is not one of {self.windows_s}") from None

    def _check_now(self, k: int, now_ms: int) -> int:
        self._settle()
        width = self._layout.widths[k]
        b = now_ms // width
        if self._rt is not None and b < self._rt // width - 1:
            raise ValueError("now_ms is before the newest share's bucket: the windows are kept "
                             "only from the newest share on")
        return b

    def _sum(self, k: int, first: int, last: int) -> int:
        """Events in ring ``k``'s buckets ``first..last`` inclusive (absolute bucket numbers)."""
        if self._rt is None:
            return 0
        width, size, off = self._layout.rings[k]
        head = self._rt // width
        if first < head - size + 1:
            first = head - size + 1
        if last > head:
            last = head
        if first > last:
            return 0
        i, j = off + first % size, off + last % size
        counts = self._counts
        if i <= j:
            return sum(counts[i:j + 1])
        return sum(counts[i:off + size]) + sum(counts[off:j + 1])

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

    def count_pair(self, window_s: int, now_ms: int) -> tuple[int, int]:
        """``(count(window_s, now_ms), count_previous(window_s, now_ms))`` in one call."""
        k = self._ring(window_s)
        b = self._check_now(k, now_ms)
        return (self._sum(k, b - BUCKETS_PER_WINDOW + 1, b),
                self._sum(k, b - 2 * BUCKETS_PER_WINDOW + 1, b - BUCKETS_PER_WINDOW))

    def window_pairs(self, now_ms: int) -> list[tuple[int, int] | None]:
        """``count_pair(w, now_ms)`` for every window ``w`` of :attr:`windows_s`, in that order, in
        one pass; None for a window whose :meth:`count_pair` would refuse ``now_ms`` (further back
        than that window's rings are kept). The decision path reads all windows at once.

        >>> v = ShareVelocity(windows_s=(60, 300))
        >>> for t in (0, 10_000, 20_000, 65_000):
        ...     _ = v.learn_one(1_000_000 + t)
        >>> v.window_pairs(1_069_999)
        [(3, 1), (4, 0)]
        """
        self._settle()
        rt = self._rt
        out: list[tuple[int, int] | None] = []
        for k, width in enumerate(self._layout.widths):
            b = now_ms // width
            if rt is not None and b < rt // width - 1:  # what _check_now refuses
                out.append(None)
                continue
            out.append((self._sum(k, b - BUCKETS_PER_WINDOW + 1, b),
                        self._sum(k, b - 2 * BUCKETS_PER_WINDOW + 1, b - BUCKETS_PER_WINDOW)))
        return out

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
        self._settle()
        return {
            "w": list(self.windows_s), "l": self.lateness_s, "n": self.shares, "r": self.reach,
            "u": self.unknown_followers, "late": self.late, "t": self.last_t_ms,
            "b": [self._newest_first(k) for k in range(len(self.windows_s))],
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> "ShareVelocity":
        v = cls(windows_s=tuple(d["w"]), lateness_s=d["l"])
        v.shares, v.reach, v.unknown_followers = d["n"], d["r"], d["u"]
        v.late, v.last_t_ms = d["late"], d["t"]
        rings = v._layout.rings
        for k, (head, counts) in enumerate(d["b"]):
            if head is None:
                continue
            if v._rt is None:
                unit = v._layout.unit_ms
                v._rt = v.last_t_ms // unit * unit
            width, size, off = rings[k]
            oldest = v._rt // width - size
            if counts:
                v._counts = _wide_enough(v._counts, max(counts))
            for i, c in enumerate(counts):
                if head - i > oldest:
                    v._counts[off + (head - i) % size] = c
        return v

    def _newest_first(self, k: int) -> list:
        """``[head, counts from the head bucket backwards, trailing zeros dropped]`` (JSON form)."""
        if self._rt is None:
            return [None, []]
        width, size, off = self._layout.rings[k]
        head = self._rt // width
        ring, h = self._counts[off:off + size], head % size
        out = ring[h::-1].tolist() + ring[:h:-1].tolist()  # bucket head, head - 1, ... (wrapping)
        while out and out[-1] == 0:
            out.pop()
        return [head, out]

    def __repr__(self) -> str:
        return f"ShareVelocity(shares={self.shares}, late={self.late}, last_t_ms={self.last_t_ms})"
