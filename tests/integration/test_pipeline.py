"""The whole pipeline on a real broker: posts in, alerts and dead letters out."""
from __future__ import annotations

import base64
import os
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import orjson
import pytest

from detectors.chain import OfflineDetector
from detectors.events import decode_event
from detectors.understanding import load_analyzer
from streams.settings import Settings
from tests.factories import BASE_MS, COMPLAINT_SV, PRAISE_EN, by_time, cascade, chatter
from tests.integration.conftest import (ROOT, Names, Worker, consume, consume_records, create_topics,
                                       filled_worker, keyed, produce, wait_active, wait_processed)

pytestmark = pytest.mark.integration

SCHEMAS = ROOT / "schemas"


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text()),
                                           format_checker=jsonschema.FormatChecker())


def offline_alerts(names: Names, events: list[dict]) -> list[dict]:
    """What ``virality detect`` decides for the same events with the same settings."""
    settings = Settings.from_env(names.environ())
    det = OfflineDetector(settings.chain_config(), load_analyzer(None, dict(settings.brands)),
                          partitions=settings.partitions)
    return list(det.run(decode_event(e) for e in by_time(events)))


def transitions(alerts: list[dict]) -> list[tuple]:
    return sorted((a["transition_id"], a["detected_at"], a["shares"]) for a in alerts)


def assert_none_lost(got: list[dict], expected: list[dict]) -> None:
    assert sorted({a["transition_id"] for a in got}) == sorted(a["transition_id"] for a in expected), "alert lost"


def assert_none_repeated(got: list[dict]) -> None:
    ids = [a["transition_id"] for a in got]
    assert len(ids) == len(set(ids)), f"repeated: {sorted(i for i in ids if ids.count(i) > 1)}"


def test_viral_complaint_cascade_produces_an_alert(names: Names, start_worker) -> None:
    events = by_time(cascade("sj1", COMPLAINT_SV, "sv", 1500, brands=["sj"]) + chatter(30))
    create_topics(names)
    worker = start_worker(names)
    produce(names.posts, keyed(events))
    alerts = consume(names.alerts, lambda got: any(a["state"] == "escalated" for a in got), timeout=90)

    opened = [a for a in alerts if a["alert_id"] == "viral_complaint:sj1:1" and a["state"] == "open"]
    assert len(opened) == 1, alerts
    a = opened[0]
    v = validator("alert.schema.json")
    for alert in alerts:
        v.validate(alert)
    assert a["type"] == "viral_complaint" and a["brand"] == "sj" and a["lang"] == "sv"
    assert a["severity"] == "warning"
    assert 20 <= a["shares"] < 1000, "flagged early: before the cascade reached the viral size"
    line = Settings.from_env({}).chain_config().thresholds
    # opened by one of the two lines: the score is at least the lower one
    assert a["score"] >= min(line.open_score, line.early_score) and "viral probability" in a["reason"]
    assert a["shares"] >= line.decide_from
    assert a["predicted_final_shares"] > a["shares"]
    assert a["root_text"].startswith("@SJ_AB")
    assert a["reason"]
    worker.wait_processed(len(events))
    assert worker.metric("virality_alerts_total", type="viral_complaint", state="open") == 1
    assert worker.metric("virality_events_consumed_total", kind="share") >= 1400
    assert worker.stop() == 0


def test_malformed_events_are_dead_lettered_and_the_worker_keeps_going(names: Names, start_worker) -> None:
    bad = [
        (b"k1", b'{"id": "x", "kind": "share",'),                                              # malformed JSON
        (b"k2", orjson.dumps({"id": "x2", "kind": "share", "created_at": 0, "author": {"id": "a"}})),  # no root_id
        (b"k3", orjson.dumps({"id": "x3", "kind": "post", "created_at": "soon", "author": {"id": "a"}, "text": "hi"})),
        (b"k4", orjson.dumps({"id": "x4", "kind": "post", "created_at": 0, "author": {"id": "a"}, "text": 5})),
        (b"k5", b"\xff\xfe not utf-8"),
        (b"k6", orjson.dumps([1, 2, 3])),
        # 900 KB of quotes: escaped into a JSON dead letter whole it would be 1.8 MB, past Kafka's limit
        (b"k7", b'"' * 900_000),
        (b"K" * 5000, b"{"),                                                                  # a huge key
    ]
    good = chatter(5)
    create_topics(names)
    worker = start_worker(names)
    produce(names.posts, bad + keyed(by_time(good)))
    dead = consume(names.dlq, lambda got: len(got) >= len(bad), timeout=60)

    assert sorted(d["reason"] for d in dead) == sorted(
        ["malformed_json", "missing_field", "bad_timestamp", "wrong_type", "malformed_json", "not_an_object",
         "too_large", "malformed_json"])
    v = validator("deadletter.schema.json")
    for d in dead:
        v.validate(d)
    by_key = {d["key"]: d for d in dead}
    assert by_key["k1"]["value"] == '{"id": "x", "kind": "share",'          # the original, nothing lost
    assert by_key["k5"]["value_encoding"] == "base64"
    huge = by_key["k7"]
    assert huge["value_truncated"] is True and huge["value_bytes"] == 900_000
    assert base64.b64decode(huge["value"]) == b'"' * (128 * 1024)
    assert by_key["K" * 1024]["value"] == "{" and "value_truncated" not in by_key["K" * 1024]
    # what on-call runs to see them (the runbook's command): every reject, its reason and where it sits
    tail = subprocess.run([sys.executable, "-m", "streams.cli", "tail", names.dlq, "--from-beginning",
                           "--max", str(len(bad))], cwd=ROOT, env=names.environ(), capture_output=True,
                          text=True, timeout=60)
    assert tail.returncode == 0, tail.stderr
    assert tail.stdout.count("REJECTED  malformed_json") == 3 and "REJECTED  too_large" in tail.stdout
    assert f"{names.posts}[" in tail.stdout and '{"id": "x", "kind": "share",' in tail.stdout
    # a mistyped topic is one clear line, not the Kafka client's warning ten times a second
    typo = subprocess.run([sys.executable, "-m", "streams.cli", "tail", names.dlq + "x", "--max", "1"],
                          cwd=ROOT, env=names.environ(), capture_output=True, text=True, timeout=60)
    assert typo.returncode == 2 and "does not exist" in typo.stderr and names.dlq in typo.stderr
    assert "not found in cluster metadata" not in typo.stderr and len(typo.stderr.splitlines()) == 1
    worker.wait_processed(len(bad) + len(good))
    assert worker.metric("virality_events_rejected_total", reason="malformed_json") == 3
    assert worker.metric("virality_events_consumed_total") == len(good)     # and it kept going
    assert worker.stop() == 0


@pytest.mark.parametrize("env", [{}, {"VIRALITY_ANALYZER": "tests.fakes:BatchOnlyAnalyzer"},
                                 {"VIRALITY_EVICT_IDLE_S": "0", "VIRALITY_MAINTAIN_EVERY_S": "0.01",
                                  "VIRALITY_FLUSH_INTERVAL_S": "0.02", "VIRALITY_BATCH_MAX": "50",
                                  "VIRALITY_PARTITIONS": "1"},
                                 {"VIRALITY_ANALYSIS_PROCESSES": "0"}],
                         ids=["built-in", "batching", "evicting", "no-helpers"])
def test_stream_decisions_equal_offline_detect(start_worker, env) -> None:
    # "batching": a model that takes texts only through analyze_many (its analyze() fails), so the
    # worker must hand it each fetched batch's texts at once; it answers as the built-in one does.
    # "evicting": small batches and a flush every 20 ms, at which every cascade not at the watermark
    # is dropped to its stored form, to be read back on its next event; decisions must not change.
    # One partition, so the two big cascades take turns at the watermark and are evicted in turn.
    # By default (2 or more cores) a helper process analyses each batch's texts as the consumer
    # hands it over; "no-helpers": the agent analyses every text itself.
    names = Names(**env)
    events = by_time(cascade("sj2", COMPLAINT_SV, "sv", 1300, brands=["sj"], seed=3)
                     + cascade("ik2", PRAISE_EN, "en", 1200, start_ms=cascade("x", "x", "en", 0)[0]["created_at"] + 1_800_000,
                               brands=["ikea"], seed=4)
                     + chatter(40, seed=5)
                     # small cascades spread over the same hours, interleaved with the big ones
                     + [e for k in range(20) for e in cascade(f"mid{k}", "Fin morgon i Stockholm", "sv", 25,
                                                              seed=20 + k)])
    expected = offline_alerts(names, events)
    assert {a["type"] for a in expected} >= {"viral_complaint", "viral_praise"}
    create_topics(names)
    worker = start_worker(names)
    produce(names.posts, keyed(events))
    worker.wait_processed(len(events))
    got = consume(names.alerts, lambda got: len(got) >= len(expected), timeout=30)
    assert transitions(got) == transitions(expected)
    if "VIRALITY_EVICT_IDLE_S" in env:
        # evictions happen at wall-clock maintenance ticks, so how many fall inside the run depends on
        # the machine's speed: 95 reloads on a fast day (2026-11-23), more on slower ones
        loaded = worker.metric("virality_cascades_loaded_total")
        assert loaded >= 20, loaded
    ahead = worker.metric("virality_texts_analysed_ahead_total")
    texts = sum(1 for e in events if e.get("text"))
    if env.get("VIRALITY_ANALYSIS_PROCESSES") == "0" or "VIRALITY_ANALYZER" in env:
        assert ahead == 0   # off, or a plugged-in model (helpers build only the configured analyzer)
    elif (os.cpu_count() or 1) >= 2:
        assert ahead >= 0.9 * texts, f"only {ahead} of {texts} texts were analysed by the helper"
    assert worker.stop() == 0


def test_cascades_recovered_and_never_touched_again_expire(start_worker) -> None:
    """After a restart the worker knows the stored cascades it has not loaded: it counts them, and
    forgets them (a tombstone on the changelog) once VIRALITY_EXPIRE_S of event time has passed."""
    names = Names(partitions=2, VIRALITY_EXPIRE_S="3600", VIRALITY_MAINTAIN_EVERY_S="0.2",
                  VIRALITY_QUIET_S="600", VIRALITY_COOLDOWN_S="600")
    now = int(time.time() * 1000)
    old = [e for k in range(30) for e in cascade(f"old{k}", "Fin morgon i Stockholm", "sv", 3,
                                                 start_ms=now - 10 * 3_600_000 + k * 1000, seed=k,
                                                 duration_s=300)]
    create_topics(names)
    first = start_worker(names)
    produce(names.posts, keyed(by_time(old)))
    first.wait_processed(len(old))
    assert first.stop() == 0

    second = start_worker(names)
    deadline = time.monotonic() + 30
    while second.metric("virality_active_cascades") < 30 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert second.metric("virality_active_cascades") == 30, "recovered cascades are not counted"
    assert second.metric("virality_live_cascades") == 0   # none loaded: no event of theirs came
    # new cascades in both partitions move each partition's watermark past the old ones' expiry
    new = [e for k in range(8) for e in cascade(f"new{k}", "Fin kväll", "sv", 2, start_ms=now - 60_000 + k,
                                                seed=100 + k, duration_s=30)]
    produce(names.posts, keyed(by_time(new)))
    second.wait_processed(len(new))
    changelog = f"{names.run}-cascades-changelog"
    tombstoned = lambda recs: {k for k, v in recs if v is None}
    recs = consume_records(changelog, lambda recs: len(tombstoned(recs)) >= 30, timeout=30)
    assert tombstoned(recs) == {f"old{k}".encode() for k in range(30)}
    assert second.metric("virality_cascades_expired_total") == 30
    deadline = time.monotonic() + 15
    while second.metric("virality_active_cascades") != 8 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert second.metric("virality_active_cascades") == 8
    assert second.stop() == 0


def test_a_failed_send_stops_the_worker_and_loses_nothing(start_worker) -> None:
    """A send to Kafka that fails (here: a cascade state over the request limit, from a text model
    plug-in gone wrong) stops the worker without committing the batch; its successor reads it again."""
    names = Names(VIRALITY_ANALYZER="tests.fakes:OversizedBrandAnalyzer")
    events = by_time(chatter(30, seed=12) + cascade("big", "OVERSIZE Fin morgon", "sv", 3, start_ms=BASE_MS + 3_600_000))
    roots = {e["id"].encode() for e in events if e["kind"] == "post"}
    create_topics(names)
    first = start_worker(names)
    produce(names.posts, keyed(events))
    deadline = time.monotonic() + 60
    while first.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.proc.returncode not in (None, 0), "the worker did not stop after a failed send"
    first.log.close()
    assert "the cascades agent failed" in first.log_path.read_text()

    plain = names.another_worker()
    del plain.env["VIRALITY_ANALYZER"]
    second = start_worker(plain)
    changelog = f"{names.run}-cascades-changelog"
    recs = consume_records(changelog, lambda recs: roots <= {k for k, _ in recs}, timeout=60)
    assert roots <= {k for k, _ in recs}, f"never written: {sorted(roots - {k for k, _ in recs})}"
    assert second.processed() >= 1
    assert second.stop() == 0


def test_events_not_keyed_by_root_are_repartitioned(names: Names, start_worker) -> None:
    events = by_time(cascade("sj3", COMPLAINT_SV, "sv", 1200, brands=["sj"], seed=6))
    create_topics(names)
    worker = start_worker(names)
    produce(names.posts, [(None, orjson.dumps(e)) for e in events])   # no key: spread over partitions
    alerts = consume(names.alerts, lambda got: any(a["root_id"] == "sj3" for a in got), timeout=60)
    assert [a["alert_id"] for a in alerts if a["state"] == "open"] == ["viral_complaint:sj3:1"]
    worker.wait_processed(len(events))
    assert worker.stop() == 0


def produce_to(topic: str, records: list[tuple[bytes | None, bytes, int]]) -> None:
    """``(key, value, partition)`` records, each in the partition given (another partitioner's choice)."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    from tests.integration.conftest import BROKER

    async def run() -> None:
        p = AIOKafkaProducer(bootstrap_servers=BROKER, linger_ms=5, enable_idempotence=True)
        await p.start()
        try:
            for key, value, partition in records:
                await p.send(topic, value, key=key, partition=partition)
            await p.flush()
        finally:
            await p.stop()
    asyncio.run(run())


def test_events_forwarded_to_their_partition_are_counted_once_across_a_kill(start_worker) -> None:
    """Events keyed by their cascade but placed by another partitioner (librdkafka's CRC32 default)
    go through posts.by-root. Killed before their posts offsets were committed, the worker's
    successor forwarded them again and applied the copies: a reviewer's 1,600-share cascade was
    stored with 1,750 to 1,908 shares and escalated to critical where detect did not."""
    from detectors.cascade import CascadeState
    from detectors.chain import partition_for

    names = Names(partitions=2, VIRALITY_COMMIT_INTERVAL_S="120")   # nothing committed before the kill
    events = by_time(cascade("sjk", COMPLAINT_SV, "sv", 1600, brands=["sj"], seed=7))
    other = (partition_for("sjk", 2) + 1) % 2
    records = [(b"sjk", orjson.dumps(e), other) for e in events]
    expected = offline_alerts(names, events)
    half = len(events) // 2
    create_topics(names)
    first = start_worker(names)
    produce_to(names.posts, records[:half])
    first.wait_processed(half)
    applied_first = first.processed()
    time.sleep(3)    # flushed (VIRALITY_FLUSH_INTERVAL_S 1): the states hold all of it, no offset is committed
    first.stop(signal.SIGKILL)
    produce_to(names.posts, records[half:])
    second = start_worker(names)
    second.wait_processed(len(events) - half, timeout=90)
    time.sleep(3)   # time for any copy to be applied too
    assert second.metric("virality_events_reread_total") >= 2 * half   # the by-root originals and the copies
    assert second.metric("virality_events_rejected_total") == 0
    assert applied_first + second.processed() == len(events)    # each applied once, none rejected
    second.stop()
    stored = [v for k, v in consume_records(f"{names.run}-cascades-changelog", lambda got: False, timeout=4)
              if k == b"sjk" and v is not None]
    assert CascadeState.from_state(orjson.loads(stored[-1])).shares == len(events) - 1
    got = consume(names.alerts, lambda got: False, timeout=3)
    assert_none_lost(got, expected)
    first_seen: dict[str, dict] = {}
    for a in got:     # a repeat after the kill is the same message
        assert first_seen.setdefault(a["transition_id"], a) == a


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "killed"])
def test_restart_mid_stream_loses_no_alert_and_duplicates_none(names: Names, start_worker, sig) -> None:
    """SIGTERM: exactly the offline transitions. SIGKILL: none lost; a repeat is an identical message."""
    events = by_time(cascade("sj4", COMPLAINT_SV, "sv", 1600, brands=["sj"], seed=7)
                     + cascade("ik4", PRAISE_EN, "en", 1300, brands=["ikea"], seed=8) + chatter(40, seed=9))
    expected = offline_alerts(names, events)
    assert len(expected) >= 3
    half = len(events) // 2
    create_topics(names)
    first = start_worker(names)
    produce(names.posts, keyed(events[:half]))
    first.wait_processed(half)
    first.stop(sig)
    produce(names.posts, keyed(events[half:]))
    second = start_worker(names)
    got = consume(names.alerts, lambda got: len(got) >= len(expected), timeout=60)
    # give a duplicate time to show up, then read everything again
    second.wait_processed(len(events) - half, timeout=60)
    got = consume(names.alerts, lambda got: False, timeout=4)
    assert_none_lost(got, expected)
    if sig == signal.SIGTERM:
        assert_none_repeated(got)
    else:
        # a hard kill can repeat a transition whose state had not reached the changelog yet; the
        # repeat is the same message (same transition_id, same content), so consumers can drop it
        first_seen: dict[str, dict] = {}
        for a in got:
            assert first_seen.setdefault(a["transition_id"], a) == a
    assert second.stop() == 0


def test_a_stop_during_table_recovery_is_clean_and_loses_nothing(start_worker, tmp_path: Path) -> None:
    """A SIGTERM while a restarted worker reads its tables back (a deploy during a long restart)
    stops it with exit code 0 and no crash; the next worker recovers every cascade and repeats nothing.
    Faust counted the fetcher's cancellation during recovery as a crash and ended with exit code 1
    and an AttributeError from its missing supervisor."""
    names = Names(partitions=2)
    n = 20_000
    assert filled_worker(start_worker, names, n).stop() == 0

    recovering = Worker(names, tmp_path / "recovering.log").launch()
    deadline = time.monotonic() + 60
    while b"Restoring state from changelog topics" not in recovering.log_path.read_bytes():
        assert time.monotonic() < deadline and recovering.proc.poll() is None, recovering.log_path.read_text()[-3000:]
        time.sleep(0.01)
    code = recovering.stop(signal.SIGTERM)
    log = recovering.log_path.read_text()
    assert "worker: ready" not in log, "recovery ended before the signal: the test needs more cascades"
    assert code == 0, log[-3000:]
    assert "AttributeError" not in log and "Crashed" not in log and "experienced a crash" not in log, log[-3000:]

    third = start_worker(names)
    wait_active(third, n)
    time.sleep(1.0)
    assert third.processed() == 0     # nothing read again: the offsets were committed before
    assert third.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_worker_stopped_as_it_starts_never_says_ready(tmp_path: Path, sig) -> None:
    """A stop between Faust's start and its table recovery: Faust counts the recovery that never
    began as done and finishes its start-up, and the worker printed "worker: ready (tables
    recovered, partitions assigned)" after the signal (7 times in 8 with SIGTERM), which scripts
    take for ready."""
    names = Names(partitions=2)
    create_topics(names)
    w = Worker(names, tmp_path / "early.log").launch()
    deadline = time.monotonic() + 60
    while b"[^--Producer]: Starting" not in w.log_path.read_bytes():
        assert time.monotonic() < deadline and w.proc.poll() is None, w.log_path.read_text()[-3000:]
        time.sleep(0.005)
    assert w.stop(sig) == 0
    log = w.log_path.read_text()
    assert "Signal received" in log and "worker: ready" not in log, log[-3000:]


def test_replay_and_detect_commands(names: Names, start_worker, tmp_path: Path) -> None:
    events = by_time(cascade("sj5", COMPLAINT_SV, "sv", 1200, brands=["sj"], seed=10) + chatter(20, seed=11))
    path = tmp_path / "events.jsonl"
    # (and a line too large for a Kafka record: replay --include-invalid raised on it and sent nothing)
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in reversed(events)) + b"{broken\n"
                     + b'{"id": "huge", "text": "' + b"x" * 1_500_000 + b'"}\n')
    out = tmp_path / "alerts.jsonl"
    subprocess.run([sys.executable, "-m", "streams.cli", "detect", "--input", str(path), "--output", str(out)],
                   cwd=ROOT, env=names.environ(), check=True, capture_output=True, timeout=120)
    offline = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert any(a["alert_id"] == "viral_complaint:sj5:1" for a in offline)

    create_topics(names)
    worker = start_worker(names)
    r = subprocess.run([sys.executable, "-m", "streams.cli", "replay", str(path), "--include-invalid"],
                       cwd=ROOT, env=names.environ(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"{len(events) + 1:,} events" in r.stderr and "1 lines too large for Kafka not sent" in r.stderr, r.stderr
    assert "1,500,0" in r.stderr and "Traceback" not in r.stderr
    worker.wait_processed(len(events) + 1)
    got = consume(names.alerts, lambda got: len(got) >= len(offline), timeout=30)
    assert transitions(got) == transitions(offline)
    tail = subprocess.run([sys.executable, "-m", "streams.cli", "tail", "--from-beginning", "--max", "1"],
                          cwd=ROOT, env=names.environ(), capture_output=True, text=True, timeout=60)
    assert "OPEN" in tail.stdout and "viral_complaint" in tail.stdout
    assert worker.stop() == 0


@pytest.mark.parametrize("env", [{}, {"VIRALITY_EVICT_IDLE_S": "0", "VIRALITY_MAINTAIN_EVERY_S": "0.01",
                                      "VIRALITY_FLUSH_INTERVAL_S": "0.05", "VIRALITY_BATCH_MAX": "100"}],
                         ids=["default", "evicting"])
def test_scaling_out_and_back_in_mid_stream_loses_and_repeats_nothing(start_worker, env) -> None:
    """A second worker joins the group mid-stream (partitions and their table state move to it), then
    the first leaves (everything moves back): the alert topic still holds exactly the offline
    transitions, none lost and none twice. "evicting": every idle cascade is dropped to its stored
    form at each flush, so moved partitions come back through the table scan and reloads; its short
    fetches are what exposed a recovery that waited for ever for changelog records the consumer had
    fetched and dropped when a rebalance began (see streams.batching.BatchingConsumer.rewind): a
    worker stuck so never resolves, and this test fails on the missing transitions."""
    names = Names(partitions=4, **env)
    events = by_time(cascade("sj6", COMPLAINT_SV, "sv", 1500, brands=["sj"], seed=12)
                     + cascade("ik6", PRAISE_EN, "en", 1300, brands=["ikea"], seed=13)
                     + cascade("sj7", COMPLAINT_SV, "sv", 1400, brands=["sj"], seed=14) + chatter(60, seed=15))
    expected = offline_alerts(names, events)
    assert len(expected) >= 4
    third = len(events) // 3
    create_topics(names)
    first = start_worker(names)
    produce(names.posts, keyed(events[:third]))
    first.wait_processed(third)
    second = start_worker(names.another_worker())  # joins: partitions move to it
    produce(names.posts, keyed(events[third:2 * third]))
    wait_processed([first, second], 2 * third, timeout=90)
    assert second.metric("virality_events_consumed_total") > 0, "the new worker took over partitions"
    assert first.stop() == 0          # leaves: its partitions move back to the second worker
    produce(names.posts, keyed(events[2 * third:]))
    got = consume(names.alerts, lambda got: len(got) >= len(expected), timeout=90)
    time.sleep(3)                     # give a repeat time to show up, then read everything again
    got = consume(names.alerts, lambda got: False, timeout=4)
    assert_none_lost(got, expected)
    assert_none_repeated(got)
    assert transitions(got) == transitions(expected)
    if env:
        loaded = second.metric("virality_cascades_loaded_total")
        assert loaded > 0, "no cascade came back from its stored form: eviction was not exercised"
    assert second.stop() == 0


def test_a_worker_whose_event_loop_hangs_shows_it_in_its_state_age(start_worker) -> None:
    """A plugged-in model that never answers blocks the worker's loop: it stays up for scrapes with
    every gauge frozen, its lag at 0 among them (a reviewer's worker had 5,001 messages unprocessed).
    virality_state_age_seconds, computed at the scrape, grows; ViralityWorkerStalled reads it."""
    names = Names(partitions=1, VIRALITY_ANALYZER="tests.fakes:HangingAnalyzer")
    create_topics(names)
    worker = start_worker(names)
    before = chatter(20)
    produce(names.posts, keyed(before))
    worker.wait_processed(len(before))
    deadline = time.monotonic() + 20
    while "virality_state_age_seconds " not in worker.metrics() and time.monotonic() < deadline:
        time.sleep(0.5)                                   # (refreshed every 5 s: the first refresh)
    assert worker.metric("virality_state_age_seconds") < 10
    hang = {"id": "hang-1", "kind": "post", "created_at": int(time.time() * 1000), "author": {"id": "h"},
            "text": "HANG here", "lang": "en"}
    produce(names.posts, keyed([hang]) + keyed(chatter(20, seed=5)))
    deadline = time.monotonic() + 60
    age = 0.0
    while time.monotonic() < deadline and age < 15:
        time.sleep(1)
        age = worker.metric("virality_state_age_seconds")   # the scrape still answers
    assert age >= 15, age
    assert worker.processed() == len(before)              # nothing since the hang
    worker.stop(signal.SIGKILL)
