"""Batch delivery: hand whole fetched batches to an agent instead of one message at a time.

Why: measured on a 2-core machine against the loopback broker, a Faust agent iterating its stream
reads about 4,000-5,000 small messages/s, and ``stream.take_events`` about the same. The profile
shows that the time is not in the agent: Faust's consumer awaits ``wait_first`` (two new tasks) for
every message, then the conductor and the stream await queues per message. aiokafka itself hands
over a few thousand records per fetch.

How: :class:`BatchingConsumer` keeps Faust's consumer (group membership, assignment, offsets,
commits, flow control, recovery) and changes only the drain loop: messages of topics registered in
``app.batch_routes`` are collected per fetch and delivered to their :class:`BatchRoute` with one
await per batch; messages of every other topic (changelogs, the low-volume brand topic) still go
through Faust's conductor, a partition's records of one fetch in one coroutine
(:func:`_deliver_each`), changelog records into a :class:`RecoveryQueue`. The agent acks each message with ``consumer.ack(message)`` after its
effects were written, so Faust commits only offsets whose state is in the changelog.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, cast

import faust
from faust.transport.consumer import CONSUMER_FETCHING, Fetcher
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import Message
from mode import Service
from mode.utils.queues import ThrowableQueue


async def within(aw: Any, timeout: float) -> Any:
    """``await aw``, or ``asyncio.TimeoutError`` after ``timeout`` seconds, never losing a cancellation.

    Python 3.11's ``asyncio.wait_for`` returns the result and drops the cancellation when the task
    is cancelled just as ``aw`` completes (fixed in 3.12). The cascades agent waited so for its next
    batch: a stop that came as a batch arrived was lost, the agent went on, and the worker sat out
    its whole shutdown timeout (seen once in 15 SIGTERM runs: 20 s instead of 1.3 s).
    ``asyncio.timeout`` lets the cancellation through.
    """
    async with asyncio.timeout(timeout):
        return await aw


class BatchRoute:
    """A bounded queue of message batches for one agent (backpressure: at most ``depth`` batches).

    ``prepare``, if given, is called with each batch as the consumer hands it over, and what it
    returns travels with the batch (the worker starts analysing the batch's texts in helper
    processes there, so that they are ready when the agent takes the batch).
    """

    def __init__(self, depth: int = 4, prepare: Callable[[list[Message]], Any] | None = None):
        self.queue: asyncio.Queue[tuple[list[Message], Any]] = asyncio.Queue(maxsize=depth)
        self.prepare = prepare
        #: batches the consumer has read (its read offsets are past them) but not queued yet: while
        #: any is, the worker does not tell the brand windows that a partition is caught up
        self.incoming = 0

    async def deliver(self, messages: list[Message]) -> None:
        ahead = self.prepare(messages) if self.prepare is not None else None
        await self.queue.put((messages, ahead))

    async def get(self, timeout: float) -> tuple[list[Message], Any] | None:
        """The next batch and what ``prepare`` made of it, or None after ``timeout`` seconds without one.
        A cancellation (the worker stopping) always ends it, even one that comes as a batch arrives
        (:func:`within`)."""
        try:
            return await within(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    def clear(self) -> int:
        """Drop queued batches (their messages are not acked, so they will be read again)."""
        dropped = 0
        while True:
            try:
                dropped += len(self.queue.get_nowait()[0])
            except asyncio.QueueEmpty:
                return dropped


async def _deliver_each(callback: Any, to_message: Any, tp: Any, recs: list[Any],
                        read_offset: dict[Any, Any], delivered: list[int],
                        queue: "RecoveryQueue | None" = None) -> None:
    """Hand ``recs`` of one partition to Faust's conductor one by one, in order, counting in
    ``delivered[0]`` those it took and moving the read offset past each. ``queue``: the
    :class:`RecoveryQueue` the conductor puts ``recs`` into (a changelog partition's), whose room
    is awaited here while it is full.

    One coroutine for a fetch's records of a partition, raced once against a rebalance, instead of
    a race per record: each race costs four tasks (mode's ``wait_first``), most of a changelog
    record's cost when a restart reads the tables back. Cancelled by the race (a rebalance came
    first), it stops at the record being handed over; the caller reads that one and the rest again.
    """
    for rec in recs:
        if queue is not None and queue.full():
            await queue.wait_room()   # the conductor would put this one through a task of its own
        await callback(to_message(tp, rec))
        read_offset[tp] = rec.offset
        delivered[0] += 1


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Faust asks the broker to hold every fetch up to 1.5 s when there is nothing new. aiokafka
        # keeps one fetch in flight per broker, so a fetch of the quiet partitions (the repartition
        # topic, the brand topic) held for 1.5 s stalls the busy ones behind it: measured, the worker
        # idled ~40 % of the time. The broker still answers at once when data is there.
        consumer._fetch_max_wait_ms = int(getattr(self.app, "fetch_max_wait_ms", 50))
        return consumer


class BatchingConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with a batch-delivering drain loop (see the module docstring)."""

    def _new_consumer_thread(self) -> Any:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - runs in the worker
        app = self.app
        callback = self.callback
        routes: dict[str, BatchRoute] = getattr(app, "batch_routes", {})
        consumer_stopped = cast(Service, self)._stopped.is_set
        fetcher_stopped = cast(Service, fetcher)._stopped.is_set
        read_offset = self._read_offset
        acks_enabled_for = app.topics.acks_enabled_for
        suspend_wait = self.suspend_flow.wait
        to_message = self._to_message
        changelog_queue = app.tables.changelog_queue
        if not isinstance(changelog_queue, RecoveryQueue):
            changelog_queue = None
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                await self.sleep(0)
                if self.should_stop:
                    break
                records, active = await self._wait_next_records(1.0)
                if not records or self.should_stop:
                    continue
                if not self.flow_active:
                    # A rebalance began while the fetch was out: nothing it returned is delivered.
                    await self.rewind(records)
                    await self.perform_seek()  # as Faust does: stream partitions re-read from commits
                    continue
                generation = app.consumer_generation_id
                changelogs = app.tables.changelog_topics
                batches: dict[BatchRoute, list[Message]] = {}
                batch_records: dict[BatchRoute, dict[Any, list[Any]]] = {}
                undelivered: dict[Any, list[Any]] = {}
                held_for_rebalance = False
                try:
                    items = list(records.items())
                    for i, (tp, recs) in enumerate(items):
                        if not recs:
                            continue
                        if active is not None and tp not in active and tp not in self._buffered_partitions:
                            undelivered[tp] = recs  # paused since the fetch began (a rebalance, a recovery)
                            continue
                        if app.consumer_generation_id != generation or not self.flow_active:
                            undelivered.update((t, r) for t, r in items[i:] if r)
                            break
                        route = routes.get(tp.topic)
                        if route is not None and app.rebalancing:
                            # Faust's recovery resumes the stream partitions, then seeks them to the
                            # committed offsets (Recovery._resume_streams): records fetched from them
                            # in between would be delivered now and, after the seek, again (seen: a
                            # successor applied up to 10,212 events and then skipped them as re-read).
                            undelivered[tp] = recs
                            held_for_rebalance = True
                            continue
                        app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                        r_offset = read_offset.get(tp)
                        if r_offset is not None:
                            recs = [r for r in recs if r.offset >= r_offset]  # fetched again after a seek
                            if not recs:
                                continue
                            if r_offset and recs[0].offset - r_offset > 1 and acks_enabled_for(tp.topic):
                                await self._add_gap(tp, r_offset + 1, recs[0].offset)
                        if route is None:
                            delivered = [0]
                            delivery = _deliver_each(callback, to_message, tp, recs, read_offset, delivered,
                                                     changelog_queue if tp.topic in changelogs else None)
                            if delivery not in (await self.wait_first(delivery, suspend_wait())).done:
                                undelivered[tp] = recs[delivered[0]:]  # suspended by a rebalance first
                            continue
                        batch = batches.get(route)
                        if batch is None:
                            batch = batches[route] = []
                            batch_records[route] = {}
                            route.incoming += 1   # read, not yet in the queue: see BatchRoute.incoming
                        prev = recs[0].offset
                        for rec in recs:
                            if rec.offset - prev > 1 and acks_enabled_for(tp.topic):
                                await self._add_gap(tp, prev + 1, rec.offset)  # compacted or aborted records
                            prev = rec.offset
                            batch.append(to_message(tp, rec))
                        batch_records[route][tp] = recs
                        read_offset[tp] = prev
                    for route, batch in batches.items():
                        delivery = route.deliver(batch)
                        if delivery not in (await self.wait_first(delivery, suspend_wait())).done:
                            undelivered.update(batch_records[route])
                    if undelivered:
                        await self.rewind(undelivered)  # (read offsets back before incoming drops)
                    if held_for_rebalance:
                        await self.sleep(0.01)   # the seek and the rebalance's end come within ms
                finally:
                    for route in batches:
                        route.incoming -= 1
                if self._commit_every is not None and self._n_acked >= self._commit_every:
                    self._n_acked = 0
                    await self.commit()
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def rewind(self, undelivered: dict[Any, list[Any]]) -> dict[Any, int]:
        """Let the fetcher read again records it handed over that were not delivered.

        aiokafka moves a partition's position past the records it returns. Faust's drain loop
        drops what a fetch returns once a rebalance has begun (and records of partitions paused
        meanwhile); for stream partitions Faust seeks back to the committed offsets afterwards, but
        nothing seeks a changelog partition back once its recovery has started: a dropped changelog
        record then never reaches the recovery, which waits for it for ever (seen here: a worker
        that kept partitions 2 and 3 across a rebalance logged "No event received for active tp"
        until it was killed; its fetcher's position was 1 on a changelog whose only record was 0).

        So each partition whose position is still just past the dropped records (nothing sought it
        elsewhere since) is sought back to the first of them. Returns ``{tp: offset}`` of those.
        """
        spans = {tp: (recs[0].offset, recs[-1].offset) for tp, recs in undelivered.items() if recs}
        if not spans or self.should_stop:  # stopping: a new start seeks everything anyway
            return {}
        thread = cast(Any, self)._thread
        rewound: dict[Any, int] = await thread.call_thread(_rewind_positions, thread._ensure_consumer(), spans)
        for tp, first in rewound.items():
            self._read_offset[tp] = first if first else None  # as Faust's seek does
        if rewound:
            self.log.info("rebalance: %d partition(s) handed over records that were not delivered; "
                          "reading them again from %s", len(rewound),
                          ", ".join(f"{tp.topic}[{tp.partition}]@{o}" for tp, o in sorted(rewound.items())[:8]))
        return rewound


async def _rewind_positions(consumer: Any, spans: dict[Any, tuple[int, int]]) -> dict[Any, int]:
    """(in the consumer's thread) Seek each assigned partition whose position is ``last + 1`` back
    to ``first``; leave any other alone (sought since, revoked, or awaiting a reset)."""
    sub = consumer._subscription
    rewound = {}
    for tp, (first, last) in spans.items():
        if not sub.is_assigned(tp):
            continue
        state = sub.subscription.assignment.state_value(tp)
        if state.has_valid_position and state.position == last + 1:
            consumer.seek(tp, first)
            rewound[tp] = first
    return rewound


class StoppableFetcher(Fetcher):
    """Faust's fetcher, which does not crash the worker when it is stopped during a rebalance.

    Faust's fetcher treats a cancellation that comes while the app is rebalancing as a crash to be
    restarted by its supervisor; the worker's fetcher has no supervisor, so the restart raised
    ``AttributeError: 'NoneType' object has no attribute 'wakeup'``, the crash reached the worker,
    and a SIGTERM during a restart's table recovery (which counts as rebalancing) ended the worker
    with exit code 1 and a CRITICAL "We experienced a crash!". Here a cancellation that comes
    because the fetcher is being stopped ends it quietly, as Faust's does outside a rebalance; one
    that comes while it should go on still crashes the worker, now without the AttributeError.
    """

    @Service.task
    async def _fetcher(self) -> None:
        try:
            await cast(BatchingConsumer, self.app.consumer)._drain_messages(self)
        except asyncio.CancelledError as exc:
            if not self.should_stop and self.app.rebalancing:
                await self.crash(exc)
        finally:
            self.set_shutdown()


class BatchingTransport(faust_aiokafka.Transport):
    Consumer = BatchingConsumer
    Fetcher = StoppableFetcher


class RecoveryQueue(ThrowableQueue):
    """The queue between the changelog partitions and Faust's recovery, made cheaper at both ends.

    Faust's recovery takes each changelog record with ``asyncio.wait_for(queue.get(), 5.0)``: a
    task for the ``get`` coroutine and three event-loop turns per record. Here ``get`` returns an
    already resolved future when a record is waiting (``wait_for`` then needs one turn and no task)
    and the coroutine otherwise, so that the wait and its timeout are unchanged.

    On the other end, Faust's conductor puts each record with ``put_nowait``, or, when the queue is
    full, through a task and ``asyncio.wait``: on a restart the queue is nearly always full, so
    that was a task per record too. :func:`_deliver_each` instead waits with :meth:`wait_room`
    until the recovery has taken half of the queue, then hands over records while there is room.

    Measured (``bench_recovery.py``, 100,000 cascades, alternating runs): ready in 5.7 and 5.8 s,
    against 7.6 and 8.0 s with Faust's queue; about 2 s of that is the start itself.
    """

    _room: asyncio.Future | None = None

    def get(self) -> Any:  # type: ignore[override]
        if self._queue and not self._errors:  # type: ignore[attr-defined]
            taken = asyncio.get_running_loop().create_future()
            taken.set_result(self.get_nowait())
            if len(self._queue) <= self.maxsize // 2:  # type: ignore[attr-defined]
                self._release_room()
            return taken
        self._release_room()
        return super().get()

    def clear(self) -> None:
        super().clear()
        self._release_room()

    async def wait_room(self) -> None:
        """Return once the queue is at most half full (at once if it is)."""
        if self.qsize() <= self.maxsize // 2:
            return
        room = self._room
        if room is None or room.done():   # (a waiter cancelled by a rebalance cancels its future)
            room = self._room = asyncio.get_running_loop().create_future()
        await room

    def _release_room(self) -> None:
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)


def install_recovery_queue(app: Any) -> None:
    """Give ``app``'s table manager a :class:`RecoveryQueue` before its changelog channels are
    built (Faust creates its own on first use; a Faust without that attribute keeps its own)."""
    tables = app.tables
    if getattr(tables, "_changelog_queue", False) is None:
        tables._changelog_queue = RecoveryQueue(maxsize=app.conf.stream_buffer_maxsize,
                                                flow_control=app.flow_control, clear_on_resume=True)


class BatchingApp(faust.App):
    """A Faust app whose consumer delivers batches to the routes in :attr:`batch_routes`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch_routes: dict[str, BatchRoute] = {}
        install_recovery_queue(self)

    def _new_transport(self) -> Any:
        return BatchingTransport(self.conf.broker_consumer, self)

    def batch_route(self, *topics: str, depth: int = 4,
                    prepare: Callable[[list[Message]], Any] | None = None) -> BatchRoute:
        route = BatchRoute(depth, prepare)
        for name in topics:
            self.batch_routes[name] = route
        return route
