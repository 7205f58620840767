"""Brand-level windows: volume, complaint share and mean sentiment per brand, with anomaly alerts.

Events of one brand are spread over every partition (posts are partitioned by cascade), so the work
is split in two, the usual pre-aggregate-then-shuffle shape:

* :class:`BrandPartials`, one per input partition, folds each event into a fixed event-time bucket
  (``bucket_s``) per brand and hands out what it gathered with :meth:`BrandPartials.drain`, along
  with the partition's watermark (its newest event time).
* :class:`BrandAggregator`, one for all partitions, merges the partials. A bucket closes when every
  partition that has reported is past ``bucket end + lateness``; then the hopping window made of the
  last ``window_buckets`` buckets is compared with the brand's own baseline (an exponentially
  weighted mean of earlier windows) and alerts are stepped with :class:`~detectors.alerts.AlertLifecycle`.

Two rules, each against the brand's own history (with an absolute fallback while the brand has
fewer than ``min_history`` closed buckets):

* ``brand_sentiment_drop``: at least ``min_texts`` texts in the window and a mean sentiment at least
  ``drop`` below the baseline (fallback: below ``floor``).
* ``complaint_storm``: at least ``min_complaints`` complaints in the window and more than
  ``storm_factor`` times the baseline plus three standard deviations (Poisson): many small
  complaints, none of which need be viral.

>>> p = BrandPartials(bucket_s=300)
>>> p.add("sj", t_ms=10_000, sentiment=-0.8, complaint=True, has_text=True)
>>> p.drain()
({'sj': {0: [1, 1, -0.8, 1]}}, 10000)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

from detectors.alerts import AlertLifecycle
from detectors.state import read_state

#: Index of the fields of one bucket: events, texts, sentiment sum, complaints.
N, TEXTS, SENT, COMPLAINTS = 0, 1, 2, 3
BRAND_ALERT_TYPES = ("brand_sentiment_drop", "complaint_storm")
#: Sequence numbers of forgotten brands' alerts kept, per tracked brand (oldest dropped first).
RETIRED_KEEP_PER_BRAND = 4
#: Version of the stored form (:meth:`BrandAggregator.to_state`); see :mod:`detectors.state`.
STATE_VERSION = 1


@dataclass(frozen=True)
class BrandRules:
    bucket_s: int = 300
    window_buckets: int = 3
    lateness_s: int = 120
    min_texts: int = 20
    drop: float = 0.35
    floor: float = -0.35
    min_complaints: int = 15
    storm_factor: float = 3.0
    min_history: int = 6
    baseline_alpha: float = 0.1
    cooldown_s: float = 3600.0
    keep_buckets: int = 24
    #: Brands tracked at most. Brands come from producers' tags too, so their number is not ours to
    #: choose; the whole aggregator is one table value (about 1 KB per brand), and every closed
    #: bucket visits every brand. Beyond the limit, brands silent for the whole kept history
    #: (``keep_buckets``) with no open alert are forgotten; if none is, a new brand's events are
    #: counted in ``untracked`` and not tracked.
    max_brands: int = 500
    #: Brands always tracked and never forgotten (the configured ones): the limit is for the others.
    pinned: frozenset[str] = frozenset()


def add_to_bucket(buckets: dict[str, dict[int, list]], brand: str, start: int, sentiment: float,
                  complaint: bool, has_text: bool) -> None:
    """Count one event in ``buckets[brand][start]`` (``[n, texts, sentiment sum, complaints]``)."""
    per_brand = buckets.get(brand)
    if per_brand is None:
        per_brand = buckets[brand] = {}
    b = per_brand.get(start)
    if b is None:
        b = per_brand[start] = [0, 0, 0.0, 0]
    b[N] += 1
    if has_text:
        b[TEXTS] += 1
        b[SENT] += sentiment
    if complaint:
        b[COMPLAINTS] += 1


def merge_buckets(into: dict[str, dict[int, list]], per_brand: dict[str, dict[int, list]]) -> None:
    """Add ``per_brand`` (``{brand: {bucket start ms: [n, texts, sentiment sum, complaints]}}``)
    into ``into``, bucket by bucket."""
    for brand, buckets in per_brand.items():
        mine = into.setdefault(brand, {})
        for start, vals in buckets.items():
            add_bucket(mine, start, vals)


def add_bucket(buckets: dict[int, list], start: int, vals: list) -> None:
    """Add one bucket's values (``[n, texts, sentiment sum, complaints]``) to ``buckets[start]``."""
    b = buckets.get(start)
    if b is None:
        buckets[start] = list(vals)
    else:
        for i in range(4):
            b[i] += vals[i]


class BrandPartials:
    """Per-partition pre-aggregation of brand buckets (see the module docstring)."""

    __slots__ = ("bucket_ms", "_buckets", "watermark_ms")

    def __init__(self, bucket_s: int = 300):
        self.bucket_ms = bucket_s * 1000
        self._buckets: dict[str, dict[int, list]] = {}
        self.watermark_ms: int | None = None

    def observe(self, t_ms: int) -> None:
        """Advance the partition's watermark with any accepted event, branded or not."""
        if self.watermark_ms is None or t_ms > self.watermark_ms:
            self.watermark_ms = t_ms

    def add(self, brand: str, t_ms: int, sentiment: float, complaint: bool, has_text: bool) -> None:
        self.observe(t_ms)
        add_to_bucket(self._buckets, brand, t_ms - t_ms % self.bucket_ms, sentiment, complaint, has_text)

    def add_buckets(self, per_brand: dict[str, dict[int, list]]) -> None:
        """Add buckets gathered elsewhere (a cascade's contributions: see PartitionProcessor)."""
        merge_buckets(self._buckets, per_brand)

    def drain(self) -> tuple[dict[str, dict[int, list]], int | None]:
        """What was gathered since the last drain, and the watermark."""
        out, self._buckets = self._buckets, {}
        for per_brand in out.values():
            for b in per_brand.values():
                b[SENT] = round(b[SENT], 6)
        return out, self.watermark_ms


def _count(n: int, noun: str) -> str:
    """``1 text``, ``2 texts``, ``1,500 posts``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


class BrandAlert(NamedTuple):
    type: str
    brand: str
    state: str
    seq: int
    t_ms: int
    severity: str
    reason: str
    events: int
    texts: int
    sentiment: float
    complaint_share: float
    complaints: int
    opened_ms: int = 0     # when the incident opened (event time)


class BrandAggregator:
    """Merges :class:`BrandPartials` from every partition and decides brand alerts."""

    def __init__(self, rules: BrandRules = BrandRules(), sources: Iterable[str] = ()):
        self.rules = rules
        self.sources = sorted(sources)                     # every partition that will report
        #: source -> False, or for a partition caught up, the newest watermark of any partition
        #: when it said so (-1 if none then): it holds the windows back to there (True, stored by a
        #: release before 2026-11-24: to the newest watermark)
        self.caught_up: dict[str, bool | int] = {}
        self.buckets: dict[str, dict[int, list]] = {}     # open buckets
        self.closed: dict[str, list[list]] = {}           # last closed buckets, oldest first: [start, n, texts, sent, compl]
        self.baseline: dict[str, list[float]] = {}        # ewma [n, complaints, sentiment mean, n_history]
        self.alerts: dict[str, AlertLifecycle] = {}
        self.watermarks: dict[str, int] = {}
        self.closed_until = -1                             # every bucket starting before this is closed
        self.late = 0
        #: whether the last merge changed anything (a caught-up partition repeating itself while
        #: nothing moves does not: its report need not be stored)
        self.changed = False
        self.untracked = 0                                 # events of brands beyond rules.max_brands
        self.offsets: dict[str, int] = {}
        #: alert key -> sequence number of its last alert, for brands forgotten (``_forget_silent``)
        self.retired: dict[str, int] = {}
        #: the highest sequence number let go from ``retired``: alerts of unknown keys start above it
        self.retired_floor = 0

    def merge(self, source: str, partials: dict[str, dict[int, list]], watermark_ms: int | None,
              caught_up: bool = False) -> list[BrandAlert]:
        """Fold in one partition's partials and watermark; return the alerts of buckets that closed.

        ``caught_up`` says the partition has nothing more to read right now: it holds the windows
        back no further than the newest watermark of any partition *at that moment* (Flink calls
        this idleness), so a quiet partition does not stall every brand alert. Not the newest
        watermark later: another worker's partitions may move on before this partition's worker
        reports again, and its events from then on must not arrive late (so a caught-up partition
        is reported again at every flush).
        """
        return self.merge_many([(source, partials, watermark_ms, caught_up)])

    def merge_many(self, reports: Iterable[tuple[str, dict, int | None, bool]]) -> list[BrandAlert]:
        """Fold in several partitions' reports made at the same moment, then close what can close.

        All partials go in before any watermark moves, so one partition far ahead cannot close a
        window that another partition's report in the same batch still adds to.
        """
        reports = list(reports)
        changed = False
        for source, partials, _, _ in reports:
            if partials:
                changed = True
                self._add(partials)
        for source, _, watermark_ms, _ in reports:
            if watermark_ms is not None and watermark_ms > self.watermarks.get(source, -1):
                self.watermarks[source] = watermark_ms
                changed = True
        newest = max(self.watermarks.values(), default=-1)
        for source, _, _, caught_up in reports:
            up = newest if caught_up else False
            if self.caught_up.get(source) != up:
                self.caught_up[source] = up
                changed = True
        closed_before = self.closed_until
        alerts = self._close()
        self.changed = changed or alerts != [] or self.closed_until != closed_before
        return alerts

    def set_sources(self, sources: Iterable[str]) -> list[str]:
        """Make ``sources`` every partition that reports (after the partition count changed);
        forget what the others said, since a partition that no longer exists would hold the
        windows open for ever. Returns the sources forgotten."""
        self.sources = sorted(sources)
        keep = set(self.sources)
        gone = sorted((self.watermarks.keys() | self.caught_up.keys()) - keep)
        for src in gone:
            self.watermarks.pop(src, None)
            self.caught_up.pop(src, None)
        return gone

    def tracked(self) -> set[str]:
        """The brands this aggregator keeps anything for."""
        return self.buckets.keys() | self.closed.keys() | self.baseline.keys()

    def _add(self, partials: dict[str, dict[int, list]]) -> None:
        tracked = None
        for brand, per_bucket in partials.items():
            if brand not in self.buckets and brand not in self.closed and brand not in self.baseline:
                tracked = self.tracked() if tracked is None else tracked
                if len(tracked) >= self.rules.max_brands and brand not in self.rules.pinned:
                    self.untracked += sum(vals[N] for vals in per_bucket.values())
                    continue
                tracked.add(brand)
            mine = self.buckets.setdefault(brand, {})
            for start, vals in per_bucket.items():
                start = int(start)
                if start < self.closed_until:
                    self.late += vals[N]
                    continue
                add_bucket(mine, start, vals)

    def _close(self) -> list[BrandAlert]:
        if not self.watermarks:
            return []
        newest = max(self.watermarks.values())
        if self.closed_until >= 0 and newest - self.rules.lateness_s * 1000 < self.closed_until + self.rules.bucket_s * 1000:
            return []  # nothing can close before the newest watermark passes the next bucket
        marks = []
        for src in set(self.sources) | set(self.caught_up):
            up = self.caught_up.get(src, False)
            if up is True:  # (stored by an older release)
                marks.append(newest)
            elif up is not False:
                marks.append(max(up, self.watermarks.get(src, -1)))
            elif src in self.watermarks:
                marks.append(self.watermarks[src])
            else:
                return []  # a partition that has not reported yet may still hold old events
        bucket_ms = self.rules.bucket_s * 1000
        low = min(marks) - self.rules.lateness_s * 1000
        if low < 0:
            return []
        close_until = (low // bucket_ms) * bucket_ms  # buckets starting before this have ended by `low`
        if close_until <= self.closed_until:
            return []
        starts = [s for per in self.buckets.values() for s in per if s < close_until]
        t = self.closed_until if self.closed_until >= 0 else (min(starts) if starts else close_until)
        alerts: list[BrandAlert] = []
        # every bucket start in order, empty ones included, so the windows stay contiguous
        idle = 0
        while t < close_until:
            brands = sorted(set(self.buckets) | set(self.closed))
            busy = False
            for brand in brands:
                vals = self.buckets.get(brand, {}).pop(t, None)
                busy = busy or vals is not None
                alerts.extend(self._close_bucket(brand, t, vals))
            idle = 0 if busy else idle + 1
            t += bucket_ms
            if idle > self.rules.keep_buckets:
                # a long silence: every window is empty from here on, skip to the next data; the
                # baselines learn from the skipped empty windows as if each were closed (before
                # 2026-11-24 they did not, so the same events gave other baselines and alerts when
                # a silence was closed in one call rather than bucket by bucket)
                pending = [s for per in self.buckets.values() for s in per if s >= t]
                skip_to = max(t, min(min(pending) if pending else close_until, close_until))
                self._learn_empty(int((skip_to - t) // bucket_ms))
                t = skip_to
                idle = 0
        self.closed_until = close_until
        for brand in [b for b, per in self.buckets.items() if not per]:
            del self.buckets[brand]
        if len(self.tracked()) >= self.rules.max_brands:
            self._forget_silent()
        return alerts

    def _learn_empty(self, k: int) -> None:
        """The baselines' update from ``k`` empty windows, the same arithmetic as :meth:`_close_bucket`
        does for each (bit for bit: detect and the worker close windows in different chunks). It
        stops early once an update leaves both counts as they are (they end on the smallest
        float, not on 0.0), which every further one does too: some thousands of steps at most
        (about 7,000 at the default alpha of 0.1)."""
        if k <= 0:
            return
        a = self.rules.baseline_alpha
        for brand, base in self.baseline.items():
            if brand not in self.closed:
                continue   # (_close_bucket sees no brand without history)
            for _ in range(k):
                n0 = base[0] + a * (0 - base[0])
                n1 = base[1] + a * (0 - base[1])
                if n0 == base[0] and n1 == base[1]:
                    break
                base[0], base[1] = n0, n1
            base[3] += k

    def _forget_silent(self) -> None:
        """Forget the brands with no event in the whole kept history and no open alert."""
        for brand in list(self.closed.keys() | self.baseline.keys()):
            hist = self.closed.get(brand, ())
            if (brand in self.buckets or brand in self.rules.pinned or len(hist) < self.rules.keep_buckets
                    or any(h[1] for h in hist)):
                continue
            keys = [k for k in (f"{kind}:{brand}" for kind in BRAND_ALERT_TYPES) if k in self.alerts]
            if any(self.alerts[k].active for k in keys):
                continue
            self.closed.pop(brand, None)
            self.baseline.pop(brand, None)
            for k in keys:
                # its next alert must not repeat an id already sent: keep the sequence number
                self.retired[k] = self.alerts.pop(k).seq
        while len(self.retired) > RETIRED_KEEP_PER_BRAND * self.rules.max_brands:
            oldest = next(iter(self.retired))             # the longest forgotten first
            self.retired_floor = max(self.retired_floor, self.retired.pop(oldest))

    def _close_bucket(self, brand: str, start: int, vals: list | None) -> list[BrandAlert]:
        r = self.rules
        hist = self.closed.setdefault(brand, [])
        if vals is None and not hist:
            return []
        row = [start] + (list(vals) if vals is not None else [0, 0, 0.0, 0])
        hist.append(row)
        if len(hist) > r.keep_buckets:
            del hist[0]
        window = [h for h in hist if h[0] > start - r.window_buckets * r.bucket_s * 1000]
        n = sum(h[1] for h in window)
        texts = sum(h[2] for h in window)
        sent_sum = sum(h[3] for h in window)
        compl = sum(h[4] for h in window)
        mean_sent = sent_sum / texts if texts else 0.0
        # of the texts (posts, quotes, replies that say something): a share says nothing of its own
        share = compl / texts if texts else 0.0
        end_ms = start + r.bucket_s * 1000

        base = self.baseline.get(brand)
        history = int(base[3]) if base else 0
        out: list[BrandAlert] = []

        # sentiment drop
        if history >= r.min_history:
            sent_line = base[2] - r.drop
            sent_why = f"baseline {base[2]:+.2f}"
        else:
            sent_line = r.floor
            sent_why = f"floor {r.floor:+.2f} (no baseline yet)"
        # A drop opens on at least min_texts texts. Once open, fewer texts still tell: it holds while
        # they stay below the line (a lull in volume is not a recovery: resolved, it could not reopen
        # within the cooldown when the texts come back) and ends when they rise above it, or when no
        # text is left at all.
        life = self.alerts.get(f"brand_sentiment_drop:{brand}")
        if texts >= r.min_texts or (texts and life is not None and life.active):
            drop_level = 1 if mean_sent <= sent_line else 0
            ended = "back to normal"
        else:
            drop_level = 0
            ended = "no texts left to tell"
        out += self._step(brand, "brand_sentiment_drop", drop_level, end_ms, "warning",
                          f"mean sentiment {mean_sent:+.2f} over {_count(texts, 'text')} in the last "
                          f"{r.window_buckets * r.bucket_s // 60} min, {sent_why}",
                          n, texts, mean_sent, share, compl, ended)

        # complaint storm
        expected = base[1] if history >= r.min_history else 0.0
        storm_line = max(r.min_complaints, r.storm_factor * expected + 3.0 * math.sqrt(expected))
        storm_level = 1 if compl >= storm_line else 0
        if storm_level and compl >= 2 * storm_line:
            storm_level = 2
        out += self._step(brand, "complaint_storm", storm_level, end_ms, "warning",
                          f"{_count(compl, 'complaint')} ({share:.0%} of {_count(texts, 'text')}, "
                          f"{_count(n, 'event')} in all) in the last "
                          f"{r.window_buckets * r.bucket_s // 60} min, expected about {expected:.1f}",
                          n, texts, mean_sent, share, compl,
                          # (not "back to normal": 11 complaints where 0 are expected is below the
                          # line of 15, not normal)
                          f"below the storm line of {storm_line:.0f} complaints")

        # baseline learns from windows that were not anomalous, so a storm does not become normal
        if not drop_level and not storm_level:
            a = r.baseline_alpha
            if base is None:
                self.baseline[brand] = [float(n), float(compl), mean_sent if texts else 0.0, 1.0]
            else:
                base[0] += a * (n - base[0])
                base[1] += a * (compl - base[1])
                if texts:
                    base[2] += a * (mean_sent - base[2])
                base[3] += 1
        return out

    def _step(self, brand, kind, level, t_ms, severity, reason, n, texts, sent, share, compl,
              ended="back to normal"):
        key = f"{kind}:{brand}"
        life = self.alerts.get(key)
        if life is None:
            life = self.alerts[key] = AlertLifecycle()
            # a brand forgotten before goes on counting; one whose number was let go, or a new one,
            # starts above every number let go, so no alert id is ever sent twice
            life.seq = self.retired.pop(key, self.retired_floor)
        if level:
            state = life.step(level, t_ms, self.rules.cooldown_s)
        else:
            state = life.resolve(t_ms)
            if state:
                reason = f"{ended}: {reason}"
        if state is None:
            return []
        sev = "critical" if state == "escalated" else ("info" if state == "resolved" else severity)
        out = [BrandAlert(kind, brand, state, life.seq, t_ms, sev, reason, n, texts, round(sent, 4),
                          round(share, 4), compl, life.opened_ms)]
        if life.escalate_opened(state, level, t_ms, self.rules.cooldown_s):   # (not 5 minutes later)
            out.append(out[0]._replace(state="escalated", severity="critical"))
        return out

    def current(self, brand: str) -> tuple[float, float, int, int] | None:
        """(mean sentiment, complaint share of the texts, events, texts) over the brand's last closed
        window."""
        hist = self.closed.get(brand)
        if not hist:
            return None
        r = self.rules
        last = hist[-1][0]
        window = [h for h in hist if h[0] > last - r.window_buckets * r.bucket_s * 1000]
        n = sum(h[1] for h in window)
        texts = sum(h[2] for h in window)
        return ((sum(h[3] for h in window) / texts) if texts else 0.0,
                (sum(h[4] for h in window) / texts) if texts else 0.0, n, texts)

    def to_state(self) -> dict[str, Any]:
        return {"b": {k: {str(s): v for s, v in per.items()} for k, per in self.buckets.items()},
                "c": self.closed, "bl": self.baseline,
                "a": {k: v.to_state() for k, v in self.alerts.items()},
                "w": self.watermarks, "cu": self.closed_until, "l": self.late, "u": self.untracked,
                "o": self.offsets,
                "src": self.sources, "up": self.caught_up, "rt": self.retired, "rf": self.retired_floor,
                "_v": STATE_VERSION}

    @classmethod
    def from_state(cls, d: dict[str, Any], rules: BrandRules = BrandRules()) -> "BrandAggregator":
        """The aggregator of a :meth:`to_state` state; :class:`~detectors.state.StateError` if ``d``
        is not one (:class:`~detectors.state.NewerStateError` if a newer release wrote it)."""
        return read_state(d, STATE_VERSION, "brand windows", lambda state: cls._from_state(state, rules))

    @classmethod
    def _from_state(cls, d: dict[str, Any], rules: BrandRules) -> "BrandAggregator":
        agg = cls(rules)
        agg.buckets = {k: {int(s): v for s, v in per.items()} for k, per in d["b"].items()}
        agg.closed, agg.baseline = d["c"], d["bl"]
        agg.alerts = {k: AlertLifecycle.from_state(v) for k, v in d["a"].items()}
        agg.watermarks, agg.closed_until, agg.late, agg.offsets = d["w"], d["cu"], d["l"], d["o"]
        agg.untracked = d.get("u", 0)  # (states stored before the limit have none)
        agg.sources, agg.caught_up = d["src"], d["up"]
        agg.retired = d.get("rt", {})  # (states stored before 2026-11-23 have none)
        agg.retired_floor = d.get("rf", 0)
        return agg
