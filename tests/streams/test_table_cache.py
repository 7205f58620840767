"""The worker's per-partition cascade cache: idle cascades kept only in their stored form, and
expiry of stored cascades that were never loaded (recovered after a restart and never touched).

The table is a plain dict standing in for a Faust table's local store (``get`` and ``data``): what
is tested is the cache's bookkeeping over stored bytes, not Kafka.
"""
from __future__ import annotations

import random

import orjson
import pytest

from detectors.chain import ChainConfig, PartitionProcessor, partition_for
from detectors.events import decode_event
from detectors.understanding import DefaultAnalyzer
from streams.app import COLD_BUCKET_MS, TableCache, dumps_kept, stored_alert_open, stored_last_ms
from streams.settings import Settings
from tests.factories import BASE_MS, COMPLAINT_SV, by_time, cascade, chatter

ANALYZER = DefaultAnalyzer({"sj": ["SJ", "@SJ_AB"]})
HOUR = 3_600_000


class DictTable:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


def processed(events, store=None) -> PartitionProcessor:
    proc = PartitionProcessor(ChainConfig(), ANALYZER, store)
    for offset, raw in enumerate(by_time(events)):
        try:
            proc.process(decode_event(raw), "p", offset)
        except Exception:
            pass
    return proc


def alerting(root_id: str) -> PartitionProcessor:
    """A processor fed a complaint cascade up to the event that opened its alert."""
    proc = PartitionProcessor(ChainConfig(), ANALYZER)
    for offset, raw in enumerate(by_time(cascade(root_id, COMPLAINT_SV, "sv", 1500, brands=["sj"]))):
        if proc.process(decode_event(raw), "p", offset):
            return proc
    raise AssertionError("the cascade never alerted")


def write(table: DictTable, cache: dict) -> None:
    for root_id, c in cache.items():
        table.data[root_id.encode()] = dumps_kept(c.to_state())


@pytest.mark.parametrize("text", [
    'trick "lm":1, and "a":["open" inside the text', 'ends with a backslash \\', "Tåget är sent 🚆 \"lm\":7",
])
def test_stored_fields_are_read_from_bytes_as_a_full_parse_reads_them(text: str) -> None:
    events = cascade("c1", text, "sv", 30) + chatter(20)
    proc = processed(events)
    assert len(proc.store) > 10
    for c in proc.store.values():
        raw = dumps_kept(c.to_state())
        state = orjson.loads(raw)
        assert stored_last_ms(raw) == state["lm"] == c.last_ms
        assert stored_alert_open(raw) == (state["a"][0] in ("open", "escalated"))


def test_stored_alert_open_finds_an_open_alert() -> None:
    c = alerting("c1").store["c1"]
    assert c.alert.active
    assert stored_alert_open(dumps_kept(c.to_state()))


def test_an_evicted_cascade_comes_back_exactly_and_counts_once() -> None:
    table = DictTable()
    cache = TableCache(table, 0)
    events = cascade("c1", COMPLAINT_SV, "sv", 400, brands=["sj"], reply_every=7)
    half = len(events) // 2
    proc = processed(events[:half], cache)
    write(table, cache)
    before = cache["c1"].to_state()
    cache.evict("c1")
    assert "c1" not in dict.keys(cache) and cache.count() == 1 and cache.cold == {b"c1"}
    c = cache.get("c1")
    assert c.to_state() == before and cache.count() == 1 and not cache.cold
    # the rest of the stream on the reloaded cascade ends where the uninterrupted one ends
    for offset, raw in enumerate(by_time(events)[half:], start=half):
        try:
            proc.process(decode_event(raw), "p", offset)
        except Exception:
            pass
    assert cache["c1"].to_state() == processed(events).store["c1"].to_state()


def test_expire_cold_returns_exactly_the_stored_cascades_idle_before_the_horizon() -> None:
    rng = random.Random(3)
    table = DictTable()
    last: dict[bytes, int] = {}
    for i in range(300):
        start = BASE_MS + rng.randrange(0, 48) * HOUR + rng.randrange(0, HOUR)
        proc = processed(cascade(f"r{i}", "Fin morgon", "sv", rng.randrange(0, 5), start_ms=start,
                                 seed=i, duration_s=600))
        c = proc.store[f"r{i}"]
        table.data[c.root_id.encode()] = dumps_kept(c.to_state())
        last[c.root_id.encode()] = c.last_ms
    cache = TableCache(table, 0)
    for key, value in table.data.items():
        cache.add_stored(key, value)
    assert cache.count() == 300
    # some are loaded live (no longer cold), one is evicted again after a newer event was stored
    live = [k for k in sorted(last)[:20]]
    for k in live:
        cache.get(k.decode())
    moved = sorted(last)[20]
    c = cache.get(moved.decode())
    c.last_ms = BASE_MS + 60 * HOUR
    table.data[moved] = dumps_kept(c.to_state())
    last[moved] = c.last_ms
    cache.evict(moved.decode())
    expired_total: set[bytes] = set()
    for horizon_h in (10, 10, 24.5, 47, 70):
        horizon = BASE_MS + int(horizon_h * HOUR)
        expired = cache.expire_cold(horizon)
        assert len(expired) == len(set(expired))
        # the buckets wholly before the horizon's hour
        expected = {k for k, lm in last.items()
                    if lm // COLD_BUCKET_MS < horizon // COLD_BUCKET_MS and k not in live} - expired_total
        assert set(expired) == expected
        expired_total |= expected
        assert cache.count() == 300 - len(expired_total)
    assert moved in expired_total  # only once its newer time had passed
    assert all(k not in expired_total for k in live)


def test_cascades_of_the_horizons_own_hour_are_not_read_again_at_every_call() -> None:
    table = DictTable()
    cache = TableCache(table, 0)
    c = processed(cascade("c1", "Fin morgon", "sv", 2, duration_s=60)).store["c1"]
    table.data[b"c1"] = dumps_kept(c.to_state())
    cache.add_stored(b"c1", table.data[b"c1"])
    reads = []
    real = table.data

    class Counting(dict):
        def get(self, key, default=None):
            reads.append(key)
            return real.get(key, default)

    table.data = Counting(real)
    hour_end = (c.last_ms // COLD_BUCKET_MS + 1) * COLD_BUCKET_MS
    # horizons past its last event but inside its hour: a key is read only once its bucket has passed
    for horizon in range(c.last_ms + 1, hour_end, max(1, (hour_end - c.last_ms) // 10)):
        assert cache.expire_cold(horizon) == []
    assert reads == []
    assert cache.expire_cold(hour_end) == [b"c1"] and reads == [b"c1"]


def test_a_cold_cascade_with_an_open_alert_waits_for_its_resolution() -> None:
    table = DictTable()
    c = alerting("c1").store["c1"]
    assert c.alert.active
    table.data[b"c1"] = dumps_kept(c.to_state())
    cache = TableCache(table, 0)
    cache.add_stored(b"c1", table.data[b"c1"])
    assert cache.expire_cold(c.last_ms + 100 * HOUR) == []
    assert cache.cold == {b"c1"}
    c.alert.resolve(c.last_ms + 1)
    table.data[b"c1"] = dumps_kept(c.to_state())
    assert cache.expire_cold(c.last_ms + 101 * HOUR + COLD_BUCKET_MS) == [b"c1"]
    assert cache.count() == 0


def test_a_table_scan_indexes_each_stored_cascade_under_its_kafka_partition(monkeypatch) -> None:
    import streams.app as app

    monkeypatch.setattr(app, "SCAN_CHUNK", 7)
    table = DictTable()
    proc = processed(chatter(40))
    for root_id, c in proc.store.items():
        table.data[root_id.encode()] = dumps_kept(c.to_state())
    alerted = alerting("hot1").store["hot1"]
    table.data[b"hot1"] = dumps_kept(alerted.to_state())
    table.data[b"gone"] = None  # a tombstone applied as None is skipped
    scan = app.TableScan(table, {0, 2}, 3)
    turns = sum(1 for _ in scan.run())
    assert turns == -(-len(table.data) // 7)
    for p in (0, 2):
        expected = {k for k in table.data if table.data[k] and partition_for(k.decode(), 3) == p}
        assert scan.caches[p].cold == expected and expected
    assert set(scan.caches) == {0, 2}
    p_hot = partition_for("hot1", 3)
    assert p_hot in (0, 2) and scan.open_alerts[p_hot] == {"hot1"}
    assert all(not v for p, v in scan.open_alerts.items() if p != p_hot)


def test_stored_version_is_read_from_the_bytes_end() -> None:
    from streams.app import stored_version

    c = processed(cascade("c1", 'text with "_v":7 inside', "sv", 5)).store["c1"]
    raw = dumps_kept(c.to_state())
    assert stored_version(raw) == 1
    assert stored_version(raw[:-len(b',"_v":1}')] + b"}") == 1    # written before versions were
    assert stored_version(raw.replace(b'"_v":1}', b'"_v":12}')) == 12
    assert stored_version(raw.replace(b'"_v":1}', b'"_v":"x"}')) == 0


GARBAGE = [b"\x00\xffnot json", b'{"lm": 5}', b'[1, 2, 3]', b'{"lm":"soon"}']


@pytest.mark.parametrize("raw", GARBAGE)
def test_an_unreadable_stored_cascade_is_handed_over_and_starts_again(raw: bytes) -> None:
    """A stored cascade that cannot be read costs that cascade's history, not the partition: the
    scan hands it over (the worker dead-letters its bytes) instead of stopping, and so does a load."""
    from streams.app import TableScan

    table = DictTable()
    proc = processed(chatter(10))
    for root_id, c in proc.store.items():
        table.data[root_id.encode()] = dumps_kept(c.to_state())
    table.data[b"bad"] = raw
    seen = []
    scan = TableScan(table, {0}, 1, seen.append)
    for _ in scan.run():
        pass
    cache = scan.caches[0]
    if raw.startswith(b"{") and b'"lm": 5' in raw:
        # its time is readable, so the scan indexes it; the full read, on its next event, is not
        assert seen == [] and b"bad" in cache.cold
        assert cache.get("bad") is None and len(seen) == 1
    else:
        assert [(e.key, e.raw, e.partition) for e in seen] == [(b"bad", raw, 0)]
        assert b"bad" not in cache.cold
        assert cache.get("bad") is None     # the table still has it: a load hands it over again
        assert len(seen) == 2
    assert b"bad" not in cache.cold and "bad" not in cache
    assert cache.count() == len(proc.store)
    # the cascade starts again from its next event, as a new one
    fresh = PartitionProcessor(ChainConfig(), ANALYZER, cache)
    fresh.process(decode_event(by_time(cascade("bad", "Fin morgon", "sv", 1))[0]), "p", 100)
    assert cache["bad"].root_seen


def test_without_a_handler_an_unreadable_cascade_is_an_error() -> None:
    from streams.app import UnreadableState

    table = DictTable()
    table.data[b"bad"] = b"nope"
    with pytest.raises(UnreadableState):
        TableCache(table, 0).get("bad")


def test_a_table_written_by_a_newer_release_stops_the_scan_with_a_clear_error() -> None:
    from detectors.state import NewerStateError
    from streams.app import TableScan

    c = processed(cascade("c1", "Fin morgon", "sv", 5)).store["c1"]
    table = DictTable()
    table.data[b"c1"] = dumps_kept(c.to_state()).replace(b'"_v":1}', b'"_v":2}')
    seen = []
    with pytest.raises(NewerStateError, match=r"format version 2 .*newer release.*Upgrading"):
        for _ in TableScan(table, {0}, 1, seen.append).run():
            pass
    assert seen == []
    with pytest.raises(NewerStateError):   # and a load, should one come first, even in the chain
        PartitionProcessor(ChainConfig(), ANALYZER, TableCache(table, 0, seen.append)).process(
            decode_event(by_time(cascade("c1", "Fin morgon", "sv", 3))[1]), "p", 9)


def test_offsets_kept_under_the_old_source_letters_are_renamed_to_topic_and_partition() -> None:
    proc = processed(cascade("c1", "Fin morgon", "sv", 5))          # applied under "p"
    table = DictTable()
    table.data[b"c1"] = dumps_kept(proc.store["c1"].to_state())
    assert proc.store["c1"].offsets == {"p": 5}
    from types import SimpleNamespace

    from streams.app import CascadeWorker

    settings = Settings.from_env({"VIRALITY_POSTS_TOPIC": "posts", "VIRALITY_REPARTITION_TOPIC": "posts.by-root",
                                  "VIRALITY_LATENESS_S": "900"})
    worker = SimpleNamespace(settings=settings, config=settings.chain_config())
    cache = TableCache(table, 1, None, lambda c, p: CascadeWorker.loaded(worker, c, p))
    c = cache.get("c1")
    assert c.offsets == {"posts#1": 5}
    assert c.already_applied("posts#1", 5) and not c.already_applied("posts.v2#1", 0)
    assert c.velocity.lateness_s == 900     # stored under the default 300: the setting applies now


def test_the_open_alert_of_an_unreadable_cascade_is_named_by_its_id() -> None:
    from streams.app import open_alert_id

    c = alerting("c7").store["c7"]
    raw = dumps_kept(c.to_state())
    damaged = raw.replace(b'"f":', b'"F":')                 # a key missing: unreadable
    assert open_alert_id(b"c7", damaged) == f"{c.alert_type}:c7:{c.alert.seq}"
    assert open_alert_id(b"c7", b'junk "a":["open",3') == repr(b'"a":["open",3')


def test_a_cascade_evicted_and_loaded_again_and_again_is_indexed_once() -> None:
    """Each eviction added an entry to the expiry index, kept until its hour expired (72 h): a cascade
    with an event every 20 minutes left about 200, so the index grew with the evictions, not the
    cascades."""
    table = DictTable()
    cache = TableCache(table, 0)
    processed(cascade("c1", COMPLAINT_SV, "sv", 50), cache)
    write(table, cache)
    for _ in range(100):
        cache.evict("c1")
        assert cache.get("c1") is not None
    cache.evict("c1")
    assert sum(len(keys) for keys in cache.buckets.values()) == 1
    assert cache.expire_cold(10 ** 15) == [b"c1"] and not cache.cold     # and it still expires


def test_a_cold_cascade_that_alerted_is_kept_until_the_alerted_horizon() -> None:
    """Forgotten after VIRALITY_EXPIRE_S like any other, it came back with its sequence at 1 and its
    next incident reused the first one's alert id on the alerts topic."""
    table = DictTable()
    c = alerting("c1").store["c1"]
    c.alert.resolve(c.last_ms + 1)
    quiet = processed(cascade("q1", "Fin morgon", "sv", 2, start_ms=c.last_ms - 60_000, duration_s=60)).store["q1"]
    for x in (c, quiet):
        table.data[x.root_id.encode()] = dumps_kept(x.to_state())
    cache = TableCache(table, 0)
    for key, value in table.data.items():
        cache.add_stored(key, value)
    t = max(c.last_ms, quiet.last_ms) + 2 * COLD_BUCKET_MS
    keep = 30 * 24 * HOUR
    # past the ordinary horizon: the quiet one goes, the alerted one stays
    assert cache.expire_cold(t, t - keep) == [b"q1"]
    assert cache.expire_cold(t + 100 * HOUR, t + 100 * HOUR - keep) == []
    assert cache.cold == {b"c1"}
    late = t + keep + COLD_BUCKET_MS
    assert cache.expire_cold(late, late - keep) == [b"c1"]
