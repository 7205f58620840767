"""The detector chain offline: routing like Kafka, schema-valid alerts, determinism."""
from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema
import orjson
import pytest
from aiokafka.partitioner import murmur2 as kafka_murmur2
from hypothesis import given, strategies as st

from detectors.chain import ChainConfig, OfflineDetector, murmur2, partition_for
from detectors.events import decode_event
from detectors.understanding import DefaultAnalyzer
from tests.factories import COMPLAINT_SV, PRAISE_EN, by_time, cascade, chatter

ROOT = Path(__file__).resolve().parents[2]
ANALYZER = DefaultAnalyzer({"sj": ["SJ", "@SJ_AB"], "ikea": ["IKEA", "@IKEA"]})


@given(st.binary(max_size=64))
def test_murmur2_is_kafkas(data: bytes) -> None:
    assert murmur2(data) == kafka_murmur2(data)


def test_partition_for_spreads_keys() -> None:
    counts = [0] * 4
    for i in range(4000):
        counts[partition_for(f"root-{i}", 4)] += 1
    assert min(counts) > 800


def alerts_for(events, partitions=1):
    det = OfflineDetector(ChainConfig(), ANALYZER, partitions=partitions)
    return list(det.run(decode_event(e) for e in by_time(events)))


def test_viral_complaint_and_praise_are_flagged_early_and_chatter_is_not() -> None:
    events = (cascade("c", COMPLAINT_SV, "sv", 1500, brands=["sj"], seed=1)
              + cascade("p", PRAISE_EN, "en", 1500, brands=["ikea"], seed=2) + chatter(60))
    alerts = alerts_for(events)
    opened = {a["alert_id"]: a for a in alerts if a["state"] == "open"}
    assert set(opened) == {"viral_complaint:c:1", "viral_praise:p:1"}
    assert opened["viral_complaint:c:1"]["shares"] < 500
    assert opened["viral_complaint:c:1"]["severity"] == "warning"
    assert opened["viral_praise:p:1"]["severity"] == "info"
    schema = json.loads((ROOT / "schemas" / "alert.schema.json").read_text())
    v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for a in alerts:
        v.validate(a)


def test_a_small_cascade_raises_nothing() -> None:
    assert alerts_for(cascade("s", COMPLAINT_SV, "sv", 60, brands=["sj"])) == []


def test_cascade_decisions_do_not_depend_on_the_partition_count() -> None:
    events = cascade("c", COMPLAINT_SV, "sv", 1200, seed=4) + cascade("p", PRAISE_EN, "en", 1100, seed=5)
    one = [a for a in alerts_for(events, 1) if a["root_id"]]
    four = [a for a in alerts_for(events, 4) if a["root_id"]]
    assert one == four and one


def test_deterministic() -> None:
    events = cascade("c", COMPLAINT_SV, "sv", 800, seed=6) + chatter(20, seed=7)
    random.Random(1).shuffle(events)   # by_time inside restores one order
    assert alerts_for(events) == alerts_for(list(reversed(events)))


def test_processor_bookkeeping_matches_the_cascade_state_methods() -> None:
    # PartitionProcessor.process inlines CascadeState.already_applied / is_duplicate / remember /
    # mark_applied for speed; the methods stay the reference. Replay re-reads and repeated ids
    # and check every decision and every effect against them.
    from detectors.cascade import CascadeState, id_hash
    from detectors.chain import PartitionProcessor
    from detectors.events import Rejected

    rng = random.Random(7)
    events = [decode_event(e) for e in by_time(cascade("c", COMPLAINT_SV, "sv", 300, brands=["sj"], seed=3))]
    feed = []
    for off, e in enumerate(events):
        feed.append((e, "p", off))
        if rng.random() < 0.15:   # the same offset again (a re-read after a restart)
            feed.append((e, "p", off))
        if rng.random() < 0.1:    # the same event under a new offset (a duplicate)
            feed.append((e, "r", off))
    proc = PartitionProcessor(ChainConfig(), ANALYZER)
    seen = {"reapplied": 0, "duplicate": 0, "applied": 0}
    for e, src, off in feed:
        before = proc.store.get(e.root_id)
        ref = CascadeState.from_state(json.loads(json.dumps(before.to_state()))) if before is not None else None
        expect_reapplied = ref is not None and ref.already_applied(src, off)
        expect_duplicate = ref is not None and not expect_reapplied and ref.is_duplicate(e)
        reapplied = proc.reapplied
        try:
            proc.process(e, src, off)
            rejected = None
        except Rejected as r:
            rejected = r.reason
        assert (proc.reapplied != reapplied) == expect_reapplied
        assert (rejected == "duplicate") == expect_duplicate
        if expect_reapplied:
            seen["reapplied"] += 1
        elif expect_duplicate:
            seen["duplicate"] += 1
        elif rejected is None:
            seen["applied"] += 1
            c = proc.store[e.root_id]
            if ref is not None:
                ref.remember(e)
                ref.mark_applied(src, off)
                assert c.recent == ref.recent and c.offsets == ref.offsets
            assert c.recent[-1] == id_hash(e.id) and c.offsets[src] == off
    assert min(seen.values()) > 0, seen


def test_a_tag_that_names_no_language_is_no_hint_but_an_unknown_language_is_rejected() -> None:
    # X/Twitter tags emoji-only posts "und" (or "zxx", "qme"...): they were rejected as
    # unknown_language, while the same post without a tag was kept as "und".
    import pytest
    from detectors.chain import PartitionProcessor
    from detectors.events import Rejected

    def post(i: int, lang: str | None) -> dict:
        return {"id": f"p{i}", "kind": "post", "created_at": 1767261600000 + i, "text": "😀🔥🔥",
                "author": {"id": "u"}, **({"lang": lang} if lang else {})}

    proc = PartitionProcessor(ChainConfig(), ANALYZER)
    for i, lang in enumerate([None, "und", "UND", "zxx", "qme", "mul", "und-Latn"]):
        event = decode_event(post(i, lang))
        assert event.lang is None
        proc.process(event)
        assert proc.store[f"p{i}"].root_lang == "und"
    with pytest.raises(Rejected) as info:
        proc.process(decode_event(post(99, "xx")))
    assert info.value.reason == "unknown_language"


def test_a_cascade_whose_root_was_never_seen_takes_brand_and_language_from_its_replies() -> None:
    """The stream began after the post: its alert must still say which brand and language, for the
    services that route alerts by brand (it said brand null, lang und)."""
    events = [e for e in cascade("orphan", COMPLAINT_SV, "sv", 1500, reply_every=10,
                                 reply_texts=["@SJ_AB värdelöst, tåget står still igen", "Hjälp SJ!"])
              if e["kind"] != "post"]
    for e in events[:3]:
        e["brands"] = ["sj"]
        e["platform"] = "x"
    alerts = alerts_for(events)
    opened = [a for a in alerts if a["state"] == "open" and a["root_id"] == "orphan"]
    assert opened, alerts
    a = opened[0]
    assert a["brand"] == "sj" and a["brands"] == ["sj"] and a["lang"] == "sv" and a["platform"] == "x"
    assert a["root_text"] is None                  # the post itself was not seen
    # a root that arrives late comes first, and its language wins
    from detectors.cascade import CascadeState

    share, root = decode_event(orjson.dumps(events[0])), decode_event(orjson.dumps(
        cascade("orphan", PRAISE_EN, "en", 0, brands=["ikea"])[0]))
    c = CascadeState.new(share)
    c.learn_share(share)
    c.learn_unrooted(share, None)
    assert c.brands == ("sj",) and c.platform == "x"
    c.set_root(root, ANALYZER.analyze(root.text, root.lang))
    assert c.brands == ("ikea", "sj") and c.root_lang == "en"


def test_a_brand_a_reply_only_names_is_not_made_the_subject_of_an_unrooted_cascade() -> None:
    """A reply praising a competitor ('use IKEA instead') in a cascade whose post was not seen must
    not make the competitor the alert's brand, nor put the cascade's complaints in its windows."""
    events = [e for e in cascade("orphan2", COMPLAINT_SV, "sv", 1500, reply_every=10,
                                 reply_texts=["Värdelöst, tåget står still igen i två timmar",
                                              "Helt otroligt, ingen information alls",
                                              "Handla på IKEA istället, aldrig problem med IKEA"])
              if e["kind"] != "post"]
    alerts = alerts_for(events)
    assert not [a for a in alerts if a["brand"] == "ikea" and a["type"] != "viral_complaint"], \
        [a["transition_id"] for a in alerts]
    opened = [a for a in alerts if a["root_id"] == "orphan2" and a["state"] == "open"]
    assert opened and opened[0]["brands"] == [] and opened[0]["lang"] == "sv"


def test_a_root_that_arrives_after_the_alert_opened_does_not_change_its_brand() -> None:
    from detectors.alerts import AlertLifecycle
    from detectors.cascade import CascadeState

    share = decode_event(orjson.dumps({"id": "s1", "kind": "share", "root_id": "r", "created_at": 1000,
                                       "author": {"id": "u"}, "brands": ["sj"]}))
    root = decode_event(orjson.dumps(cascade("r", PRAISE_EN, "en", 0, brands=["ikea"])[0]))
    c = CascadeState.new(share)
    c.learn_share(share)
    c.learn_unrooted(share, None)
    c.alert = AlertLifecycle()
    c.alert.step(1, 2000, 3600)                # an alert opened before the post arrived
    c.set_root(root, ANALYZER.analyze(root.text, root.lang))
    assert c.brands == ("sj", "ikea")


def test_an_unrooted_cascade_ignores_the_brand_tags_of_its_replies() -> None:
    events = [e for e in cascade("orphan3", COMPLAINT_SV, "sv", 1500, reply_every=10,
                                 reply_texts=["Värdelöst, tåget står still igen i två timmar",
                                              "Helt otroligt, ingen information alls",
                                              "Handla på IKEA istället, aldrig problem med IKEA"])
              if e["kind"] != "post"]
    for e in events:
        if e["kind"] == "reply":
            e["brands"] = ["ikea"]       # the producer tagged the reply for its own text
    opened = [a for a in alerts_for(events) if a["root_id"] == "orphan3" and a["state"] == "open"]
    assert opened and opened[0]["brands"] == []


def test_an_event_counts_under_its_texts_detected_language_and_a_share_under_its_cascades() -> None:
    """The worker's virality_events_consumed_total{lang} used the producer's tag: English and Polish
    posts tagged 'sv' were all counted as Swedish, while the board's language picker (from the
    brand mentions) has the detected language."""
    from detectors.chain import PartitionProcessor

    proc = PartitionProcessor(ChainConfig(), ANALYZER)
    t = 1_767_261_600_000
    post = {"id": "p", "kind": "post", "created_at": t, "author": {"id": "a"}, "lang": "sv",
            "text": "The train is late again and nobody tells us anything, terrible service"}
    proc.process(decode_event(post))
    assert proc.last_lang == "en"
    proc.process(decode_event({"id": "s", "kind": "share", "root_id": "p", "created_at": t + 1000,
                               "author": {"id": "b"}, "lang": "sv"}))
    assert proc.last_lang == "en"                       # a share: its cascade's language
    proc.process(decode_event({"id": "s2", "kind": "share", "root_id": "unseen", "created_at": t + 2000,
                               "author": {"id": "b"}, "lang": "pl"}))
    assert proc.last_lang == "pl"                       # a cascade not seen yet: the tag, the only hint
    proc.process(decode_event({"id": "s3", "kind": "share", "root_id": "unseen2", "created_at": t + 3000,
                               "author": {"id": "b"}, "lang": "nb"}))
    assert proc.last_lang == "no"                       # as our codes say it (a review saw an 'nb' series)


class KindByPrefix:
    """A text model for lifecycle tests: 'c...' is a complaint, 'p...' praise, anything else neither."""

    def analyze(self, text, lang_hint=None):
        from detectors.understanding import make_analysis
        if text.startswith("c"):
            return make_analysis("en", -0.8, 0.9, "complaint", ())
        if text.startswith("p"):
            return make_analysis("en", 0.8, 0.05, "praise", ())
        return make_analysis("en", 0.0, 0.1, "other", ())


def wave(root: str, start_ms: int, n: int, reply_text: str, tag: str) -> list[dict]:
    """``n`` shares of ``root`` at 2 a second, every fourth a reply saying ``reply_text``."""
    out = []
    for i in range(n):
        e = {"id": f"{tag}{i}", "kind": "share", "root_id": root, "created_at": start_ms + i * 500,
             "author": {"id": f"u{tag}{i}", "followers": 200}}
        if i % 4 == 0:
            e.update(kind="reply", text=reply_text)
        out.append(e)
    return out


def test_a_cascade_back_after_its_alert_resolved_is_flagged_only_if_it_is_complaint_or_praise() -> None:
    """A neutral post whose replies praised it went viral (viral_praise), cooled down, and came back
    three hours later with neutral replies: neither complaint nor praise now. It was reopened as a
    viral_complaint, escalated to critical and paged, with a complaint score of 0.1."""
    t = 1_767_261_600_000
    post = {"id": "R", "kind": "post", "created_at": t, "text": "o just a picture", "author": {"id": "a", "followers": 5000}}
    later = {"id": "Z", "kind": "post", "created_at": t + 8 * 3600_000, "text": "o end", "author": {"id": "z"}}
    first = wave("R", t + 1000, 1500, "p love it", "a")
    det = OfflineDetector(ChainConfig(), KindByPrefix())
    neutral_again = [a for a in det.run(decode_event(e) for e in
                                        [post, *first, *wave("R", t + 3 * 3600_000, 1500, "o ok whatever", "b"), later])
                     if a["root_id"] == "R"]
    assert [(a["alert_id"], a["state"]) for a in neutral_again] == [("viral_praise:R:1", "open"),
                                                                   ("viral_praise:R:1", "resolved")]
    # back with complaining replies, it is a new incident of its new kind
    det = OfflineDetector(ChainConfig(), KindByPrefix())
    complaining = [a for a in det.run(decode_event(e) for e in
                                      [post, *first, *wave("R", t + 3 * 3600_000, 1500, "c broken again", "b"), later])
                   if a["root_id"] == "R"]
    assert ("viral_complaint:R:2", "open") in [(a["alert_id"], a["state"]) for a in complaining]


def test_a_post_that_comes_after_its_first_share_is_in_the_forecast() -> None:
    """Clock skew (a share stamped a second before its post) or a post delivered late put a share
    first; the post (and its 1,000,000 followers, the cascade's first exposure) was then left out of
    the forecast for good: infectiousness 0.09 instead of 0.0005, and a different alert."""
    from detectors.chain import PartitionProcessor

    t = 1_767_261_600_000
    post = {"id": "p", "kind": "post", "created_at": t, "text": "o a post", "author": {"id": "a", "followers": 1_000_000}}
    shares = [{"id": f"s{k}", "kind": "share", "root_id": "p", "created_at": t + 1000 * k + 1,
               "author": {"id": f"u{k}", "followers": 100}} for k in range(1, 60)]

    def forecast(order):
        proc = PartitionProcessor(ChainConfig(), KindByPrefix())
        for e in order:
            proc.process(decode_event(e))
        c = proc.store["p"]
        return c.forecast.n, c.forecast.predict(120.0)

    in_order = forecast([post, *shares])
    post_second = forecast([shares[0], post, *shares[1:]])
    assert in_order[0] == post_second[0] == 60
    assert post_second[1].infectiousness == pytest.approx(in_order[1].infectiousness, rel=0.05)
    assert post_second[1].final == pytest.approx(in_order[1].final, rel=0.05)


def test_a_models_score_out_of_range_is_rejected_and_does_not_poison_its_brand() -> None:
    """A plugged-in model answered one text with sentiment NaN: it went into the brand's window sums
    and its baseline for good, and a real sentiment drop of 60 posts raised no alert."""
    from detectors.understanding import TextAnalysis

    class NaNOnce:
        def analyze(self, text, lang_hint=None):
            s = float("nan") if text == "weird" else (-0.9 if text.startswith("bad") else 0.2)
            return TextAnalysis("en", s, "neutral", 0.1, "other", ("sj",))

    t = 1_767_261_600_000
    events = [{"id": f"p{i}", "kind": "post", "created_at": t + i * 300_000, "text": "fine", "author": {"id": "a"}}
              for i in range(96)]                                   # 8 h of calm posts about sj
    events.append({"id": "w", "kind": "post", "created_at": t + 3_000, "text": "weird", "author": {"id": "a"}})
    t2 = t + 96 * 300_000
    events += [{"id": f"b{i}", "kind": "post", "created_at": t2 + i * 10_000, "text": "bad service",
                "author": {"id": "a"}} for i in range(60)]           # then a real drop
    events.append({"id": "end", "kind": "post", "created_at": t2 + 3_600_000, "text": "fine", "author": {"id": "a"}})
    det = OfflineDetector(ChainConfig(), NaNOnce())
    alerts = list(det.run(sorted((decode_event(e) for e in events), key=lambda e: e.t_ms)))
    assert [a["state"] for a in alerts if a["type"] == "brand_sentiment_drop"][:1] == ["open"]
    assert det.rejected.get("analysis_failed") == 1


def test_make_analysis_refuses_a_score_that_is_not_a_number() -> None:
    from detectors.understanding import make_analysis

    with pytest.raises(ValueError):
        make_analysis("en", float("nan"), 0.5, "other")
    assert make_analysis("en", 7.0, -1.0, "other")[1:4:2] == (1.0, 0.0)   # out of range: clamped


def test_a_cascade_already_at_the_escalation_level_when_it_opens_is_escalated_at_once() -> None:
    """It was sent as open (a warning) and escalated only at a later check, so the critical page
    waited for the next events."""
    from detectors.virality import ViralityThresholds

    # an escalation line just above the opening line: the first assessment is past both
    cfg = ChainConfig(thresholds=ViralityThresholds(viral_final=60.0, escalate_final=61.0))
    det = OfflineDetector(cfg, ANALYZER)
    alerts = [a for a in det.run(decode_event(e) for e in by_time(cascade("fast", COMPLAINT_SV, "sv", 1500)))
              if a["root_id"] == "fast"]
    assert [(a["state"], a["severity"]) for a in alerts[:2]] == [("open", "warning"), ("escalated", "critical")]
    assert alerts[0]["detected_at_ms"] == alerts[1]["detected_at_ms"]
    assert alerts[0]["alert_id"] == alerts[1]["alert_id"]


def test_a_brand_storm_already_at_the_escalation_level_when_it_opens_is_escalated_at_once() -> None:
    """60 complaints in one window against a line of 15: sent as open (a warning), critical only 5
    minutes later, at the next window, and only if still above twice the line."""
    from detectors.brand import BrandAggregator, BrandPartials, BrandRules

    rules = BrandRules()
    t = 1_767_261_600_000
    agg, p = BrandAggregator(rules, sources=["0"]), BrandPartials(rules.bucket_s)
    for j in range(60):
        p.add("sj", t + j * 1000, -0.8, True, True)
    out = agg.merge("0", *p.drain(), caught_up=True)
    p.observe(t + rules.bucket_s * 1000 + rules.lateness_s * 1000)
    out += agg.merge("0", *p.drain(), caught_up=True)
    storm = [(a.state, a.severity, a.t_ms) for a in out if a.type == "complaint_storm"]
    assert [s[:2] for s in storm] == [("open", "warning"), ("escalated", "critical")]
    assert storm[0][2] == storm[1][2]


def test_an_alerted_cascade_outlives_the_ordinary_expiry_and_its_next_incident_continues_the_sequence() -> None:
    """The stream forgot a cascade after expire_s of event time even when it had alerted: come back,
    its next incident was ``...:1`` again, an id already on the alerts topic."""
    from detectors.chain import PartitionProcessor

    cfg = ChainConfig()
    proc = PartitionProcessor(cfg, ANALYZER)
    first = by_time(cascade("sjx", COMPLAINT_SV, "sv", 1500, brands=["sj"], seed=1))
    quiet = by_time(cascade("q", "Fin morgon", "sv", 2, start_ms=first[0]["created_at"], seed=2, duration_s=60))
    out = []
    for offset, e in enumerate(by_time(first + quiet)):
        out += proc.process(decode_event(orjson.dumps(e)), "p", offset)
    t_end = max(e["created_at"] for e in first + quiet)
    # let it resolve, then 80 hours of event time later (past expire_s, 72 h): forgotten is only the quiet one
    later = t_end + 80 * 3600 * 1000
    proc.sweep(later)   # (resolves its alert if the cascade's own events had not)
    assert [a["state"] for a in out][:1] == ["open"]
    assert not proc.store["sjx"].alert.active and proc.store["sjx"].alert.seq == 1
    assert proc.expired(later) == ["q"]
    assert sorted(proc.expired(t_end + (cfg.alerted_expire_s + 3600) * 1000)) == ["q", "sjx"]
    assert cfg.expire_after_s(True) == 30 * 24 * 3600 and cfg.expire_after_s(False) == cfg.expire_s
    # the same cascade, offline, comes back: detect never forgets, and numbers it 2
    second = by_time(cascade("sjx", COMPLAINT_SV, "sv", 1500, brands=["sj"], seed=3, start_ms=later))
    second = [e for e in second if e["kind"] != "post"]
    alerts = alerts_for(first + second)
    opens = [a["alert_id"] for a in alerts if a["state"] == "open"]
    assert opens == ["viral_complaint:sjx:1", "viral_complaint:sjx:2"], opens


def test_an_event_dated_ahead_of_its_arrival_moves_the_partitions_clock_only_to_that_arrival() -> None:
    """One post 299 s ahead of its arrival (accepted: VIRALITY_MAX_FUTURE_S is 300), then 60 brand
    posts 5 s old: the partition's clock had moved 299 s on, and all 60 were left out of the brand
    windows as late (a reviewer's run against the worker)."""
    from detectors.chain import PartitionProcessor
    from tests.factories import BASE_MS

    proc = PartitionProcessor(ChainConfig(), ANALYZER)
    arrival = BASE_MS
    ahead = {"id": "ahead", "kind": "post", "created_at": arrival + 299_000, "author": {"id": "a"},
             "text": "Tåget är inställt igen, SJ", "lang": "sv", "brands": ["sj"]}
    proc.process(decode_event(ahead), "p", 0, arrival)
    assert proc.watermark_ms == arrival
    for i in range(60):
        post = {"id": f"m{i}", "kind": "post", "created_at": arrival + 1000 + i * 100 - 5000,
                "author": {"id": f"u{i}"}, "text": "SJ är försenat igen", "lang": "sv", "brands": ["sj"]}
        proc.process(decode_event(post), "p", 1 + i, arrival + 1000 + i * 100)
    assert proc.brand_late == 0
    assert sum(n for (brand, _), n in proc.brand_counts.items() if brand == "sj") == 61
    # an event on time moves the clock to its own time, as before
    later = {"id": "later", "kind": "post", "created_at": arrival + 20_000, "author": {"id": "b"},
             "text": "ok", "lang": "sv"}
    proc.process(decode_event(later), "p", 100, arrival + 21_000)
    assert proc.watermark_ms == arrival + 20_000
