"""Prometheus metrics of the worker: one ``virality_`` prefix, base units, bounded labels.

Labels are brand, language, kind, reason, type, state, severity, topic, partition and rank: never a
post or user id. The one exception is ``alert_id`` on the ``virality_alert_cascade_*`` gauges, which
exist only while an alert is open or escalated and are capped at :data:`MAX_ALERT_SERIES`, so that
the on-call board can follow one alert; the ``virality_alert_brand_*`` gauges do the same for the
brand alerts (every open one: at most two per tracked brand, so 2 x ``VIRALITY_MAX_BRANDS``), so that
Prometheus's brand rules mirror the worker's own decisions instead of deciding again with other
thresholds.

Counters and histograms are updated once per batch. Gauges that describe state (active cascades,
top cascades, brand windows, open alerts, consumer lag) come from :class:`StateCollector`, which
reads a snapshot the worker refreshes at every flush: the scrape runs in the HTTP server's thread and
must not walk dictionaries the event loop is changing.
"""
from __future__ import annotations

import platform
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from detectors.events import REASONS

VERSION = "0.1.0"
TOP_K = 10
MAX_ALERT_SERIES = 50

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class Snapshot:
    """Values for the scrape, replaced whole by the worker (never mutated after publishing)."""
    active_cascades: int = 0
    live_cascades: int = 0
    top: list[tuple[str, float, float, float]] = field(default_factory=list)     # brand, rate, shares, final
    # alert_id, type, brand, state, then velocity, shares, final, low, high
    alerts: list[tuple[str, str, str, str, float, float, float, float, float]] = field(default_factory=list)
    brands: dict[str, tuple[float, float]] = field(default_factory=dict)        # brand -> sentiment, complaint share
    # alert_id, type, brand, state, then complaints, texts, complaint share, mean sentiment (of the
    # window that last stepped the alert)
    brand_alerts: list[tuple[str, str, str, str, float, float, float, float]] = field(default_factory=list)
    open_alerts: dict[tuple[str, str], int] = field(default_factory=dict)       # (type, severity) -> n
    lag: dict[tuple[str, int], int] = field(default_factory=dict)               # (topic, partition) -> messages
    # events of brands beyond VIRALITY_MAX_BRANDS (since the state began); None until this worker
    # has loaded the brand state: then there is no series, not a 0 that would read as a reset
    brand_untracked: int | None = None
    last_event_s: float | None = None


class StateCollector(Collector):
    def __init__(self) -> None:
        self._snapshot = Snapshot()
        self._lock = threading.Lock()
        #: monotonic time of the last publish; None before the first (no age series then)
        self._published: float | None = None
        #: Seconds the worker has been restoring its tables (0 when it is not), read at each scrape:
        #: the snapshot is refreshed by a timer, and a worker stuck in recovery must still say so.
        self.recovery_seconds: Callable[[], float] = lambda: 0.0

    def publish(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            self._published = time.monotonic()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            s = self._snapshot
            published = self._published
        if published is not None:
            # read at the scrape (this thread), not published: it grows while the worker's event
            # loop is blocked (a text model that hangs, a stuck batch), when every other gauge here
            # keeps its last value, the lag included, and `up` stays 1
            yield GaugeMetricFamily("virality_state_age_seconds",
                                    "Seconds since the worker last refreshed its state gauges (every 5 s "
                                    "from its event loop); it grows while that loop is blocked.",
                                    value=time.monotonic() - published)
        yield GaugeMetricFamily("virality_active_cascades", "Cascades currently tracked by this worker.",
                                value=s.active_cascades)
        yield GaugeMetricFamily("virality_live_cascades",
                                "Cascades held in memory as objects; the others of virality_active_cascades "
                                "are kept only in their stored form until their next event.",
                                value=s.live_cascades)
        rate = GaugeMetricFamily("virality_top_cascade_velocity_per_min",
                                 "Share velocity (per minute, 5-minute window) of the top cascades by velocity.",
                                 labels=["rank", "brand"])
        shares = GaugeMetricFamily("virality_top_cascade_shares", "Shares seen so far of the top cascades.",
                                   labels=["rank", "brand"])
        final = GaugeMetricFamily("virality_top_cascade_predicted_final_shares",
                                  "Forecast final size of the top cascades.", labels=["rank", "brand"])
        for i, (brand, r, n, f) in enumerate(s.top[:TOP_K], 1):
            rate.add_metric([str(i), brand], r)
            shares.add_metric([str(i), brand], n)
            final.add_metric([str(i), brand], f)
        yield from (rate, shares, final)
        names = [("velocity_per_min", "Share velocity per minute"), ("shares", "Shares seen so far"),
                 ("predicted_final_shares", "Forecast final size"),
                 ("predicted_low", "Low end of the forecast interval"),
                 ("predicted_high", "High end of the forecast interval")]
        # past the cap, the alerts that page go first: complaints, escalated before open, then the
        # largest (before 2026-11-24 partition order: 50 open praise alerts hid an escalated complaint,
        # and ViralComplaint could not fire for it)
        yield from _alert_families("virality_alert_cascade_", [(n, f"{h} of a cascade with an open alert.")
                                                               for n, h in names],
                                   s.alerts, "viral_complaint", 5, MAX_ALERT_SERIES)   # (by shares)
        sent = GaugeMetricFamily("virality_brand_sentiment",
                                 "Mean sentiment [-1, 1] of the brand's texts over its last closed window (absent below 20 texts).",
                                 labels=["brand"])
        compl = GaugeMetricFamily("virality_brand_complaint_share",
                                  "Share of the brand's texts (posts, quotes, replies; not shares) that are complaints, last closed window (absent below 20 texts).",
                                  labels=["brand"])
        for brand, (se, co) in sorted(s.brands.items()):
            sent.add_metric([brand], se)
            compl.add_metric([brand], co)
        yield from (sent, compl)
        names = [("complaints", "Complaints about the brand in the window"),
                 ("texts", "Texts about the brand in the window"),
                 ("complaint_share", "Share of the brand's texts that are complaints in the window"),
                 ("sentiment", "Mean sentiment [-1, 1] of the brand's texts in the window")]
        yield from _alert_families("virality_alert_brand_", [(n, f"{h}, for a brand with an open alert "
                                                              "(its last closed window).") for n, h in names],
                                   s.brand_alerts, "complaint_storm", 4, None)
        # (no cap: a cap would leave out a different alert as the windows' counts change, which
        # Prometheus resolves and pages again; the brand windows bound them)
        opened = GaugeMetricFamily("virality_open_alerts", "Alerts currently open or escalated.",
                                   labels=["type", "severity"])
        for (typ, sev), n in sorted(s.open_alerts.items()):
            opened.add_metric([typ, sev], n)
        yield opened
        lag = GaugeMetricFamily("virality_kafka_consumer_lag_messages",
                                "Messages between the consumer position and the end of the partition.",
                                labels=["topic", "partition"])
        for (topic, part), n in sorted(s.lag.items()):
            lag.add_metric([topic, str(part)], n)
        yield lag
        if s.brand_untracked is not None:
            yield CounterMetricFamily("virality_brand_untracked_events",
                                      "Events of brands the brand windows did not track because "
                                      "VIRALITY_MAX_BRANDS brands were tracked already (read from the "
                                      "brand state: it survives restarts).", value=s.brand_untracked)
        yield GaugeMetricFamily("virality_table_recovery_seconds",
                                "Seconds this worker has been restoring its tables after a start or a "
                                "rebalance (0 when it is not); it processes no event meanwhile.",
                                value=self.recovery_seconds())
        if s.last_event_s is not None:
            yield GaugeMetricFamily("virality_last_event_timestamp_seconds",
                                    "Unix time at which the worker last processed an event.",
                                    value=s.last_event_s)


def _alert_families(prefix: str, names: list[tuple[str, str]], rows: list[tuple], pages: str,
                    size: int, cap: int | None) -> list[GaugeMetricFamily]:
    """One gauge per ``(name, help)`` over rows ``(alert_id, type, brand, state, *values)``, at most
    ``cap`` alerts (None: all): the alerts that page first (type ``pages``, escalated before open), then the
    largest ``row[size]``."""
    fams = [GaugeMetricFamily(f"{prefix}{n}", h, labels=["alert_id", "type", "brand", "state"]) for n, h in names]
    ranked = sorted(rows, key=lambda a: (a[1] != pages, a[3] != "escalated", -a[size], a[0]))
    for alert_id, typ, brand, state, *values in ranked[:cap]:
        for fam, v in zip(fams, values):
            fam.add_metric([alert_id, typ, brand, state], v)
    return fams


class BatchHistogram(Collector):
    """A histogram fed a batch at a time (``observe_many``), exposed at scrape time.

    prometheus_client's Histogram takes a lock per ``observe``; at tens of thousands of events a
    second that is a measurable share of the worker's time, so per-event values are counted here
    with a plain ``bisect`` and published under one lock per batch.
    """

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...], registry: CollectorRegistry):
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(float(b) for b in buckets)
        self._counts = [0] * (len(self.bounds) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, values: list[float]) -> None:
        if not values:
            return
        counts = [0] * (len(self.bounds) + 1)
        bounds = self.bounds
        for v in values:
            counts[bisect_left(bounds, v)] += 1
        total = sum(values)
        with self._lock:
            for i, c in enumerate(counts):
                self._counts[i] += c
            self._sum += total

    def observe(self, value: float) -> None:
        self.observe_many([value])

    def collect(self) -> Iterable[HistogramMetricFamily]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, buckets = 0, []
        for bound, c in zip(self.bounds + (float("inf"),), counts):
            cumulative += c
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        fam = HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=total)
        yield fam


class ReadCounter(Collector):
    """A counter whose value is read at scrape time from ``read`` (state kept elsewhere)."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]):
        self.name, self.documentation, self.read = name, documentation, read

    def collect(self) -> Iterable[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, value=float(self.read()))


class Metrics:
    """All of the worker's metrics, registered in ``registry`` (a fresh one per test)."""

    def __init__(self, registry: CollectorRegistry, faust_version: str = "unknown",
                 changelogs: Iterable[str] = (), config: str = "", app: str = "", inputs: Iterable[str] = ()):
        self.registry = registry
        self.consumed = Counter("virality_events_consumed", "Events accepted, by kind and language (detected from "
                                "the text; a share: its cascade's).",
                                ["kind", "lang"], registry=registry)
        self.rejected = Counter("virality_events_rejected", "Events sent to the dead-letter topic, by reason.",
                                ["reason"], registry=registry)
        # Every reason is exported from the start, at 0: Prometheus's increase() sees no increase in a
        # series that first appears at 1, so a single rejection would never fire an alert.
        for reason in REASONS:
            self.rejected.labels(reason)
        self.processing_lag = BatchHistogram("virality_processing_lag_seconds",
                                             "Event time to processing time, in seconds.",
                                             LAG_BUCKETS, registry)
        self.detection_latency = Histogram("virality_detection_latency_seconds",
                                           "Arrival in Kafka of the deciding event to the alert being sent.",
                                           buckets=LATENCY_BUCKETS, registry=registry)
        self.brand_events = Counter("virality_brand_events", "Events mentioning a brand, by brand and language.",
                                    ["brand", "lang"], registry=registry)
        self.brand_late = Counter("virality_brand_events_late", "Events accepted into their cascade but "
                                  "left out of the brand windows as too late (more than VIRALITY_LATENESS_S "
                                  "behind their partition's newest event: stage 'partition'; or behind the "
                                  "brand windows' closing time: stage 'windows'). A slow feed's brand "
                                  "mentions show here.", ["stage"], registry=registry)
        for stage in ("partition", "windows"):
            self.brand_late.labels(stage)
        self.alerts = Counter("virality_alerts", "Alert transitions sent, by type, state and severity.",
                              ["type", "state", "severity"], registry=registry)
        self.evicted = Counter("virality_cascades_evicted", "Idle cascades dropped from memory to their "
                               "stored form (they come back on their next event).", registry=registry)
        self.loaded = Counter("virality_cascades_loaded", "Cascades read back from their stored form (after "
                              "eviction, a restart or a rebalance): on their next event, or by the sweep "
                              "for an open alert.", registry=registry)
        self.expired = Counter("virality_cascades_expired", "Cascades forgotten after VIRALITY_EXPIRE_S of "
                               "event time without an event (a tombstone on the changelog).", registry=registry)
        self.reread = Counter("virality_events_reread", "Events skipped because their cascade had applied "
                              "them already (read again after a restart or a rebalance).", registry=registry)
        self.past_log_end = Counter("virality_events_past_log_end", "Events applied although their cascade "
                                    "had applied a higher offset of the same input topic and partition, "
                                    "one beyond where that partition now ends: the topic was deleted and "
                                    "recreated under the same name (or truncated). By topic.",
                                    ["topic"], registry=registry)
        for topic in inputs:  # at 0 from the start
            self.past_log_end.labels(topic)
        self.records_read = Counter("virality_kafka_records_read", "Records taken from the input topics, "
                                    "whatever became of them (accepted, rejected, forwarded, skipped as "
                                    "re-read), by topic and partition: the rate the consumer lag is worked "
                                    "off at. At 0 for each partition assigned to the worker.",
                                    ["topic", "partition"], registry=registry)
        self.states_unreadable = Counter("virality_states_unreadable", "Stored states (a cascade, the brand "
                                         "windows) this release could not read, moved to the dead-letter "
                                         "topic as state_unreadable, by table changelog topic.",
                                         ["topic"], registry=registry)
        for topic in changelogs:  # at 0 from the start, as the reasons above
            self.states_unreadable.labels(topic)
        self.analysed_ahead = Counter("virality_texts_analysed_ahead", "Texts analysed by the helper "
                                      "processes ahead of the agent (VIRALITY_ANALYSIS_PROCESSES).",
                                      registry=registry)
        self.build = Gauge("virality_build_info", "Build information (always 1); app: VIRALITY_APP_ID; config: "
                           "a fingerprint of the settings that decide alerts, the same on every worker of one app.",
                           ["version", "python", "faust", "app", "config"], registry=registry)
        self.build.labels(VERSION, platform.python_version(), faust_version, app, config).set(1)
        self.state = StateCollector()
        registry.register(self.state)
        #: Read at scrape time; the worker points it at its log filter's count (:mod:`streams.logs`).
        self.kafka_client_errors = ReadCounter(
            "virality_kafka_client_errors", "Errors the Kafka client logged (failed connections, fetches, "
            "sends), including repeats held back from the log.", lambda: 0)
        registry.register(self.kafka_client_errors)
