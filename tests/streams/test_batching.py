"""The batching consumer gives back what it fetched but did not deliver.

aiokafka moves a partition's position past the records a fetch returns. When the drain loop drops
them (a rebalance began while the fetch was out, or the partition was paused meanwhile) they must be
fetched again, or a changelog record can be lost to a recovery that then waits for it for ever.
These tests use aiokafka's own subscription state (no broker); the drain loop itself runs against
the real broker in tests/integration (the scale-out-and-back test, with eviction at every flush).
"""
from __future__ import annotations

import asyncio
import logging
import types
from typing import NamedTuple

from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.structs import TopicPartition

from streams.batching import BatchingConsumer, _rewind_positions


class TP(NamedTuple):  # Faust's TP: equal to aiokafka's TopicPartition, as the drain loop relies on
    topic: str
    partition: int


class Rec(NamedTuple):
    offset: int


class FakeConsumer:
    """The two things of an AIOKafkaConsumer the rewind uses: its subscription state and seek."""

    def __init__(self, sub: SubscriptionState) -> None:
        self._subscription = sub
        self.seeks: list = []

    def seek(self, tp, offset: int) -> None:
        self.seeks.append((tp, offset))
        self._subscription.seek(tp, offset)


def position(sub: SubscriptionState, tp) -> int:
    return sub.subscription.assignment.state_value(tp).position


async def fetched(sub: SubscriptionState, tp, first: int, last: int) -> None:
    """The partition as a fetch leaves it: sought to ``first``, consumed through ``last``."""
    sub.seek(tp, first)
    sub.subscription.assignment.state_value(tp).consumed_to(last + 1)


def test_dropped_records_are_sought_back_unless_their_position_moved_since() -> None:
    async def run() -> None:
        sub = SubscriptionState()
        changelog, posts, moved, revoked = (TopicPartition("app-cascades-changelog", 2), TopicPartition("posts", 0),
                                            TopicPartition("posts", 1), TopicPartition("posts", 3))
        sub.assign_from_user({changelog, posts, moved})
        await fetched(sub, changelog, 0, 1)
        await fetched(sub, posts, 40, 44)
        await fetched(sub, moved, 10, 12)
        sub.seek(moved, 0)  # a recovery sought it after the fetch: its seek must stand
        consumer = FakeConsumer(sub)
        spans = {TP(changelog.topic, 2): (0, 1), TP("posts", 0): (40, 44), TP("posts", 1): (10, 12),
                 TP("posts", 3): (5, 6)}
        rewound = await _rewind_positions(consumer, spans)
        assert rewound == {TP(changelog.topic, 2): 0, TP("posts", 0): 40}
        assert position(sub, changelog) == 0 and position(sub, posts) == 40
        assert position(sub, moved) == 0
        assert revoked not in {tp for tp, _ in consumer.seeks}

    asyncio.run(run())


def test_rewind_resets_the_read_offsets_as_a_seek_does() -> None:
    async def run() -> None:
        sub = SubscriptionState()
        a, b = TopicPartition("app-cascades-changelog", 3), TopicPartition("posts", 0)
        sub.assign_from_user({a, b})
        await fetched(sub, a, 0, 0)
        await fetched(sub, b, 7, 9)
        consumer = FakeConsumer(sub)

        class Thread:
            def _ensure_consumer(self):
                return consumer

            async def call_thread(self, fun, *args):
                return await fun(*args)

        self_ = types.SimpleNamespace(_thread=Thread(), _read_offset={TP(a.topic, 3): 0, TP("posts", 0): 9},
                                      log=logging.getLogger("test"), should_stop=False)
        undelivered = {TP(a.topic, 3): [Rec(0)], TP("posts", 0): [Rec(7), Rec(8), Rec(9)], TP("posts", 5): []}
        rewound = await BatchingConsumer.rewind(self_, undelivered)
        assert rewound == {TP(a.topic, 3): 0, TP("posts", 0): 7}
        # None for offset 0, as Faust's own seek leaves it: the drain loop keeps records >= a read offset
        assert self_._read_offset == {TP(a.topic, 3): None, TP("posts", 0): 7}
        assert position(sub, a) == 0 and position(sub, b) == 7
        assert await BatchingConsumer.rewind(self_, {}) == {}
        # a stopping worker leaves positions alone (its successor seeks everything anyway)
        await fetched(sub, b, 7, 9)
        self_.should_stop = True
        assert await BatchingConsumer.rewind(self_, {TP("posts", 0): [Rec(7), Rec(8), Rec(9)]}) == {}
        assert position(sub, b) == 10

    asyncio.run(run())


def _drain_self(*, routes, rebalancing, acks, stopped, wait_next_records, read_offset,
                changelog_queue=None, changelogs=(), **fields):
    """The attributes of a BatchingConsumer that ``_drain_messages`` reads, faked (no broker):
    an app with ``routes`` as its batch routes, ``changelogs`` as its tables' changelog topics and
    ``changelog_queue`` as their queue, a fetcher answering ``wait_next_records``, and ``fields``
    for the rest (``wait_first``, ``rewind``, ...)."""
    async def sleep(s):
        await asyncio.sleep(0)

    app = types.SimpleNamespace(batch_routes=routes, rebalancing=rebalancing, consumer_generation_id=1,
                                tables=types.SimpleNamespace(changelog_queue=changelog_queue,
                                                             changelog_topics=set(changelogs)),
                                topics=types.SimpleNamespace(acks_enabled_for=lambda topic: acks),
                                monitor=types.SimpleNamespace(track_tp_end_offset=lambda *a: None))
    return types.SimpleNamespace(
        app=app, _stopped=stopped, _read_offset=read_offset, suspend_flow=asyncio.Event(),
        diag=types.SimpleNamespace(set_flag=lambda f: None, unset_flag=lambda f: None), sleep=sleep,
        should_stop=False, _wait_next_records=wait_next_records, flow_active=True, _buffered_partitions=set(),
        highwater=lambda t: 100, _commit_every=None, _n_acked=0, **fields)


def test_stream_records_fetched_before_the_recovery_seeks_are_not_delivered_twice() -> None:
    """Faust's recovery resumes the stream partitions and only then seeks them to the committed
    offsets: a fetch in between must not be delivered, or the same records come again after the seek
    (a successor applied them, then skipped them as re-read)."""
    async def run() -> None:
        sub = SubscriptionState()
        tp = TopicPartition("posts", 0)
        sub.assign_from_user({tp})
        consumer = FakeConsumer(sub)
        delivered: list[int] = []

        class Route:
            incoming = 0

            async def deliver(self, batch):
                delivered.extend(m.offset for m in batch)
        route = Route()
        stopped = asyncio.Event()

        class Thread:
            def _ensure_consumer(self):
                return consumer

            async def call_thread(self, fun, *args):
                return await fun(*args)

        calls = []

        async def wait_next_records(timeout):
            calls.append(timeout)
            if len(calls) == 2:   # meanwhile the recovery sought to the committed offset, and ended
                sub.seek(tp, 5)
                self_._read_offset[TP("posts", 0)] = 5
                self_.app.rebalancing = False
            elif len(calls) == 3:
                stopped.set()
                return {}, None
            first = position(sub, tp)   # aiokafka hands over records from its position, and moves it on
            await fetched(sub, tp, first, first + 4)
            return {TP("posts", 0): [Rec(o) for o in range(first, first + 5)]}, None

        async def wait_first(coro, other):
            other.close()
            await coro
            return types.SimpleNamespace(done={coro})

        self_ = _drain_self(
            routes={"posts": route}, rebalancing=True, acks=True, stopped=stopped,
            wait_next_records=wait_next_records, read_offset={TP("posts", 0): 5}, callback=None,
            _to_message=lambda t, r: types.SimpleNamespace(offset=r.offset), wait_first=wait_first,
            _thread=Thread(), log=logging.getLogger("test"))
        self_.rewind = lambda undelivered: BatchingConsumer.rewind(self_, undelivered)
        sub.seek(tp, 5)
        fetcher = types.SimpleNamespace(_stopped=asyncio.Event())
        await BatchingConsumer._drain_messages(self_, fetcher)
        assert delivered == [5, 6, 7, 8, 9]

    asyncio.run(run())


def test_a_stop_that_comes_as_a_batch_arrives_is_not_lost() -> None:
    """The agent waits for its next batch with a timeout; cancelled (the worker stopping) in the same
    loop turn as a batch is queued, it must stop, not take the batch and go on (Python 3.11's
    wait_for returned the batch and dropped the cancellation: a SIGTERM run sat out its 20 s
    shutdown timeout). The batch stays queued, unprocessed and unacked."""
    from streams.batching import BatchRoute

    async def run() -> None:
        route = BatchRoute()
        waiting = asyncio.ensure_future(route.get(5.0))
        await asyncio.sleep(0)            # the agent waits
        route.queue.put_nowait((["m1"], None))   # a batch arrives ...
        waiting.cancel()                  # ... and the stop, before the agent runs again
        try:
            got = await waiting
        except asyncio.CancelledError:
            got = "cancelled"
        assert got == "cancelled"
        assert route.queue.qsize() == 1   # left for nobody: not acked, read again by the successor
        assert await route.get(0.01) == (["m1"], None)
        assert await route.get(0.01) is None  # and the timeout still answers None

    asyncio.run(run())


def _changelog_drain(callback, fetches, queue=None):
    """A drain loop over one changelog partition (no batch route, so Faust's conductor path):
    ``fetches`` are the record lists the fetcher hands over, one per turn; mode's real
    ``wait_first`` races each delivery against a rebalance; ``queue``: the changelogs' queue.
    Returns the fake consumer: its ``races`` (wait_first calls), ``rewound`` (what was given back)
    and ``_read_offset``."""
    from mode import Service

    tp = TP("app-cascades-changelog", 0)
    stopped, turns = asyncio.Event(), list(fetches)

    async def wait_next_records(timeout):
        if not turns:
            stopped.set()
            return {}, None
        return {tp: turns.pop(0)}, None

    self_ = _drain_self(
        routes={}, rebalancing=False, acks=False, stopped=stopped, wait_next_records=wait_next_records,
        read_offset={}, callback=callback, _crashed=asyncio.Event(), loop=asyncio.get_running_loop(),
        _to_message=lambda t, r: r, races=0, rewound=[], changelog_queue=queue, changelogs=[tp.topic])

    async def wait_first(*coros):
        self_.races += 1
        return await Service.wait_first(self_, *coros)

    async def rewind(undelivered):
        self_.rewound.append({t: [r.offset for r in recs] for t, recs in undelivered.items()})
        return {}
    self_.wait_first, self_.rewind = wait_first, rewind
    return tp, self_, BatchingConsumer._drain_messages(self_, types.SimpleNamespace(_stopped=asyncio.Event()))


def test_changelog_records_are_handed_over_in_order_with_one_race_per_fetch() -> None:
    """A restart reads the tables back through this path: a race per record cost four tasks each
    (bench_recovery, 100,000 cascades: ready in 10.7-11.2 s, 7.7-8.4 s with one race per fetch)."""
    async def run() -> None:
        got = []

        async def callback(message):
            await asyncio.sleep(0)   # the conductor's lock and queue
            got.append(message.offset)
        tp, self_, drain = _changelog_drain(callback, [[Rec(o) for o in range(5)], [Rec(o) for o in range(5, 8)]])
        await drain
        assert got == list(range(8))
        assert self_._read_offset[tp] == 7
        assert self_.races == 2 and self_.rewound == []

    asyncio.run(run())


def test_a_rebalance_while_a_changelog_record_waits_gives_back_that_record_and_the_rest() -> None:
    """The recovery's queue is full at record 2 when a rebalance begins: records 0 and 1 were handed
    over; 2, 3 and 4 are given back to be read again (and 2 is not half-delivered)."""
    async def run() -> None:
        got, queue_has_room = [], asyncio.Event()

        async def callback(message):
            if message.offset == 2:
                self_.suspend_flow.set()   # the rebalance begins while the queue is full
                await queue_has_room.wait()
            got.append(message.offset)
        tp, self_, drain = _changelog_drain(callback, [[Rec(o) for o in range(5)]])
        await drain
        assert got == [0, 1]
        assert self_._read_offset[tp] == 1
        assert self_.rewound == [{tp: [2, 3, 4]}]

    asyncio.run(run())


def _recovery_queue(maxsize):
    from mode.utils.queues import FlowControlEvent

    from streams.batching import RecoveryQueue
    return RecoveryQueue(maxsize=maxsize, flow_control=FlowControlEvent(initially_suspended=False),
                         clear_on_resume=True)


def test_the_recovery_queue_answers_a_waiting_record_without_a_task_and_waits_as_before() -> None:
    """Faust's recovery takes every changelog record with ``wait_for(queue.get(), 5.0)``: a waiting
    record comes as a resolved future (no task), an empty queue still waits, times out, and
    raises what was thrown into it."""
    async def run() -> None:
        q = _recovery_queue(8)
        for i in range(3):
            q.put_nowait(i)
        first = q.get()
        assert asyncio.isfuture(first) and first.done() and first.result() == 0
        assert await asyncio.wait_for(q.get(), 5.0) == 1
        assert await asyncio.wait_for(q.get(), 5.0) == 2
        try:
            await asyncio.wait_for(q.get(), 0.01)
            raise AssertionError("an empty queue answered")
        except asyncio.TimeoutError:
            pass
        later = asyncio.ensure_future(asyncio.wait_for(q.get(), 5.0))
        await asyncio.sleep(0)
        q.put_nowait("late")
        assert await later == "late"
        await q.throw(KeyError("boom"))
        try:
            await asyncio.wait_for(q.get(), 5.0)
            raise AssertionError("the thrown error was not raised")
        except KeyError:
            pass

    asyncio.run(run())


def test_room_in_the_recovery_queue_comes_when_half_of_it_was_taken_or_it_was_cleared() -> None:
    async def run() -> None:
        q = _recovery_queue(4)
        await q.wait_room()   # empty: at once
        for i in range(4):
            q.put_nowait(i)
        room = asyncio.ensure_future(q.wait_room())
        await asyncio.sleep(0)
        q.get()
        await asyncio.sleep(0)
        assert not room.done()   # 3 left
        q.get()
        await asyncio.sleep(0)
        assert room.done()       # 2 left: half
        q.put_nowait("x"), q.put_nowait("y")
        cancelled = asyncio.ensure_future(q.wait_room())
        await asyncio.sleep(0)
        cancelled.cancel()       # a rebalance won the race: the next wait must still work
        await asyncio.sleep(0)
        again = asyncio.ensure_future(q.wait_room())
        await asyncio.sleep(0)
        assert not again.done()
        q.clear()                # Faust's flow control clears the queue on resume
        await asyncio.sleep(0)
        assert again.done() and q.qsize() == 0

    asyncio.run(run())


def test_changelog_records_wait_for_room_instead_of_going_through_the_conductors_slow_path() -> None:
    """With the queue full, Faust's conductor puts a record through a task and ``asyncio.wait``
    (a task per record on a restart, when the queue is nearly always full). The drain loop waits
    for room instead: the conductor (faked) never meets a full queue, and every record reaches
    the recovery (faked: it takes records as Faust's does) once, in order."""
    async def run() -> None:
        q, taken, full_puts = _recovery_queue(4), [], []

        async def conductor(message):
            if q.full():
                full_puts.append(message.offset)   # (Faust would put it through a task and wait)
            q.force_put_nowait(message)

        async def recovery():
            while len(taken) < 23:
                taken.append((await asyncio.wait_for(q.get(), 5.0)).offset)
                await asyncio.sleep(0)   # applying it

        reader = asyncio.ensure_future(recovery())
        tp, self_, drain = _changelog_drain(conductor, [[Rec(o) for o in range(10)],
                                                        [Rec(o) for o in range(10, 23)]], queue=q)
        await drain
        await asyncio.wait_for(reader, 5.0)
        assert taken == list(range(23))
        assert full_puts == []
        assert self_._read_offset[tp] == 22 and self_.rewound == []

    asyncio.run(run())
