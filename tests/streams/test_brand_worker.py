"""The brands agent's worker: a report's alerts reach Kafka before the state that records the report,
the windows are forgotten when the brand partition moves away, and a change of partition count or
of brand topic does not leave the windows stuck. The table is a dict standing in for Faust's."""
from __future__ import annotations

import asyncio

import orjson
import pytest
from prometheus_client import CollectorRegistry

from detectors.brand import BrandPartials
from streams.app import BrandWorker
from streams.metrics import Metrics
from streams.settings import Settings


class FakeTable(dict):
    class changelog_topic:  # noqa: N801 (Faust's attribute)
        @staticmethod
        def get_topic_name() -> str:
            return "app-brand-state-changelog"


SETTINGS = Settings.from_env({"VIRALITY_PARTITIONS": "2", "VIRALITY_BRAND_TOPIC": "brand"})


def storm_reports(n: int = 60) -> list[bytes]:
    """Reports of two partitions: a quiet hour of 'orlen', then a storm of complaints."""
    parts = [BrandPartials(SETTINGS.chain_config().brand_rules.bucket_s) for _ in range(2)]
    out = []
    for minute in range(n):
        t = 1_767_261_600_000 + minute * 60_000
        storm = minute > n - 20
        for i in range(8 if storm else 2):
            parts[i % 2].add("orlen", t + i, -0.8 if storm else 0.3, storm, True)
        reports = []
        for p, part in enumerate(parts):
            partials, wm = part.drain()
            reports.append({"source": str(p), "partials": partials, "watermark": wm, "caught_up": True})
        out.append(orjson.dumps({"reports": reports}, option=orjson.OPT_NON_STR_KEYS))
    return out


def worker(table: FakeTable | None = None) -> BrandWorker:
    return BrandWorker(SETTINGS, table if table is not None else FakeTable(), Metrics(CollectorRegistry()))


def test_alerts_are_sent_before_the_state_that_records_their_report() -> None:
    table = FakeTable()
    w = worker(table)
    current = [-1]
    seen: list[tuple[int, int, list[str]]] = []

    async def send_now(alerts):
        stored = orjson.loads(table[b"brands"])["o"].get("brand#0", -1) if b"brands" in table else -1
        seen.append((current[0], stored, [a["transition_id"] for a in alerts]))

    async def run():
        for offset, value in enumerate(storm_reports()):
            current[0] = offset
            await w.handle(value, "brand", 0, offset, send_now)
    asyncio.run(run())
    assert any("complaint_storm:orlen:1:open" in ids for _, _, ids in seen), seen
    for offset, stored, _ in seen:
        assert stored == offset - 1   # the state still stops at the report before this one
    assert orjson.loads(table[b"brands"])["o"]["brand#0"] == current[0]


def test_a_failed_send_leaves_the_report_unrecorded_so_it_is_read_again() -> None:
    table = FakeTable()
    w = worker(table)
    reports = storm_reports()

    async def failing(alerts):
        raise RuntimeError("broker gone")

    async def run():
        for offset, value in enumerate(reports):
            try:
                await w.handle(value, "brand", 0, offset, failing)
            except RuntimeError:
                return offset
    failed_at = asyncio.run(run())
    assert failed_at is not None
    assert orjson.loads(table[b"brands"])["o"]["brand#0"] == failed_at - 1

    # its successor reads the table and the same report again, and now sends its alerts
    sent = []

    async def ok(alerts):
        sent.extend(a["transition_id"] for a in alerts)
    asyncio.run(worker(table).handle(reports[failed_at], "brand", 0, failed_at, ok))
    assert sent


def test_the_windows_are_read_again_after_the_partition_comes_back() -> None:
    table = FakeTable()
    w = worker(table)
    reports = storm_reports(30)

    async def quiet(alerts):
        pass
    for offset, value in enumerate(reports[:10]):
        asyncio.run(w.handle(value, "brand", 0, offset, quiet))
    w.revoked()
    other = worker(table)            # another worker carries on meanwhile
    for offset, value in enumerate(reports[10:20], start=10):
        asyncio.run(other.handle(value, "brand", 0, offset, quiet))
    expected = worker(FakeTable(table))      # what the table says, plus the next report
    asyncio.run(expected.handle(reports[20], "brand", 0, 20, quiet))
    # back here: what the other worker wrote counts, not what this one held before
    asyncio.run(w.handle(reports[20], "brand", 0, 20, quiet))
    assert w.agg.offsets["brand#0"] == 20
    assert w.agg.to_state() == expected.agg.to_state()


@pytest.mark.parametrize("stored_sources", [["0", "1", "2", "3"]])
def test_windows_stored_by_a_run_with_more_partitions_are_not_held_back(stored_sources) -> None:
    table = FakeTable()
    w4 = BrandWorker(Settings.from_env({"VIRALITY_PARTITIONS": "4", "VIRALITY_BRAND_TOPIC": "brand"}), table,
                     Metrics(CollectorRegistry()))
    agg = w4.aggregator()
    assert agg.sources == stored_sources
    agg.caught_up["3"] = False
    agg.offsets["b"] = 7                       # as stored before offsets were kept per topic
    w4.store()
    w2 = worker(table)
    agg2 = w2.aggregator()
    assert agg2.sources == ["0", "1"] and "3" not in agg2.caught_up
    assert agg2.offsets == {"brand#0": 7}


def test_a_report_that_changes_nothing_is_not_stored() -> None:
    """Idle partitions say "caught up" at every flush: with nothing moving, storing the whole brand
    windows each time would write them to the changelog once a second per worker for nothing."""
    class CountingTable(FakeTable):
        writes = 0

        def __setitem__(self, key, value):
            CountingTable.writes += 1
            super().__setitem__(key, value)

    table = CountingTable()
    w = worker(table)
    reports = storm_reports(5)
    idle = orjson.dumps({"reports": [{"source": str(p), "partials": {}, "watermark": None, "caught_up": True}
                                     for p in range(2)]})

    async def send_now(alerts):
        pass

    async def run():
        for offset, value in enumerate(reports):
            await w.handle(value, "brand", 0, offset, send_now)
        stored = CountingTable.writes
        assert stored == len(reports)
        for offset in range(len(reports), len(reports) + 5):
            await w.handle(idle, "brand", 0, offset, send_now)
        assert CountingTable.writes == stored                     # nothing moved: nothing written
        await w.handle(idle.replace(b'"caught_up":true', b'"caught_up":false', 1), "brand", 0, 99, send_now)
        assert CountingTable.writes == stored + 1                 # a partition no longer caught up
    asyncio.run(run())


def feed_minutes(w: BrandWorker, minutes: int, add_minute, first: int = 0, sent: list | None = None) -> None:
    """``minutes`` one-minute reports of partition 0 (partition 1 idle and caught up) to ``w``, from
    minute ``first`` on (the report offset is the minute); ``add_minute(part, t_ms)`` adds that
    minute's events. The alerts sent are appended to ``sent``."""
    part = BrandPartials(SETTINGS.chain_config().brand_rules.bucket_s)
    t0 = 1_767_261_600_000

    async def send_now(alerts):
        if sent is not None:
            sent.extend(alerts)

    async def run():
        for minute in range(first, first + minutes):
            add_minute(part, t0 + minute * 60_000)
            partials, wm = part.drain()
            report = {"reports": [{"source": str(p), "partials": partials if p == 0 else {},
                                   "watermark": wm, "caught_up": True} for p in range(2)]}
            await w.handle(orjson.dumps(report, option=orjson.OPT_NON_STR_KEYS), "brand", 0, minute, send_now)
    asyncio.run(run())


def test_every_tracked_brand_gets_its_gauges() -> None:
    """The brand gauges stopped at 200 brands while the windows track VIRALITY_MAX_BRANDS (500 by
    default): the brands past 200 had no sentiment or complaint-share series, so their brand
    alerts could never fire, and nothing said so."""
    def minute(part, t):
        for b in range(300):
            part.add(f"brand{b:03d}", t + b, 0.2, False, True)
            part.add(f"brand{b:03d}", t + 30_000 + b, 0.2, False, True)   # (enough texts to tell)

    w = worker()
    feed_minutes(w, 40, minute)
    assert len(w.view()) == 300


def test_brand_gauges_need_enough_texts_to_tell() -> None:
    """A window of shares alone gave a sentiment and complaint share of 0 (a 'drop' of 0.8 from a
    happy baseline: BrandSentimentDrop fired), and one complaint shared ten times a minute a share of
    100 % (ComplaintStorm). Below the worker's own min_texts the gauges are absent instead."""
    def minute(part, t):
        for k in range(10):   # ten shares a minute of each brand
            for brand in ("shared", "few", "enough"):
                part.add(brand, t + k, 0.0, False, False)
        if (t // 60_000) % 5 == 0:
            part.add("few", t + 100, -0.9, True, True)            # 3 texts a window
        part.add("enough", t + 100, -0.9, True, True)
        part.add("enough", t + 200, 0.5, False, True)             # 30 texts a window

    w = worker()
    feed_minutes(w, 60, minute)
    view = w.view()
    assert "shared" not in view and "few" not in view
    assert set(view) == {"enough"} and view["enough"][1] == 0.5 and abs(view["enough"][0] + 0.2) < 1e-9


def test_open_brand_alerts_are_exported_for_the_rules_to_mirror() -> None:
    """Prometheus's ComplaintStorm and BrandSentimentDrop mirror the worker's own brand alerts
    (prometheus/tests/brands.yml): every open alert has its virality_alert_brand_* series, with its
    id, type and state and the figures of the brand's last window, and they go when it resolves.
    Before 2026-11-24 there were no such series: the rules decided again from the brand gauges with
    thresholds of their own, and an escalated complaint storm paged no one."""
    from prometheus_client import CollectorRegistry

    from streams.metrics import Snapshot

    def minute(part, t):
        m = (t - 1_767_261_600_000) // 60_000
        storm = 60 <= m < 80
        for i in range(12 if storm else 4):
            part.add("orlen", t + i * 1000, -0.8 if storm else 0.3, storm, True)

    def exported(w: BrandWorker) -> dict[tuple[str, str], float]:
        registry = CollectorRegistry()
        metrics = Metrics(registry)
        metrics.state.publish(Snapshot(brand_alerts=w.alert_series()))
        return {(m.name, tuple(sorted(s.labels.items()))): s.value
                for m in registry.collect() if m.name.startswith("virality_alert_brand_") for s in m.samples}

    sent: list[dict] = []
    w = worker()
    feed_minutes(w, 60, minute, sent=sent)
    assert not sent and not exported(w)
    feed_minutes(w, 25, minute, first=60, sent=sent)
    opened = {a["alert_id"]: a for a in sent if a["state"] in ("open", "escalated")}
    assert {a.split(":")[0] for a in opened} == {"complaint_storm", "brand_sentiment_drop"}, sent
    series = exported(w)
    for alert_id, a in opened.items():
        last = [x for x in sent if x["alert_id"] == alert_id][-1]
        labels = (("alert_id", alert_id), ("brand", "orlen"), ("state", last["state"]), ("type", a["type"]))
        texts = series[("virality_alert_brand_texts", labels)]
        assert texts >= 20
        share = series[("virality_alert_brand_complaint_share", labels)]
        assert series[("virality_alert_brand_complaints", labels)] == round(share * texts)
        assert -1 <= series[("virality_alert_brand_sentiment", labels)] < -0.3
    # the storm escalated (12 complaints a minute against a quiet baseline): its series say so
    assert any(k[1][2] == ("state", "escalated") and k[1][3] == ("type", "complaint_storm") for k in series)
    feed_minutes(w, 60, minute, first=85, sent=sent)
    assert {a["alert_id"] for a in sent if a["state"] == "resolved"} == set(opened)
    assert not exported(w)
