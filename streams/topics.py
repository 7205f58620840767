"""Topic creation. Faust does not create source topics, and a broker that auto-creates one with
another partition count makes tables crash-loop (``PartitionsMismatch``), so every topic the app
reads or writes is created here explicitly, with its partition count, before the worker starts.
An existing topic with the wrong partition count is an error with a clear message, not a surprise."""
from __future__ import annotations

import asyncio
import sys
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from streams.kafka_auth import ConnectErrors, client_options
from streams.settings import Settings


class TopicMismatch(RuntimeError):
    """A topic the app needs cannot be used as it is (wrong partition count, refused, missing)."""


_ALREADY_EXISTS = 36  # Kafka's TOPIC_ALREADY_EXISTS
_REQUEST_TIMED_OUT = 7


def _topic_errors(response) -> list[tuple[str, int, str | None]]:
    """``(topic, error code, message)`` per topic of a CreateTopics response (v0 has no message)."""
    if response is None:
        return []
    return [(e[0], e[1], e[2] if len(e) > 2 else None) for e in response.topic_errors]


async def delete_topics(bootstrap: str, prefixes: str | tuple[str, ...], **options: Any) -> None:
    """Delete every topic whose name starts with ``prefixes`` (one prefix or several): a run's
    topics, internal ones included, when a demo, benchmark or test session is done with them.
    ``options``: connection options (:func:`streams.kafka_auth.client_options`)."""
    if not prefixes:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


def output_topics(s: Settings) -> set[str]:
    """The topics the worker only writes to, keyed by the producer's partitioner: created with
    ``s.partitions`` partitions, but kept with any count (changing VIRALITY_PARTITIONS must not
    mean recreating the topic consumers read, and losing its history)."""
    return {s.alerts_topic, s.deadletter_topic}


def topic_specs(s: Settings) -> dict[str, tuple[int, dict[str, str]]]:
    """name -> (partitions, config). Co-partitioned topics share ``s.partitions``."""
    # Input topics: the broker stamps each record with its arrival (LogAppendTime), which the worker
    # compares created_at with (from_the_future): with CreateTime that is the producer's clock
    input_topic = {"retention.ms": str(7 * 24 * 3600 * 1000), "message.timestamp.type": "LogAppendTime"}
    return {
        s.posts_topic: (s.partitions, input_topic),
        s.repartition_topic: (s.partitions, input_topic),
        s.alerts_topic: (s.partitions, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
        s.deadletter_topic: (s.partitions, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
        # all partitions report to one brand aggregator, so one partition keeps their order
        s.brand_topic: (1, {"retention.ms": str(24 * 3600 * 1000)}),
    }


def _check_resolvable(s: Settings) -> None:
    """A broker host name that does not resolve is a typo, not a broker still starting: say so at
    once instead of retrying (and logging) for the whole timeout. One resolvable server is enough."""
    import socket

    hosts = [host for host, _ in s.broker_addresses]
    for host in hosts:
        try:
            socket.getaddrinfo(host.strip("[]"), None)
            return
        except (socket.gaierror, UnicodeError):
            continue
    raise KafkaConnectionError(f"no broker host of VIRALITY_BROKER={s.broker!r} resolves "
                               f"({', '.join(hosts)}): check the name")


def changelog_specs(s: Settings) -> dict[str, int]:
    """name -> partitions of the tables' changelog topics, which Faust creates (``{app_id}-{table}-
    changelog``; the tables in :func:`streams.app.create_app`)."""
    return {f"{s.app_id}-cascades-changelog": s.partitions, f"{s.app_id}-brand-state-changelog": 1}


#: After this many seconds without a broker, :func:`ensure_topics` says that it is still trying.
WAIT_NOTICE_S = 3.0


async def ensure_topics(s: Settings, timeout: float = 30.0, worker: bool = False) -> dict[str, int]:
    """Create the app's topics if missing; check partition counts of existing ones. ``worker``: a
    worker is starting, and the changelogs' retention is checked too (``replay`` and ``topics``
    never read them)."""
    _check_resolvable(s)
    admin = AIOKafkaAdminClient(bootstrap_servers=s.bootstrap_servers, request_timeout_ms=int(timeout * 1000),
                                **client_options(s))
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + timeout
    said = False
    with ConnectErrors.of(s) as seen:
        while True:
            try:
                await admin.start()
                break
            except KafkaConnectionError:
                # a refused password or certificate does not mend by waiting: say so at once
                if seen.lasting or loop.time() > deadline:
                    await admin.close()
                    raise KafkaConnectionError(seen.message(s)) from None
                if not said and loop.time() > started + WAIT_NOTICE_S:
                    # (a command otherwise sat silent for the whole timeout before saying why)
                    said = True
                    print(f"virality: no Kafka broker answers at {s.bootstrap_servers} yet; trying for "
                          f"{timeout:.0f} s ({seen.last or 'no answer'})", file=sys.stderr, flush=True)
                await asyncio.sleep(0.5)
    try:
        specs = topic_specs(s)
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, n, s.replication, topic_configs=cfg)
                   for name, (n, cfg) in specs.items() if name not in existing]
        if missing:
            try:
                response = await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                response = None
            for name, code, message in _topic_errors(response):
                # (already exists: another worker just created it; timed out: still being created)
                if code not in (0, _ALREADY_EXISTS, _REQUEST_TIMED_OUT):
                    raise TopicMismatch(f"the broker refused to create topic {name!r}: "
                                        f"{message or f'Kafka error code {code}'}")
        # Metadata of topics created a moment ago can lag behind, for many seconds on a broker
        # busy with thousands of partitions: look again until the deadline before calling a
        # partition count wrong.
        deadline = loop.time() + timeout
        while True:
            described = await admin.describe_topics(list(specs))
            found = {d["topic"]: len(d["partitions"]) for d in described if not d.get("error_code")}
            anyway = output_topics(s)
            wrong = {name: found.get(name) for name, (n, _) in specs.items()
                     if found.get(name) != n and not (name in anyway and found.get(name))}
            if not wrong:
                await _check_changelogs(admin, s, existing, retention=worker)
                if worker:
                    await _check_input_timestamps(admin, s)
                return found
            settled = [n for n, got in wrong.items() if n in existing and got is not None]
            if settled or loop.time() > deadline:  # (an old topic will not change)
                break
            await asyncio.sleep(0.5)
        name = settled[0] if settled else next(iter(wrong))
        got = wrong[name]
        if got is None:
            raise TopicMismatch(f"topic {name!r} does not show in the broker's metadata after "
                                f"{timeout:.0f} s; the broker may be starting or busy: try again")
        raise TopicMismatch(f"topic {name!r} has {got} partitions, the app needs {specs[name][0]}; "
                            f"recreate it or set VIRALITY_PARTITIONS={got}")
    finally:
        await admin.close()


async def _check_changelogs(admin: AIOKafkaAdminClient, s: Settings, existing: set[str],
                            retention: bool = False) -> None:
    """A changelog left by a run with another partition count would crash the worker after it
    says it is ready (Faust: "Unrecognized partition"), or silently mix up partitions: refuse now.
    ``retention`` (the worker's start): also refuse one whose records Kafka would delete before the
    worker forgets their cascades (not compacted, or compact,delete kept less than VIRALITY_EXPIRE_S)."""
    logs = {name: n for name, n in changelog_specs(s).items() if name in existing}
    if not logs:
        return
    for d in await admin.describe_topics(list(logs)):
        name, got = d["topic"], len(d.get("partitions") or ())
        if not d.get("error_code") and got != logs[name]:
            raise TopicMismatch(
                f"changelog topic {name!r} has {got} partitions, the app needs {logs[name]}: it holds the "
                f"state of a run with VIRALITY_PARTITIONS={got}. Set VIRALITY_PARTITIONS={got} again, or "
                f"delete that topic (its cascades then start over), or use a new VIRALITY_APP_ID (a new "
                f"group: it reads the input from its beginning and sends the alerts in it again)")
    if not retention:
        return
    for name, conf in (await _topic_configs(admin, list(logs))).items():
        policy = conf.get("cleanup.policy", "compact").split(",")
        # (Faust creates them compacted; an operator's kafka-configs --alter can change that, and
        # nothing said so: the oldest states went with retention.ms, and a restart restored a part
        # of the cascades and the brand windows)
        if "compact" not in policy:
            raise TopicMismatch(
                f"changelog topic {name!r} has cleanup.policy={','.join(policy)}: Kafka deletes its records "
                f"after retention.ms, and with them the state of every cascade quiet that long, so a restart "
                f"would restore only part of it. Make it compacted again: "
                f"{_alter_command(s, name)} --add-config cleanup.policy=compact")
        kept_ms = int(conf.get("retention.ms", "-1") or -1)
        if "delete" in policy and 0 <= kept_ms < s.expire_s * 1000:
            raise TopicMismatch(
                f"changelog topic {name!r} has cleanup.policy=compact,delete with retention.ms={kept_ms}, "
                f"less than VIRALITY_EXPIRE_S ({s.expire_s} s): the state of a cascade quiet that long would "
                f"be deleted before the worker forgets it. Raise it: {_alter_command(s, name)} "
                f"--add-config retention.ms={s.expire_s * 1000} (or set cleanup.policy=compact)")
        # (topics made before the worker gave Faust these configs keep Kafka's defaults: a segment is
        # compacted once it closes, at 1 GB or after 7 days, and every start reads it all back)
        lag = conf.get("max.compaction.lag.ms")
        if lag is not None and lag.isdigit() and int(lag) > s.changelog_compact_s * 1000:
            want = s.changelog_topic_configs()
            seconds = int(lag) / 1000
            how = ("until their segment closes (at segment.bytes or segment.ms, 1 GB or 7 days by default)"
                   if seconds >= 10 * 365 * 86400 else f"for up to {_span(seconds)}")
            print(f"virality: changelog topic {name!r} leaves records uncompacted {how} "
                  f"(max.compaction.lag.ms={lag}), and a worker reads all of them "
                  f"at every start; VIRALITY_CHANGELOG_COMPACT_S is {s.changelog_compact_s} s. Topics the "
                  f"worker creates get it; for this one: {_alter_command(s, name)} --add-config "
                  + ",".join(f"{k}={v}" for k, v in want.items()), file=sys.stderr, flush=True)


async def _check_input_timestamps(admin: AIOKafkaAdminClient, s: Settings) -> None:
    """Say so when an input topic is stamped by its producers (CreateTime, Kafka's default) rather
    than by the broker: from_the_future then reads the producers' clocks (a topic made before the
    worker created its topics with LogAppendTime, or made by hand)."""
    inputs = [s.posts_topic, s.repartition_topic]
    for name, conf in (await _topic_configs(admin, inputs, ("message.timestamp.type",))).items():
        if conf.get("message.timestamp.type", "LogAppendTime") != "LogAppendTime":
            print(f"virality: input topic {name!r} is stamped by its producers "
                  f"(message.timestamp.type={conf['message.timestamp.type']}): an event more than "
                  f"VIRALITY_MAX_FUTURE_S ({s.max_future_s} s) after its record's timestamp is rejected as "
                  f"from_the_future, so a producer whose clock is slow has on-time events rejected. Let the "
                  f"broker stamp it: {_alter_command(s, name)} --add-config "
                  f"message.timestamp.type=LogAppendTime", file=sys.stderr, flush=True)


def _alter_command(s: Settings, name: str) -> str:
    """The start of the ``kafka-configs.sh`` command that changes topic ``name``'s configs."""
    return (f"kafka-configs.sh --bootstrap-server {s.bootstrap_servers.split(',')[0]} --alter --entity-type "
            f"topics --entity-name {name}")


def _span(seconds: float) -> str:
    """``seconds`` for a person: '7 days', '5 h', '10 min'."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 60:.0f} min"


async def _topic_configs(admin: AIOKafkaAdminClient, names: list[str],
                         keys: tuple[str, ...] = ("cleanup.policy", "retention.ms", "max.compaction.lag.ms"),
                         ) -> dict[str, dict[str, str]]:
    """The configs ``keys`` of each topic that answers (a topic whose configs cannot be read is
    left out: the check is a safeguard, not a reason to refuse a start)."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    if not names:
        return {}
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=dict.fromkeys(keys))
             for name in names])
    except Exception:   # an older broker or no DescribeConfigs permission (an ACL)
        return {}
    out: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            error_code, _, _, name, entries = resource[:5]
            if error_code:
                continue
            out[name] = {entry[0]: entry[1] for entry in entries if isinstance(entry[1], str)}
    return out
