"""Our metrics, in a fresh registry per test, as Prometheus would scrape them."""
from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.metrics import LAG_BUCKETS, TOP_K, BatchHistogram, Metrics, Snapshot
from streams.settings import Settings


def samples(registry: CollectorRegistry) -> dict[tuple, float]:
    out = {}
    for fam in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_batch_histogram_equals_prometheus_histogram() -> None:
    values = [random.Random(1).expovariate(0.01) for _ in range(500)] + [0.05, 1.0, 86400.0]
    r1, r2 = CollectorRegistry(), CollectorRegistry()
    ours = BatchHistogram("lag_seconds", "x", LAG_BUCKETS, r1)
    ref = Histogram("lag_seconds", "x", buckets=LAG_BUCKETS, registry=r2)
    ours.observe_many(values[:200])
    ours.observe_many(values[200:])
    for v in values:
        ref.observe(v)
    a = {k: v for k, v in samples(r1).items() if not k[0].endswith("_created")}
    b = {k: v for k, v in samples(r2).items() if not k[0].endswith("_created")}
    assert a.keys() == b.keys()
    for k in a:
        assert abs(a[k] - b[k]) < 1e-6 * max(1.0, abs(b[k])), k


def test_names_units_and_bounded_labels() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg, faust_version="0.0")
    m.consumed.labels("share", "sv").inc(3)
    m.rejected.labels("malformed_json").inc()
    m.alerts.labels("viral_complaint", "open", "warning").inc()
    m.state.publish(Snapshot(active_cascades=7, live_cascades=3, top=[("sj", 12.5, 300.0, 2000.0)] * (TOP_K + 5),
                             alerts=[("viral_complaint:p1:1", "viral_complaint", "sj", "open", 12.5, 300.0, 2000.0, 1500.0, 3000.0)],
                             brands={"sj": (-0.4, 0.6)}, open_alerts={("viral_complaint", "warning"): 1},
                             lag={("posts", 0): 42}, last_event_s=1.7e9, brand_untracked=5))
    s = samples(reg)
    assert s[("virality_brand_untracked_events_total", ())] == 5
    m.state.publish(Snapshot())   # brand state not loaded here (yet): no series, not a reset to 0
    assert not any(k[0].startswith("virality_brand_untracked") for k in samples(reg))
    assert s[("virality_events_consumed_total", (("kind", "share"), ("lang", "sv")))] == 3
    assert s[("virality_events_rejected_total", (("reason", "malformed_json"),))] == 1
    assert s[("virality_active_cascades", ())] == 7
    assert s[("virality_live_cascades", ())] == 3
    assert s[("virality_kafka_consumer_lag_messages", (("partition", "0"), ("topic", "posts")))] == 42
    assert s[("virality_brand_complaint_share", (("brand", "sj"),))] == 0.6
    assert s[("virality_alert_cascade_predicted_final_shares",
              (("alert_id", "viral_complaint:p1:1"), ("brand", "sj"), ("state", "open"), ("type", "viral_complaint")))] == 2000.0
    ranks = {dict(k[1])["rank"] for k in s if k[0] == "virality_top_cascade_velocity_per_min"}
    assert ranks == {str(i) for i in range(1, TOP_K + 1)}        # top-k stays bounded
    assert any(k[0] == "virality_build_info" for k in s)
    for name, labels in s:
        assert name.startswith("virality_")
        assert not any(k in ("root_id", "post_id", "user", "author") for k, _ in labels)


def test_past_the_alert_series_cap_the_alerts_that_page_are_exported_first() -> None:
    """Past MAX_ALERT_SERIES open alerts, the escalated complaint must still have its series (the
    ViralComplaint rule reads them); before 2026-11-24 the first 50 in partition order were kept."""
    from streams.metrics import MAX_ALERT_SERIES

    reg = CollectorRegistry()
    m = Metrics(reg, faust_version="0.0")
    praise = [(f"viral_praise:p{i}:1", "viral_praise", "ikea", "open", 5.0, 900.0 + i, 1200.0, 1000.0, 2000.0)
              for i in range(MAX_ALERT_SERIES)]
    complaints = [("viral_complaint:c1:1", "viral_complaint", "sj", "open", 9.0, 300.0, 1500.0, 900.0, 3000.0),
                  ("viral_complaint:c2:1", "viral_complaint", "sj", "escalated", 30.0, 200.0, 9000.0, 6000.0, 20000.0)]
    m.state.publish(Snapshot(alerts=praise + complaints))
    exported = [dict(k[1]) for k in samples(reg) if k[0] == "virality_alert_cascade_shares"]
    assert len(exported) == MAX_ALERT_SERIES
    ids = {e["alert_id"] for e in exported}
    assert {"viral_complaint:c1:1", "viral_complaint:c2:1"} <= ids
    assert "viral_praise:p0:1" not in ids and "viral_praise:p49:1" in ids   # then the largest praise


def test_every_open_brand_alert_is_exported() -> None:
    """The brand rules mirror these series: a brand alert left out is resolved by Prometheus and
    paged again when it is back in. A cap of 200 (9a4a36e) left out every sentiment drop past 200
    storms, and a different storm at each window as their counts changed (found by a review)."""
    reg = CollectorRegistry()
    m = Metrics(reg, faust_version="0.0")
    max_brands = Settings.from_env({}).max_brands
    storms = [(f"complaint_storm:b{i}:1", "complaint_storm", f"b{i}", "escalated" if i % 7 == 0 else "open",
               float(15 + i % 40), 30.0, 0.5, -0.2) for i in range(max_brands)]
    drops = [(f"brand_sentiment_drop:b{i}:1", "brand_sentiment_drop", f"b{i}", "open", 0.0, 25.0, 0.0, -0.6)
             for i in range(max_brands)]
    m.state.publish(Snapshot(brand_alerts=storms + drops))
    exported = {dict(k[1])["alert_id"]: v for k, v in samples(reg).items() if k[0] == "virality_alert_brand_complaints"}
    assert len(exported) == 2 * max_brands
    assert exported["complaint_storm:b7:1"] == 22.0 and exported["brand_sentiment_drop:b499:1"] == 0.0
    assert reg.get_sample_value("virality_alert_brand_sentiment", {
        "alert_id": "complaint_storm:b7:1", "type": "complaint_storm", "brand": "b7", "state": "escalated"}) == -0.2


def test_table_recovery_seconds_is_read_at_scrape_time() -> None:
    import types

    from streams.app import recovery_seconds

    registry = CollectorRegistry()
    metrics = Metrics(registry)
    assert registry.get_sample_value("virality_table_recovery_seconds") == 0.0
    app = types.SimpleNamespace(in_recovery=True,
                                tables=types.SimpleNamespace(recovery=types.SimpleNamespace(_recovery_started_at=100.0)))
    now = [250.0]
    metrics.state.recovery_seconds = lambda: recovery_seconds(app, now[0])
    assert registry.get_sample_value("virality_table_recovery_seconds") == 150.0
    now[0] = 1300.0   # nothing republished: the scrape itself reads the clock and the app
    assert registry.get_sample_value("virality_table_recovery_seconds") == 1200.0
    app.in_recovery = False
    assert registry.get_sample_value("virality_table_recovery_seconds") == 0.0
    app.in_recovery = True
    app.tables.recovery._recovery_started_at = None   # marked, but its start not yet recorded
    assert registry.get_sample_value("virality_table_recovery_seconds") == 0.0
    assert recovery_seconds(types.SimpleNamespace(in_recovery=True), 5.0) == 0.0  # no table manager


def test_faust_still_keeps_the_recovery_state_the_gauge_reads() -> None:
    # recovery_seconds reads Faust internals; a Faust upgrade that renames them would make the gauge
    # a silent 0, so pin them here
    import time as _time

    from faust.tables.recovery import Recovery
    from faust.types.app import AppT

    assert "_recovery_started_at" in vars(Recovery)
    assert "in_recovery" in vars(AppT) or "in_recovery" in getattr(AppT, "__annotations__", {})
    r = Recovery.__new__(Recovery)
    r.app = type("A", (), {"in_recovery": False})()
    r._active_events_received_at, r._standby_events_received_at, r._processing_times = {}, {}, []
    Recovery._set_recovery_started(r)
    assert r.app.in_recovery and abs(r._recovery_started_at - _time.monotonic()) < 5


def test_counters_that_alerts_watch_are_exported_at_zero_from_the_start() -> None:
    """EventProcessingErrors and StoredStateUnreadable use increase(): a series that first appears
    at 1 shows no increase to Prometheus, so one internal error after a start would never alert."""
    from detectors.events import REASONS

    r = CollectorRegistry()
    Metrics(r, changelogs=["app-cascades-changelog", "app-brand-state-changelog"])
    s = samples(r)
    for reason in REASONS:
        assert s[("virality_events_rejected_total", (("reason", reason),))] == 0.0
    assert {"internal_error", "analysis_failed", "duplicate"} <= set(REASONS)
    for topic in ("app-cascades-changelog", "app-brand-state-changelog"):
        assert s[("virality_states_unreadable_total", (("topic", topic),))] == 0.0


def test_state_age_grows_at_the_scrape_until_the_worker_publishes_again(monkeypatch) -> None:
    """A worker whose event loop is blocked publishes nothing; its gauges keep their last values (the
    lag at 0 among them) while the HTTP thread serves them, so its age is what shows it."""
    import streams.metrics as m

    clock = [1000.0]
    monkeypatch.setattr(m.time, "monotonic", lambda: clock[0])
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    assert ("virality_state_age_seconds", ()) not in samples(registry)   # nothing published yet
    metrics.state.publish(Snapshot(lag={("posts", 0): 0}))
    clock[0] += 3
    assert samples(registry)[("virality_state_age_seconds", ())] == 3
    clock[0] += 300                                                      # the loop is blocked
    assert samples(registry)[("virality_state_age_seconds", ())] == 303
    metrics.state.publish(Snapshot())
    assert samples(registry)[("virality_state_age_seconds", ())] == 0
