"""Brand windows: oracle against recomputation, order independence, alerts on storms."""
from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from detectors.brand import BrandAggregator, BrandPartials, BrandRules

RULES = BrandRules(bucket_s=60, window_buckets=3, lateness_s=30, min_texts=5, min_complaints=5, min_history=4)


def feed(events, partitions=2, rules=RULES, shuffle_reports=None):
    """events: (partition, brand, t_ms, sentiment, complaint). Returns aggregator and alerts."""
    agg = BrandAggregator(rules, sources=[str(p) for p in range(partitions)])
    parts = [BrandPartials(rules.bucket_s) for _ in range(partitions)]
    alerts = []
    for p, brand, t, s, c, *text in events:
        parts[p].add(brand, t, s, c, text[0] if text else True)
        reports = []
        for q, part in enumerate(parts):
            partials, wm = part.drain()
            reports.append((str(q), partials, wm, True))
        if shuffle_reports:
            shuffle_reports.shuffle(reports)
        alerts += agg.merge_many(reports)
    return agg, alerts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.sampled_from(["a", "b"]), st.integers(0, 2_000),
                          st.floats(-1, 1), st.booleans(), st.booleans()), min_size=1, max_size=80))
def test_closed_window_matches_recomputation(raw) -> None:
    """Mean sentiment and complaint share are over the texts of the window (a share without text
    counts in the events only), recomputed from the raw events."""
    events = sorted(((p, b, t * 1000, s if x else 0.0, c and x, x) for p, b, t, s, c, x in raw),
                    key=lambda e: e[2])
    agg, _ = feed(events)
    for brand in ("a", "b"):
        cur = agg.current(brand)
        hist = agg.closed.get(brand)
        if not hist:
            continue
        last = hist[-1][0]
        lo = last - (RULES.window_buckets - 1) * RULES.bucket_s * 1000
        inside = [e for e in events if e[1] == brand and lo <= e[2] < last + RULES.bucket_s * 1000]
        n = len(inside)
        texts = [e for e in inside if e[5]]
        assert cur[2] == n and cur[3] == len(texts)
        if texts:
            assert abs(cur[0] - sum(e[3] for e in texts) / len(texts)) < 1e-6
            assert abs(cur[1] - sum(e[4] for e in texts) / len(texts)) < 1e-9
        else:
            assert cur[:2] == (0.0, 0.0)


def test_report_order_within_a_flush_does_not_matter() -> None:
    rng = random.Random(3)
    events = sorted(((rng.randrange(3), "a", rng.randrange(0, 3_600_000), rng.uniform(-1, 1), rng.random() < 0.5)
                     for _ in range(400)), key=lambda e: e[2])
    a1, al1 = feed(events, partitions=3)
    a2, al2 = feed(events, partitions=3, shuffle_reports=random.Random(9))
    assert al1 == al2 and a1.to_state() == a2.to_state()


def test_a_storm_of_small_complaints_opens_and_later_resolves() -> None:
    rng = random.Random(1)
    quiet = [(0, "orlen", t * 1000, 0.2, False) for t in range(0, 600, 60)]
    storm = [(rng.randrange(2), "orlen", 600_000 + i * 5_000, -0.7, True) for i in range(30)]
    after = [(0, "orlen", 800_000 + t * 1000, 0.2, False) for t in range(0, 900, 30)]
    _, alerts = feed(quiet + storm + after)
    kinds = [(a.type, a.state) for a in alerts]
    assert ("complaint_storm", "open") in kinds
    assert ("brand_sentiment_drop", "open") in kinds
    assert kinds.index(("complaint_storm", "open")) < kinds.index(("complaint_storm", "resolved"))
    storm_open = next(a for a in alerts if a.type == "complaint_storm" and a.state == "open")
    assert storm_open.complaints >= RULES.min_complaints and storm_open.reason
    # it says what it fell below: "back to normal" read oddly on 11 complaints where 0 are expected
    storm_end = next(a for a in alerts if a.type == "complaint_storm" and a.state == "resolved")
    assert storm_end.reason.startswith(f"below the storm line of {RULES.min_complaints} complaints: "), storm_end.reason


def test_no_alert_without_anomaly() -> None:
    events = [(t % 2, "ikea", t * 1000, 0.5, False) for t in range(0, 3600, 20)]
    _, alerts = feed(events)
    assert alerts == []


def test_a_partition_that_has_not_reported_holds_windows_back() -> None:
    agg = BrandAggregator(RULES, sources=["0", "1"])
    assert agg.merge("0", {"a": {0: [10, 10, -5.0, 10]}}, 10 * 60_000, caught_up=False) == []
    assert agg.closed_until == -1
    agg.merge("1", {}, None, caught_up=True)
    assert agg.closed_until > 0 and agg.closed["a"]


def test_state_round_trip() -> None:
    rng = random.Random(2)
    events = sorted(((rng.randrange(2), "a", rng.randrange(0, 900_000), -0.5, True) for _ in range(200)),
                    key=lambda e: e[2])
    agg, _ = feed(events)
    again = BrandAggregator.from_state(orjson.loads(orjson.dumps(agg.to_state(), option=orjson.OPT_NON_STR_KEYS)), RULES)
    more = [("0", {"a": {960_000: [3, 3, -1.5, 3]}}, 1_000_000, True)]
    assert agg.merge_many(more) == again.merge_many(more)
    assert agg.to_state()["c"] == again.to_state()["c"]


def test_reason_counts_read_as_english() -> None:
    from detectors.brand import _count

    assert (_count(1, "text"), _count(0, "post"), _count(1500, "complaint")) == ("1 text", "0 posts", "1,500 complaints")


def test_brands_beyond_the_limit_are_counted_and_silent_ones_make_room() -> None:
    # Producers can tag any brand: the aggregator (one table value, visited for every closed bucket)
    # tracks at most max_brands. A fuzzing review fed 20,000 new brands: state 13.5 MB and rising.
    from dataclasses import replace

    rules = replace(RULES, max_brands=3, keep_buckets=4)
    minute = 60_000
    first = [(0, b, t * minute + i, -0.9, True) for t in range(3) for i, b in enumerate("abc") for _ in range(3)]
    agg, _ = feed(first, rules=rules)
    assert agg.tracked() == {"a", "b", "c"} and agg.untracked == 0
    agg.merge_many([("0", {"d": {3 * minute: [4, 4, -2.0, 4]}}, 3 * minute + 1, True)])
    assert "d" not in agg.tracked() and agg.untracked == 4          # full: counted, not tracked
    # "a" keeps posting (and is storming: its alerts stay open); "b" and "c" fall silent for
    # the whole kept history, then are forgotten, and a new brand gets their room.
    for t in range(4, 12):   # (a caught-up partition says so at every report: "1")
        agg.merge_many([("0", {"a": {t * minute: [6, 6, -5.4, 6]}}, t * minute + 1, True), ("1", {}, None, True)])
    assert agg.tracked() == {"a"} and "complaint_storm:b" not in agg.alerts
    agg.merge_many([("0", {"e": {12 * minute: [1, 1, 0.5, 0]}}, 12 * minute + 1, True),
                    ("1", {}, 12 * minute + 1, True)])
    assert "e" in agg.tracked() and agg.untracked == 4
    state = orjson.loads(orjson.dumps(agg.to_state(), option=orjson.OPT_NON_STR_KEYS))
    assert BrandAggregator.from_state(state, rules).untracked == 4
    del state["u"]                                                   # stored before the limit
    assert BrandAggregator.from_state(state, rules).untracked == 0


def test_a_brand_with_an_open_alert_is_not_forgotten() -> None:
    from dataclasses import replace

    from detectors.alerts import AlertLifecycle

    rules = replace(RULES, max_brands=2, keep_buckets=3)
    agg = BrandAggregator(rules, sources=["0"])
    for brand in ("a", "b"):                      # both silent for the whole kept history ...
        agg.closed[brand] = [[t * 60_000, 0, 0, 0.0, 0] for t in range(3)]
        agg.baseline[brand] = [1.0, 0.0, 0.0, 9.0]
    life = agg.alerts["complaint_storm:a"] = AlertLifecycle()
    life.step(1, 0, rules.cooldown_s)             # ... but "a" is still alerting
    agg.alerts["complaint_storm:b"] = AlertLifecycle()
    agg._forget_silent()
    assert agg.tracked() == {"a"} and list(agg.alerts) == ["complaint_storm:a"]


def test_configured_brands_are_tracked_past_the_limit_and_never_forgotten() -> None:
    # A configured brand quiet for a while must not lose its place to producers' stray tags.
    from dataclasses import replace

    rules = replace(RULES, max_brands=2, keep_buckets=3, pinned=frozenset({"sj"}))
    minute = 60_000
    agg = BrandAggregator(rules, sources=["0"])
    agg.merge_many([("0", {"sj": {0: [2, 2, 0.2, 0]}, "x": {0: [1, 1, 0.0, 0]}}, 1, True)])
    for t in range(1, 8):   # sj falls silent; stray tags keep coming
        agg.merge_many([("0", {f"tag{t}": {t * minute: [1, 1, 0.0, 0]}}, t * minute + 1, True)])
    assert "sj" in agg.tracked()
    agg.merge_many([("0", {"sj": {8 * minute: [3, 3, -1.0, 3]}}, 8 * minute + 1, True)])
    assert "sj" in agg.buckets or agg.closed["sj"][-1][1] == 3
    full = BrandAggregator(replace(rules, max_brands=1), sources=["0"])
    full.merge_many([("0", {"x": {0: [1, 1, 0.0, 0]}, "sj": {0: [5, 5, 0.0, 0]}}, 1, True)])
    assert {"x", "sj"} <= full.tracked() and full.untracked == 0


def test_brand_state_names_its_version_and_a_damaged_or_newer_one_is_refused_clearly() -> None:
    from detectors.state import NewerStateError, StateError

    agg = BrandAggregator(BrandRules(), ["0"])
    state = agg.to_state()
    assert list(state)[-1] == "_v" and state["_v"] == 1
    assert BrandAggregator.from_state({k: v for k, v in state.items() if k != "_v"}).to_state() == state
    with pytest.raises(StateError, match="brand windows state unreadable"):
        BrandAggregator.from_state({k: v for k, v in state.items() if k != "b"})
    with pytest.raises(NewerStateError, match="version 3"):
        BrandAggregator.from_state({**state, "_v": 3})


def test_a_forgotten_brand_that_storms_again_gets_new_alert_ids() -> None:
    """Forgetting a silent brand (past max_brands) must not restart its alert sequence: the next
    incident would repeat the first one's transition ids, and a consumer deduplicating on them
    would drop it."""
    from dataclasses import replace

    from detectors.alerts import AlertLifecycle

    rules = replace(RULES, max_brands=2, keep_buckets=3)
    agg = BrandAggregator(rules, sources=["0"])
    for brand in ("a", "b"):
        agg.closed[brand] = [[t * 60_000, 0, 0, 0.0, 0] for t in range(3)]
        agg.baseline[brand] = [1.0, 0.0, 0.0, 9.0]
    life = agg.alerts["complaint_storm:a"] = AlertLifecycle()
    life.step(1, 0, rules.cooldown_s)
    life.resolve(60_000)
    assert life.seq == 1
    agg._forget_silent()
    assert "a" not in agg.tracked() and agg.retired == {"complaint_storm:a": 1}
    again = agg._step("a", "complaint_storm", 1, 10 * 3_600_000, "warning", "storm", 9, 9, -0.5, 0.9, 9)
    assert [(x.state, x.seq) for x in again] == [("open", 2)]
    assert agg.retired == {}
    state = orjson.loads(orjson.dumps(agg.to_state(), option=orjson.OPT_NON_STR_KEYS))
    agg.retired["complaint_storm:z"] = 7
    assert BrandAggregator.from_state(orjson.loads(orjson.dumps(agg.to_state())), rules).retired == {
        "complaint_storm:z": 7}
    del state["rt"]                                           # stored before they were kept
    assert BrandAggregator.from_state(state, rules).retired == {}


def test_partitions_that_no_longer_exist_stop_holding_the_windows_back() -> None:
    agg, _ = feed([(p, "a", t * 1000, 0.1, False) for t in range(0, 300, 10) for p in range(4)], partitions=4)
    agg.caught_up["3"] = False                      # a partition that was behind when the run stopped
    before = agg.closed_until
    agg.merge_many([("0", {"a": {600_000: [1, 1, 0.1, 0]}}, 700_000, True)])
    assert agg.closed_until == before               # held back by partition 3
    assert agg.set_sources(["0", "1"]) == ["2", "3"]
    agg.merge_many([("0", {}, 700_001, True), ("1", {}, 700_001, True)])
    assert agg.closed_until > before


def test_a_sentiment_drop_holds_through_a_lull_and_ends_on_recovery_or_silence() -> None:
    """A lull in volume is not a recovery: below min_texts the drop holds while the texts stay
    negative (resolved, it could not reopen within the cooldown when they come back), and ends when
    they turn positive, or when no text is left."""
    quiet = [(0, "sj", t * 1000, 0.4, False) for t in range(0, 600, 20)]
    drop = [(i % 2, "sj", 600_000 + i * 4_000, -0.8, False) for i in range(40)]
    trickle = [(0, "sj", 800_000 + t * 1000, -0.8, False) for t in range(0, 1200, 120)]
    _, alerts = feed(quiet + drop + trickle)
    drops = [(a.state, a.reason) for a in alerts if a.type == "brand_sentiment_drop"]
    assert [d[0] for d in drops] == ["open"], drops            # held through the negative trickle
    recovered = [(0, "sj", 2_000_000 + t * 1000, 0.6, False) for t in range(0, 1200, 120)]
    _, alerts = feed(quiet + drop + trickle + recovered)
    drops = [(a.state, a.reason) for a in alerts if a.type == "brand_sentiment_drop"]
    assert [d[0] for d in drops] == ["open", "resolved"]
    assert drops[1][1].startswith("back to normal: mean sentiment +0.60")
    silence = [(1, "sj", 4_000_000, 0.0, False)]                 # only a late watermark, no texts
    _, alerts = feed(quiet + drop + trickle + [(0, "other", 4_000_000, 0.0, False)] + silence)
    drops = [(a.state, a.reason) for a in alerts if a.type == "brand_sentiment_drop"]
    assert [d[0] for d in drops] == ["open", "resolved"], drops
    assert drops[1][1].startswith("no texts left to tell: mean sentiment +0.00 over 0 texts"), drops



def test_alert_ids_stay_unique_when_forgotten_brands_outnumber_the_numbers_kept() -> None:
    """Past RETIRED_KEEP_PER_BRAND * max_brands forgotten alert keys, the oldest numbers are let
    go; a brand whose number was let go starts above every number let go, so no id repeats."""
    from dataclasses import replace

    from detectors.brand import RETIRED_KEEP_PER_BRAND

    rules = replace(RULES, max_brands=1, keep_buckets=3)
    agg = BrandAggregator(rules, sources=["0"])
    sent: set[str] = set()
    for round_ in range(3):
        for k in range(RETIRED_KEEP_PER_BRAND + 3):
            brand = f"b{k}"
            for state in ("open", "resolved"):
                for a in agg._step(brand, "complaint_storm", 1 if state == "open" else 0,
                                   (round_ * 100 + k) * 3_600_000, "warning", "x", 1, 1, 0.0, 1.0, 1):
                    tid = f"{a.type}:{a.brand}:{a.seq}:{a.state}"
                    assert tid not in sent, tid
                    sent.add(tid)
            agg.closed[brand] = [[0, 0, 0, 0.0, 0]] * 3
            agg._forget_silent()
    assert agg.retired_floor > 0 and len(agg.retired) <= RETIRED_KEEP_PER_BRAND * rules.max_brands
    assert len(sent) == 2 * 3 * (RETIRED_KEEP_PER_BRAND + 3)


def test_a_caught_up_partition_holds_the_windows_to_the_newest_watermark_as_of_its_word() -> None:
    """Two workers: Y's partitions said "caught up" while nothing had been produced yet; then X's
    partitions report events of 12:00. Y's events of 11:00 (produced meanwhile, reported at Y's
    next flush) must not find their windows closed: a verifier saw 14-24 of them dropped as late
    and a brand alert open with 54 posts instead of 237."""
    minute = 60_000
    agg = BrandAggregator(RULES, sources=["0", "1", "2", "3"])
    assert agg.merge_many([("0", {}, None, True), ("1", {}, None, True)]) == []     # Y, before any input
    x = {"a": {(120 + m) * minute: [5, 5, -4.0, 5] for m in range(0, 10, 5)}}
    agg.merge_many([("2", x, 130 * minute, False), ("3", x, 128 * minute, False)])   # X, at 12:08
    assert agg.closed_until < 0                       # Y's word predates every watermark: nothing closes
    y = {"a": {(60 + m) * minute: [3, 3, -2.0, 3] for m in range(0, 60, 5)}}
    agg.merge_many([("0", y, 119 * minute, False), ("1", y, 118 * minute, False)])   # Y, next flush
    assert agg.late == 0
    # Y idle from then on: at its next word its partitions follow X's newest watermark
    agg.merge_many([("3", {}, 130 * minute, False)])
    agg.merge_many([("0", {}, None, True), ("1", {}, None, True)])
    before = agg.closed_until
    agg.merge_many([("2", {}, 200 * minute, False), ("3", {}, 200 * minute, False)])
    assert agg.closed_until == before                 # held at Y's word until Y speaks again
    agg.merge_many([("0", {}, None, True), ("1", {}, None, True)])
    assert agg.closed_until > before and agg.late == 0


def test_the_complaint_share_is_of_the_texts_not_of_the_shares() -> None:
    """Shares carry no text of their own: 10 complaint posts shared 90 times are all complaints
    (before 2026-11-24 the share was of every event, 0.1 here, so the ComplaintStorm rule's 50 %
    line was out of reach for any brand whose complaints were shared)."""
    events = []
    for i in range(10):
        t = 1000 + i * 5000
        events.append((0, "a", t, -0.8, True, True))
        events += [(1, "a", t + k, 0.0, False, False) for k in range(1, 10)]
    events.append((0, "a", 200_000, 0.1, False, True))   # moves the watermark: the first 3 minutes close
    agg, _ = feed(events)
    sentiment, share, n, texts = agg.current("a")
    assert (share, n, texts) == (1.0, 100, 10) and abs(sentiment + 0.8) < 1e-9


def test_a_long_silence_teaches_the_baseline_the_same_however_its_windows_are_closed() -> None:
    """A brand busy for a day, then silent for 3 hours, then 30 complaints. With brandless traffic
    moving the watermark, each empty window was closed on its own and decayed the baseline; without,
    one call skipped the silence without any decay: baseline 14.7 against 3.9, and the storm was
    missed in one of the two."""
    rules = BrandRules()
    b = rules.bucket_s * 1000
    t0 = 1_767_261_600_000
    events = [(t0 + k * b + j * 1000, True) for k in range(288) for j in range(int(4 * 1.01 ** k))]
    t1 = t0 + 288 * b + 3 * 3600 * 1000
    events += [(t1 + j * 5000, True) for j in range(30)] + [(t1 + 30 * 60 * 1000, False)]

    def run(heartbeat: bool):
        agg = BrandAggregator(rules, sources=["0"])
        p = BrandPartials(rules.bucket_s)
        out, last = [], None
        for t, complaint in events:
            if heartbeat and last is not None:
                for h in range(last + 60_000, t, 60_000):     # brandless events every minute
                    p.observe(h)
                    out += agg.merge("0", *p.drain(), caught_up=True)
            p.add("sj", t, -0.8 if complaint else 0.0, complaint, True)
            out += agg.merge("0", *p.drain(), caught_up=True)
            last = t
        return agg.baseline["sj"], [(a.type, a.state, a.t_ms) for a in out]

    with_traffic, alone = run(True), run(False)
    assert with_traffic == alone
    assert [a[:2] for a in alone[1]][:1] == [("complaint_storm", "open")]
