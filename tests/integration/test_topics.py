"""``ensure_topics`` (``virality topics`` and every worker start) against the real broker."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import pytest

from streams.settings import Settings
from streams.topics import TopicMismatch, ensure_topics
from tests.integration.conftest import ROOT, Names

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


def test_a_changelog_whose_records_kafka_would_delete_is_refused_at_a_worker_start() -> None:
    """An operator's kafka-configs --alter cleanup.policy=delete on a changelog went unnoticed: the
    oldest states went with retention.ms, and a restart restored only part of them. Compacted is
    fine, and compact,delete kept at least VIRALITY_EXPIRE_S; replay and topics never read the
    changelogs and are not refused (a review found replay refused)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    names = Names(partitions=2)
    changelog = f"{names.run}-cascades-changelog"
    expire_s = _settings(names).expire_s

    async def make(**configs: str) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=_settings(names).bootstrap_servers)
        await admin.start()
        try:
            if configs.get("cleanup.policy") == "compact" and len(configs) == 1:
                await admin.create_topics([NewTopic(changelog, 2, 1, topic_configs=configs)])
            else:
                await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, changelog, configs=configs)])
        finally:
            await admin.close()

    def worker_start() -> None:
        asyncio.run(ensure_topics(_settings(names), worker=True))

    asyncio.run(make(**{"cleanup.policy": "compact"}))
    worker_start()                                                   # as Faust creates it: fine
    asyncio.run(make(**{"cleanup.policy": "compact,delete", "retention.ms": str(expire_s * 1000)}))
    worker_start()
    asyncio.run(make(**{"cleanup.policy": "compact,delete", "retention.ms": "60000"}))
    with pytest.raises(TopicMismatch, match=r"compact,delete with retention.ms=60000, less than VIRALITY_EXPIRE_S"):
        worker_start()
    asyncio.run(make(**{"cleanup.policy": "delete", "retention.ms": "60000"}))
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
