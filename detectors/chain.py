"""The detector chain: what happens to one decoded event, the same offline and in the stream.

:class:`PartitionProcessor` owns the cascades of one input partition and folds in that partition's
events in order: understand the text, update the cascade, decide, and return alerts. Time is the
events' time only; the watermark of a partition is its newest event time (an event dated after its
arrival in Kafka moves it only as far as that arrival). Every
``sweep_s`` of watermark it resolves alerts of cascades that cooled down and forgets cascades idle
for longer than ``expire_s``.

:class:`OfflineDetector` runs one processor per partition, routes each event the way Kafka's default
partitioner routes a message keyed by ``root_id`` (murmur2), and merges brand partials after every
event. A Faust worker fed the same events in the same order per partition therefore makes the same
decisions, which the integration tests check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from datetime import timedelta
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, MutableMapping, Sequence

from detectors.brand import BrandAggregator, BrandAlert, BrandPartials, BrandRules, add_to_bucket, merge_buckets
from detectors.cascade import RECENT_IDS, CascadeState, Decision, id_hash
from detectors.events import EPOCH, Event, Rejected
from detectors.language import normalise_hint
from detectors.state import NewerStateError
from detectors.understanding import RECOGNISED_LANGS, TextAnalysis, TextAnalyzer, analyze_many
from detectors.virality import ViralityThresholds

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ChainConfig:
    thresholds: ViralityThresholds = field(default_factory=ViralityThresholds)
    brand_rules: BrandRules = field(default_factory=BrandRules)
    lateness_s: int = 300
    max_future_s: int = 300
    cooldown_s: float = 3600.0
    quiet_s: float = 1800.0
    cool_ratio: float = 0.1
    sweep_s: int = 60
    expire_s: int = 72 * 3600
    #: A cascade that has ever alerted is kept at least this long after its last event (30 days,
    #: the alerts topic's retention): should it come back, its next incident continues its
    #: sequence, so an alert id never names two incidents on the topic. Before 2026-11-24 it was
    #: forgotten after ``expire_s`` like any other, and its next incident reused ``...:1``.
    alerted_expire_s: int = 30 * 24 * 3600

    def expire_after_s(self, alerted: bool) -> int:
        """How long a cascade is kept after its last event."""
        return max(self.expire_s, self.alerted_expire_s) if alerted else self.expire_s

    @property
    def clock_slack_s(self) -> int:
        """How far (s) an event may be dated after the clock of whoever processes it."""
        return max(CLOCK_SLACK_S, self.max_future_s)

    def clock_cap_ms(self, now_ms: int) -> int:
        """The latest arrival an event may claim when the wall clock of whoever processes it (the
        worker, an offline command) reads ``now_ms``: an event more than ``max_future_s`` after
        that, so more than :attr:`clock_slack_s` after the clock, is from the future."""
        return now_ms + (self.clock_slack_s - self.max_future_s) * 1000

    def reject_after_clock(self, t_ms: int, now_ms: int) -> None:
        """Raise ``from_the_future`` for an event dated after an offline command's clock ``now_ms``
        by more than the worker lets one be after its own: ``clock_cap_ms(now_ms)`` plus
        ``max_future_s``, so :attr:`clock_slack_s`."""
        slack_s = self.clock_slack_s
        if t_ms > now_ms + slack_s * 1000:
            raise Rejected("from_the_future", f"created_at {iso_ms(t_ms)} is more than {slack_s}s "
                                              f"after this command's clock {iso_ms(now_ms)}")


#: An event dated more than this after the clock of whoever processes it is rejected as
#: ``from_the_future``, whatever its record's timestamp says (seconds; at least ``max_future_s``).
#: Large enough that a worker whose own clock is a few minutes slow goes on, and well under the
#: quiet time that resolves alerts (an hour's slack let a producer 35 minutes ahead resolve them).
CLOCK_SLACK_S = 600


def iso_ms(t_ms: int) -> str:
    """ISO-8601 UTC with milliseconds, e.g. ``2026-11-22T10:00:00.000Z`` (decoding keeps event times
    within what it can write; anything else is written as the number, not raised)."""
    try:  # integer milliseconds, exactly (t_ms / 1000 as a float is off by one for far years)
        return (EPOCH + timedelta(milliseconds=t_ms)).isoformat(timespec="milliseconds")[:-6] + "Z"
    except (ValueError, OverflowError, TypeError):
        return f"{t_ms} ms"


_SEVERITY = {
    ("viral_complaint", "open"): "warning", ("viral_complaint", "escalated"): "critical",
    ("viral_praise", "open"): "info", ("viral_praise", "escalated"): "info",
}


def severity(alert_type: str, state: str) -> str:
    """Severity of a cascade alert in ``state``: complaints page, praise informs."""
    return _SEVERITY.get((alert_type, state), "info")


def cascade_alert(c: CascadeState, d: Decision, t_ms: int) -> dict[str, Any]:
    """The alert message for a cascade decision (the contract in ``schemas/alert.schema.json``)."""
    if d.state == "open" or not c.alert_type:
        # the type is decided when the alert opens and kept for its escalation and resolution,
        # even if later replies change what the cascade looks like
        kind = c.cascade_kind if c.cascade_kind != "other" else "complaint"
        c.alert_type = f"viral_{kind}"
    typ = c.alert_type
    alert_id = f"{typ}:{c.root_id}:{c.alert.seq}"
    return {
        "schema_version": SCHEMA_VERSION,
        "alert_id": alert_id,
        "transition_id": f"{alert_id}:{d.state}",
        "type": typ,
        "state": d.state,
        "severity": severity(typ, d.state),
        "root_id": c.root_id,
        "brand": c.brands[0] if c.brands else None,
        "brands": list(c.brands),
        "lang": c.root_lang,
        "platform": c.platform,
        "detected_at": iso_ms(t_ms),
        "detected_at_ms": t_ms,
        "opened_at": iso_ms(c.alert.opened_ms),
        "root_created_at": iso_ms(c.root_ms),
        "shares": c.shares,
        "quotes": c.quotes,
        "replies": c.replies,
        "reach": c.velocity.reach,
        "velocity_per_min": round(c.velocity_or_zero(t_ms), 3),
        "acceleration_per_min2": round(c.acceleration(t_ms), 3),
        "predicted_final_shares": _finite(d.forecast.final),
        "predicted_low": _finite(d.forecast.low),
        "predicted_high": _finite(d.forecast.high),
        "supercritical": bool(d.forecast.supercritical),
        "score": round(d.assessment.score, 4),
        "sentiment": round(c.sent if c.n_text else c.root_sentiment, 4),
        "complaint_score": round(c.compl if c.n_text else c.root_complaint, 4),
        "root_text": c.root_text if c.root_seen else None,
        "reason": d.assessment.reason,
    }


def brand_alert(a: BrandAlert) -> dict[str, Any]:
    alert_id = f"{a.type}:{a.brand}:{a.seq}"
    return {
        "schema_version": SCHEMA_VERSION,
        "alert_id": alert_id,
        "transition_id": f"{alert_id}:{a.state}",
        "type": a.type,
        "state": a.state,
        "severity": a.severity,
        "root_id": None,
        "brand": a.brand,
        "brands": [a.brand],
        "lang": None,
        "platform": None,
        "detected_at": iso_ms(a.t_ms),
        "detected_at_ms": a.t_ms,
        "opened_at": iso_ms(a.opened_ms) if a.opened_ms else None,
        "root_created_at": None,
        "shares": a.events,
        "quotes": None,
        "replies": None,
        "reach": None,
        "velocity_per_min": None,
        "acceleration_per_min2": None,
        "predicted_final_shares": None,
        "predicted_low": None,
        "predicted_high": None,
        "supercritical": False,
        "score": None,
        "sentiment": a.sentiment,
        "complaint_score": a.complaint_share,
        "root_text": None,
        "reason": a.reason,
    }


def _finite(x: float) -> float | None:
    return round(x, 1) if x == x and x not in (float("inf"), float("-inf")) else None


#: Events per call of an analyzer's ``analyze_many`` offline (``virality detect``).
BATCH_EVENTS = 1000


def precomputed(analyzer: TextAnalyzer, events: Sequence[Event],
                on_error: Callable[[Exception, int], None] | None = None) -> list[TextAnalysis | None]:
    """The analyses of the events' texts made in one ``analyze_many`` call when the analyzer has
    one (None for an event without text); all None otherwise, and each text is analysed when its
    event is processed, as before. Rejected events' texts may be analysed in vain: that is rare.

    If ``analyze_many`` raises, the texts are left to be analysed one by one (so one bad text costs
    its own event, as ``analysis_failed``, not the batch); ``on_error(exception, n_texts)`` is told.
    """
    out: list[TextAnalysis | None] = [None] * len(events)
    if getattr(analyzer, "analyze_many", None) is None:
        return out
    idx = [i for i, e in enumerate(events) if e.has_text]
    try:
        analyses = analyze_many(analyzer, [(events[i].text, events[i].lang) for i in idx])
    except Exception as exc:  # one bad text must not cost the batch: each is tried alone instead
        if on_error is not None:
            on_error(exc, len(idx))
        return out
    for i, a in zip(idx, analyses):
        out[i] = a
    return out


class PartitionProcessor:
    """Processes the events of one partition in order (see the module docstring).

    ``store`` maps root id to :class:`CascadeState`; the stream layer passes a cache that loads from
    and saves to a Faust table, offline it is a dict. ``on_change(root_id)`` is called whenever a
    cascade changed, so the stream layer knows what to write back.
    """

    def __init__(self, config: ChainConfig, analyzer: TextAnalyzer,
                 store: MutableMapping[str, CascadeState] | None = None,
                 on_change: Callable[[str], None] | None = None):
        self.config = config
        self.analyzer = analyzer
        self.store: MutableMapping[str, CascadeState] = store if store is not None else {}
        self.on_change = on_change or (lambda root_id: None)
        self.brands = BrandPartials(config.brand_rules.bucket_s)
        self.watermark_ms: int | None = None
        self.next_sweep_ms: int | None = None
        self.active_alerts: set[str] = set()
        self.brand_late = 0
        self.reapplied = 0
        #: source -> where its log ends now (the stream layer's consumer knows), or None: asked only
        #: for an event at or below its cascade's applied offset, to tell a re-read from a new log
        self.log_end: Callable[[str], int | None] | None = None
        #: source -> events applied although at or below their cascade's applied offset, because that
        #: offset lay past the end of the log (an input topic recreated under the same name)
        self.past_end: dict[str, int] = {}
        #: root id -> its brand contributions since the partials were last drained, merged into
        #: :attr:`brands` then (:meth:`drain_brands`): a cascade whose state is stored before the
        #: partials are reported (with an alert) keeps them in that state, so a crash in between
        #: loses none (its re-read events are then skipped as applied)
        self.unreported: dict[str, dict[str, dict[int, list]]] = {}
        #: (brand, lang) -> events since the stream layer last took them (for a metric)
        self.brand_counts: dict[tuple[str, str], int] = {}
        #: The language the last event :meth:`process` applied counts under (its text's, or its
        #: cascade's), for the worker's consumed-events metric.
        self.last_lang = "und"

    def analyze(self, event: Event, analysis: TextAnalysis | None = None) -> TextAnalysis:
        """Analyse an event's text (not blank: the caller checks), or check the ``analysis`` made
        for it beforehand (a batch of texts analysed at once)."""
        if analysis is None:
            try:
                analysis = self.analyzer.analyze(event.text, lang_hint=event.lang)
            except Exception as exc:  # a plugged-in model's error: this event is dead-lettered
                raise Rejected("analysis_failed", f"{type(self.analyzer).__name__}: "
                                                  f"{type(exc).__name__}: {str(exc)[:200]}") from exc
        if analysis.lang == "und" and event.lang and event.lang not in RECOGNISED_LANGS:
            raise Rejected("unknown_language", f"language {event.lang[:20]!r} is not recognised and the text does not tell")
        if not (-1.0 <= analysis.sentiment <= 1.0 and 0.0 <= analysis.complaint <= 1.0):   # (NaN too)
            # a plugged-in model's answer out of range: one NaN went into its brand's window sums
            # and baseline for good (no sentiment-drop alert since), and stored, it was unreadable
            raise Rejected("analysis_failed", f"{type(self.analyzer).__name__} returned sentiment "
                                              f"{analysis.sentiment!r} and complaint {analysis.complaint!r}; "
                                              f"they must be in [-1, 1] and [0, 1]")
        return analysis

    def process(self, event: Event, source: str | None = None, offset: int | None = None,
                arrival_ms: int | None = None, analysis: TextAnalysis | None = None) -> list[dict[str, Any]]:
        """Fold in one event; return the alerts it caused. Raises :class:`Rejected`.

        An unexpected error while processing the event (a bug it triggers, or a plugged-in model's
        malformed answer) costs that event, as ``internal_error`` with the error in the detail and
        as the exception's cause, not the worker: stopping would stop on the same event at every
        restart. The event may have been partly applied to its cascade before the error (counted
        as a share, its text not folded in).
        """
        try:
            return self._process(event, source, offset, arrival_ms, analysis)
        except (Rejected, NewerStateError):
            raise   # a state of a newer release is not this event's fault: the worker stops
        except Exception as exc:
            raise Rejected("internal_error", f"{type(exc).__name__}: {str(exc)[:300]}") from exc

    def _process(self, event: Event, source: str | None, offset: int | None,
                 arrival_ms: int | None, analysis: TextAnalysis | None) -> list[dict[str, Any]]:
        """:meth:`process` without the guard.

        ``analysis``: the analysis of the event's text when the caller made it beforehand (with
        :func:`~detectors.understanding.analyze_many`); otherwise it is made here, if needed.
        """
        # The per-event path: CascadeState's small checks (already_applied, is_duplicate,
        # remember) are inlined here; they stay the reference for what they do.
        cfg = self.config
        t_ms = event.t_ms
        if arrival_ms is not None and t_ms > arrival_ms + cfg.max_future_s * 1000:
            raise Rejected("from_the_future",
                           f"created_at {iso_ms(t_ms)} is more than {cfg.max_future_s}s after arrival {iso_ms(arrival_ms)}")
        root_id = event.root_id
        is_root = event.kind == "post"
        tracked = source is not None and offset is not None
        c = self.store.get(root_id)
        h = id_hash(event.id)
        if c is not None:
            if tracked and offset <= (applied := c.applied_offset(source)):
                end = self.log_end(source) if self.log_end is not None else None
                if end is None or applied < end:
                    self.reapplied += 1
                    return []
                # The cascade applied an offset this log has not reached: it came from an earlier
                # topic of the same name (deleted and recreated), so this event is new. Applied, and
                # its offset replaces the old one below (mark_applied).
                self.past_end[source] = self.past_end.get(source, 0) + 1
            if (is_root and c.root_seen) or h in c.recent:
                raise Rejected("duplicate", f"event {event.id[:80]!r} was already seen in cascade {root_id[:80]!r}")
        analysis = self.analyze(event, analysis) if event.has_text else None
        if c is None:
            c = CascadeState.new(event, cfg.lateness_s)
            self.store[root_id] = c
        if is_root:
            c.set_root(event, analysis)
            # also when shares came first (clock skew, a post delivered late): its followers are the
            # cascade's first exposure; before 2026-11-24 such a post was left out of the forecast
            c.forecast.learn_one(max(0.0, (t_ms - c.root_ms) / 1000.0), event.followers)
        elif not c.learn_share(event):
            c.mark_applied(source, offset)
            self.on_change(root_id)
            newest = c.velocity.last_t_ms or 0
            raise Rejected("too_late", f"created_at {iso_ms(t_ms)} is more than {c.velocity.lateness_s}s "
                                       f"behind the cascade's newest event {iso_ms(newest)}")
        if analysis is not None:
            c.fold_text(t_ms, analysis)
        if not c.root_seen:
            c.learn_unrooted(event, analysis)
        recent = c.recent
        recent.append(h)
        if len(recent) > RECENT_IDS:
            del recent[0]
        if tracked:
            c.mark_applied(source, offset)
        self.on_change(root_id)
        # the language the event counts under: its text's, as detected (a producer's tag is only a
        # hint), else its cascade's (a share)
        self.last_lang = (analysis.lang if analysis is not None
                          else c.root_lang if c.root_lang != "und" else normalise_hint(event.lang) or "und")

        # The partition's clock moves on to the event's time, but not past its arrival: an event
        # dated a few minutes ahead (accepted, within VIRALITY_MAX_FUTURE_S) moved it that far, and
        # the brand mentions that came after it on time were then late by as much (a reviewer: one
        # post 299 s ahead, then 60 posts 5 s old, all 60 left out of the brand windows).
        wm_t = t_ms if arrival_ms is None or t_ms <= arrival_ms else arrival_ms
        self._brand(t_ms, c, analysis, wm_t)
        alerts: list[dict[str, Any]] = []
        if not is_root or c.velocity.shares:
            d = c.decide(t_ms, cfg.thresholds, cfg.cooldown_s)
            if d is not None:
                at = max(t_ms, c.velocity.last_t_ms or 0)
                alerts.append(cascade_alert(c, d, at))
                if c.alert.escalate_opened(d.state, d.assessment.level, at, cfg.cooldown_s):
                    alerts.append(cascade_alert(c, d._replace(state="escalated"), at))   # (critical, pages)
                if c.alert.active:
                    self.active_alerts.add(c.root_id)
        wm = self.watermark_ms
        if wm is None or wm_t > wm:
            alerts.extend(self._advance(wm_t))
        return alerts

    def _brand(self, t_ms: int, c: CascadeState, analysis: TextAnalysis | None, wm_t: int) -> None:
        wm = self.watermark_ms
        if wm is not None and t_ms < wm - self.config.lateness_s * 1000:
            self.brand_late += 1
            return
        if analysis is None:  # a share, or a text-less reply: the cascade's brands and language
            brands, lang, sentiment, complaint = c.brands, c.root_lang, 0.0, False
        else:
            brands = list(dict.fromkeys(list(c.brands) + list(analysis.brands)))
            lang, sentiment, complaint = analysis.lang, analysis.sentiment, analysis.kind == "complaint"
        self.brands.observe(wm_t)   # any accepted event moves the partition's watermark
        if not brands:
            return
        counts = self.brand_counts
        has_text = analysis is not None
        # gathered per cascade (merged into the partition's partials when drained): see unreported
        mine = self.unreported.get(c.root_id)
        if mine is None:
            mine = self.unreported[c.root_id] = {}
        start = t_ms - t_ms % self.brands.bucket_ms
        for brand in brands:
            key = (brand, lang)
            counts[key] = counts.get(key, 0) + 1
            add_to_bucket(mine, brand, start, sentiment, complaint, has_text)

    def drain_brands(self) -> tuple[dict[str, dict[int, list]], int | None]:
        """The brand partials gathered since the last drain, and the watermark (to report); the
        cascades' :attr:`unreported` contributions are reported with them."""
        brands = self.brands
        for per_brand in self.unreported.values():
            brands.add_buckets(per_brand)
        self.unreported.clear()
        return brands.drain()

    def restore_unreported(self, root_id: str, per_brand: dict[str, dict[int, list]]) -> None:
        """Brand contributions a cascade's stored state kept because its partials were never reported
        (a crash between the state written with an alert and the next report): counted again."""
        merge_buckets(self.unreported.setdefault(root_id, {}), per_brand)

    def _advance(self, t_ms: int) -> list[dict[str, Any]]:
        """Move the watermark on to ``t_ms`` (newer than it: the caller checks) and sweep when due."""
        self.watermark_ms = t_ms
        step = self.config.sweep_s * 1000
        if self.next_sweep_ms is None:
            self.next_sweep_ms = t_ms - t_ms % step + step
            return []
        if t_ms < self.next_sweep_ms:
            return []
        self.next_sweep_ms = t_ms - t_ms % step + step
        return self.sweep(t_ms)

    def sweep(self, now_ms: int) -> list[dict[str, Any]]:
        """Resolve cooled-down alerts and forget idle cascades, at watermark ``now_ms``."""
        cfg = self.config
        out: list[dict[str, Any]] = []
        for root_id in sorted(self.active_alerts):
            c = self.store.get(root_id)
            if c is None or not c.alert.active:
                self.active_alerts.discard(root_id)
                continue
            d = c.maybe_resolve(now_ms, cfg.quiet_s, cfg.cool_ratio)
            if d is not None:
                out.append(cascade_alert(c, d, now_ms))
                self.active_alerts.discard(root_id)
                self.on_change(root_id)
        return out

    def expired(self, now_ms: int) -> list[str]:
        """Root ids of cascades idle for longer than ``expire_s`` at ``now_ms`` (not yet removed)."""
        horizon = now_ms - self.config.expire_s * 1000
        alerted = now_ms - self.config.expire_after_s(True) * 1000
        return [k for k, c in self.store.items()
                if c.last_ms < (alerted if c.alert.seq else horizon) and not c.alert.active]


# -- offline ---------------------------------------------------------------------------------------

def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (the Java client's and aiokafka's default partitioner)."""
    length = len(data)
    seed = 0x9747B28C
    m = 0x5BD1E995
    r = 24
    h = seed ^ length
    length4 = length // 4
    for i in range(length4):
        i4 = i * 4
        k = (data[i4] & 0xFF) + ((data[i4 + 1] & 0xFF) << 8) + ((data[i4 + 2] & 0xFF) << 16) + ((data[i4 + 3] & 0xFF) << 24)
        k = (k * m) & 0xFFFFFFFF
        k ^= (k % 0x100000000) >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    extra = length % 4
    if extra >= 3:
        h ^= (data[(length & ~3) + 2] & 0xFF) << 16
    if extra >= 2:
        h ^= (data[(length & ~3) + 1] & 0xFF) << 8
    if extra >= 1:
        h ^= data[length & ~3] & 0xFF
        h = (h * m) & 0xFFFFFFFF
    h ^= (h % 0x100000000) >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= (h % 0x100000000) >> 15
    return h


def partition_of_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for the message key ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@lru_cache(maxsize=65536)
def partition_for(root_id: str, partitions: int) -> int:
    """:func:`partition_of_key` for a root id (cached: the per-event path asks for few ids often)."""
    return partition_of_key(root_id.encode("utf-8"), partitions)


class OfflineDetector:
    """The whole chain without Kafka: ``partitions`` processors plus the brand aggregator."""

    def __init__(self, config: ChainConfig, analyzer: TextAnalyzer, partitions: int = 1,
                 now_ms: int | None = None):
        self.config = config
        self.analyzer = analyzer
        self.partitions = partitions
        #: the command's clock: events dated after it by more than the worker's slack are rejected as
        #: the worker would (``None``: no clock, nothing is from the future)
        self.now_ms = now_ms
        self._arrival_ms = config.clock_cap_ms(now_ms) if now_ms is not None else None
        self.processors = [PartitionProcessor(config, analyzer) for _ in range(partitions)]
        # offline, events come in global time order: every partition is always caught up
        self.brands = BrandAggregator(config.brand_rules, sources=[str(p) for p in range(partitions)])
        for p in range(partitions):
            self.brands.merge(str(p), {}, None, caught_up=True)
        self._close_step = -(1 << 62)
        self.rejected: dict[str, int] = {}

    def process(self, event: Event, analysis: TextAnalysis | None = None) -> list[dict[str, Any]]:
        p = partition_for(event.root_id, self.partitions) if self.partitions > 1 else 0
        proc = self.processors[p]
        try:
            if self.now_ms is not None:
                self.config.reject_after_clock(event.t_ms, self.now_ms)
            alerts = proc.process(event, arrival_ms=self._arrival_ms, analysis=analysis)
        except Rejected as r:
            self.rejected[r.reason] = self.rejected.get(r.reason, 0) + 1
            raise
        # Brand windows can only close when the newest watermark minus the lateness enters a new
        # bucket; merging every partition's partials just then gives the same windows as merging
        # after every event, for a fraction of the work.
        rules = self.config.brand_rules
        step = (event.t_ms - rules.lateness_s * 1000) // (rules.bucket_s * 1000)
        if step > self._close_step:
            self._close_step = step
            alerts.extend(brand_alert(a) for a in self.brands.merge_many(
                (str(q), *proc_q.drain_brands(), True) for q, proc_q in enumerate(self.processors)))
        return alerts

    def run(self, events: Iterable[Event],
            on_reject: Callable[[int, Event, Rejected], None] | None = None,
            on_progress: Callable[[int], None] | None = None,
            analyses: Iterator[Sequence[TextAnalysis | None]] | None = None) -> Iterable[dict[str, Any]]:
        """The alerts of ``events`` (in event-time order), in order; rejected events are skipped.

        ``on_reject(i, event, rejection)`` is told of each rejected event (``i``: its position in
        ``events``); ``on_progress(done)`` after each batch of :data:`BATCH_EVENTS` events.
        ``analyses``: the analyses of each batch's texts made elsewhere (one sequence per batch, one
        entry per event, None where the event is to analyse its own text, as :meth:`process` does).
        """
        it = iter(events)
        done = 0
        while chunk := list(islice(it, BATCH_EVENTS)):
            made = next(analyses) if analyses is not None else precomputed(self.analyzer, chunk)
            for i, (e, analysis) in enumerate(zip(chunk, made), done):
                try:
                    yield from self.process(e, analysis)
                except Rejected as r:
                    if on_reject is not None:
                        on_reject(i, e, r)
            done += len(chunk)
            if on_progress is not None:
                on_progress(done)
