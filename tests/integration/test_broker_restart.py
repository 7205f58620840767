"""The broker restarts under a running worker (a rolling restart, a crash and a supervisor restart)."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.factories import COMPLAINT_SV, PRAISE_EN, by_time, cascade, chatter
from tests.integration.conftest import BROKER, ROOT, Names, consume, create_topics, keyed, produce
from tests.integration.test_pipeline import assert_none_lost, assert_none_repeated, offline_alerts

pytestmark = pytest.mark.integration

KAFKA = str(ROOT / "scripts" / "kafka")


def _restartable() -> bool:
    """True when the broker under test is this checkout's ``scripts/kafka`` one (so it can be restarted)."""
    r = subprocess.run([KAFKA, "status"], capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and BROKER.endswith(f":{os.environ.get('KAFKA_PORT', '9092')}")


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_broker_restart_mid_stream_loses_no_alert(names: Names, start_worker, how: str) -> None:
    """A clean stop (a rolling restart) or a crash (SIGKILL) of the broker, down for some seconds
    between two halves of the events: the worker stays up, reconnects, rejoins its group and goes
    on from its committed offsets. No alert is lost or repeated."""
    if not _restartable():
        msg = "the broker under test is not scripts/kafka's: it cannot be restarted from here"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    events = by_time(cascade("sj6", COMPLAINT_SV, "sv", 1500, brands=["sj"], seed=11)
                     + cascade("ik6", PRAISE_EN, "en", 1300, brands=["ikea"], seed=12) + chatter(40, seed=13))
    expected = offline_alerts(names, events)
    assert len(expected) >= 3
    half = len(events) // 2
    create_topics(names)
    worker = start_worker(names)
    produce(names.posts, keyed(events[:half]))
    worker.wait_processed(half)
    try:
        subprocess.run([KAFKA, how], check=True, timeout=120)
        time.sleep(3)   # its connections fail; fetches, heartbeats and commits retry
        assert worker.proc.poll() is None, "the worker exited while the broker was down"
    finally:
        subprocess.run([KAFKA, "start"], check=True, timeout=180)  # (the other tests need it too)
    produce(names.posts, keyed(events[half:]))
    worker.wait_processed(len(events), timeout=120)
    got = consume(names.alerts, lambda got: len(got) >= len(expected), timeout=60)
    got = consume(names.alerts, lambda got: False, timeout=4)  # and any repeat
    assert_none_lost(got, expected)
    assert_none_repeated(got)
    assert worker.stop() == 0
