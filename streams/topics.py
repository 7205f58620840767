"""Topic creation. Faust does not create source topics, and a broker that auto-creates one with
another partition count makes tables crash-loop (``PartitionsMismatch``), so every topic the app
reads or writes is created here explicitly, with its partition count, before the worker starts.
An existing topic with the wrong partition count is an error with a clear message, not a surprise."""
from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from streams.settings import Settings


class TopicMismatch(RuntimeError):
    pass


def topic_specs(s: Settings) -> dict[str, tuple[int, dict[str, str]]]:
    """name -> (partitions, config). Co-partitioned topics share ``s.partitions``."""
    keep_week = {"retention.ms": str(7 * 24 * 3600 * 1000)}
    return {
        s.posts_topic: (s.partitions, keep_week),
        s.repartition_topic: (s.partitions, keep_week),
        s.alerts_topic: (s.partitions, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
        s.deadletter_topic: (s.partitions, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
        # all partitions report to one brand aggregator, so one partition keeps their order
        s.brand_topic: (1, {"retention.ms": str(24 * 3600 * 1000)}),
    }


async def ensure_topics(s: Settings, timeout: float = 30.0) -> dict[str, int]:
    """Create the app's topics if missing; check partition counts of existing ones."""
    admin = AIOKafkaAdminClient(bootstrap_servers=s.bootstrap_servers, request_timeout_ms=int(timeout * 1000))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise KafkaConnectionError(f"no Kafka broker answers at {s.bootstrap_servers}") from None
            await asyncio.sleep(0.5)
    try:
        specs = topic_specs(s)
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, n, s.replication, topic_configs=cfg)
                   for name, (n, cfg) in specs.items() if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
        # Metadata of topics created a moment ago can lag behind: look again for a few seconds
        # before calling a partition count wrong.
        for attempt in range(20):
            described = await admin.describe_topics(list(specs))
            found = {d["topic"]: len(d["partitions"]) for d in described if not d.get("error_code")}
            wrong = {name: found.get(name) for name, (n, _) in specs.items() if found.get(name) != n}
            if not wrong:
                return found
            await asyncio.sleep(0.5)
        name, got = next(iter(wrong.items()))
        raise TopicMismatch(f"topic {name!r} has {got} partitions, the app needs {specs[name][0]}; "
                            f"recreate it or set VIRALITY_PARTITIONS={got}")
    finally:
        await admin.close()
