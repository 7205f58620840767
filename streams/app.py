"""The Faust app: topics, tables, two thin agents and the metrics they feed.

Flow (README.md, *The flow*, has the whole picture)::

    posts ──┐                        ┌─> alerts            (alert transitions)
            ├─> cascades agent ──────┼─> posts.deadletter  (rejected input, with the reason)
    posts.by-root ┘   │  ▲           ├─> posts.by-root     (events whose key was not their root_id)
                      ▼  │           └─> brand-partials ──> brands agent ──> alerts
              cascades table (changelog)                     brand-state table (changelog)

The cascades agent receives whole fetched batches (:mod:`streams.batching`), folds every event into
its cascade with :class:`detectors.chain.PartitionProcessor` and sends alerts at once. Cascade states
go to the changelog once per flush interval for the cascades that changed (not once per event), and
only then are the batch's messages acked, so an offset is never committed before the state that
depends on it. A restarted worker re-reads events after the last committed offset; each cascade
remembers the highest offset it applied, so a re-read event changes nothing and sends nothing.
"""
from __future__ import annotations

import asyncio
import heapq
import logging
import os
import re
import signal
import sys
import threading
import time
from collections import Counter as Tally
from typing import Any, Awaitable, Callable, Iterable, Iterator, Mapping

import faust
import orjson
from faust.types import TP
from mode.supervisors import CrashingSupervisor
from prometheus_client import CollectorRegistry

from detectors.brand import BrandAggregator
from detectors.cascade import STATE_VERSION as CASCADE_STATE_VERSION
from detectors.cascade import CascadeState
from detectors.chain import (PartitionProcessor, brand_alert, partition_for, partition_of_key, precomputed,
                             severity)
from detectors.events import Event, Rejected, decode_event
from detectors.state import NewerStateError, StateError
from detectors.understanding import TextAnalysis, TextAnalyzer, analyze_each, load_analyzer
from streams.batching import BatchingApp, BatchRoute, within
from streams.deadletter import DEADLETTER_STATE_BYTES, DEADLETTER_VALUE_BYTES, key_fields, value_fields
from streams.kafka_auth import faust_credentials
from streams.metrics import TOP_K, Metrics, Snapshot
from streams.settings import Settings
from streams.topics import changelog_specs

log = logging.getLogger("virality")

DEADLETTER_KEY_CHARS = 1024  # and bytes of the dead letter's own key
JSON_OPTS = orjson.OPT_NON_STR_KEYS


def dumps_kept(obj: Any, option: int | None = None) -> bytes:
    """``orjson.dumps`` for bytes that are kept (table values, the queue until the next flush).

    orjson (3.12 and later) returns a bytes object whose allocation is its whole growth buffer:
    a 650-byte cascade state occupies about 8 KB. Held once per cascade in the table that was
    most of a busy worker's memory (1.14 GB after 100,000 cascades, against 233 MB for a worker
    that read the same states back from the changelog). One copy to the exact size costs a few
    hundred nanoseconds.
    """
    return bytes(memoryview(orjson.dumps(obj, option=option)))


#: The key under which a cascade's state, written with an alert before the brand partials were
#: reported, keeps its brand contributions since the last report (see CascadeWorker.write_state).
UNREPORTED_KEY = "_bp"
UNREPORTED_BYTES = b'"_bp":'


def encode_unreported(per_brand: dict[str, dict[int, list]]) -> dict[str, dict[str, list]]:
    """Brand buckets (``{brand: {start ms: [n, texts, sentiment sum, complaints]}}``) as JSON keeps them."""
    return {brand: {str(start): [n, texts, round(sent, 6), compl] for start, (n, texts, sent, compl) in buckets.items()}
            for brand, buckets in per_brand.items()}


def decode_unreported(kept: Any) -> dict[str, dict[int, list]]:
    """:func:`encode_unreported`'s output read back (a damaged one raises TypeError, ValueError, ...)."""
    return {brand: {int(start): [int(v[0]), int(v[1]), float(v[2]), int(v[3])] for start, v in buckets.items()}
            for brand, buckets in kept.items()}

#: Stored cascades indexed between two turns of the event loop when partitions are assigned.
SCAN_CHUNK = 20_000
#: Cold cascades are bucketed by the hour of their last event, so expiry reads only old buckets.
COLD_BUCKET_MS = 3_600_000


def stored_last_ms(value: bytes) -> int:
    """The ``lm`` (newest event time) of a stored cascade state, without parsing the whole state.

    A quote inside a JSON string is always escaped, so ``"lm":`` is found only as a key; the
    cascade's ``lm`` comes after its nested states, hence the last one. Falls back to a full parse.
    """
    i = value.rfind(b'"lm":')
    if i >= 0:
        j = value.find(b",", i)
        try:
            return int(value[i + 5:j if j > 0 else len(value)])
        except ValueError:
            pass
    return int(orjson.loads(value)["lm"])


def stored_alert_open(value: bytes) -> bool:
    """True when a stored cascade state has an open or escalated alert (a byte search)."""
    return b'"a":["open"' in value or b'"a":["escalated"' in value


def stored_alerted(value: bytes) -> bool:
    """True when a stored cascade state has ever alerted (its alert's sequence number is not 0; a
    byte search).

    >>> stored_alerted(b'{"a":["resolved",2,1,2,0.5]}'), stored_alerted(b'{"a":["none",0,0,0,0.0]}')
    (True, False)
    """
    i = value.find(b'"a":[')
    if i < 0:
        return False
    comma = value.find(b",", i)
    return comma > 0 and value[comma + 1:comma + 2] not in (b"0", b"")


def stored_version(value: bytes) -> int:
    """The format version of a stored state (its last key, ``"_v"``; 1 when it has none), read from
    the bytes' end; 0 when it is there but not a whole number (the full read then says why)."""
    i = value.rfind(b'"_v":', max(0, len(value) - 32))
    if i < 0:
        return 1
    digits = value[i + 5:].rstrip().rstrip(b"}")
    return int(digits) if digits.isdigit() else 0


def open_alert_id(key: bytes, raw: bytes) -> str:
    """The id of the open alert in a stored cascade that cannot be read whole, as far as its bytes
    tell (``type:root:seq``), or the bytes around it."""
    seq = re.search(rb'"a":\["(?:open|escalated)",(\d+)', raw)
    typ = re.search(rb'"at":"([a-z_]+)"', raw)
    if seq and typ:
        return f"{typ.group(1).decode()}:{key.decode('utf-8', 'replace')}:{int(seq.group(1))}"
    i = raw.find(b'"a":[')
    return repr(raw[i:i + 40])


def alert_key(alert: dict[str, Any]) -> bytes:
    """The Kafka key of an alert: its cascade's root id, or its brand."""
    return (alert["root_id"] or alert["brand"] or "").encode()


def source_id(topic: str, partition: int) -> str:
    """The id a cascade keeps its applied offsets under for messages of ``topic[partition]``."""
    return f"{topic}#{partition}"


#: Header of a record the worker forwards to the by-root topic: where it came from,
#: ``topic#partition@offset`` in the posts topic, and ``/end``, where that partition ended when it was
#: forwarded (the forwarder owns it, the cascade's worker usually does not). The cascade keeps the
#: applied offsets of forwarded events under the origin (:func:`forwarded_source`), so that the
#: copies a successor forwards again after a crash (the posts offsets were not committed yet) are
#: recognised as re-reads; under their own by-root offsets they were applied twice (a cascade of
#: 1,600 shares stored 1,750, and escalated wrongly). The end tells a copy (its log reaches past
#: what was applied) from the event of a posts topic deleted and recreated (a new log, shorter), as
#: the consumer's own high-water mark does for events read directly.
ORIGIN_HEADER = "virality-origin"

#: A record timestamp before this (1973-03-03 in epoch ms) is no arrival time: a producer that
#: stamps 0, 1 or epoch seconds did not mean one. The worker's clock stands in for it.
MIN_RECORD_MS = 100_000_000_000
#: Kafka's timestamp type of a record stamped by the broker as it was appended (its arrival).
LOG_APPEND_TIME = 1


def origin_header(topic: str, partition: int, offset: int, end: int | None) -> bytes:
    """The value of :data:`ORIGIN_HEADER` (see :func:`origin_of`)."""
    return f"{topic}#{partition}@{offset}/{'' if end is None else end}".encode()


def origin_of(headers: Any) -> tuple[str, int, int | None] | None:
    """(source id of the origin ``topic#partition``, offset, end of that partition when forwarded or
    None) of a forwarded record, from its headers; None when it has none (forwarded by an older
    release) or it cannot be read.

    >>> origin_of([(ORIGIN_HEADER, origin_header("posts", 3, 41, 97))])
    ('posts#3', 41, 97)
    >>> origin_of([(ORIGIN_HEADER, b"posts#3@41/")]), origin_of([(ORIGIN_HEADER, b"3:41")])
    (('posts#3', 41, None), None)
    """
    origin = _parse_origin(headers)
    return None if origin is None else (source_id(origin[0], origin[1]), origin[2], origin[3])


def origin_fields(headers: Any) -> dict[str, Any] | None:
    """The origin of a forwarded record as the dead-letter record's ``origin`` field.

    >>> origin_fields([(ORIGIN_HEADER, origin_header("posts", 3, 41, 97))])
    {'topic': 'posts', 'partition': 3, 'offset': 41}
    """
    origin = _parse_origin(headers)
    return None if origin is None else {"topic": origin[0], "partition": origin[1], "offset": origin[2]}


def _parse_origin(headers: Any) -> tuple[str, int, int, int | None] | None:
    if not headers:
        return None
    try:
        for name, value in (headers.items() if isinstance(headers, dict) else headers):
            if name == ORIGIN_HEADER:
                where, _, rest = bytes(value).decode("utf-8").rpartition("@")
                offset, _, end = rest.partition("/")
                topic, _, part = where.rpartition("#")
                if not topic:
                    return None
                end_at = int(end) if end else None
                return topic, int(part), int(offset), (end_at if end_at is None or end_at >= 0 else None)
    except (TypeError, ValueError, UnicodeDecodeError):
        return None
    return None


def forwarded_source(repartition_topic: str, origin: str) -> str:
    """The id a cascade keeps the applied origin offsets of forwarded events under: its own, not the
    posts partition's (an unkeyed event of the cascade's own posts partition is forwarded too, and
    reaches the cascade after later, keyed ones of that partition)."""
    return f"{repartition_topic}<{origin}"


def legacy_sources(settings: Settings, partition: int) -> dict[str, str]:
    """What the source letters kept before 2026-11-23 ("p" the posts topic, "r" the by-root topic)
    mean for ``partition`` under today's topic names."""
    return {"p": source_id(settings.posts_topic, partition), "r": source_id(settings.repartition_topic, partition)}


class UnreadableState(Exception):
    """A stored cascade this release cannot read; the worker moves it to the dead-letter topic."""

    def __init__(self, key: bytes, raw: bytes, partition: int, detail: str):
        super().__init__(detail)
        self.key, self.raw, self.partition, self.detail = key, raw, partition, detail


class TableCache(dict):
    """The cascades of one partition: live objects for the active ones, loaded from the table on
    first use; idle ones only in their stored (serialized) form, listed in :attr:`cold`.

    A live cascade costs about 1.3 KB of Python objects (bench/bench_detectors.py), its stored
    form about 700-900 bytes, so the worker
    keeps live only what changed lately (:meth:`evict` drops the others back to their stored form,
    which is written at every flush). Expiry must also find the stored cascades that were never
    loaded (recovered after a restart or rebalance and never touched again), so :meth:`add_stored`
    indexes them by the hour of their last event.
    """

    def __init__(self, table: Any, partition: int,
                 on_unreadable: Callable[[UnreadableState], None] | None = None,
                 on_load: Callable[[CascadeState, int], None] | None = None):
        super().__init__()
        self.table = table
        self.partition = partition
        #: told of each cascade read back from the table, with this partition (to bring what was
        #: stored under older settings or releases up to date)
        self.on_load = on_load
        #: told of a stored cascade that cannot be read (not JSON, a key missing): the worker
        #: dead-letters its bytes and deletes it, and the cascade starts again from its next event.
        #: Without one, the error is raised. A state of a newer release always raises.
        self.on_unreadable = on_unreadable
        #: keys of cascades stored in the table and not live here
        self.cold: set[bytes] = set()
        #: hour of the last event -> cold keys (an entry can be stale: :meth:`expire_cold` checks).
        #: Sets, and a key's entry goes when its cascade is loaded: as lists, a cascade evicted and
        #: loaded again and again added an entry each time, kept until its hour expired (72 h), so
        #: the index grew with the evictions rather than with the cascades.
        self.buckets: dict[int, set[bytes]] = {}
        #: cascades read back from their stored form
        self.loads = 0

    def get(self, root_id: str, default: Any = None) -> CascadeState | None:
        c = dict.get(self, root_id)
        if c is None:
            key = root_id.encode()
            raw = self.table.get(key)
            if raw is None:
                return default
            try:
                c = CascadeState.from_state(orjson.loads(raw))
            except NewerStateError:
                raise
            except (orjson.JSONDecodeError, StateError) as exc:
                self.unreadable(key, raw, exc)
                return default
            if self.on_load is not None:
                self.on_load(c, self.partition)
            dict.__setitem__(self, root_id, c)
            self.cold.discard(key)
            hour = self.buckets.get(c.last_ms // COLD_BUCKET_MS)
            if hour is not None:
                hour.discard(key)   # (indexed at eviction or by the scan under this hour)
            self.loads += 1
        return c

    def count(self) -> int:
        """Cascades of this partition, live or stored."""
        return len(self) + len(self.cold)

    def add_stored(self, key: bytes, value: bytes) -> None:
        """Index a cascade found stored in the table (not live here)."""
        last_ms = self._last_ms(key, value)
        if last_ms is not None:
            self._add_cold(key, last_ms)

    def _last_ms(self, key: bytes, raw: bytes) -> int | None:
        """:func:`stored_last_ms`, or None for a state that cannot be read (handed over)."""
        try:
            return stored_last_ms(raw)
        except (KeyError, TypeError, ValueError) as exc:   # (orjson's JSONDecodeError is a ValueError)
            self.unreadable(key, raw, exc)
            return None

    def unreadable(self, key: bytes, raw: bytes, exc: Exception) -> None:
        """A stored cascade that cannot be read: forgotten here, and handed to :attr:`on_unreadable`."""
        self.cold.discard(key)
        err = UnreadableState(key, raw, self.partition, f"{type(exc).__name__}: {str(exc)[:300]}")
        if self.on_unreadable is None:
            raise err from exc
        self.on_unreadable(err)

    def _add_cold(self, key: bytes, last_ms: int) -> None:
        self.cold.add(key)
        self.buckets.setdefault(last_ms // COLD_BUCKET_MS, set()).add(key)

    def evict(self, root_id: str) -> None:
        """Drop a live cascade whose current state is stored (the caller checks) to its stored form."""
        c = dict.pop(self, root_id)
        self._add_cold(root_id.encode(), c.last_ms)

    def expire_cold(self, horizon_ms: int, alerted_horizon_ms: int | None = None) -> list[bytes]:
        """Remove and return the keys of stored cascades whose last event is before the hour of
        ``horizon_ms`` (:data:`COLD_BUCKET_MS`), or of ``alerted_horizon_ms`` for one that has
        alerted (None: the same), and whose alert is not open (an open alert resolves first,
        through the sweep)."""
        if alerted_horizon_ms is None:
            alerted_horizon_ms = horizon_ms
        extra = horizon_ms - alerted_horizon_ms       # how much longer an alerted cascade is kept
        expired: list[bytes] = []
        data = self.table.data
        # only buckets wholly before the horizon: each key is read about once (expiry may come up
        # to a bucket late), not the horizon's own bucket again at every call
        for hour in [h for h in self.buckets if (h + 1) * COLD_BUCKET_MS <= horizon_ms]:
            keys = self.buckets.pop(hour)
            for key in keys:
                if key not in self.cold:
                    continue  # loaded live since, or already expired
                raw = data.get(key)
                if raw is None:
                    self.cold.discard(key)
                    continue
                last_ms = self._last_ms(key, raw)
                if last_ms is None:
                    continue
                keep = extra if extra and stored_alerted(raw) else 0
                if last_ms + keep < horizon_ms and not stored_alert_open(raw):
                    self.cold.discard(key)
                    expired.append(key)
                else:  # newer than its bucket said, alerted, or waiting for its alert to resolve: later
                    self.buckets.setdefault(max(last_ms + keep, horizon_ms) // COLD_BUCKET_MS, set()).add(key)
        return expired


class TableScan:
    """One pass over the table for the partitions a worker starts: each stored cascade of theirs is
    indexed for expiry (:meth:`TableCache.add_stored`) and, if its alert is open, handed to the
    processor's sweep, which must resolve it even if no event of its cascade ever arrives again.
    Byte searches, not JSON parses, keep it cheap (about 6 us a cascade here); :meth:`run` yields
    every :data:`SCAN_CHUNK` cascades."""

    def __init__(self, table: Any, partitions: set[int], n_partitions: int,
                 on_unreadable: Callable[[UnreadableState], None] | None = None,
                 on_load: Callable[[CascadeState, int], None] | None = None):
        self.table = table
        self.n = n_partitions
        self.caches = {p: TableCache(table, p, on_unreadable, on_load) for p in partitions}
        #: partition -> keys of cascades stored by a release that kept offsets under "p" and "r"
        self.legacy: dict[int, list[bytes]] = {}
        #: partition -> keys of cascades stored with brand contributions never reported
        self.unreported: dict[int, list[bytes]] = {}
        self.open_alerts: dict[int, set[str]] = {p: set() for p in partitions}
        self.took = 0.0

    def run(self) -> Iterator[None]:
        t0 = time.monotonic()
        data, caches, n = self.table.data, self.caches, self.n
        keys = list(data.keys())  # the table may change between chunks
        for i in range(0, len(keys), SCAN_CHUNK):
            for key in keys[i:i + SCAN_CHUNK]:
                value = data.get(key)
                if not value:
                    continue
                p = partition_of_key(key, n)  # uncached: each key is seen once
                cache = caches.get(p)
                if cache is None:
                    continue
                version = stored_version(value)
                if version > CASCADE_STATE_VERSION:
                    raise NewerStateError(
                        f"the cascades table holds state of format version {version} (cascade "
                        f"{key[:80]!r}, partition {p}), written by a newer release; this release reads "
                        f"versions up to {CASCADE_STATE_VERSION}. Run the newer release, or see "
                        f"docs/operations.md, 'Upgrading and rolling back'")
                cache.add_stored(key, value)
                if b'"o":{"p":' in value or b'"o":{"r":' in value:
                    self.legacy.setdefault(p, []).append(key)
                if UNREPORTED_BYTES in value:
                    self.unreported.setdefault(p, []).append(key)
                if stored_alert_open(value):
                    self.open_alerts[p].add(key.decode())
            yield
        self.took = time.monotonic() - t0


#: A partition is reported caught up to the brand windows only after this long without work
#: (seconds; at least three flush intervals): see :meth:`CascadeWorker.idle`.
IDLE_AFTER_S = 5.0


class CascadeWorker:
    """What the cascades agent does with a batch; holds one processor per assigned partition."""

    def __init__(self, app: faust.App, settings: Settings, analyzer: TextAnalyzer, metrics: Metrics,
                 table: Any, topics: dict[str, Any]):
        self.app = app
        self.settings = settings
        self.analyzer = analyzer
        self.metrics = metrics
        self.table = table
        self.topics = topics
        self.config = settings.chain_config()
        self.processors: dict[int, PartitionProcessor] = {}
        self.dirty: dict[str, TableCache] = {}
        self.pending: list[Any] = []
        # (topic, key, value, partition) to send after the batch: one await each, straight to the
        # Kafka producer, instead of Faust's one-message-per-loop-turn send_soon buffer
        self.out: list[tuple] = []   # (topic, key, value, partition[, headers])
        #: states written with an alert, held until that alert is delivered (:meth:`send_out`)
        self.new_held: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.held: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        #: the deliveries of the alerts sent before the held states
        self.held_after: list[Any] = []
        #: held while a batch is processed and sent, and while a flush runs (see :meth:`process`)
        self.lock = asyncio.Lock()
        #: the final flush is done: later batches are left to the successor
        self.closed = False
        #: the batch the cascades agent has taken from the route and not processed yet
        self.in_hand: list[Any] | None = None
        #: partition -> when it last had work (an event processed, or more to read): a partition
        #: is reported caught up only after IDLE_AFTER_S without (see :meth:`idle`)
        self.busy_at: dict[int, float] = {}
        #: (topic, partition) -> the highest input offset processed (caught_up's fallback when the
        #: consumer's read offset was reset by a seek after the batch was read)
        self.done_offsets: dict[tuple[str, int], int] = {}
        self.started_at = time.monotonic()
        self.pending_dropped = 0
        self.changelog = table.changelog_topic.get_topic_name()
        #: (topic, partition) -> the source id a cascade's applied offsets are kept under
        self.source_ids: dict[tuple[str, int] | str, str] = {}   # (topic, partition), or a forwarded origin
        #: the forwarded event being processed: its source and its origin partition's end (log_end)
        self.forward_source: str | None = None
        self.forward_end: int | None = None
        #: cascades whose stored state keeps unreported brand contributions (see write_state)
        self.with_unreported: dict[str, TableCache] = {}
        #: the sources whose recreation (see count_past_end) was logged already
        self.past_end_told: set[str] = set()
        self.reported_wm: dict[int, tuple[int | None, bool]] = {}
        self.last_flush = time.monotonic()
        self.last_maintain = time.monotonic()
        self.last_event_s: float | None = None
        self.brand_labels: set[str] = set(settings.brands)
        self.forwarded = 0
        #: a send to Kafka failed: nothing more is acked (see send_out)
        self.failed = False
        self.stale = 0
        #: cascades changed lately: the candidates for the top-k gauges (pruned when they cool)
        self.hot: dict[str, TableCache] = {}
        self.route: BatchRoute | None = None
        self.brands: BrandWorker | None = None

    def processor(self, partition: int) -> PartitionProcessor:
        proc = self.processors.get(partition)
        if proc is None:
            self.start_processors({partition} | ((self.assigned() or set()) - set(self.processors)))
            proc = self.processors[partition]
        return proc

    async def ensure_processors(self) -> bool:
        """Start the processors of newly assigned partitions (after recovery), so their stored
        cascades are counted, swept and expired before any new event of theirs arrives. The table
        scan gives the event loop a turn every :data:`SCAN_CHUNK` cascades (heartbeats go on).

        False if a rebalance began meanwhile: the caller must not process the batch it holds (its
        partitions may have been revoked; unacked, its messages are read again after the rebalance).
        """
        assigned = self.assigned()
        missing = (assigned or set()) - set(self.processors)
        if not missing:
            return True
        generation = self.app.consumer_generation_id
        found = TableScan(self.table, missing, self.settings.partitions, self.unreadable_cascade,
                          self.loaded)
        for _ in found.run():
            await asyncio.sleep(0)
            if self.app.consumer_generation_id != generation or self.app.rebalancing:
                return False  # the assignment changed meanwhile: start over with the new one
        self._install(found)
        return True

    def start_processors(self, partitions: set[int]) -> None:
        """:meth:`ensure_processors` for ``partitions`` in one go (an event of a partition whose
        processor has not been started yet)."""
        found = TableScan(self.table, partitions, self.settings.partitions, self.unreadable_cascade,
                          self.loaded)
        for _ in found.run():
            pass
        self._install(found)

    def _install(self, found: "TableScan") -> None:
        self.convert_legacy(found.legacy)
        stored = 0
        for p, cache in found.caches.items():
            proc = PartitionProcessor(self.config, self.analyzer, cache, self._marker(cache))
            proc.log_end = self.log_end
            proc.active_alerts.update(found.open_alerts[p])
            self.processors[p] = proc
            stored += len(cache.cold)
            self.restore_unreported(proc, cache, found.unreported.get(p, ()))
        log.info("partitions %s: %d stored cascades indexed in %.2fs", sorted(found.caches), stored,
                 found.took)

    def restore_unreported(self, proc: PartitionProcessor, cache: TableCache, keys: Iterable[bytes]) -> None:
        """Count again the brand contributions kept in stored states written with an alert and never
        followed by their report (a crash in between): their events, read again, are skipped."""
        events = 0
        restored = []
        for key in keys:
            raw = self.table.data.get(key)
            try:
                per_brand = decode_unreported(orjson.loads(raw)[UNREPORTED_KEY] if raw else None)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, IndexError):
                continue   # gone since the scan, or damaged: the full read reports a damaged state
            root_id = key.decode()
            proc.restore_unreported(root_id, per_brand)
            if cache.get(root_id) is not None:
                self.with_unreported[root_id] = cache   # rewritten without them after the next report
            events += sum(v[0] for buckets in per_brand.values() for v in buckets.values())
            restored.append(root_id)
        if restored:
            log.warning("partition %d: %d brand mentions of %d cascades (%s) were stored with their "
                        "alerts but never reported (the worker stopped in between): counted now",
                        cache.partition, events, len(restored), ", ".join(sorted(restored)[:5]))

    def forwarded_reread(self, proc: PartitionProcessor, root_id: str, by_root_source: str, offset: int) -> bool:
        """Whether a forwarded record at ``offset`` of the by-root partition ``by_root_source`` was
        applied (or rejected) already, as that record (its cascade's state, written before the
        by-root offsets were committed, has it). Its origin's offsets cannot tell alone: their end
        in the header is the one at forward time, which a recreated topic's new log also shows,
        and applying a recreated topic's event lowers the origin's mark. Asked first, for every
        forwarded record (so posts.by-root, like the posts topic, must not be recreated under its
        name while the tables are kept: see docs/operations.md)."""
        c = proc.store.get(root_id)
        if c is None:
            return False
        applied = c.applied_offset(by_root_source)
        if offset > applied:
            return False
        end = self.log_end(by_root_source)
        if end is None or applied < end:
            proc.reapplied += 1
            return True
        return False   # the by-root topic itself was recreated: a new record

    def mark_forwarded(self, proc: PartitionProcessor, root_id: str, by_root_source: str, offset: int,
                       origin_source: str, origin_offset: int) -> None:
        """Record a forwarded record as done with, under its by-root offset and its origin's (never
        lowering either)."""
        c = proc.store.get(root_id)
        if c is None:
            return   # (rejected before its cascade existed: read again, it is rejected again)
        changed = False
        for src, off in ((by_root_source, offset), (origin_source, origin_offset)):
            if off > c.applied_offset(src):
                c.mark_applied(src, off)
                changed = True
        if changed:
            proc.on_change(root_id)

    def log_end(self, source: str) -> int | None:
        """Where the input partition ``source`` (``topic#partition``) ends, as the consumer last heard
        (None if it cannot tell): an offset applied at or past it came from an earlier log. For a
        forwarded event, where its origin partition ended when it was forwarded (its header)."""
        if "<" in source:
            return self.forward_end if source == self.forward_source else None
        topic, _, partition = source.rpartition("#")
        try:
            end = self.app.consumer.highwater(TP(topic, int(partition)))
        except Exception:  # not assigned (any more), or the consumer is not running
            return None
        return end if isinstance(end, int) and end >= 0 else None

    def count_past_end(self, proc: PartitionProcessor) -> None:
        """Count (and say once per topic and partition) the events applied although their cascade had
        applied a higher offset of the same topic and partition: the topic was recreated."""
        for source, n in proc.past_end.items():
            topic = source.rpartition("#")[0].rpartition("<")[2]   # (a forwarded event's: its origin's)
            self.metrics.past_log_end.labels(topic).inc(n)
            if source not in self.past_end_told:
                self.past_end_told.add(source)
                log.warning("input %s: stored cascades had applied offsets beyond the end of this "
                            "partition, so the topic was deleted and recreated under the same name (or "
                            "truncated); its events are applied, not skipped as re-reads "
                            "(virality_events_past_log_end_total counts them). Use a new topic name instead "
                            "(docs/operations.md, 'Changing settings between restarts')", source)
        proc.past_end.clear()

    def _marker(self, cache: TableCache) -> Callable[[str], None]:
        dirty = self.dirty

        def mark(root_id: str) -> None:
            dirty[root_id] = cache
        return mark

    def _batch_analysis_failed(self, exc: Exception, n_texts: int) -> None:
        log.warning("%s.analyze_many failed on a batch of %d texts (%s: %s); analysing them one by "
                    "one, a text that fails alone is dead-lettered as analysis_failed",
                    type(self.analyzer).__name__, n_texts, type(exc).__name__, str(exc)[:200])

    def brand_label(self, brand: str | None) -> str:
        if not brand:
            return "none"
        if brand in self.brand_labels:
            return brand
        # as many as the brand windows track (VIRALITY_MAX_BRANDS), then "other": bounded labels
        if len(self.brand_labels) < self.settings.max_brands:
            self.brand_labels.add(brand)
            return brand
        return "other"

    # -- the batch ------------------------------------------------------------------------------

    def process_batch(self, messages: list[Any], analyses: list[TextAnalysis | None] | None = None) -> None:
        """Process a batch. ``analyses``: one per message, made ahead by :class:`TextHelpers` (None
        where the event is to analyse its own text), or None."""
        s = self.settings
        ahead = ({id(m): a for m, a in zip(messages, analyses)}
                 if analyses is not None and len(analyses) == len(messages) else None)
        posts_topic = s.posts_topic
        partitions = s.partitions
        consumed: Tally = Tally()
        rejected: Tally = Tally()
        lags: list[float] = []
        now = time.time()
        now_ms = int(now * 1000)
        # (from_the_future: created_at > arrival + VIRALITY_MAX_FUTURE_S; see below)
        clock_cap_ms = self.config.clock_cap_ms(now_ms)
        by_root = s.repartition_topic
        generation = self.app.consumer_generation_id
        stale = [m for m in messages if m.generation_id != generation]
        if stale:
            # fetched before a rebalance: Faust seeks back to the committed offsets, so these come
            # again in order; processing them now would put the partition out of order
            self.stale += len(stale)
            messages = [m for m in messages if m.generation_id == generation]
        assigned = self.assigned()
        if assigned is not None and any(m.partition not in assigned for m in messages):
            # fetched for a partition revoked since: its new owner reads it (never acked here)
            self.stale += sum(m.partition not in assigned for m in messages)
            messages = [m for m in messages if m.partition in assigned]
        read_counter = self.metrics.records_read
        for (topic, part), n in Tally((m.topic, m.partition) for m in messages).items():
            read_counter.labels(topic, str(part)).inc(n)
        mine: list[tuple[Any, Event]] = []
        forwards: dict[int, list[tuple[int, bytes, bytes, list]]] = {}
        for m in messages:
            try:
                if m.value is None:   # (a tombstone: a record with no value at all)
                    raise Rejected("malformed_json", "the record has no value (null, a tombstone): no event")
                event = decode_event(m.value)
            except Rejected as r:
                self.dead_letter(m, r)
                rejected[r.reason] += 1
                continue
            if m.topic == posts_topic and (m.key != event.root_id.encode()
                                           or partition_for(event.root_id, partitions) != m.partition):
                # not keyed by its cascade: send it to the partition that owns the cascade, saying
                # where it came from (see ORIGIN_HEADER)
                try:
                    end = self.app.consumer.highwater(TP(m.topic, m.partition))
                except Exception:   # (not assigned any more: the batch's own check comes first)
                    end = None
                forwards.setdefault(m.partition, []).append(
                    (event.t_ms, event.root_id.encode(), m.value,
                     [(ORIGIN_HEADER, origin_header(m.topic, m.partition, m.offset,
                                                    end if isinstance(end, int) and end > m.offset else None))]))
                continue
            mine.append((m, event))
        if forwards:
            # In event-time order across the posts partitions (each one's own order kept: a cascade's
            # forwarded events must reach it in their origin's offset order). Partition after
            # partition, as fetched, a cascade's events came a batch's span out of order and many
            # were dead-lettered as too_late.
            for t_ms, key, value, headers in heapq.merge(*forwards.values(), key=lambda f: f[0]):
                self.out.append((s.repartition_topic, key, value, None, headers))
                self.forwarded += 1
        if ahead is not None:
            made = [ahead.get(id(m)) for m, _ in mine]
            self.metrics.analysed_ahead.inc(sum(a is not None for a in made))
        else:
            # an analyzer with analyze_many (a model on a GPU) gets the batch's texts in one call
            made = precomputed(self.analyzer, [e for _, e in mine], self._batch_analysis_failed)
        source_ids = self.source_ids
        reread = 0
        for (m, event), analysis in zip(mine, made):
            # the offsets a cascade has applied are per topic and partition: a renamed topic or a
            # cascade that moved to another partition must not be compared with the old offsets
            offset = m.offset
            own = source_ids.get((m.topic, m.partition))
            if own is None:
                own = source_ids[(m.topic, m.partition)] = source_id(m.topic, m.partition)
            origin = origin_of(getattr(m, "headers", None)) if m.topic == by_root else None
            proc = self.processor(m.partition)
            if origin is not None:
                # A forwarded event: the same by-root record read again (after this worker's
                # predecessor applied or rejected it) is a re-read by its by-root offset; a copy
                # forwarded again after the forwarder crashed is a new record, and a re-read by its
                # origin's offset (the chain's check)
                o_source, offset, self.forward_end = origin
                source = source_ids.get(o_source)
                if source is None:
                    source = source_ids[o_source] = forwarded_source(by_root, o_source)
                self.forward_source = source
                if self.forwarded_reread(proc, event.root_id, own, m.offset):
                    reread += 1
                    continue
            else:
                source = own
            # Arrival: the record's timestamp, the broker's own when the topic appends with
            # LogAppendTime (the worker creates its input topics so). With CreateTime it is the
            # producer's clock: one that is slow makes on-time events look ahead of their arrival,
            # and the rejection then says whose clock it read (a reviewer's producer an hour slow
            # had every event dead-lettered, with a detail that blamed the events). A timestamp
            # before 1973 is none. And an event may not be ahead of this worker's clock by more than
            # CLOCK_SLACK_S (detectors.chain) either: a producer whose clock runs ahead stamps both
            # created_at and a CreateTime ahead, and one such event moved its partition's watermark
            # hours on (open alerts of cascades still spreading resolved as quiet, later brand
            # mentions dropped as late). The slack lets a worker whose own clock is a few minutes
            # behind go on (capped at its clock itself, it rejected everything), and is well under
            # the quiet time that resolves alerts (an hour's slack let a producer 35 minutes ahead
            # resolve them).
            arrival_ms = int(m.timestamp * 1000) if m.timestamp else 0
            if arrival_ms < MIN_RECORD_MS or arrival_ms > clock_cap_ms:
                arrival_ms = clock_cap_ms
            reapplied = proc.reapplied
            try:
                alerts = proc.process(event, source, offset, arrival_ms, analysis)
            except Rejected as r:
                if (r.reason == "from_the_future" and arrival_ms != clock_cap_ms
                        and getattr(m, "timestamp_type", None) != LOG_APPEND_TIME):
                    r = Rejected(r.reason, f"{r.detail} (arrival: the record's CreateTime, from the "
                                           "producer's clock; a producer clock running slow does "
                                           "this: see docs/operations.md, Events rejected as "
                                           "from_the_future)")
                if r.reason == "internal_error":
                    log.error("event %s (%s[%d]@%d) dead-lettered: processing it failed", event.id[:80],
                              m.topic, m.partition, m.offset, exc_info=r.__cause__)
                self.dead_letter(m, r)
                rejected[r.reason] += 1
                if origin is not None:
                    # dead-lettered once: read again, or forwarded again, it is a re-read (a keyed
                    # event's later successes cover it; a forwarded one's only later forwarded ones)
                    self.mark_forwarded(proc, event.root_id, own, m.offset, source, offset)
                continue
            if proc.reapplied != reapplied:
                reread += 1
                continue  # read again after a restart: applied before, counted before
            if origin is not None:   # (see forwarded_reread)
                self.mark_forwarded(proc, event.root_id, own, m.offset, source, offset)
            # (by the detected language, as virality_brand_events_total and the board's language
            # picker; before 2026-11-24 by the producer's tag, which may be wrong or missing)
            consumed[(event.kind, proc.last_lang)] += 1
            lags.append(now - event.t_ms / 1000.0)
            for alert in alerts:
                self.send_alert(alert, arrival_ms)
                if alert["root_id"] is not None:
                    # the cascade's state goes out with its alert, not at the next flush: a crash
                    # then finds the alert recorded in the state, so a re-read does not repeat it.
                    # (Only its state: writing its partition's brand partials and all its changed
                    # cascades with it, which would keep the brand windows exact after a kill,
                    # wrote 2.5 times the changelog records and cost a fifth of the throughput.)
                    # It goes out once the alert is delivered: delivered first, a kill between
                    # the two would leave an alert recorded as sent that never was.
                    self.write_state(alert["root_id"], self.new_held)
        self.pending.extend(messages)
        if messages:
            busy_at, now_m, done = self.busy_at, time.monotonic(), self.done_offsets
            for m in messages:  # (in offset order within a topic and partition)
                done[m.topic, m.partition] = m.offset
                busy_at[m.partition] = now_m
        for (kind, lang), n in consumed.items():
            self.metrics.consumed.labels(kind, lang if len(lang) <= 3 else "und").inc(n)
        for reason, n in rejected.items():
            self.metrics.rejected.labels(reason).inc(n)
        if reread:
            self.metrics.reread.inc(reread)
        self.metrics.processing_lag.observe_many(lags)
        if consumed:
            self.last_event_s = now
        for proc in self.processors.values():
            if proc.past_end:
                self.count_past_end(proc)
            if proc.brand_late:
                self.metrics.brand_late.labels("partition").inc(proc.brand_late)
                proc.brand_late = 0
            if proc.brand_counts:
                for (brand, lang), n in proc.brand_counts.items():
                    self.metrics.brand_events.labels(self.brand_label(brand), lang if len(lang) <= 3 else "und").inc(n)
                proc.brand_counts.clear()

    def send_alert(self, alert: dict[str, Any], arrival_ms: int | None) -> None:
        self.out.append((self.settings.alerts_topic, alert_key(alert), dumps_kept(alert), None))
        self.count_alert(alert, arrival_ms)

    async def send_now(self, alerts: list[dict[str, Any]]) -> None:
        """Send ``alerts`` and wait until Kafka has them (brand alerts: few, and their state is
        written right after). A failure stops the worker, as any failed send does."""
        try:
            sent = [await self.app.producer.send(self.settings.alerts_topic, alert_key(alert),
                                                 dumps_kept(alert), None, None, None) for alert in alerts]
            for delivered in sent:   # all sent at once, then waited for together
                await delivered
        except Exception:
            self.send_failed("sending a brand alert failed; stopping without committing its report, "
                             "which is read again after the restart")
            raise
        for alert in alerts:
            self.count_alert(alert, None)

    def count_alert(self, alert: dict[str, Any], arrival_ms: int | None) -> None:
        self.metrics.alerts.labels(alert["type"], alert["state"], alert["severity"]).inc()
        if arrival_ms is not None:
            self.metrics.detection_latency.observe(max(0.0, time.time() - arrival_ms / 1000.0))
        log.info("alert %s %s %s: %s", alert["state"], alert["type"], alert["alert_id"], alert["reason"])

    def dead_letter(self, m: Any, r: Rejected) -> None:
        self._dead_letter(r.reason, r.detail, m.topic, m.partition, m.offset,
                          int(m.timestamp * 1000) if m.timestamp else None, m.key, m.value,
                          origin_fields(getattr(m, "headers", None)) if m.topic == self.settings.repartition_topic
                          else None)

    def stop_on(self, exc: Exception, what: str) -> None:
        """An agent failed with ``exc``: nothing more is acked, and the log says why (state of a
        newer release in one line, anything else with its traceback)."""
        self.failed = True
        if isinstance(exc, NewerStateError):
            log.critical("the worker stops: %s", exc)
        else:
            log.critical(what, exc_info=exc)

    def convert_legacy(self, legacy: dict[int, list[bytes]]) -> None:
        """Rewrite cascades stored with offsets under "p" and "r" (before 2026-11-23) with the source
        ids of today's topic names, once, when their partition is assigned: should a topic be
        renamed later, "p" would otherwise be read as the new name's offsets."""
        n = 0
        for partition, keys in legacy.items():
            names = legacy_sources(self.settings, partition)
            for key in keys:
                raw = self.table.data.get(key)
                try:
                    d = orjson.loads(raw)
                    d["o"] = {names.get(k, k): v for k, v in d["o"].items()}
                except (TypeError, ValueError, KeyError, AttributeError):
                    continue   # unreadable: found so when it is loaded
                value = dumps_kept(d)
                self.table.data[key] = value
                self.out.append((self.changelog, key, value, partition))
                n += 1
        if n:
            log.info("%d cascades stored by an older release now keep their offsets per topic", n)

    def loaded(self, c: CascadeState, partition: int) -> None:
        """A cascade read back from the table, brought up to date:

        * offsets kept under "p" (the posts topic) and "r" (the by-root topic) before 2026-11-23 are
          renamed to this partition's source ids;
        * the allowed lateness becomes VIRALITY_LATENESS_S's, should it have changed since.
        """
        c.rename_sources(legacy_sources(self.settings, partition))
        if c.velocity.lateness_s != self.config.lateness_s:
            c.velocity.lateness_s = self.config.lateness_s

    def unreadable_cascade(self, err: UnreadableState) -> None:
        """A stored cascade this release cannot read: its bytes to the dead-letter topic, and
        deleted from the table; the cascade starts again from its next event."""
        if stored_alert_open(err.raw):
            # its alert can no longer be resolved by the worker: say so where on-call looks
            log.error("the unreadable cascade %r had an open alert (%s); it will not be resolved: "
                      "close it by hand downstream", err.key[:80], open_alert_id(err.key, err.raw))
        self.unreadable_state(self.changelog, err.key, err.raw, err.partition, err.detail)
        self.tombstone(err.key, err.partition)

    def unreadable_state(self, topic: str, key: bytes, raw: bytes, partition: int, detail: str) -> None:
        """Dead-letter a stored state that cannot be read (reason ``state_unreadable``), count it
        and say so in the log."""
        log.error("stored state %r in %s[%d] cannot be read (%s); its bytes go to %s as "
                  "state_unreadable and it starts again empty", key[:80], topic, partition, detail,
                  self.settings.deadletter_topic)
        self.metrics.states_unreadable.labels(topic).inc()
        self._dead_letter("state_unreadable", detail, topic, partition, -1, None, key, raw)

    def _dead_letter(self, reason: str, detail: str, topic: str, partition: int, offset: int,
                     timestamp_ms: int | None, key: bytes | None, value: bytes | None,
                     origin: dict[str, Any] | None = None) -> None:
        record = {"reason": reason, "detail": detail, "topic": topic, "partition": partition,
                  "offset": offset, "timestamp_ms": timestamp_ms,
                  **key_fields(key, DEADLETTER_KEY_CHARS), "rejected_at_ms": int(time.time() * 1000)}
        if origin is not None:
            # a forwarded event: where it was first read (the same event forwarded again after a
            # crash has another by-root offset, and the same origin)
            record["origin"] = origin
        # A stored state is overwritten once its cascade starts again: it is kept whole up to a
        # larger limit (the brand windows can take some hundreds of KB), in base64 when large. A
        # value cut short still sits whole at topic/partition/offset while the input retains it.
        record.update(value_fields(value or b"", DEADLETTER_STATE_BYTES if offset < 0 else DEADLETTER_VALUE_BYTES))
        if value is None:
            record["value_null"] = True   # ("" is an empty value; this record had none)
        key = key[:DEADLETTER_KEY_CHARS] if key else key
        self.out.append((self.settings.deadletter_topic, key, dumps_kept(record), None))

    # -- flushing -------------------------------------------------------------------------------

    def due(self) -> bool:
        return time.monotonic() - self.last_flush >= self.settings.flush_interval_s

    async def send_out(self, wait: bool = False) -> None:
        """Hand what the batch produced to the Kafka producer (delivery is awaited at commit).

        The states written with alerts are held until those alerts are delivered, then sent (at a
        later call, or at once with ``wait``, which waits for the deliveries: a flush, before it
        acks). Nothing waits on the way: the deliveries are looked at, not awaited.
        """
        send = self.app.producer.send
        try:
            if self.held and (wait or all(f.done() for f in self.held_after)):
                for delivered in self.held_after:
                    await delivered   # done already, or waited for (raises if it failed)
                held, self.held, self.held_after = self.held, [], []
                for topic, key, value, partition in held:
                    await send(topic, key, value, partition, None, None)
            out, self.out = self.out, []
            alerts = self.settings.alerts_topic
            for topic, key, value, partition, *headers in out:   # (headers: forwarded events only)
                sent = await send(topic, key, value, partition, None, headers[0] if headers else None)
                if topic == alerts and self.new_held:
                    self.held_after.append(sent)
            if self.new_held:
                self.held += self.new_held
                self.new_held = []
                if wait:
                    await self.send_out(wait=True)
        except Exception:
            # What this batch produced is (partly) lost: its messages must never be acked, so the
            # worker stops (the cascades agent crashes the app) and its successor reads them again
            # from the last committed offset.
            self.send_failed("sending to Kafka failed; stopping without committing what was not sent, "
                             "the events are read again after the restart")
            raise

    def send_failed(self, what: str) -> None:
        """A send failed (called in its ``except``): nothing more is acked, and the log says so."""
        self.failed = True
        self.pending.clear()
        log.critical(what, exc_info=True)

    async def flush(self, last: bool = False) -> None:
        """Write changed state, report brand partials, then ack what was processed. ``last``: the
        final flush on the way out; batches that come after it are not processed (see :meth:`process`)."""
        async with self.lock:
            await self._flush(leaving=last)
            if last:
                self.closed = True

    async def process(self, batch: list[Any], analyses: list[TextAnalysis | None] | None = None) -> None:
        """:meth:`process_batch` and :meth:`send_out`, with the worker to itself: a flush from
        elsewhere (a rebalance, the shutdown) must not interleave its sends with a batch's, or a
        state written with an alert could pass the alert, and an older state a newer one."""
        async with self.lock:
            if self.in_hand is batch:
                self.in_hand = None
            if self.closed:
                # after the final flush (the agents stop only after it): no flush would write this
                # batch's states or ack it, so its alerts would come again from the successor.
                # Left unacked, the successor reads it and sends them once.
                self.pending_dropped += len(batch)
                return
            self.process_batch(batch, analyses)
            await self.send_out()

    async def _flush(self, leaving: bool = False) -> None:
        """``leaving``: the last flush before this worker gives its partitions up (the final flush,
        a revocation). What it has not processed by then (a batch on its way to the agent, events
        fetched after it) is its successor's: it must not tell the brand windows it is caught up."""
        if self.failed:
            return
        self.report_brands(sorted((self.assigned() or set()) | set(self.processors)), leaving=leaving)
        # the states that kept unreported brand contributions: reported now, so written without
        for root_id, cache in self.with_unreported.items():
            self.dirty.setdefault(root_id, cache)
        self.with_unreported.clear()
        for root_id in list(self.dirty):
            self.write_state(root_id)
        self.dirty.clear()
        if time.monotonic() - self.last_maintain >= self.settings.maintain_every_s:
            self.maintain()
        await self.send_out(wait=True)
        consumer = self.app.consumer
        for m in self.pending:
            consumer.ack(m)
        self.pending.clear()
        self.last_flush = time.monotonic()

    def report_brands(self, partitions: Iterable[int], leaving: bool = False) -> None:
        """Queue the brand partials gathered in ``partitions`` (and their watermarks), as one report
        message: the aggregator merges them as one step.

        ``leaving``: never report a partition caught up. A caught-up partition lets the aggregator
        close windows up to the newest watermark of any partition (BrandAggregator._close), and its
        events still unprocessed here would reach it, from the successor, as late and be dropped:
        a different or spurious brand alert (``no texts left to tell``). The successor reports
        the partition caught up itself once it is."""
        reports = []
        for partition in partitions:
            proc = self.processors.get(partition)
            partials, wm = proc.drain_brands() if proc is not None else ({}, None)
            up = False if leaving else self.idle(partition)
            # a caught-up partition says so at every flush: the aggregator holds the windows back
            # to the newest watermark as of its latest word (BrandAggregator.merge)
            if partials or up or (wm, up) != self.reported_wm.get(partition):
                self.reported_wm[partition] = (wm, up)
                reports.append({"source": str(partition), "partials": partials, "watermark": wm, "caught_up": up})
        if reports:
            self.out.append((self.settings.brand_topic, b"brands",
                             dumps_kept({"reports": reports}, option=JSON_OPTS), None))

    def write_state(self, root_id: str, queue: list | None = None) -> None:
        """Queue a changed cascade's state for its changelog (and the table's local copy), in
        :attr:`out` or ``queue``."""
        cache = self.dirty.pop(root_id, None)
        if cache is None:
            return
        self.hot[root_id] = cache
        c = dict.get(cache, root_id)
        if c is not None:
            state = c.to_state()
            proc = self.processors.get(cache.partition)
            unreported = proc.unreported.get(root_id) if proc is not None else None
            if unreported:
                # written before its brand partials are reported (with an alert): the state keeps
                # them, so a crash before the report loses none (its re-read events are skipped as
                # applied); rewritten without them at the next flush, after the report
                version = state.pop("_v")
                state[UNREPORTED_KEY] = encode_unreported(unreported)
                state["_v"] = version   # last, as stored_version reads it
                self.with_unreported[root_id] = cache
            key, value = root_id.encode(), dumps_kept(state)
            self.table.data[key] = value  # as Table.__setitem__ would
            (self.out if queue is None else queue).append((self.changelog, key, value, cache.partition))

    def assigned(self) -> set[int] | None:
        """This worker's partitions of the input topics; None when the consumer cannot tell."""
        try:
            return {tp.partition for tp in self.app.consumer.assignment()
                    if tp.topic == self.settings.posts_topic}
        except Exception:  # not started or rebalancing
            return None

    def read_offset(self, tp: Any) -> int | None:
        """The last offset read of ``tp``: the consumer's, or, when a seek to the committed offsets
        reset it after the batch was read, the highest this worker processed."""
        read = self.app.consumer._read_offset.get(tp)
        return read if read is not None else self.done_offsets.get((tp.topic, tp.partition))

    def idle(self, partition: int) -> bool:
        """Caught up now, and with no work for the last :data:`IDLE_AFTER_S` (at least three flush
        intervals). A moment's "caught up" is not enough: the consumer's high-water mark is the last
        fetch's, so in a fast replay a partition looks caught up between fetches. Reported caught up,
        its events still to come would reach the brand windows late and be dropped (a wrong or
        spurious brand alert: "no texts left to tell")."""
        now = time.monotonic()
        if not self.caught_up(partition):
            self.busy_at[partition] = now
            return False
        wait = max(IDLE_AFTER_S, 3 * self.settings.flush_interval_s)
        return now - self.busy_at.get(partition, self.started_at) >= wait

    def caught_up(self, partition: int) -> bool:
        """Nothing left to read for this partition right now (both input topics, no queued batch,
        none on its way to the queue and none taken by the agent and not processed yet)."""
        if self.in_flight(partition):
            return False
        consumer = self.app.consumer
        try:
            for tp in consumer.assignment():
                if tp.partition == partition and tp.topic in (self.settings.posts_topic,
                                                              self.settings.repartition_topic):
                    if self.unread(tp, nothing_waits=True) != 0:
                        return False
        except Exception:
            return False
        return True

    def in_flight(self, partition: int) -> bool:
        """Fetched records that may be this partition's wait to be processed: a queued batch, one
        on its way to the queue, or one taken by the agent and not processed yet."""
        route = self.route
        if route is not None and (route.incoming or not route.queue.empty()):
            return True
        return self.in_hand is not None and any(m.partition == partition for m in self.in_hand)

    def unread(self, tp: Any, nothing_waits: bool = False) -> int | None:
        """Records of ``tp`` not processed yet: from the last offset processed to the partition's
        end (None when that end is not known yet). ``nothing_waits``: no fetched record of the
        partition waits to be processed (:meth:`in_flight` is false).

        A transactional producer ends each transaction with a commit marker, an offset no record
        is delivered at: the last offset processed stays one short of the end for ever. When the
        consumer's own position has reached the end and nothing fetched waits, what lies between
        is such markers (or aborted records), and nothing is unread. Before 2026-11-24 such a
        partition's lag read 1 for ever and it was never caught up, so a quiet one held the brand
        windows back until its next event."""
        high = self.app.consumer.highwater(tp)
        if high is None:
            return None
        read = self.read_offset(tp)
        n = max(0, high - ((read + 1) if read is not None else 0))
        if n and nothing_waits:   # (also before any record: a partition whose records expired)
            position = consumer_position(self.app.consumer, tp)
            if position is not None and position >= high:
                return 0
        return n

    def maintain(self) -> None:
        """Evict idle cascades to their stored form and forget expired ones (tombstones), by each
        partition's watermark (event time). Runs at a flush, so nothing evicted is unwritten."""
        evict_ms = self.settings.evict_idle_s * 1000
        expire_ms = self.settings.expire_s * 1000
        evicted = expired = 0
        for proc in self.processors.values():
            wm = proc.watermark_ms
            if wm is None:
                continue
            cache = proc.store
            for root_id in proc.expired(wm):
                dict.pop(cache, root_id, None)
                self.tombstone(root_id.encode(), cache.partition)
                expired += 1
            for key in cache.expire_cold(wm - expire_ms, wm - self.config.expire_after_s(True) * 1000):
                self.tombstone(key, cache.partition)
                expired += 1
            idle = wm - evict_ms
            for root_id in [k for k, c in cache.items() if c.last_ms < idle and not c.alert.active
                            and k not in self.dirty and k not in proc.active_alerts]:
                cache.evict(root_id)
                self.hot.pop(root_id, None)
                evicted += 1
        self.last_maintain = time.monotonic()
        self.count_loads(self.processors.values())
        if evicted:
            self.metrics.evicted.inc(evicted)
        if expired:
            self.metrics.expired.inc(expired)
        if evicted or expired:
            log.debug("maintenance: %d cascades evicted to their stored form, %d expired", evicted, expired)

    def count_loads(self, procs: Any) -> None:
        loads = 0
        for proc in procs:
            loads += proc.store.loads
            proc.store.loads = 0
        if loads:
            self.metrics.loaded.inc(loads)

    def tombstone(self, key: bytes, partition: int) -> None:
        root_id = key.decode()
        self.dirty.pop(root_id, None)
        self.hot.pop(root_id, None)
        self.table.data.pop(key, None)
        self.out.append((self.changelog, key, None, partition))

    async def revoke(self, partitions: set[int]) -> None:
        """Partitions moved away: write what we have, then forget them."""
        async with self.lock:
            await self._flush(leaving=True)
            self.count_loads([self.processors[p] for p in partitions if p in self.processors])
            for p in partitions:
                self.processors.pop(p, None)
                self.reported_wm.pop(p, None)
            for root_id in [r for r, cache in self.hot.items() if cache.partition in partitions]:
                del self.hot[root_id]

    def publish_metrics(self) -> None:
        """Refresh the state gauges (run by a timer, off the per-batch path)."""
        tops = []
        for root_id, cache in list(self.hot.items()):
            c = dict.get(cache, root_id)
            proc = self.processors.get(cache.partition)
            rate = c.velocity_or_zero(proc.watermark_ms) if c is not None and proc and proc.watermark_ms else 0.0
            if rate <= 0.0:
                del self.hot[root_id]   # cooled down (or gone): no longer a top candidate
                continue
            tops.append((rate, root_id, c, proc.watermark_ms))
        tops.sort(key=lambda t: (-t[0], t[1]))
        top = []
        for rate, _, c, wm in tops[:TOP_K]:
            fc = c.forecast.predict(max(0.0, (wm - c.root_ms) / 1000))
            top.append((self.brand_label(c.brands[0] if c.brands else None), rate, float(c.shares), _num(fc.final)))
        alerts = []
        open_alerts: Tally = Tally()
        for proc in self.processors.values():
            wm = proc.watermark_ms or 0
            for root_id in list(proc.active_alerts):
                # loaded if only stored (after a restart): its series must not vanish until the
                # cascade's next event, or the alert rules resolve it and page again then
                try:
                    c = proc.store.get(root_id)
                except NewerStateError:
                    c = None    # a newer release's state: the worker stops at its next event
                if c is None or not c.alert.active:
                    continue
                typ = c.alert_type or "viral_complaint"
                open_alerts[(typ, severity(typ, c.alert.state))] += 1
                fc = c.forecast.predict(max(0.0, (wm - c.root_ms) / 1000))
                alerts.append((f"{typ}:{root_id}:{c.alert.seq}", typ,
                               self.brand_label(c.brands[0] if c.brands else None), c.alert.state,
                               c.velocity_or_zero(wm), float(c.shares), _num(fc.final), _num(fc.low), _num(fc.high)))
        lag = {}
        consumer = self.app.consumer
        try:
            for tp in consumer.assignment():
                if tp.topic in (self.settings.posts_topic, self.settings.repartition_topic):
                    # its read counter at 0 from the assignment on: a partition stuck from the start
                    # has a rate of 0 to alert on, not no series
                    self.metrics.records_read.labels(tp.topic, str(tp.partition))
                    n = self.unread(tp, nothing_waits=not self.in_flight(tp.partition))
                    if n is not None:
                        lag[(tp.topic, tp.partition)] = n
        except Exception:  # the consumer is not started yet or is rebalancing
            pass
        brands = self.brands.view() if self.brands is not None else {}
        brand_alerts = self.brands.alert_series() if self.brands is not None else []
        if self.brands is not None:
            open_alerts.update(self.brands.open_alerts())
        self.metrics.state.publish(Snapshot(
            active_cascades=sum(p.store.count() for p in self.processors.values()),
            live_cascades=sum(len(p.store) for p in self.processors.values()), top=top, alerts=alerts,
            brands=brands, brand_alerts=brand_alerts, open_alerts=dict(open_alerts), lag=lag, last_event_s=self.last_event_s,
            brand_untracked=self.brands.agg.untracked if self.brands is not None and self.brands.agg else None))


def _num(x: float) -> float:
    return x if x == x and abs(x) != float("inf") else 0.0


class BrandWorker:
    """What the brands agent does with one partition report."""

    def __init__(self, settings: Settings, table: Any, metrics: Metrics,
                 unreadable_state: Callable[[str, bytes, bytes, int, str], None] | None = None):
        self.settings = settings
        self.table = table
        self.metrics = metrics
        #: told of a stored state that cannot be read (``CascadeWorker.unreadable_state``); without
        #: one, the error is raised
        self.unreadable_state = unreadable_state
        self.agg: BrandAggregator | None = None

    def aggregator(self) -> BrandAggregator:
        if self.agg is None:
            raw = self.table.get(b"brands")
            rules = self.settings.chain_config().brand_rules
            sources = [str(p) for p in range(self.settings.partitions)]
            agg = self._stored(raw, rules) if raw else None
            if agg is None:
                agg = BrandAggregator(rules, sources)
            gone = agg.set_sources(sources)
            if gone:
                log.warning("brand windows: partitions %s no longer exist (VIRALITY_PARTITIONS=%d); "
                            "what they reported is forgotten", ", ".join(gone), self.settings.partitions)
            if "b" in agg.offsets:   # before 2026-11-23 the report offset was kept under "b"
                agg.offsets[source_id(self.settings.brand_topic, 0)] = agg.offsets.pop("b")
            self.agg = agg
        return self.agg

    def _stored(self, raw: bytes, rules: Any) -> BrandAggregator | None:
        """The stored brand windows; None (start again empty) when they cannot be read and there is
        someone to hand their bytes to. A state of a newer release stops the worker."""
        try:
            return BrandAggregator.from_state(orjson.loads(raw), rules)
        except NewerStateError as exc:
            raise NewerStateError(f"the brand-state table holds {exc}. Run the newer release, or see "
                                  f"docs/operations.md, 'Upgrading and rolling back'") from None
        except (orjson.JSONDecodeError, StateError) as exc:
            if self.unreadable_state is None:
                raise
            self.unreadable_state(self.table.changelog_topic.get_topic_name(), b"brands", raw, 0,
                                  f"{type(exc).__name__}: {str(exc)[:300]}")
            return None

    def process(self, value: bytes, topic: str, partition: int, offset: int) -> list[dict] | None:
        """Fold in one report; return the brand alerts it caused, None if it was applied before.
        The caller sends the alerts and then :meth:`store` s the state, in that order: state that
        records a report whose alerts were lost would never send them again."""
        agg = self.aggregator()
        src = source_id(topic, partition)
        if offset <= agg.offsets.get(src, -1):
            return None
        report = orjson.loads(value)
        late = agg.late
        alerts = agg.merge_many((r["source"], r["partials"], r["watermark"], r["caught_up"])
                                for r in report["reports"])
        if agg.late > late:
            self.metrics.brand_late.labels("windows").inc(agg.late - late)
        agg.offsets[src] = offset
        return [brand_alert(a) for a in alerts]

    async def handle(self, value: bytes, topic: str, partition: int, offset: int,
                     send_now: Callable[[list[dict]], Awaitable[None]]) -> None:
        """One report: fold it in, send its alerts and wait for Kafka to have them, then store the
        state. In that order: after a crash between the two, the report is read again (the state
        does not record it) and its alerts are sent again, instead of never."""
        alerts = self.process(value, topic, partition, offset)
        if alerts is None:
            return
        if alerts:
            await send_now(alerts)
        if self.agg is not None and self.agg.changed:
            # (a report that changed nothing, idle partitions repeating "caught up" at every flush,
            # is not stored: read again after a restart, it changes nothing again)
            self.store()

    def store(self) -> None:
        """Write the brand windows to the table (and its changelog)."""
        if self.agg is not None:
            self.table[b"brands"] = dumps_kept(self.agg.to_state(), option=JSON_OPTS)

    def revoked(self) -> None:
        """The brand partition moved to another worker: forget the windows held here. Should it come
        back, they are read again from the table, as the other worker left them."""
        self.agg = None

    def open_alerts(self) -> dict[tuple[str, str], int]:
        """(type, severity) -> brand alerts open now; zero for types seen, so the series stays."""
        out: dict[tuple[str, str], int] = {}
        if self.agg is None:
            return out
        for key, life in self.agg.alerts.items():
            typ = key.split(":")[0]
            out.setdefault((typ, "warning"), 0)
            if life.active:
                sev = "critical" if life.state == "escalated" else "warning"
                out[(typ, sev)] = out.get((typ, sev), 0) + 1
        return out

    def alert_series(self) -> list[tuple[str, str, str, str, float, float, float, float]]:
        """The open brand alerts for the ``virality_alert_brand_*`` gauges: (alert id, type, brand,
        state, complaints, texts, complaint share, mean sentiment), the figures of the brand's last
        closed window. Prometheus's brand rules mirror these, so that a page and the alert topic
        agree (before 2026-11-24 the rules decided again, with other thresholds, and an escalated
        complaint storm paged no one)."""
        if self.agg is None:
            return []
        out = []
        for key, life in self.agg.alerts.items():
            if not life.active:
                continue
            typ, brand = key.split(":", 1)
            cur = self.agg.current(brand)
            sent, share, _, texts = cur if cur is not None else (0.0, 0.0, 0, 0)
            out.append((f"{key}:{life.seq}", typ, brand, life.state, float(round(share * texts)),
                        float(texts), share, sent))
        return out

    def view(self) -> dict[str, tuple[float, float]]:
        if self.agg is None:
            return {}
        out = {}
        # every brand the windows track (at most VIRALITY_MAX_BRANDS): a brand left out would have no
        # series on the boards (they stopped at 200).
        # But only over enough texts to tell (the worker's own min_texts): a window of shares alone
        # gave a sentiment and a complaint share of 0 (a 'drop' from any baseline), one complaint
        # shared ten times a minute a share of 100 %.
        min_texts = self.agg.rules.min_texts
        for brand in list(self.agg.closed):
            cur = self.agg.current(brand)
            if cur is not None and cur[3] >= min_texts:
                out[brand] = (cur[0], cur[1])
        return out


def consumer_position(consumer: Any, tp: Any) -> int | None:
    """The offset the Kafka consumer hands out next for ``tp`` (past any transaction markers it
    skipped), read without waiting; None when it is not known (not assigned, not started, or a
    client whose internals differ: then nothing is assumed)."""
    try:
        aio = consumer._thread._ensure_consumer()
        state = aio._subscription.subscription.assignment.state_value(tp)
        return state.position if state is not None and state.has_valid_position else None
    except Exception:
        return None


def faust_variables(env: Mapping[str, str]) -> list[str]:
    """The environment variables in ``env`` that Faust would read as its own settings (BROKER_URL,
    TOPIC_PARTITIONS, CONSUMER_AUTO_OFFSET_RESET, APP_ENV_PREFIX, ...): the worker gives Faust an
    empty environment, so these are ignored, and said to be.

    >>> faust_variables({"BROKER_URL": "kafka://elsewhere:9092", "VIRALITY_BROKER": "x", "HOME": "/"})
    ['BROKER_URL']
    """
    names = {p.env_name for p in faust.Settings.SETTINGS.values() if getattr(p, "env_name", None)}
    return sorted(k for k in env if k in names)


def _warn_faust_variables(env: Mapping[str, str]) -> None:
    found = faust_variables(env)
    if found:
        log.warning("ignored: %s (Faust's own settings; the worker takes its settings only from "
                    "VIRALITY_* variables, see streams/settings.py)", ", ".join(found))


def create_app(settings: Settings, registry: CollectorRegistry | None = None,
               analyzer: TextAnalyzer | None = None) -> faust.App:
    """Build the Faust app for ``settings`` (pass a fresh ``registry`` in tests)."""
    s = settings
    _warn_faust_variables(os.environ)
    app = ViralityApp(
        s.app_id,
        env={},   # Faust reads BROKER_URL, TOPIC_PARTITIONS, ... itself, over the values given here
        broker=s.broker,
        broker_credentials=faust_credentials(s),
        store=s.store,
        datadir=s.data_dir,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        topic_partitions=s.partitions,
        topic_replication_factor=s.replication,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=s.commit_interval_s,
        broker_session_timeout=s.session_timeout_s,
        broker_heartbeat_interval=s.heartbeat_s,
        broker_rebalance_timeout=s.rebalance_timeout_s,
        broker_max_poll_records=s.batch_max,
        stream_wait_empty=False,   # SIGTERM must not hang waiting for streams we do not use
        producer_linger=0.005,
        table_cleanup_interval=3600.0,
        logging_config=None,
    )
    app.settings = s
    registry = registry if registry is not None else CollectorRegistry()
    metrics = Metrics(registry, faust_version=faust.__version__, changelogs=changelog_specs(s),
                      config=s.decision_fingerprint, app=s.app_id, inputs=(s.posts_topic, s.repartition_topic))
    app.metrics = metrics
    metrics.state.recovery_seconds = lambda: recovery_seconds(app, time.monotonic())
    own_analyzer = analyzer is None  # built from the settings, as helper processes can build it too
    analyzer = analyzer if analyzer is not None else load_analyzer(s.analyzer, dict(s.brands))

    def raw_topic(name: str, partitions: int) -> Any:
        return app.topic(name, partitions=partitions, key_serializer="raw", value_serializer="raw",
                         internal=False)

    topics = {
        "posts": raw_topic(s.posts_topic, s.partitions),
        "by_root": raw_topic(s.repartition_topic, s.partitions),
        "alerts": raw_topic(s.alerts_topic, s.partitions),
        "deadletter": raw_topic(s.deadletter_topic, s.partitions),
        "brand": raw_topic(s.brand_topic, 1),
    }
    logs = s.changelog_topic_configs()
    cascades_table = app.Table("cascades", partitions=s.partitions, key_type=bytes,
                               value_type=bytes, use_partitioner=True, extra_topic_configs=logs)
    brand_table = app.Table("brand-state", partitions=1, key_type=bytes, value_type=bytes,
                            use_partitioner=True, extra_topic_configs=logs)

    worker = CascadeWorker(app, s, analyzer, metrics, cascades_table, topics)
    brands = BrandWorker(s, brand_table, metrics, worker.unreadable_state)
    worker.brands = brands
    app.cascade_worker = worker
    app.brand_worker = brands
    # helpers build the configured analyzer themselves; a batch model gets its batches here instead
    n_helpers = s.text_helper_processes if own_analyzer and getattr(analyzer, "analyze_many", None) is None else 0
    helpers = TextHelpers(n_helpers, s.analyzer, dict(s.brands)) if n_helpers > 0 else None
    app.text_helpers = helpers
    if helpers is not None:
        log.info("texts are analysed ahead in %d helper process(es)", n_helpers)
    route: BatchRoute = app.batch_route(s.posts_topic, s.repartition_topic,
                                        prepare=helpers.submit if helpers is not None else None)
    worker.route = route

    @app.agent(app.topic(s.posts_topic, s.repartition_topic, key_serializer="raw", value_serializer="raw"),
               name="cascades", supervisor_strategy=CrashingSupervisor)  # a crash stops the worker
    async def cascades(stream: faust.StreamT) -> None:
        """Batches of posts/shares/quotes/replies in; alerts, dead letters and brand partials out.

        Any error stops the worker (``CrashingSupervisor``) without acking or committing the batch
        it was on: restarted in place, the agent would go on past messages whose output was lost.
        """
        try:
            while True:
                item = await route.get(s.flush_interval_s)
                batch, ahead = item if item is not None else (None, None)
                worker.in_hand = batch   # caught_up() must not count it as processed until it is
                # the helpers' analyses first: the checks below must hold when the batch is processed
                analyses = await helpers.result(ahead) if helpers is not None and batch else None
                while app.in_recovery or app.rebalancing:
                    # state is being restored: never decide on a cascade before its state is back
                    await asyncio.sleep(0.05)
                if not await worker.ensure_processors():
                    worker.in_hand = None
                    continue  # a rebalance began: the batch is dropped, its messages come again
                if batch:
                    await worker.process(batch, analyses)
                if worker.due() or (batch is None and worker.pending):
                    await worker.flush()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            worker.stop_on(exc, "the cascades agent failed; the worker stops without committing the "
                                "events in flight, which its successor reads again")
            raise

    @app.agent(topics["brand"], name="brands", supervisor_strategy=CrashingSupervisor)
    async def brand_reports(stream: faust.StreamT) -> None:
        """Per-partition brand partials in; brand alerts out. An error stops the worker, as in the
        cascades agent: the report it was on is read again by its successor."""
        try:
            async for event in stream.events():
                m = event.message
                await brands.handle(event.value, m.topic, m.partition, m.offset, worker.send_now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            worker.stop_on(exc, "the brands agent failed; the worker stops without committing the "
                                "report in flight, which its successor reads again")
            raise

    @app.on_partitions_revoked.connect
    async def on_revoked(app_: Any, revoked: set, **kwargs: Any) -> None:
        dropped = route.clear()
        mine = {tp.partition for tp in revoked if tp.topic in (s.posts_topic, s.repartition_topic)}
        await worker.revoke(mine)
        if any(tp.topic == s.brand_topic for tp in revoked):
            brands.revoked()
        if dropped:
            log.info("rebalance: %d queued messages will be read again by the new owner", dropped)

    @app.timer(5.0)
    async def refresh_metrics() -> None:
        worker.publish_metrics()

    return app


#: The analyzer of a text-analysis helper process (built there by :func:`_init_text_helper`).
_HELPER_ANALYZER: TextAnalyzer | None = None


def _init_text_helper(spec: str | None, brands: dict[str, list[str]]) -> None:
    global _HELPER_ANALYZER
    # Ctrl-C reaches the whole process group: the worker stops its helpers itself (no traceback each)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _HELPER_ANALYZER = load_analyzer(spec, brands)
    # A worker killed with SIGKILL cannot stop its helpers, and they would wait for work for ever:
    # each leaves once its parent is gone.
    parent = os.getppid()

    def leave_with_parent() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=leave_with_parent, name="leave-with-parent", daemon=True).start()


def analyze_values(values: list[bytes | None], analyzer: TextAnalyzer | None = None) -> list[TextAnalysis | None]:
    """The analyses of the texts of raw event values, one per value; None for a value that does not
    decode, has no text, or whose analysis fails (the agent then analyses that event itself, as it
    does without helpers, and dead-letters it if that fails too). Runs in a helper process."""
    items: list[tuple[str, str | None] | None] = []
    for raw in values:
        try:
            event = decode_event(raw if raw is not None else b"")
        except Rejected:
            items.append(None)
            continue
        items.append((event.text, event.lang) if event.has_text else None)
    return analyze_each(analyzer if analyzer is not None else _HELPER_ANALYZER, items)


class TextHelpers:
    """Processes that analyse each batch's texts as the consumer hands the batch over, so the
    analyses are ready (or nearly) when the agent takes it: text analysis is the largest cost per
    event, and this moves it off the process that runs the chain. Text analysis is a pure function
    of the text, its language hint and the configured brands, so the answers are the agent's own.

    Any failure of the helpers (a process killed, a timeout) costs only speed: the agent analyses
    the batch itself, and after a broken pool it stops using the helpers (logged)."""

    def __init__(self, processes: int, spec: str | None, brands: dict[str, list[str]], timeout_s: float = 60.0):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the worker runs threads (the consumer's, the metrics server's)
        self.pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_text_helper, initargs=(spec, dict(brands)))
        self.timeout_s = timeout_s
        self.broken = False

    def submit(self, messages: list[Any]) -> asyncio.Future | None:
        if self.broken:
            return None
        try:
            return asyncio.get_running_loop().run_in_executor(self.pool, analyze_values, [m.value for m in messages])
        except Exception as exc:  # BrokenProcessPool, or shutting down
            self._broke(exc)
            return None

    async def result(self, ahead: asyncio.Future | None) -> list[TextAnalysis | None] | None:
        """The analyses made for a batch, or None (the agent then analyses it itself)."""
        if ahead is None:
            return None
        try:
            return await within(asyncio.shield(ahead), self.timeout_s)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if ahead.cancelled() and task is not None and not task.cancelling():
                return None  # the helpers were shut down under it (the worker stops): analyse here
            raise
        except asyncio.TimeoutError:
            log.warning("text helpers took more than %.0fs for a batch; analysing it here", self.timeout_s)
            return None
        except Exception as exc:
            self._broke(exc)
            return None

    def _broke(self, exc: BaseException) -> None:
        if not self.broken:
            self.broken = True
            log.error("text helper processes failed (%s: %s); texts are analysed in the worker from now on",
                      type(exc).__name__, exc)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def recovery_seconds(app: Any, now: float) -> float:
    """How long ``app`` has been restoring its tables at monotonic time ``now`` (0 when it is not).

    Faust marks a recovery with ``app.in_recovery`` and keeps its start (``time.monotonic()``) on the
    table manager's recovery service; read from the scrape thread, both are plain attributes.
    """
    if not getattr(app, "in_recovery", False):
        return 0.0
    try:
        started = app.tables.recovery._recovery_started_at
    except AttributeError:
        return 0.0
    return max(0.0, now - started) if started is not None else 0.0


async def final_commit(consumer: Any) -> None:
    """Commit what is acked, on the way out. Twice: Faust's ``commit`` called while another commit
    is in flight (the periodic one) only waits for that one and returns, and the offsets acked
    after it began (the final flush's) stay uncommitted: the successor then reads those events
    again (skipped as applied, but read; verifiers saw 150 to 1,650 after a clean stop). The second
    call commits them, or finds nothing left to commit."""
    await consumer.commit()
    await consumer.commit()


def final_flush_budget(shutdown_timeout_s: float) -> float:
    """Seconds a stopping worker gives its last flush and commit: a quarter of the whole stop's
    bound, at most 5 s (a reachable broker takes well under a second)."""
    return min(5.0, shutdown_timeout_s / 4.0)


def undelivered(producer: Any) -> int:
    """Records waiting in the Kafka producer's buffer for the broker to take them (0 if unknown)."""
    accumulator = getattr(getattr(producer, "_producer", None), "_message_accumulator", None)
    if accumulator is None:
        return 0
    batches = [b for bs in accumulator._batches.values() for b in bs] + list(accumulator._pending_batches)
    return sum(b.record_count for b in batches if not b.future.done())


class ViralityApp(BatchingApp):
    """Flushes the cascades worker before Faust stops its consumer and commits."""

    async def on_stop(self) -> None:
        worker = getattr(self, "cascade_worker", None)
        if worker is not None and worker.failed:
            log.critical("not committing on the way out: an agent or a send failed, what was in flight "
                         "is read again by the successor")
        elif worker is not None:
            budget = final_flush_budget(worker.settings.shutdown_timeout_s)
            try:
                async with asyncio.timeout(budget):
                    await worker.flush(last=True)
                    await self.producer.flush()
                    # commit now, while the consumer is certainly able to: what was processed is acked
                    await final_commit(self.consumer)
            except TimeoutError:
                # Kafka unreachable (or far too slow). The rest of Faust's stop would wait for it too
                # (its commit, the producer's close, the consumer's last fetches) until the bounded
                # stop ends the process (exit 3, 20 s). Nothing more can be made durable, and nothing
                # is lost: no offset is committed past what Kafka has, so the next worker reads the
                # uncommitted events again and sends what they produce (as after a kill).
                log.warning("stopping: the last flush did not finish within %.1f s (is Kafka reachable?); "
                            "%d record(s) not delivered and the last offsets not committed. The next worker reads "
                            "the uncommitted events again and sends what they produce. Exiting now "
                            "(exit code 0)", budget, undelivered(self.producer))
                self.exit_now(0)
            except Exception:  # never block shutdown on this
                log.exception("final flush failed; unflushed events will be read again")
        await super().on_stop()
        self.close_text_helpers()

    def close_text_helpers(self) -> None:
        helpers = getattr(self, "text_helpers", None)
        if helpers is not None:
            helpers.close()

    def exit_now(self, code: int) -> None:
        """End the process at once (its text helpers stopped, its log written out)."""
        self.close_text_helpers()
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)
