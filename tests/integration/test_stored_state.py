"""Stored state the worker cannot read, on a real broker: a damaged record in a table's changelog
costs that cascade's (or the brand windows') history, kept whole in the dead-letter topic, not the
worker; state written by a newer release stops the worker with a message that says so."""
from __future__ import annotations

import base64
import time

import orjson
import pytest

from tests.factories import COMPLAINT_SV, by_time, cascade, chatter
from tests.integration.conftest import Names, consume, consume_records, create_topics, keyed, produce

pytestmark = pytest.mark.integration

GARBAGE = b"\xff\x00 not a cascade state"
BAD_BRANDS = b'{"b": "not the brand windows"}'


def last_values(topic: str, keys: set[bytes], timeout: float = 30.0) -> dict[bytes, bytes | None]:
    recs = consume_records(topic, lambda r: keys <= {k for k, _ in r}, timeout=timeout)
    out: dict[bytes, bytes | None] = {}
    for k, v in recs:
        out[k] = v
    return out


def forty_of_sixty(start_worker, root_id: str):
    """A worker that applied the first 40 events of a 60-share cascade, then stopped: (names, events, worker)."""
    names = Names(partitions=2)
    events = by_time(cascade(root_id, "Fin morgon i Stockholm", "sv", 60, duration_s=1200))
    create_topics(names)
    first = start_worker(names)
    produce(names.posts, keyed(events[:40]))
    first.wait_processed(40)
    assert first.stop() == 0
    return names, events, first


def stored_with_shares(changelog: str, key: bytes, shares: int, timeout: float = 20.0) -> dict:
    """The cascade's stored state once it counts ``shares`` shares (the worker writes at its flush)."""
    deadline = time.monotonic() + timeout
    while True:
        state = orjson.loads(last_values(changelog, {key})[key])
        if state["v"]["n"] == shares or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert state["v"]["n"] == shares, state["v"]
    return state


def test_an_unreadable_stored_state_is_dead_lettered_whole_and_starts_again(start_worker) -> None:
    names = Names(partitions=2)
    bad = by_time(cascade("bad1", COMPLAINT_SV, "sv", 30, brands=["sj"], duration_s=600))
    keep = by_time(cascade("keep1", "Fin morgon i Stockholm", "sv", 5, duration_s=600))
    background = by_time(chatter(10))
    create_topics(names)
    first = start_worker(names)
    produce(names.posts, keyed(by_time(bad[:10] + keep + background)))
    first.wait_processed(10 + len(keep) + len(background))
    assert first.stop() == 0
    changelog, brand_changelog = f"{names.run}-cascades-changelog", f"{names.run}-brand-state-changelog"
    stored = last_values(changelog, {b"bad1", b"keep1"})
    assert orjson.loads(stored[b"bad1"])["r"] == "bad1"
    last_values(brand_changelog, {b"brands"})

    # damage two stored states, as a bad tool or a disk could: a cascade and the brand windows
    produce(changelog, [(b"bad1", GARBAGE)])
    produce(brand_changelog, [(b"brands", BAD_BRANDS)])

    second = start_worker(names)
    more = bad[10:] + by_time(chatter(10, seed=7))
    produce(names.posts, keyed(more))
    second.wait_processed(len(more))
    letters = consume(names.dlq, lambda r: sum(x["reason"] == "state_unreadable" for x in r) >= 2, timeout=30)
    unreadable = {x["topic"]: x for x in letters if x["reason"] == "state_unreadable"}
    assert set(unreadable) == {changelog, brand_changelog}, letters
    c = unreadable[changelog]
    assert c["key"] == "bad1" and c["offset"] == -1 and c["partition"] in (0, 1)
    assert c["value_encoding"] == "base64" and base64.b64decode(c["value"]) == GARBAGE   # nothing lost
    b = unreadable[brand_changelog]
    assert b["key"] == "brands" and b["value_encoding"] == "utf-8" and b["value"].encode() == BAD_BRANDS
    assert second.metric("virality_states_unreadable_total") == 2
    assert second.metric("virality_events_rejected_total", reason="internal_error") == 0
    # the cascade started again from its next event, and its new state replaced the damaged one
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = last_values(changelog, {b"bad1"})[b"bad1"]
        if value not in (None, GARBAGE):
            break
        time.sleep(0.5)
    state = orjson.loads(value)
    assert state["r"] == "bad1" and 0 < state["v"]["n"] <= len(bad) - 10
    assert second.proc.poll() is None, "the worker stopped"
    assert second.stop() == 0

    # a state written by a newer release: the worker stops and says why, instead of guessing
    newer = orjson.loads(last_values(changelog, {b"keep1"})[b"keep1"])
    newer["_v"] = 99
    produce(changelog, [(b"keep1", orjson.dumps(newer))])
    third = names.another_worker()
    try:
        w = start_worker(third)
        proc = w.proc
    except RuntimeError as exc:   # it may stop before it says it is ready
        assert "newer release" in str(exc)
        return
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.returncode not in (None, 0), "the worker went on with state it cannot read"
    w.log.close()
    log = w.log_path.read_text()
    assert "written by a newer release" in log and "format version 99" in log and "Upgrading" in log


def test_after_the_input_topic_is_renamed_the_events_of_stored_cascades_still_count(start_worker) -> None:
    """A cascade's applied offsets are per topic and partition: the offsets of a new topic start at
    0 and are not re-reads of the old one's (they were all dropped silently before 2026-11-23)."""
    names, events, first = forty_of_sixty(start_worker, "moved")
    assert f"worker: settings: app {names.run}, 2 partitions" in first.log_path.read_text()

    renamed = names.another_worker()
    renamed.env["VIRALITY_POSTS_TOPIC"] = f"{names.run}.posts-v2"
    create_topics(renamed)
    second = start_worker(renamed)
    produce(f"{names.run}.posts-v2", keyed(events[40:]))
    second.wait_processed(len(events) - 40, timeout=30)
    assert second.metric("virality_events_reread_total") == 0
    state = stored_with_shares(f"{names.run}-cascades-changelog", b"moved", len(events) - 1)
    assert all(k.startswith((f"{names.posts}#", f"{names.run}.posts-v2#")) for k in state["o"]), state["o"]
    assert any(k.startswith(f"{names.run}.posts-v2#") for k in state["o"])
    assert second.stop() == 0


def test_after_the_input_topic_is_recreated_under_its_name_the_events_of_stored_cascades_count(start_worker) -> None:
    """Deleted and recreated under the same name, the posts topic starts its offsets again at 0,
    below what the stored cascades applied from the old one. Those events are new, not re-reads:
    applied, counted in virality_events_past_log_end_total, and said once in the log (all dropped
    silently before)."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    from streams.topics import delete_topics
    from tests.integration.conftest import BROKER

    names, events, _ = forty_of_sixty(start_worker, "again")

    async def gone() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=BROKER)
        await admin.start()
        try:
            return names.posts not in await admin.list_topics()
        finally:
            await admin.close()

    asyncio.run(delete_topics(BROKER, names.posts))   # (no other topic of the run starts with it)
    deadline = time.monotonic() + 30
    while not asyncio.run(gone()):
        assert time.monotonic() < deadline, "the topic was not deleted"
        time.sleep(0.5)
    create_topics(names)

    second = start_worker(names.another_worker())
    produce(names.posts, keyed(events[40:]))
    second.wait_processed(len(events) - 40, timeout=30)
    assert second.metric("virality_events_reread_total") == 0
    assert second.metric("virality_events_past_log_end_total", topic=names.posts) >= 1
    stored_with_shares(f"{names.run}-cascades-changelog", b"again", len(events) - 1)
    assert second.stop() == 0
    log = second.log_path.read_text()
    assert log.count("deleted and recreated under the same name") == 1, log[-3000:]
