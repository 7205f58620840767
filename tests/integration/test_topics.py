"""``ensure_topics`` (``virality topics`` and every worker start) against the real broker."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import pytest

from streams.settings import Settings
from streams.topics import TopicMismatch, ensure_topics
from tests.factories import by_time, cascade
from tests.integration.conftest import BROKER, ROOT, Names, create_topics, keyed, produce

pytestmark = pytest.mark.integration


def _settings(names: Names, **extra: str) -> Settings:
    return Settings.from_env({**names.env, **extra})


def test_creates_every_topic_with_its_partition_count_and_accepts_them_on_the_next_start() -> None:
    names = Names(partitions=3)
    s = _settings(names)
    found = asyncio.run(ensure_topics(s))
    assert found[names.posts] == 3 and found[f"{names.run}.byroot"] == 3 and found[f"{names.run}.brand"] == 1
    assert asyncio.run(ensure_topics(s)) == found          # existing and right: nothing to do


def test_a_topic_with_another_partition_count_is_a_clear_error() -> None:
    names = Names(partitions=2)
    asyncio.run(ensure_topics(_settings(names)))
    with pytest.raises(TopicMismatch, match=r"has 2 partitions, the app needs 5.*VIRALITY_PARTITIONS=2"):
        asyncio.run(ensure_topics(_settings(names, VIRALITY_PARTITIONS="5"), timeout=3.0))


def test_the_alert_and_dead_letter_topics_keep_their_partition_count() -> None:
    """Consumers read them: another VIRALITY_PARTITIONS must not mean recreating them."""
    names = Names(partitions=2)
    asyncio.run(ensure_topics(_settings(names)))
    more = _settings(names, VIRALITY_PARTITIONS="4", VIRALITY_POSTS_TOPIC=f"{names.run}.posts4",
                     VIRALITY_REPARTITION_TOPIC=f"{names.run}.byroot4")
    found = asyncio.run(ensure_topics(more, timeout=5.0))
    assert found[names.alerts] == 2 and found[names.dlq] == 2
    assert found[f"{names.run}.posts4"] == 4 and found[f"{names.run}.byroot4"] == 4


def test_a_topic_the_broker_refuses_is_reported_with_the_brokers_reason() -> None:
    # A single-node broker cannot hold three replicas: before, the refusal was ignored and the
    # command waited for the topics and then blamed their partition count ("has None partitions").
    names = Names(partitions=2)
    with pytest.raises(TopicMismatch, match=r"refused to create topic .*replication factor"):
        asyncio.run(ensure_topics(_settings(names, VIRALITY_REPLICATION="3"), timeout=3.0))


def test_a_worker_whose_metrics_port_is_taken_says_so_and_stops() -> None:
    # two workers on one host with the default port: the second stops at once, naming the setting
    names = Names(partitions=1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", names.metrics_port))
        taken.listen()
        r = subprocess.run([sys.executable, "-m", "streams.cli", "worker"], cwd=ROOT, env=names.environ(),
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert f"cannot serve metrics on 127.0.0.1:{names.metrics_port}" in r.stderr and "VIRALITY_METRICS_PORT" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_changelog_left_with_another_partition_count_is_refused_at_start() -> None:
    # state of a run with 4 partitions, the app now asked for 2: before, the worker said "ready"
    # and crashed on the first event ("Unrecognized partition"), at every restart
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    names = Names(partitions=2)

    async def old_changelog() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=_settings(names).bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(f"{names.run}-cascades-changelog", 4, 1)])
        finally:
            await admin.close()

    asyncio.run(old_changelog())
    with pytest.raises(TopicMismatch, match=r"changelog topic .*-cascades-changelog' has 4 partitions, the app "
                                            r"needs 2.*VIRALITY_PARTITIONS=4"):
        asyncio.run(ensure_topics(_settings(names)))


def _set_changelog(names: Names, **configs: str) -> None:
    """The run's 2-partition cascades changelog: created with ``cleanup.policy=compact`` alone (as
    Faust creates it, Kafka's defaults for the rest), or else its configs altered to ``configs``."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    changelog = f"{names.run}-cascades-changelog"

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=_settings(names).bootstrap_servers)
        await admin.start()
        try:
            if configs == {"cleanup.policy": "compact"}:
                await admin.create_topics([NewTopic(changelog, 2, 1, topic_configs=configs)])
            else:
                await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, changelog, configs=configs)])
        finally:
            await admin.close()
    asyncio.run(run())


def test_a_changelog_whose_records_kafka_would_delete_is_refused_at_a_worker_start() -> None:
    """An operator's kafka-configs --alter cleanup.policy=delete on a changelog went unnoticed: the
    oldest states went with retention.ms, and a restart restored only part of them. Compacted is
    fine, and compact,delete kept at least VIRALITY_EXPIRE_S; replay and topics never read the
    changelogs and are not refused (a review found replay refused)."""
    names = Names(partitions=2)
    expire_s = _settings(names).expire_s

    def worker_start() -> None:
        asyncio.run(ensure_topics(_settings(names), worker=True))

    _set_changelog(names, **{"cleanup.policy": "compact"})
    worker_start()                                                   # as Faust creates it: fine
    _set_changelog(names, **{"cleanup.policy": "compact,delete", "retention.ms": str(expire_s * 1000)})
    worker_start()
    _set_changelog(names, **{"cleanup.policy": "compact,delete", "retention.ms": "60000"})
    with pytest.raises(TopicMismatch, match=r"compact,delete with retention.ms=60000, less than VIRALITY_EXPIRE_S"):
        worker_start()
    _set_changelog(names, **{"cleanup.policy": "delete", "retention.ms": "60000"})
    with pytest.raises(TopicMismatch, match=r"changelog topic .*-cascades-changelog' has cleanup.policy=delete.*"
                                            r"--add-config cleanup.policy=compact"):
        worker_start()
    asyncio.run(ensure_topics(_settings(names)))                     # replay's and topics' check


def test_replay_to_a_missing_topic_and_a_worker_without_a_usable_data_dir_are_clear_errors(tmp_path) -> None:
    names = Names(partitions=1)
    events = tmp_path / "events.jsonl"
    events.write_text('{"id": "p", "kind": "post", "created_at": 0, "author": {"id": "a"}, "text": "hej"}\n')
    r = subprocess.run([sys.executable, "-m", "streams.cli", "replay", str(events), "--topic", names.run + ".nosuch"],
                       cwd=ROOT, env=names.environ(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "does not exist" in r.stderr and "VIRALITY_POSTS_TOPIC" in r.stderr, r.stderr
    assert "not found in cluster metadata" not in r.stderr and "Traceback" not in r.stderr
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    r = subprocess.run([sys.executable, "-m", "streams.cli", "worker"], cwd=ROOT,
                       env=dict(names.environ(), VIRALITY_DATA_DIR=str(not_a_dir)), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "VIRALITY_DATA_DIR" in r.stderr and "Traceback" not in r.stderr, r.stderr


def _changelog_configs(names: Names) -> dict[str, dict[str, str]]:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    async def run() -> dict[str, dict[str, str]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=_settings(names).bootstrap_servers)
        await admin.start()
        try:
            logs = [f"{names.run}-cascades-changelog", f"{names.run}-brand-state-changelog"]
            responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in logs])
        finally:
            await admin.close()
        return {r[3]: {e[0]: e[1] for e in r[4]} for resp in responses for r in resp.resources}
    return asyncio.run(run())


def _records(topic: str, partitions: int) -> tuple[list[tuple[bytes | None, bytes | None]], int]:
    """Every record in ``topic`` now, read from its start to its end offsets, and how many were
    ever written to it (the end offsets: compaction does not lower them)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run() -> tuple[list[tuple[bytes | None, bytes | None]], int]:
        c = AIOKafkaConsumer(bootstrap_servers=BROKER, enable_auto_commit=False, group_id=None)
        await c.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            ends = await c.end_offsets(tps)
            c.assign(tps)
            await c.seek_to_beginning(*tps)
            out: list[tuple[bytes | None, bytes | None]] = []
            while [tp for tp in tps if await c.position(tp) < ends[tp]]:
                for recs in (await c.getmany(timeout_ms=500)).values():
                    out.extend((r.key, r.value) for r in recs)
            return out, sum(ends.values())
        finally:
            await c.stop()
    return asyncio.run(run())


def test_the_changelogs_are_compacted_within_changelog_compact_s(start_worker) -> None:
    """Kafka compacts only closed segments, and by default closes one at 1 GB or after 7 days: a
    worker read back up to a week of every state write at each start. The worker now creates its
    changelogs with max.compaction.lag.ms (and delete.retention.ms) of VIRALITY_CHANGELOG_COMPACT_S,
    and the broker's cleaner leaves about one record per cascade."""
    names = Names(partitions=1, VIRALITY_CHANGELOG_COMPACT_S="10")
    create_topics(names)
    worker = start_worker(names)
    for configs in _changelog_configs(names).values():
        assert configs["max.compaction.lag.ms"] == "10000" and configs["delete.retention.ms"] == "10000"
    changelog = f"{names.run}-cascades-changelog"
    events = by_time(cascade("cmp1", "Fin morgon", "sv", 30, duration_s=600)
                     + cascade("cmp2", "God kväll", "sv", 30, duration_s=600, seed=2))
    sent = 0
    for i in range(0, len(events), 8):   # one batch a flush: each cascade is written again and again
        sent += produce(names.posts, keyed(events[i:i + 8]))
        worker.wait_processed(sent)
        time.sleep(1.2)
    # (counted by offsets: with 10 s, the first writes may already be compacted by now)
    records, written = _records(changelog, names.partitions)
    assert written >= 10 and {k for k, _ in records} == {b"cmp1", b"cmp2"}, (written, records)
    time.sleep(10.5)   # past max.compaction.lag.ms: the next write closes the segment ...
    later = by_time(cascade("cmp3", "Hej", "sv", 1, duration_s=60, seed=3))
    produce(names.posts, keyed(later))
    worker.wait_processed(sent + len(later))
    deadline = time.monotonic() + 60   # ... and the cleaner compacts it
    while True:
        kept = [k for k, _ in _records(changelog, names.partitions)[0]]
        if len(kept) <= 4 or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert len(kept) <= 4 and {b"cmp1", b"cmp2"} <= set(kept), (written, kept)


def test_a_changelog_made_with_kafkas_compaction_defaults_is_named_with_the_command_that_fixes_it(capsys) -> None:
    """Changelogs created before the worker gave Faust max.compaction.lag.ms keep Kafka's default
    (never forced): the worker starts, and says what a restart costs and how to change it."""
    names = Names(partitions=2)
    changelog = f"{names.run}-cascades-changelog"
    _set_changelog(names, **{"cleanup.policy": "compact"})
    asyncio.run(ensure_topics(_settings(names), worker=True))
    said = capsys.readouterr().err
    assert (f"changelog topic '{changelog}' leaves records uncompacted until their segment closes" in said
            and "--add-config max.compaction.lag.ms=600000,delete.retention.ms=600000" in said), said
    _set_changelog(names, **{"cleanup.policy": "compact", "max.compaction.lag.ms": str(3 * 86400 * 1000)})
    asyncio.run(ensure_topics(_settings(names), worker=True))
    assert "uncompacted for up to 3 days (max.compaction.lag.ms=259200000)" in capsys.readouterr().err
    _set_changelog(names, **{"cleanup.policy": "compact", "max.compaction.lag.ms": "600000"})
    asyncio.run(ensure_topics(_settings(names), worker=True))
    assert "uncompacted" not in capsys.readouterr().err


def test_the_input_topics_are_stamped_by_the_broker_not_by_the_producers_clock() -> None:
    """The worker compares created_at with the record's timestamp (from_the_future). With Kafka's
    default CreateTime that is the producer's clock: one an hour slow had every on-time event
    rejected. Created by the app, the input topics carry the broker's append time instead."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    names = Names(partitions=1)
    s = _settings(names)
    asyncio.run(ensure_topics(s))

    async def run() -> list:
        p = AIOKafkaProducer(bootstrap_servers=BROKER)
        await p.start()
        try:
            for topic in (s.posts_topic, s.repartition_topic):
                await p.send_and_wait(topic, b"{}", key=b"k", timestamp_ms=int(time.time() * 1000) - 3_600_000)
        finally:
            await p.stop()
        out = []
        for topic in (s.posts_topic, s.repartition_topic):
            c = AIOKafkaConsumer(topic, bootstrap_servers=BROKER, auto_offset_reset="earliest",
                                 enable_auto_commit=False, group_id=None)
            await c.start()
            try:
                batch = await c.getmany(timeout_ms=10_000)
                out += [r for recs in batch.values() for r in recs]
            finally:
                await c.stop()
        return out

    sent_at = time.time() * 1000
    records = asyncio.run(run())
    assert len(records) == 2
    for r in records:
        assert r.timestamp_type == 1                      # LogAppendTime
        assert abs(r.timestamp - sent_at) < 60_000        # the broker's now, not an hour back


def test_an_input_topic_stamped_by_its_producers_is_named_with_the_command_that_fixes_it(capsys) -> None:
    """A posts topic made before the worker created it with LogAppendTime (or by hand) keeps
    CreateTime: the worker starts, and says what that means for from_the_future and how to change it."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    names = Names(partitions=1)
    s = _settings(names)

    async def make() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=BROKER)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(s.posts_topic, 1, 1)])   # Kafka's defaults
        finally:
            await admin.close()
    asyncio.run(make())
    asyncio.run(ensure_topics(s, worker=True))
    said = capsys.readouterr().err
    assert (f"input topic '{s.posts_topic}' is stamped by its producers (message.timestamp.type=CreateTime)" in said
            and f"--entity-name {s.posts_topic} --add-config message.timestamp.type=LogAppendTime" in said), said
    assert f"'{s.repartition_topic}'" not in said        # created by the worker: stamped by the broker
    asyncio.run(ensure_topics(s))                          # (not a worker: nothing said)
    assert "stamped by its producers" not in capsys.readouterr().err
