"""The broker restarts under a running worker (a rolling restart, a crash and a supervisor restart)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest

from tests.factories import BASE_MS, COMPLAINT_SV, PRAISE_EN, by_time, cascade, chatter
from tests.integration.conftest import (BROKER, ROOT, Names, consume, create_topics, filled_worker, keyed,
                                       produce, wait_active)
from tests.integration.test_pipeline import assert_none_lost, assert_none_repeated, offline_alerts

pytestmark = pytest.mark.integration

KAFKA = str(ROOT / "scripts" / "kafka")


def _why_not_restart() -> str | None:
    """None when this test may restart the broker under test, else the reason it may not."""
    if os.environ.get("VIRALITY_TEST_BROKER_RESTART") != "1":
        return ("restarts the broker: runs with VIRALITY_TEST_BROKER_RESTART=1, which scripts/test sets "
                "when it started the broker itself (a broker that was already up may serve others)")
    host, _, port = BROKER.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or port != os.environ.get("KAFKA_PORT", "9092"):
        return f"the broker under test ({BROKER}) is not this checkout's scripts/kafka broker"
    if subprocess.run([KAFKA, "status"], capture_output=True, timeout=30).returncode != 0:
        return "scripts/kafka does not report its broker up"
    return None


def require_restartable_broker() -> None:
    why = _why_not_restart()
    if why is None:
        return
    if os.environ.get("CI") and os.environ.get("VIRALITY_TEST_BROKER_RESTART") == "1":
        pytest.fail(why)
    pytest.skip(why)


@contextmanager
def broker_down(worker, how: str):
    """The broker taken down (``scripts/kafka stop`` or ``kill``) for the body and 3 s more, while
    the worker's connections fail and its fetches, heartbeats and commits retry; the worker must not
    exit meanwhile. The broker is started again whatever happens (the other tests need it too)."""
    try:
        subprocess.run([KAFKA, how], check=True, timeout=120)
        yield
        time.sleep(3)
        assert worker.proc.poll() is None, "the worker exited while the broker was down"
    finally:
        subprocess.run([KAFKA, "start"], check=True, timeout=180)


def assert_came_through(worker, names: Names, expected: list[dict], errors_before: float) -> None:
    """After an outage: every expected alert once, the client's errors counted, a readable log."""
    got = consume(names.alerts, lambda got: len(got) >= len(expected), timeout=60)
    got = consume(names.alerts, lambda got: False, timeout=4)  # and any repeat
    assert_none_lost(got, expected)
    assert_none_repeated(got)
    # what KafkaUnreachable fires on: the client's errors, counted even when the log holds them back
    assert worker.metric("virality_kafka_client_errors_total") - errors_before >= 100
    assert worker.stop() == 0
    assert_log_not_flooded(worker.log_path.read_text())


def assert_log_not_flooded(log: str) -> None:
    # unlimited, aiokafka logs its connection errors every 100 ms: about 60 lines a second down
    refused = log.count("Unable connect to node")
    assert 1 <= refused <= 6, f"{refused} 'Unable connect' lines for an outage of about 10 s"


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_broker_restart_mid_stream_loses_no_alert(names: Names, start_worker, how: str) -> None:
    """A clean stop (a rolling restart) or a crash (SIGKILL) of the broker, down for some seconds
    between two halves of the events: the worker stays up, reconnects, rejoins its group and goes
    on from its committed offsets. No alert is lost or repeated."""
    require_restartable_broker()
    events = by_time(cascade("sj6", COMPLAINT_SV, "sv", 1500, brands=["sj"], seed=11)
                     + cascade("ik6", PRAISE_EN, "en", 1300, brands=["ikea"], seed=12) + chatter(40, seed=13))
    expected = offline_alerts(names, events)
    assert len(expected) >= 3
    half = len(events) // 2
    create_topics(names)
    worker = start_worker(names)
    produce(names.posts, keyed(events[:half]))
    worker.wait_processed(half)
    errors = worker.metric("virality_kafka_client_errors_total")
    with broker_down(worker, how):
        pass
    produce(names.posts, keyed(events[half:]))
    worker.wait_processed(len(events), timeout=120)
    assert_came_through(worker, names, expected, errors)


def test_a_broker_crash_while_the_worker_is_busy_loses_no_alert(start_worker) -> None:
    """The broker is killed while the worker is in the middle of a backlog: the worker goes on with
    what it has fetched (its sends wait in the producer), stays up, and after the restart delivers
    everything. No alert is lost or repeated."""
    require_restartable_broker()
    names = Names(VIRALITY_ANALYZER="tests.fakes:SlowAnalyzer")
    # 600 posts with distinct texts among the cascades' events: at the model's 10 ms per text, the
    # worker takes about 6 s over the backlog
    busy = [{"id": f"busy{k}", "kind": "post", "created_at": BASE_MS + k * 15_000, "lang": "sv",
             "text": f"Fin morgon nummer {k} i Stockholm", "author": {"id": f"b{k}", "followers": 50}}
            for k in range(600)]
    events = by_time(cascade("sj8", COMPLAINT_SV, "sv", 1500, brands=["sj"], seed=31)
                     + cascade("ik8", PRAISE_EN, "en", 1300, brands=["ikea"], seed=32) + busy)
    expected = offline_alerts(names, events)
    assert len(expected) >= 3
    create_topics(names)
    worker = start_worker(names)
    produce(names.posts, keyed(events))
    worker.wait_processed(len(events) // 4)
    errors = worker.metric("virality_kafka_client_errors_total")
    with broker_down(worker, "kill"):
        assert worker.processed() < len(events), "the worker was done before the broker went down"
    worker.wait_processed(len(events), timeout=120)
    assert_came_through(worker, names, expected, errors)


def test_a_stop_while_the_broker_is_down_is_quick_and_loses_nothing(start_worker) -> None:
    """SIGTERM while Kafka is unreachable: the worker's last flush and commit cannot finish. It
    waited for the broker until its own stop bound (VIRALITY_SHUTDOWN_TIMEOUT_S, 20 s) ended it
    with exit code 3, and Docker's default 10 s grace killed it before that. Now it gives up after
    5 s, says what it leaves, and exits 0; the next worker holds every cascade."""
    require_restartable_broker()
    n = 400
    names = Names(partitions=2)
    worker = filled_worker(start_worker, names, n)
    try:
        subprocess.run([KAFKA, "stop"], check=True, timeout=120)
        time.sleep(3)
        started = time.monotonic()
        code = worker.stop(signal.SIGTERM, timeout=40)
        took = time.monotonic() - started
    finally:
        subprocess.run([KAFKA, "start"], check=True, timeout=180)
    log = worker.log_path.read_text()
    assert code == 0 and took < 10, (code, took, log[-3000:])
    assert "the last flush did not finish within 5.0 s" in log and "shutdown took more" not in log, log[-3000:]
    fresh = start_worker(names)
    wait_active(fresh, n)
    assert fresh.stop() == 0


def test_the_broker_is_found_without_its_pid_file() -> None:
    """A pid file deleted by hand (or garbled) must not make scripts/kafka say 'not running' of a live
    broker: 'reset' would then delete the data under it, and 'start' fail on a taken port."""
    require_restartable_broker()
    home = os.environ.get("KAFKA_HOME") or str(ROOT / ".kafka")
    pidfile = os.path.join(home, "kafka.pid")
    with open(pidfile) as f:
        pid = f.read().strip()
    try:
        for damage in (None, "garbage\n", "1\n"):
            if damage is None:
                os.remove(pidfile)
            else:
                with open(pidfile, "w") as f:
                    f.write(damage)
            r = subprocess.run([KAFKA, "status"], capture_output=True, text=True, timeout=30)
            assert r.returncode == 0 and f"(pid {pid})" in r.stdout, (damage, r.stdout, r.stderr)
            with open(pidfile) as f:
                assert f.read().strip() == pid        # written again
    finally:
        with open(pidfile, "w") as f:
            f.write(pid + "\n")


def test_status_of_another_home_names_the_taken_port(tmp_path) -> None:
    """Another checkout's scripts/kafka (its own KAFKA_HOME) must not just say 'down' while this broker
    holds the port: its 'start' would fail on it."""
    require_restartable_broker()
    port = BROKER.rsplit(":", 1)[1]
    r = subprocess.run([KAFKA, "status"], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, KAFKA_HOME=str(tmp_path), KAFKA_PORT=port))
    assert r.returncode == 1 and f"127.0.0.1:{port} answers" in r.stdout, (r.stdout, r.stderr)
    assert r.stderr == "", r.stderr
