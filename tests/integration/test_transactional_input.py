"""Input written by a transactional producer (exactly-once pipelines upstream): each transaction
ends with a commit marker, an offset at which no record is delivered."""
from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaProducer

from tests.factories import by_time, chatter
from tests.integration.conftest import BROKER, Names, create_topics, keyed

pytestmark = pytest.mark.integration


def test_a_partition_whose_input_ends_in_a_commit_marker_is_caught_up(start_worker) -> None:
    """The last offset processed stays one short of the partition's end: the worker's lag read 1
    for ever and the partition was never caught up (a quiet one held the brand windows back)."""
    names = Names(partitions=1)
    create_topics(names)
    worker = start_worker(names)
    events = by_time(chatter(20))

    async def produce_in_a_transaction() -> None:
        p = AIOKafkaProducer(bootstrap_servers=BROKER, transactional_id="txn-" + names.run)
        await p.start()
        try:
            async with p.transaction():
                for key, value in keyed(events):
                    await p.send(names.posts, value, key=key)
        finally:
            await p.stop()
    asyncio.run(produce_in_a_transaction())
    worker.wait_processed(len(events))
    done = time.monotonic()
    deadline = done + 30
    while True:   # a snapshot of the gauges made after the last event was processed
        time.sleep(0.5)
        if worker.metric("virality_state_age_seconds") < time.monotonic() - done - 0.5:
            break
        assert time.monotonic() < deadline, "no fresh snapshot of the worker's gauges"
    series = []
    while not series and time.monotonic() < deadline:   # (published once the partition's end is known)
        series = [line for line in worker.metrics().splitlines()
                  if line.startswith("virality_kafka_consumer_lag_messages{") and f'topic="{names.posts}"' in line]
        time.sleep(0.5)
    assert len(series) == 1 and series[0].endswith(" 0.0"), series
    assert worker.metric("virality_kafka_records_read_total", topic=names.posts) == len(events)
    assert worker.stop() == 0
