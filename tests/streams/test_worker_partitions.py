"""The worker's partition bookkeeping around a rebalance, with stand-ins for the Faust app's
consumer (its assignment), producer and table. What Kafka does in a rebalance is tested against the
real broker (tests/integration); this pins the worker's side: it never processes, writes for or
keeps a processor of a partition it no longer owns.
"""
from __future__ import annotations

import asyncio
import types
from pathlib import Path
from typing import NamedTuple

import orjson
from prometheus_client import CollectorRegistry

from detectors.chain import partition_for
from detectors.understanding import DefaultAnalyzer
from streams import app as worker_app
from streams.app import CascadeWorker
from streams.metrics import Metrics
from streams.settings import Settings
from tests.factories import BASE_MS, by_time, chatter

P = 3


class TP(NamedTuple):
    topic: str
    partition: int


class Consumer:
    def __init__(self, parts: set[int]) -> None:
        self.parts = parts
        self._read_offset: dict = {}
        self.acked: list = []

    def assignment(self):
        return {TP(t, p) for p in self.parts for t in ("posts", "posts.by-root")}

    def ack(self, m) -> None:
        self.acked.append(m)

    def highwater(self, tp):
        return None


class Producer:
    """Records what is sent; each send returns its delivery, done at once unless ``hold`` names the
    topic (then it is done when the test says so), as aiokafka's send returns a future."""

    def __init__(self) -> None:
        self.sent: list = []
        self.headers: list = []   # each send's headers, as sent[i]
        self.hold: str | None = None
        self.held: list[asyncio.Future] = []

    async def send(self, topic, key, value, partition, timestamp=None, headers=None) -> asyncio.Future:
        self.sent.append((topic, key, value, partition))
        self.headers.append(headers)
        delivered = asyncio.get_running_loop().create_future()
        if topic == self.hold:
            self.held.append(delivered)
        else:
            delivered.set_result(None)
        return delivered


class StubApp:
    def __init__(self) -> None:
        self.consumer_generation_id = 1
        self.rebalancing = False
        self.consumer = Consumer(set(range(P)))
        self.producer = Producer()


class Table:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.changelog_topic = types.SimpleNamespace(get_topic_name=lambda: "changelog")

    def get(self, key: bytes):
        return self.data.get(key)


def messages(events, generation=1, in_time_order=True):
    offsets = {p: 0 for p in range(P)}
    out = []
    for e in (by_time(events) if in_time_order else events):
        root = e.get("root_id", e["id"])
        p = partition_for(root, P)
        out.append(types.SimpleNamespace(topic="posts", key=root.encode(), value=orjson.dumps(e), partition=p,
                                         offset=offsets[p], timestamp=None, generation_id=generation))
        offsets[p] += 1
    return out


def worker(table: Table) -> tuple[CascadeWorker, StubApp]:
    app = StubApp()
    settings = Settings(partitions=P, posts_topic="posts", repartition_topic="posts.by-root")
    return CascadeWorker(app, settings, DefaultAnalyzer({}), Metrics(CollectorRegistry()), table, {}), app


def stored(table: Table, events) -> None:
    """``events`` processed by a worker over ``table`` and flushed: the table a successor recovers."""
    first, _ = worker(table)

    async def fill():
        await first.ensure_processors()
        first.process_batch(messages(events))
        await first.flush()
    asyncio.run(fill())


def dead_letter_reasons(app: StubApp) -> list[str]:
    """The reasons of what the worker sent to the dead-letter topic, in order."""
    return [orjson.loads(v)["reason"] for t, k, v, p in app.producer.sent if t == "posts.deadletter"]


def post_record(root: str, created_ms: int, record_ms: int | None):
    """A post keyed and placed as it should be, with its record's timestamp (None: none)."""
    e = {"id": root, "kind": "post", "created_at": created_ms, "author": {"id": "a"}, "text": "hej", "lang": "sv"}
    return types.SimpleNamespace(topic="posts", key=root.encode(), value=orjson.dumps(e), partition=partition_for(root, P),
                                 offset=0, timestamp=None if record_ms is None else record_ms / 1000.0, generation_id=1)


def processed_alone(batch) -> tuple[CascadeWorker, StubApp]:
    """A fresh worker that has processed ``batch`` and sent what it produced."""
    w, app = worker(Table())

    async def go():
        await w.ensure_processors()
        w.process_batch(batch)
        await w.send_out()
    asyncio.run(go())
    return w, app


def test_a_batch_of_a_revoked_partition_is_not_processed_and_not_acked() -> None:
    table = Table()
    w, app = worker(table)
    batch = messages(chatter(30))
    lost = {m.partition for m in batch}.pop()
    app.consumer.parts = set(range(P)) - {lost}       # the assignment after a rebalance

    async def go():
        assert await w.ensure_processors()
        w.process_batch(batch)
        await w.flush()
    asyncio.run(go())
    assert lost not in w.processors and sorted(w.processors) == sorted(app.consumer.parts)
    assert all(m.partition != lost for m in app.consumer.acked)
    assert {m.partition for m in app.consumer.acked} == app.consumer.parts
    assert not [s for s in app.producer.sent if s[0] == "changelog" and s[3] == lost]
    assert w.stale == sum(m.partition == lost for m in batch)


def test_a_rebalance_during_the_table_scan_starts_no_processor(monkeypatch) -> None:
    monkeypatch.setattr(worker_app, "SCAN_CHUNK", 5)
    table = Table()
    stored(table, chatter(40))
    assert len(table.data) > 20

    w, app = worker(table)   # a restarted worker over the recovered table

    async def go():
        async def rebalance():
            await asyncio.sleep(0)
            app.rebalancing = True
            await w.revoke(set(range(P)))
            app.consumer.parts = set()
        ok, _ = await asyncio.gather(w.ensure_processors(), rebalance())
        return ok
    assert asyncio.run(go()) is False
    assert w.processors == {}
    app.rebalancing, app.consumer_generation_id, app.consumer.parts = False, 2, {0}
    assert asyncio.run(w.ensure_processors()) is True
    assert sorted(w.processors) == [0]
    stored0 = {k for k in table.data if partition_for(k.decode(), P) == 0}
    assert w.processors[0].store.cold == stored0 and stored0


def test_inputs_that_once_stopped_the_worker_are_dead_lettered() -> None:
    """Each of these raised inside the batch (writing a date past the year 9999, serializing a reach
    past 64 bits); with the worker now stopping on any agent error they would stop it at every
    restart. They must be dead letters, and the events around them processed."""
    poison = [
        {"id": "p9", "kind": "post", "created_at": "9999-12-31T23:59:59-14:00", "author": {"id": "u"},
         "text": "hej", "lang": "sv"},
        {"id": "big", "kind": "post", "created_at": BASE_MS + 60_000, "author": {"id": "u", "followers": 2**63},
         "text": "hej", "lang": "sv"},
        {"id": "big-1", "kind": "share", "root_id": "big", "created_at": BASE_MS + 61_000,
         "author": {"id": "v", "followers": 2**64 - 1}},
    ]
    table = Table()
    w, app = worker(table)
    good = chatter(10)
    batch = messages(by_time(good) + poison, in_time_order=False)

    async def go():
        assert await w.ensure_processors()
        w.process_batch(batch)
        await w.flush()
    asyncio.run(go())
    assert sorted(dead_letter_reasons(app)) == ["bad_timestamp", "bad_value", "bad_value"]
    assert len(app.consumer.acked) == len(batch)
    roots = {e["id"].encode() for e in good if e["kind"] == "post"}
    assert roots <= set(table.data)


def test_the_changelogs_checked_at_start_are_the_apps_own() -> None:
    # streams.topics checks the tables' changelog topics by name and partition count without
    # importing Faust: the names must be the ones Faust gives the app's tables
    from streams.app import create_app
    from streams.settings import Settings
    from streams.topics import changelog_specs

    s = Settings.from_env({"VIRALITY_APP_ID": "abc", "VIRALITY_PARTITIONS": "6", "VIRALITY_METRICS_PORT": "0"})
    app = create_app(s)
    assert changelog_specs(s) == {t.changelog_topic.get_topic_name(): t.changelog_topic.partitions
                                  for t in app.tables.values()}


def test_cascades_stored_by_an_older_release_are_rewritten_with_per_topic_offsets() -> None:
    """Offsets kept under 'p' and 'r' (before 2026-11-23) are rewritten once, under today's topic
    names, when the partition is assigned: read later, after a rename, 'p' would mean the new topic."""
    table = Table()
    stored(table, chatter(20))
    for key, value in list(table.data.items()):   # as the older release stored them
        d = orjson.loads(value)
        d["o"] = {("p" if k.startswith("posts#") else "r"): v for k, v in d["o"].items()}
        table.data[key] = orjson.dumps(d)
    old = dict(table.data)

    w, app = worker(table)

    async def go():
        await w.ensure_processors()
        await w.send_out()
    asyncio.run(go())
    for key, value in table.data.items():
        p = partition_for(key.decode(), P)
        assert orjson.loads(value)["o"] == {f"posts#{p}": orjson.loads(old[key])["o"]["p"]}
    written = {s[1]: s[2] for s in app.producer.sent if s[0] == "changelog"}
    assert written == table.data


def test_the_state_written_with_an_alert_goes_out_only_once_the_alert_is_delivered() -> None:
    """State first and a kill before the alert's delivery: the restarted worker finds the alert
    recorded as sent and never sends it (a reviewer lost two opens so). The state waits for it."""
    from tests.factories import COMPLAINT_SV, cascade

    table = Table()
    w, app = worker(table)
    settings = w.settings
    app.producer.hold = settings.alerts_topic
    batch = messages(cascade("c1", COMPLAINT_SV, "sv", 1500))
    half = next(i for i in range(0, len(batch), 100) if i > len(batch) // 2)

    def states():
        return [s for s in app.producer.sent if s[0] == "changelog" and s[1] == b"c1"]

    async def go():
        await w.ensure_processors()
        w.process_batch(batch[:half])
        await w.send_out()
        assert [s for s in app.producer.sent if s[0] == settings.alerts_topic], "no alert"
        assert states() == []                    # the alert is not delivered: its state waits
        w.process_batch(batch[half:half + 1])
        await w.send_out()
        assert states() == []
        for delivered in app.producer.held:
            delivered.set_result(None)
        w.process_batch(batch[half + 1:half + 2])
        await w.send_out()                       # delivered now: the state follows
        assert len(states()) >= 1
        first_state = app.producer.sent.index(states()[0])
        last_alert = max(i for i, s in enumerate(app.producer.sent) if s[0] == settings.alerts_topic)
        assert first_state > last_alert
        # a flush waits for deliveries rather than ack over a held state
        app.producer.held.clear()
        w.process_batch(batch[half + 2:])
        sent_before = len(states())

        async def deliver_later():
            await asyncio.sleep(0.05)
            for delivered in app.producer.held:
                delivered.set_result(None)
        await asyncio.gather(w.flush(), deliver_later())
        assert len(states()) > sent_before and not w.held and not w.new_held
    asyncio.run(go())


def test_a_flush_from_a_rebalance_or_the_shutdown_does_not_interleave_with_a_batch() -> None:
    """on_stop and on_revoked flush while the agent may be sending a batch. Interleaved, a state
    written with an alert went out before the alert (a reviewer's stand-in put it 41 sends ahead),
    and an older state after a newer one. The worker now takes them one at a time."""
    from tests.factories import COMPLAINT_SV, cascade

    class YieldingProducer(Producer):
        async def send(self, topic, key, value, partition, *rest):
            await asyncio.sleep(0)                  # enqueueing yields, as aiokafka's can
            self.sent.append((topic, key, value, partition))
            delivered = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(0.005, delivered.set_result, None)
            return delivered

    table = Table()
    w, app = worker(table)
    app.producer = YieldingProducer()
    settings = w.settings
    batch = messages(cascade("c1", COMPLAINT_SV, "sv", 1500))
    forwards = [types.SimpleNamespace(**dict(vars(m), key=b"not-its-root")) for m in messages(chatter(20, seed=9))]

    async def go():
        await w.ensure_processors()
        for start in range(0, len(batch), 50):
            w.process_batch(batch[start:start + 50])      # c1 changes, not yet sent
            await asyncio.gather(w.flush(), w.process(forwards + batch[start + 50:start + 100]))
        await w.flush()
    asyncio.run(go())
    sent = app.producer.sent
    alerts = [i for i, s in enumerate(sent) if s[0] == settings.alerts_topic]
    assert alerts, "c1 never alerted"
    states = [s[2] for s in sent if s[0] == "changelog" and s[1] == b"c1"]
    assert states[-1] == table.data[b"c1"]                # the newest state is the last one written
    lms = [orjson.loads(v)["lm"] for v in states]
    assert lms == sorted(lms), "an older state was written after a newer one"
    first_alert = alerts[0]
    opened = orjson.loads(sent[first_alert][2])
    first_open_state = next(j for j, s in enumerate(sent) if s[0] == "changelog" and s[1] == b"c1"
                            and orjson.loads(s[2])["a"][0] in ("open", "escalated"))
    assert first_open_state > first_alert, (first_open_state, first_alert, opened["transition_id"])


def test_a_batch_that_comes_after_the_final_flush_is_left_to_the_successor() -> None:
    """The agents stop only after on_stop's final flush: a batch processed then would send its alerts
    with no flush to write its states or ack it, and the successor would send them again."""
    from tests.factories import COMPLAINT_SV, cascade

    table = Table()
    w, app = worker(table)
    settings = w.settings
    batch = messages(cascade("c1", COMPLAINT_SV, "sv", 1500))

    async def go():
        await w.ensure_processors()
        await w.process(batch[:100])
        await asyncio.gather(w.flush(last=True), w.process(batch[100:]))   # the batch waits, then comes too late
        await w.process(batch[100:])
    asyncio.run(go())
    assert not [s for s in app.producer.sent if s[0] == settings.alerts_topic]
    assert len(app.consumer.acked) == 100 and w.pending == [] and w.pending_dropped == 2 * (len(batch) - 100)


def test_a_partition_is_told_caught_up_only_after_a_quiet_spell_and_never_on_the_way_out(monkeypatch) -> None:
    """The brand windows close up to the newest watermark for a caught-up partition, so its events
    still to come would be dropped there as late (a spurious 'no texts left to tell'): a moment's
    "nothing left to read" (a stale high-water mark, a batch on its way) must not count."""
    clock = [1000.0]
    monkeypatch.setattr(worker_app.time, "monotonic", lambda: clock[0])
    table = Table()
    w, app = worker(table)
    app.consumer.highwater = lambda tp: 10
    app.consumer._read_offset = {tp: 9 for tp in app.consumer.assignment()}   # read to the end
    batch = messages(chatter(60))
    wait = max(getattr(worker_app, "IDLE_AFTER_S", 5.0), 3 * w.settings.flush_interval_s)

    def told() -> dict[int, bool]:
        """caught_up per partition in the reports sent since the last call."""
        out = {}
        for topic, _, value, _ in app.producer.sent:
            if topic == w.settings.brand_topic:
                out.update({int(r["source"]): r["caught_up"] for r in orjson.loads(value)["reports"]})
        app.producer.sent.clear()
        return out

    async def go():
        await w.ensure_processors()
        w.process_batch(batch)
        clock[0] += wait - 0.5
        await w.flush()
        assert told() == {p: False for p in range(P)}                 # busy half a second ago
        clock[0] += 1.0
        await w.flush()
        assert told() == {p: True for p in range(P)}
        w.in_hand = [batch[0]]                                        # taken by the agent, not processed
        await w.flush()
        # (a caught-up partition says so at every flush: the aggregator takes its word as of then)
        assert told() == {p: p != batch[0].partition for p in range(P)}
        w.in_hand = None
        await w.flush()
        assert told() == {p: True for p in range(P) if p != batch[0].partition}   # busy a moment ago: unchanged
        clock[0] += wait
        await w.flush()
        assert told() == {p: True for p in range(P)}
        w.route = types.SimpleNamespace(incoming=1, queue=asyncio.Queue())   # read, not queued yet
        clock[0] += wait
        await w.flush()
        assert set(told().values()) == {False}
        w.route.incoming = 0
        clock[0] += wait
        await w.flush()
        assert set(told().values()) == {True}
        await w.flush(last=True)                                      # the way out: the successor tells
        assert told() == {p: False for p in range(P)}
    asyncio.run(go())


def brand_partials(app: StubApp, topic: str) -> dict[int, list]:
    """The brand partials of every report sent to ``topic``, summed per bucket (brand 'sj')."""
    total: dict[int, list] = {}
    for t, _, value, _ in app.producer.sent:
        if t != topic:
            continue
        for report in orjson.loads(value)["reports"]:
            for start, v in report["partials"].get("sj", {}).items():
                b = total.setdefault(int(start), [0, 0, 0.0, 0])
                for i in range(4):
                    b[i] += v[i]
    return {k: [v[0], v[1], round(v[2], 4), v[3]] for k, v in total.items()}


def test_a_crash_between_an_alert_and_the_next_report_loses_no_brand_mention() -> None:
    """The state written with an alert records its events as applied, so a successor skips them when
    it reads them again; their brand partials, not yet reported, must come from that state (before
    2026-11-24 the brand windows lost them: a verifier counted 210 to 1,143 events missing)."""
    from tests.factories import COMPLAINT_SV, cascade

    events = cascade("c1", COMPLAINT_SV, "sv", 1500, brands=["sj"], reply_every=5,
                     reply_texts=["SJ är värdelöst, tåget är försenat igen", "Tack SJ"]) + chatter(40)
    batch = messages(events)
    reference_table = Table()
    reference, ref_app = worker(reference_table)

    async def once():
        await reference.ensure_processors()
        await reference.process(batch)
        await reference.flush(last=True)
    asyncio.run(once())
    expected = brand_partials(ref_app, reference.settings.brand_topic)
    assert sum(v[0] for v in expected.values()) > 1000

    table = Table()
    first, app = worker(table)

    async def crash():
        await first.ensure_processors()
        await first.process(batch[:len(batch) // 2])
        await first.process(batch[len(batch) // 2:])
        # killed here: no flush, no report, nothing acked; the alert's state is stored
    asyncio.run(crash())
    assert [s for s in app.producer.sent if s[0] == first.settings.alerts_topic], "no alert"
    assert b'"_bp":' in table.data[b"c1"]

    successor, app2 = worker(table)

    async def again():
        await successor.ensure_processors()
        await successor.process(batch)          # read again from the last commit (none)
        await successor.flush()
    asyncio.run(again())
    assert successor.processors[partition_for("c1", P)].reapplied > 0   # the stored events were skipped
    assert brand_partials(app2, successor.settings.brand_topic) == expected
    assert b'"_bp":' not in table.data[b"c1"]        # written again without them, after the report


def test_a_partition_read_to_its_end_counts_as_caught_up_after_a_seek_forgot_the_read_offset() -> None:
    """Faust's seek to the committed offsets (a successor with none committed yet) can reset the
    consumer's read offset after the batch was read: the partition must not look behind for ever
    (a verifier saw the last brand window of 5 of 12 restarted runs never close)."""
    table = Table()
    w, app = worker(table)
    batch = messages(chatter(60))
    ends = {}
    for m in batch:
        ends[m.partition] = m.offset + 1
    app.consumer.highwater = lambda tp: ends.get(tp.partition, 0) if tp.topic == "posts" else 0
    app.consumer._read_offset = {}                                    # reset by the seek

    async def go():
        await w.ensure_processors()
        assert not any(w.caught_up(p) for p in ends)
        await w.process(batch)
        assert all(w.caught_up(p) for p in ends)
        ends[next(iter(ends))] += 1                                   # one more arrived
        assert not all(w.caught_up(p) for p in ends)
    asyncio.run(go())


def test_the_final_commit_is_not_lost_to_a_periodic_commit_in_flight() -> None:
    """Faust's commit(), called while another commit is in flight, only waits for that one: the
    offsets acked since (the final flush's) would stay uncommitted and be read again."""
    class FaustLikeConsumer:
        def __init__(self) -> None:
            self.acked, self.committed = 0, 0
            self.in_flight: asyncio.Future | None = None

        async def commit(self) -> bool:
            if self.in_flight is not None:        # as Faust's maybe_wait_for_commit_to_finish
                await self.in_flight
                return False
            target = self.acked
            self.in_flight = asyncio.get_running_loop().create_future()
            await asyncio.sleep(0)
            self.committed = target
            self.in_flight.set_result(None)
            self.in_flight = None
            return True

    async def go():
        c = FaustLikeConsumer()
        c.acked = 10
        periodic = asyncio.ensure_future(c.commit())    # the periodic commit starts with 10 acked
        await asyncio.sleep(0)
        c.acked = 25                                     # the final flush acks up to 25
        await worker_app.final_commit(c)
        await periodic
        assert c.committed == 25
    asyncio.run(go())


def test_an_open_alert_recovered_from_the_table_is_exported_before_its_next_event() -> None:
    """After a restart, a cascade with an open alert is only stored until its next event; its
    ``virality_alert_cascade_*`` series and the open-alert count must be there at once (before
    2026-11-24 they were missing until the next share: the rule resolved and paged again)."""
    from tests.factories import COMPLAINT_SV, cascade

    table = Table()
    stored(table, by_time(cascade("c1", COMPLAINT_SV, "sv", 1500, brands=["sj"]))[:900])
    registry = CollectorRegistry()
    app = StubApp()
    settings = Settings(partitions=P, posts_topic="posts", repartition_topic="posts.by-root")
    successor = CascadeWorker(app, settings, DefaultAnalyzer({}), Metrics(registry), table, {})

    async def restart():
        await successor.ensure_processors()
    asyncio.run(restart())
    proc = successor.processors[partition_for("c1", P)]
    assert "c1" in proc.active_alerts and dict.get(proc.store, "c1") is None   # stored only
    successor.publish_metrics()
    shares = [s for m in registry.collect() if m.name == "virality_alert_cascade_shares"
              for s in m.samples if s.labels.get("alert_id", "").startswith("viral_complaint:c1:")]
    assert len(shares) == 1 and shares[0].value >= 400, shares
    open_now = [s for m in registry.collect() if m.name == "virality_open_alerts" for s in m.samples
                if s.labels["type"] == "viral_complaint"]
    assert sum(s.value for s in open_now) == 1, open_now


def misrouted(events, partitions=P, first_offset=0):
    """``events`` on the posts topic keyed by their cascade but placed by another partitioner
    (librdkafka's default, CRC32, is not Kafka's murmur2): each in the partition after murmur2's."""
    offsets = {p: first_offset for p in range(partitions)}
    out = []
    for e in events:
        root = e.get("root_id", e["id"])
        p = (partition_for(root, partitions) + 1) % partitions
        out.append(types.SimpleNamespace(topic="posts", key=root.encode(), value=orjson.dumps(e), partition=p,
                                         offset=offsets[p], timestamp=None, generation_id=1))
        offsets[p] += 1
    return out


def by_root(app: StubApp, sent_from: int, first_offset: int) -> list:
    """What the worker forwarded to the by-root topic since ``sent_from``, as that topic's consumer
    reads it back (with the headers it was sent with, at offsets from ``first_offset``)."""
    out = []
    for i, (topic, key, value, _) in enumerate(app.producer.sent[sent_from:], sent_from):
        if topic == "posts.by-root":
            out.append(types.SimpleNamespace(topic=topic, key=key, value=value, partition=partition_for(key.decode(), P),
                                             offset=first_offset + len(out), timestamp=None, generation_id=1,
                                             headers=app.producer.headers[i]))
    return out


def test_events_forwarded_again_after_a_crash_are_not_applied_twice() -> None:
    """Events not on their cascade's partition go through the by-root topic; their posts offsets are
    committed later. After a kill the successor read them again and forwarded them again, and the
    copies, at new by-root offsets, were applied a second time (a reviewer's 1,600-share cascade was
    stored with 1,750, and escalated to critical where detect did not)."""
    from tests.factories import COMPLAINT_SV, cascade

    events = by_time(cascade("k", COMPLAINT_SV, "sv", 600))
    posts = misrouted(events)
    table = Table()
    w, app = worker(table)

    async def first_life():
        await w.ensure_processors()
        w.process_batch(posts)                           # forwarded
        await w.send_out()
        w.process_batch(by_root(app, 0, 0))             # and applied from the by-root topic
        await w.send_out()
        await w.flush()
    asyncio.run(first_life())
    c = w.processors[partition_for("k", P)].store["k"]
    assert c.shares == 600
    forwarded_once = len(app.producer.sent)
    heads = [h for (topic, *_), h in zip(app.producer.sent, app.producer.headers) if topic == "posts.by-root"]
    assert len(heads) == 601 and all(dict(h).get("virality-origin") for h in heads)

    # the posts offsets were never committed: a successor over the stored table reads them again
    w2, app2 = worker(table)

    async def second_life():
        await w2.ensure_processors()
        w2.process_batch(posts)                          # forwarded again
        await w2.send_out()
        w2.process_batch(by_root(app2, 0, 600))         # the copies, at new by-root offsets
        await w2.send_out()
        await w2.flush()
    asyncio.run(second_life())
    assert forwarded_once and w2.processors[partition_for("k", P)].store["k"].shares == 600
    assert w2.metrics.reread._value.get() == 601       # the post and its 600 shares, each skipped


def test_an_unkeyed_event_of_the_cascades_own_partition_is_not_taken_for_a_re_read() -> None:
    """An unkeyed event already in its cascade's partition is forwarded too, and reaches the cascade
    after keyed events of that partition with higher offsets: its origin offsets are kept apart."""
    t = BASE_MS
    post = {"id": "own", "kind": "post", "created_at": t, "author": {"id": "a"}, "text": "hej", "lang": "sv"}
    p = partition_for("own", P)
    share_unkeyed = {"id": "s1", "kind": "share", "root_id": "own", "created_at": t + 1000, "author": {"id": "b"}}
    share_keyed = {"id": "s2", "kind": "share", "root_id": "own", "created_at": t + 2000, "author": {"id": "c"}}
    batch = [types.SimpleNamespace(topic="posts", key=b"own", value=orjson.dumps(post), partition=p, offset=0,
                                   timestamp=None, generation_id=1),
             types.SimpleNamespace(topic="posts", key=None, value=orjson.dumps(share_unkeyed), partition=p, offset=1,
                                   timestamp=None, generation_id=1),
             types.SimpleNamespace(topic="posts", key=b"own", value=orjson.dumps(share_keyed), partition=p, offset=2,
                                   timestamp=None, generation_id=1)]
    w, app = worker(Table())

    async def go():
        await w.ensure_processors()
        w.process_batch(batch)
        await w.send_out()
        w.process_batch(by_root(app, 0, 0))
    asyncio.run(go())
    assert w.processors[p].store["own"].shares == 2


def test_forwarded_events_go_out_in_event_time_order_across_partitions() -> None:
    """A batch holds each partition's records one partition after the other; forwarded so, a cascade's
    events reached it a batch's span out of order and were dead-lettered as too_late."""
    from tests.factories import COMPLAINT_SV, cascade

    events = by_time(cascade("u", COMPLAINT_SV, "sv", 300))
    posts = []
    offsets = {p: 0 for p in range(P)}
    for i, e in enumerate(events):          # no key, spread round-robin as a keyless producer does
        p = i % P
        posts.append(types.SimpleNamespace(topic="posts", key=None, value=orjson.dumps(e), partition=p,
                                           offset=offsets[p], timestamp=None, generation_id=1))
        offsets[p] += 1
    fetched = sorted(posts, key=lambda m: m.partition)       # as the drain hands them over
    w, app = processed_alone(fetched)
    times = [orjson.loads(v)["created_at"] for t, k, v, p in app.producer.sent if t == "posts.by-root"]
    assert len(times) == len(events) and times == sorted(times)


def test_an_event_from_a_producer_whose_clock_runs_ahead_is_rejected_by_the_workers_clock() -> None:
    """created_at and the record's CreateTime both 2 h ahead: compared with each other only, the event
    was accepted and moved its partition's watermark 2 h on (open alerts resolved as quiet). An
    hour's slack still let one 35 minutes ahead resolve them (the quiet time is 30 minutes); and a
    record without a timestamp is held to the worker's clock as well."""
    import time as _time

    for minutes, stamped in ((120, True), (35, True), (35, False)):
        ahead = int(_time.time() * 1000) + minutes * 60_000
        m = post_record("skewed", ahead, ahead if stamped else None)
        w, app = processed_alone([m])
        assert dead_letter_reasons(app) == ["from_the_future"], (minutes, stamped)
        assert w.processors[m.partition].watermark_ms is None


def test_a_record_timestamp_that_is_no_time_is_replaced_by_the_workers_clock() -> None:
    """0 was already taken for none; 1, or epoch seconds by mistake, made every event look ages
    ahead of its arrival (from_the_future)."""
    import time as _time

    now = int(_time.time() * 1000)
    for stamp in (1, now // 1000, 99_999_999_999):
        m = post_record(f"s{stamp}", now - 60_000, stamp)
        w, app = processed_alone([m])
        assert dead_letter_reasons(app) == [], stamp
        assert f"s{stamp}" in w.processors[m.partition].store


def test_a_rejection_against_the_producers_clock_says_so() -> None:
    """With CreateTime the record's timestamp is the producer's clock: an hour slow, every event looked
    an hour ahead of its arrival, and the detail blamed the events. It still rejects them (it cannot
    tell a slow clock from an event dated ahead), but names the clock; a broker's LogAppendTime
    (the worker's own topics) says nothing more."""
    import time as _time

    now = int(_time.time() * 1000)
    m = post_record("slowclock", now - 60_000, now - 3_600_000)
    m.timestamp_type = 0
    w, app = processed_alone([m])
    letters = [orjson.loads(v) for t, k, v, p in app.producer.sent if t == "posts.deadletter"]
    assert [d["reason"] for d in letters] == ["from_the_future"]
    assert "CreateTime, from the producer's clock" in letters[0]["detail"]
    m = post_record("ahead", now + 3_600_000, now)
    m.timestamp_type = 1
    w, app = processed_alone([m])
    letters = [orjson.loads(v) for t, k, v, p in app.producer.sent if t == "posts.deadletter"]
    assert [d["reason"] for d in letters] == ["from_the_future"]
    assert "producer" not in letters[0]["detail"]


def test_a_worker_whose_own_clock_is_some_minutes_behind_goes_on() -> None:
    """Capped at the worker's clock itself, every event of a worker 8 minutes slow (producer and
    broker right) was dead-lettered as from_the_future: one node's NTP fault, a whole outage."""
    import time as _time

    ahead = int(_time.time() * 1000) + 8 * 60_000           # what a right clock says, 8 min ahead of ours
    m = post_record("fine", ahead, ahead + 200)
    w, app = processed_alone([m])
    assert dead_letter_reasons(app) == []
    assert "fine" in w.processors[m.partition].store


def test_brand_mentions_too_late_for_the_brand_windows_are_counted() -> None:
    """Accepted into their cascades (within the lateness of each) but behind their partition's newest
    event by more than the lateness: left out of the brand windows with no trace before."""
    t = BASE_MS
    on_time = [{"id": f"a{i}", "kind": "post", "created_at": t + 600_000 + i, "author": {"id": "a"},
                "text": "SJ är försenat igen", "lang": "sv", "brands": ["sj"]} for i in range(5)]
    slow_feed = [{"id": f"b{i}", "kind": "post", "created_at": t + i, "author": {"id": "b"},
                  "text": "SJ är försenat igen", "lang": "sv", "brands": ["sj"]} for i in range(4)]
    w, app = worker(Table())
    root_p = {partition_for(e["id"], P) for e in on_time + slow_feed}

    async def go():
        await w.ensure_processors()
        w.process_batch(messages(on_time) + messages(slow_feed))
    asyncio.run(go())
    late = w.metrics.brand_late.labels("partition")._value.get()
    # each slow-feed post is late only where its partition has seen an on-time one
    expected = sum(1 for e in slow_feed if partition_for(e["id"], P) in {partition_for(o["id"], P) for o in on_time})
    assert root_p and expected and late == expected


class OwnConsumer(Consumer):
    """As aiokafka's: the high-water mark of a partition not assigned here cannot be had."""

    def __init__(self, parts: set[int], ends: dict) -> None:
        super().__init__(parts)
        self.ends = ends

    def assignment(self):
        return {TP(t, p) for p in self.parts for t in ("posts", "posts2", "posts.by-root")}

    def highwater(self, tp):
        assert tp.partition in self.parts, "Partition is not assigned"
        return self.ends.get((tp.topic, tp.partition))


def test_events_forwarded_from_a_recreated_or_renamed_posts_topic_are_applied() -> None:
    """Forwarded events are kept under their origin's offsets. When the posts topic was recreated
    (offsets from 0 again), the cascade's worker, not owning that posts partition, could not tell
    where it ends and skipped every new event as a re-read (149 of 200 stored); a renamed posts
    topic's events were filed under the new name with the old offsets, with the same loss."""
    from tests.factories import COMPLAINT_SV, cascade

    pk = partition_for("k", P)
    q = (pk + 1) % P
    events = by_time(cascade("k", COMPLAINT_SV, "sv", 200))

    def posts(evs, topic, first):
        return [types.SimpleNamespace(topic=topic, key=b"k", value=orjson.dumps(e), partition=q, offset=first + i,
                                      timestamp=None, generation_id=1) for i, e in enumerate(evs)]

    for second_topic, second_first in (("posts", 0), ("posts2", 0)):
        ends = {("posts", q): 50, ("posts2", q): 50}
        owner, app = worker(Table())                 # owns the cascade's partition pk
        app.consumer = OwnConsumer({pk}, ends)
        forwarder, fapp = worker(Table())            # owns posts partition q
        fapp.consumer = OwnConsumer({q}, {**ends, ("posts", q): 150})

        async def go():
            await owner.ensure_processors()
            await forwarder.ensure_processors()
            forwarder.process_batch(posts(events[:150], "posts", 0))
            await forwarder.send_out()
            first = by_root(fapp, 0, 0)
            owner.process_batch(first)
            sent = len(fapp.producer.sent)
            fapp.consumer.ends = ends                # the new log: 50 records
            forwarder.settings = forwarder.settings.__class__(**{**forwarder.settings.__dict__,
                                                                 "posts_topic": second_topic})
            forwarder.process_batch(posts(events[150:], second_topic, second_first))
            await forwarder.send_out()
            owner.process_batch(by_root(fapp, sent, len(first)))
        asyncio.run(go())
        assert owner.processors[pk].store["k"].shares == 200, second_topic
        assert owner.metrics.reread._value.get() == 0


def test_forwarded_records_read_again_by_the_cascades_own_successor_are_not_applied_again() -> None:
    """The cascade's worker stored its state and was killed before committing its by-root offsets;
    its successor read the same forwarded records again. Judged by the origin's end written at
    forward time (a caught-up forwarder writes an end just past its batch), they looked like a
    recreated topic's new events and were applied again: 400 shares for 200."""
    from tests.factories import COMPLAINT_SV, cascade

    class Ends(Consumer):
        def __init__(self, ends):
            super().__init__(set(range(P)))
            self.ends = ends

        def highwater(self, tp):
            return self.ends.get((tp.topic, tp.partition))

    events = by_time(cascade("k", COMPLAINT_SV, "sv", 200, duration_s=240))
    posts = misrouted(events)
    q, pk = posts[0].partition, partition_for("k", P)
    table = Table()
    w, app = worker(table)
    app.consumer = Ends({})
    half = len(posts) // 2

    async def first_life():
        await w.ensure_processors()
        read = 0
        for chunk in (posts[:half], posts[half:]):
            app.consumer.ends[("posts", q)] = chunk[-1].offset + 1      # the forwarder is caught up
            sent = len(app.producer.sent)
            w.process_batch(chunk)
            await w.send_out()
            batch = by_root(app, sent, read)
            read += len(batch)
            w.process_batch(batch)
            await w.send_out()
        await w.flush()          # the state is written; the by-root offsets are never committed
    asyncio.run(first_life())
    assert w.processors[pk].store["k"].shares == 200
    w2, app2 = worker(table)
    app2.consumer = Ends({("posts", q): len(posts)})

    async def second_life():
        await w2.ensure_processors()
        w2.process_batch(by_root(app, 0, 0))                            # the same records again
        await w2.flush()
    asyncio.run(second_life())
    assert w2.processors[pk].store["k"].shares == 200
    assert w2.metrics.reread._value.get() == len(posts)
    assert dead_letter_reasons(app2) == []


def _rec(topic, partition, offset, event, key=b"k"):
    return types.SimpleNamespace(topic=topic, key=key, value=orjson.dumps(event), partition=partition,
                                 offset=offset, timestamp=None, generation_id=1)


def _share(i, t):
    return {"id": f"k-s{i}", "kind": "share", "root_id": "k", "created_at": t, "author": {"id": f"u{i}"}}


def test_a_forwarded_record_dead_lettered_once_is_a_re_read_when_read_or_forwarded_again() -> None:
    """A producer's retry of share X, both misrouted: the second copy is dead-lettered as a duplicate;
    20 keyed shares later X is out of the cascade's recent ids. Killed after its flush, the worker's
    successor read that record again and forwarded it again: its offsets had not been marked (a
    rejection marked nothing), so it was applied, X counted twice."""
    pk = partition_for("k", P)
    q = (pk + 1) % P
    t = BASE_MS
    x = _share("X", t + 1000)
    root = _rec("posts", pk, 0, {"id": "k", "kind": "post", "created_at": t, "author": {"id": "a"},
                                 "text": "tåget är försenat igen", "lang": "sv"})
    xs = [_rec("posts", q, 0, x), _rec("posts", q, 1, x)]
    directs = [_rec("posts", pk, 1 + i, _share(i, t + 2000 + i * 10)) for i in range(20)]
    table = Table()
    w, app = worker(table)

    async def life1():
        await w.ensure_processors()
        w.process_batch([root] + xs)
        await w.send_out()
        forwarded = by_root(app, 0, 0)
        w.process_batch(forwarded)             # X applied, its repeat dead-lettered
        w.process_batch(directs)
        await w.send_out()
        await w.flush()
        return forwarded
    forwarded = asyncio.run(life1())
    assert w.processors[pk].store["k"].shares == 21
    assert dead_letter_reasons(app) == ["duplicate"]
    w2, app2 = worker(table)

    async def life2():
        await w2.ensure_processors()
        w2.process_batch([root] + xs + directs)                        # read again: forwarded again
        await w2.send_out()
        w2.process_batch(forwarded + by_root(app2, 0, len(forwarded)))  # the records again, the copies
        await w2.flush()
    asyncio.run(life2())
    assert w2.processors[pk].store["k"].shares == 21
    assert dead_letter_reasons(app2) == []


class _Ends(Consumer):
    def __init__(self, ends):
        super().__init__(set(range(P)))
        self.ends = ends

    def highwater(self, tp):
        return self.ends.get((tp.topic, tp.partition))


def test_forwarded_records_of_a_recreated_posts_topic_read_again_are_re_reads() -> None:
    """After the posts topic was recreated, applying its first events lowered the cascade's origin
    mark; read again by the worker's successor (by-root offsets not committed), the old log's
    records were above that mark, and with the by-root check asked only for origin offsets not
    new, 37 of them were applied again (79 shares for 42)."""
    pk = partition_for("k", P)
    q = (pk + 1) % P
    t = BASE_MS
    old = [{"id": "k", "kind": "post", "created_at": t, "author": {"id": "a"}, "text": "hej", "lang": "sv"}]
    old += [_share(i, t + 1000 + 100 * i) for i in range(39)]
    new = [_share(1000 + i, t + 10_000 + 100 * i) for i in range(3)]
    table = Table()
    w, app = worker(table)
    app.consumer = _Ends({("posts", q): len(old)})

    async def life1():
        await w.ensure_processors()
        w.process_batch([_rec("posts", q, i, e) for i, e in enumerate(old)])
        await w.send_out()
        first = by_root(app, 0, 0)
        w.process_batch(first)
        sent = len(app.producer.sent)
        app.consumer.ends[("posts", q)] = len(new)                  # the posts topic recreated
        w.process_batch([_rec("posts", q, i, e) for i, e in enumerate(new)])
        await w.send_out()
        w.process_batch(by_root(app, sent, len(first)))
        await w.flush()
    asyncio.run(life1())
    assert w.processors[pk].store["k"].shares == 42
    w2, app2 = worker(table)
    app2.consumer = _Ends({("posts.by-root", pk): len(old) + len(new)})

    async def life2():
        await w2.ensure_processors()
        w2.process_batch(by_root(app, 0, 0))                        # the same by-root records again
        await w2.flush()
    asyncio.run(life2())
    assert w2.processors[pk].store["k"].shares == 42
    assert w2.metrics.reread._value.get() == len(old) + len(new)
    assert dead_letter_reasons(app2) == []


def test_a_forwarded_record_rejected_before_its_cascade_existed_is_a_re_read_when_read_again() -> None:
    """A cascade fed from two posts partitions: its first forwarded record (from one) was rejected
    before the cascade existed, so nothing could be marked; the post and shares (from the other)
    created it. Read again by the worker's successor, the rejected record was dead-lettered again
    when only its origin (never marked) was asked."""
    from tests.fakes import FlakyAnalyzer

    pk = partition_for("k", P)
    q, r = [p for p in range(P) if p != pk][:2]
    t = BASE_MS
    reply = {"id": "k-r", "kind": "reply", "root_id": "k", "created_at": t + 500, "author": {"id": "b"},
             "text": "BOOM", "lang": "sv"}
    rest = [{"id": "k", "kind": "post", "created_at": t, "author": {"id": "a"}, "text": "hej", "lang": "sv"}]
    rest += [_share(i, t + 1000 + 100 * i) for i in range(3)]
    table = Table()
    w, app = worker(table)
    w.analyzer = FlakyAnalyzer({})
    app.consumer = _Ends({("posts", q): len(rest), ("posts", r): 1})

    async def life1():
        await w.ensure_processors()
        w.process_batch([_rec("posts", r, 0, reply)])
        await w.send_out()
        w.process_batch([_rec("posts", q, i, e) for i, e in enumerate(rest)])
        await w.send_out()
        w.process_batch(by_root(app, 0, 0))
        await w.send_out()
        await w.flush()
    asyncio.run(life1())
    assert dead_letter_reasons(app) == ["analysis_failed"]
    w2, app2 = worker(table)
    w2.analyzer = FlakyAnalyzer({})
    app2.consumer = _Ends({("posts.by-root", pk): len(rest) + 1})

    async def life2():
        await w2.ensure_processors()
        w2.process_batch(by_root(app, 0, 0))
        await w2.flush()
    asyncio.run(life2())
    assert dead_letter_reasons(app2) == []
    assert w2.metrics.reread._value.get() == len(rest) + 1


def test_records_read_counts_every_record_taken_by_topic_whatever_became_of_it() -> None:
    """virality_kafka_records_read_total{topic} is the rate ConsumerLagHigh divides the lag by: every
    record the worker took counts, forwarded, applied, rejected or skipped as a re-read; records of a
    stale generation (read again after the rebalance) do not."""
    from tests.factories import COMPLAINT_SV, cascade

    events = by_time(cascade("k", COMPLAINT_SV, "sv", 30))
    posts = misrouted(events)
    bad = types.SimpleNamespace(topic="posts", key=b"x", value=b"{not json", partition=0, offset=99,
                                timestamp=None, generation_id=1)
    stale = types.SimpleNamespace(**{**vars(posts[0]), "generation_id": 0})
    w, app = worker(Table())

    def read(topic):
        return sum(s.value for fam in w.metrics.records_read.collect() for s in fam.samples
                   if s.name.endswith("_total") and s.labels["topic"] == topic)

    async def go():
        await w.ensure_processors()
        w.process_batch(posts + [bad, stale])            # 31 forwarded, 1 rejected, 1 stale
        await w.send_out()
        assert (read("posts"), read("posts.by-root")) == (len(posts) + 1, 0)
        forwarded = by_root(app, 0, 0)
        w.process_batch(forwarded)                        # applied
        w.process_batch(forwarded)                        # the same records again: re-reads
        await w.send_out()
        assert (read("posts"), read("posts.by-root")) == (len(posts) + 1, 2 * len(forwarded))
    asyncio.run(go())
    assert w.metrics.reread._value.get() == len(events)
    # and by partition: each forwarded record on the partition it was read from
    by_part = {(s.labels["topic"], s.labels["partition"]): s.value for fam in w.metrics.records_read.collect()
               for s in fam.samples if s.name.endswith("_total")}
    assert by_part[("posts.by-root", str(partition_for("k", P)))] == 2 * len(events)


def test_a_forwarded_event_dead_lettered_again_after_a_crash_carries_the_same_origin() -> None:
    """A forwarded event rejected before its cascade exists (here from_the_future) has no cascade to
    mark it done: after a crash it is forwarded again and dead-lettered again, at another by-root
    offset. Both dead letters name the posts topic, partition and offset it was first read at
    (``origin``), so a consumer that counts dead letters can count it once."""
    import time as _time

    future = {"id": "f", "kind": "post", "created_at": int(_time.time() * 1000) + 2 * 3600_000,
              "author": {"id": "a"}, "text": "hej", "lang": "sv"}
    posts = misrouted([future], first_offset=40)
    table = Table()
    letters = []
    for life, by_root_from in ((1, 0), (2, 1)):       # the copy forwarded again is at by-root offset 1
        w, app = worker(table)

        async def go():
            await w.ensure_processors()
            w.process_batch(posts)
            await w.send_out()
            w.process_batch(by_root(app, 0, by_root_from))
            await w.send_out()
            await w.flush()
        asyncio.run(go())
        letters += [orjson.loads(v) for t, k, v, p in app.producer.sent if t == "posts.deadletter"]
    assert [d["reason"] for d in letters] == ["from_the_future", "from_the_future"]
    assert [d["topic"] for d in letters] == ["posts.by-root"] * 2
    assert [d["offset"] for d in letters] == [0, 1]
    origin = {"topic": "posts", "partition": posts[0].partition, "offset": 40}
    assert [d["origin"] for d in letters] == [origin, origin]


def test_a_dead_letter_read_on_the_posts_topic_has_no_origin() -> None:
    w, app = processed_alone([post_record("p", BASE_MS, None),
                              types.SimpleNamespace(topic="posts", key=b"x", value=b"{", partition=0, offset=7,
                                                    timestamp=None, generation_id=1)])
    letters = [orjson.loads(v) for t, k, v, p in app.producer.sent if t == "posts.deadletter"]
    assert [(d["reason"], d["offset"], "origin" in d) for d in letters] == [("malformed_json", 7, False)]


class _PositionState:
    def __init__(self, position):
        self.position, self.has_valid_position = position, position is not None


class _AioConsumer:
    """What consumer_position reads of aiokafka: the position the consumer hands out next."""

    def __init__(self, positions):
        outer = self
        self.positions = positions

        class _Assignment:
            def state_value(self, tp):
                return _PositionState(outer.positions.get((tp.topic, tp.partition)))
        self._subscription = types.SimpleNamespace(subscription=types.SimpleNamespace(assignment=_Assignment()))


def test_records_past_the_consumers_position_are_not_unread_when_nothing_waits() -> None:
    """Commit markers of a transactional producer (no record is delivered at their offsets), or a
    partition whose records all expired before any was read: the last offset read stays short of
    the end for ever, and the lag read 1 (or the whole end) for ever."""
    w, app = worker(Table())
    ends = {("posts", 0): 21, ("posts", 1): 500, ("posts", 2): 30}
    app.consumer.highwater = lambda tp: ends.get((tp.topic, tp.partition))
    app.consumer._read_offset = {TP("posts", 0): 19, TP("posts", 2): 9}   # 0: a marker at 20; 1: none read
    positions = {("posts", 0): 21, ("posts", 1): 500, ("posts", 2): 10}   # 2: 20 records still to hand out
    app.consumer._thread = types.SimpleNamespace(_ensure_consumer=lambda: _AioConsumer(positions))
    assert [w.unread(TP("posts", p), nothing_waits=True) for p in range(3)] == [0, 0, 20]
    # a batch waiting to be processed: the offsets say how many, the position nothing
    assert [w.unread(TP("posts", p), nothing_waits=False) for p in range(3)] == [1, 500, 20]
    # a client whose internals differ: nothing is assumed
    app.consumer._thread = None
    assert [w.unread(TP("posts", p), nothing_waits=True) for p in range(3)] == [1, 500, 20]


def test_a_dead_letter_keeps_a_key_that_is_not_text_and_tells_an_empty_key_from_none() -> None:
    """A binary key was kept with its bytes replaced by U+FFFD, and an empty one as null."""
    import base64

    import jsonschema

    schema = orjson.loads((Path(__file__).resolve().parents[2] / "schemas" / "deadletter.schema.json").read_bytes())
    recs = [types.SimpleNamespace(topic="posts", key=key, value=b"{not json", partition=0, offset=i,
                                  timestamp=None, generation_id=1)
            for i, key in enumerate((b"\xff\xfe\x80abc", b"", None, "brödtext".encode()))]
    w, app = processed_alone(recs)
    letters = [orjson.loads(v) for t, k, v, p in app.producer.sent if t == "posts.deadletter"]
    assert [d["reason"] for d in letters] == ["malformed_json"] * 4
    for d in letters:
        jsonschema.validate(d, schema)
    assert base64.b64decode(letters[0]["key"]) == b"\xff\xfe\x80abc" and letters[0]["key_encoding"] == "base64"
    assert letters[1]["key"] == "" and "key_encoding" not in letters[1]
    assert letters[2]["key"] is None
    assert letters[3]["key"] == "brödtext"


def test_a_dead_letter_tells_a_record_without_a_value_from_an_empty_one() -> None:
    """Both were dead-lettered alike ("not JSON: ''", value "")."""
    recs = [types.SimpleNamespace(topic="posts", key=b"k", value=value, partition=0, offset=i,
                                  timestamp=None, generation_id=1)
            for i, value in enumerate((None, b"", b"  \n"))]
    w, app = processed_alone(recs)
    letters = [orjson.loads(v) for t, k, v, p in app.producer.sent if t == "posts.deadletter"]
    assert [(d["reason"], d["value"], d.get("value_null")) for d in letters] == [
        ("malformed_json", "", True), ("malformed_json", "", None), ("malformed_json", "  \n", None)]
    assert [d["detail"] for d in letters] == ["the record has no value (null, a tombstone): no event",
                                              "the value is empty", "the value is only white space"]
