"""Integration tests against a real Kafka broker.

The broker address comes from ``VIRALITY_TEST_BROKER`` (default ``127.0.0.1:9092``, which
``scripts/kafka start`` serves). Every test uses its own topics, consumer group and metrics port, so
tests never see each other's data. In CI (``CI`` set) a missing broker is a failure, not a skip.
"""
from __future__ import annotations

import asyncio
import copy
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterable

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.topics import delete_topics

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("VIRALITY_TEST_BROKER", "127.0.0.1:9092")


def port_open(address: str = BROKER) -> bool:
    """Something accepts connections at ``host:port`` (by default the test broker)."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


#: The run prefixes of this session's topics (see :class:`Names`), deleted at its end.
_RUNS: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def kafka_broker():
    if not port_open():
        msg = f"no Kafka broker at {BROKER}: run scripts/kafka start (or set VIRALITY_TEST_BROKER)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    yield BROKER
    # Delete the session's topics (the workers' changelogs too): a broker kept across many runs
    # would otherwise hold thousands of them, and slow down (metadata of new topics lags).
    asyncio.run(delete_topics(BROKER, tuple(_RUNS)))
    for run in _RUNS:  # and their workers' table data (a second worker's dir is run-PORT)
        for path in (ROOT / ".run").glob(f"{run}*"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Names:
    """Unique topic names and settings for one test."""

    def __init__(self, partitions: int = 2, **extra: str):
        run = "it" + uuid.uuid4().hex[:10]
        _RUNS.append(run)
        self.run = run
        self.partitions = partitions
        self.posts = f"{run}.posts"
        self.alerts = f"{run}.alerts"
        self.dlq = f"{run}.dlq"
        self.metrics_port = free_port()
        self.env = {
            "VIRALITY_BROKER": f"kafka://{BROKER}",
            "VIRALITY_APP_ID": run,
            "VIRALITY_POSTS_TOPIC": self.posts,
            "VIRALITY_ALERTS_TOPIC": self.alerts,
            "VIRALITY_DEADLETTER_TOPIC": self.dlq,
            "VIRALITY_REPARTITION_TOPIC": f"{run}.byroot",
            "VIRALITY_BRAND_TOPIC": f"{run}.brand",
            "VIRALITY_PARTITIONS": str(partitions),
            "VIRALITY_METRICS_PORT": str(self.metrics_port),
            "VIRALITY_METRICS_HOST": "127.0.0.1",
            "VIRALITY_SESSION_TIMEOUT_S": "6",
            "VIRALITY_HEARTBEAT_S": "1",
            "VIRALITY_REBALANCE_TIMEOUT_S": "10",
            "VIRALITY_DATA_DIR": str(ROOT / ".run" / run),
            "VIRALITY_BRANDS": "sj=SJ,@SJ_AB;ikea=IKEA,@IKEA;orlen=Orlen,@Orlen",
            **extra,
        }

    def another_worker(self) -> "Names":
        """The same topics and group, for a second worker process: its own metrics port and data dir."""
        other = copy.copy(self)
        other.metrics_port = free_port()
        other.env = dict(self.env, VIRALITY_METRICS_PORT=str(other.metrics_port),
                         VIRALITY_DATA_DIR=f"{self.env['VIRALITY_DATA_DIR']}-{other.metrics_port}")
        return other

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIRALITY_")}
        env.update(self.env)
        return env


class Worker:
    """``virality worker`` as a subprocess: start, wait until ready, stop (SIGTERM or SIGKILL)."""

    def __init__(self, names: Names, log_path: Path):
        self.names = names
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def launch(self) -> "Worker":
        """Start the process and return at once (:meth:`start` also waits until it is ready)."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], cwd=ROOT,
                                     env=self.names.environ(), stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def start(self, timeout: float = 60.0) -> "Worker":
        self.launch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
            if b"worker: ready" in self.log_path.read_bytes():
                return self
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.log_path.read_text()[-3000:]}")

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.names.metrics_port}/metrics"
        return urllib.request.urlopen(url, timeout=5).read().decode()

    def metric(self, name: str, **labels: str) -> float:
        total = 0.0
        for line in self.metrics().splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def processed(self) -> float:
        """Events this worker has consumed or rejected (its metrics)."""
        return self.metric("virality_events_consumed_total") + self.metric("virality_events_rejected_total")

    def wait_processed(self, n: int, timeout: float = 60.0) -> None:
        wait_processed([self], n, timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(f"worker did not stop within {timeout}s of signal {sig}")
        self.log.close()
        return self.proc.returncode


def wait_processed(workers: list[Worker], n: int, timeout: float = 60.0) -> None:
    """Wait until the ``workers`` together have processed ``n`` events."""
    deadline = time.monotonic() + timeout
    done = 0.0
    while time.monotonic() < deadline:
        done = sum(w.processed() for w in workers)
        if done >= n:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{len(workers)} worker(s) processed {done} of {n} events in {timeout}s")


@pytest.fixture
def names() -> Names:
    return Names()


@pytest.fixture
def start_worker(tmp_path: Path):
    workers: list[Worker] = []

    def start(names: Names) -> Worker:
        w = Worker(names, tmp_path / f"worker-{len(workers)}.log").start()
        workers.append(w)
        return w

    yield start
    for w in workers:
        if w.proc is not None and w.proc.poll() is None:
            w.stop(signal.SIGKILL)


def create_topics(names: Names) -> None:
    r = subprocess.run([sys.executable, "-m", "streams.cli", "topics"], cwd=ROOT, env=names.environ(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"virality topics failed ({r.returncode}): {r.stderr[-2000:]}"


def produce(topic: str, events: Iterable[tuple[bytes | None, bytes]]) -> int:
    async def run() -> int:
        p = AIOKafkaProducer(bootstrap_servers=BROKER, linger_ms=5, enable_idempotence=True)
        await p.start()
        n = 0
        try:
            for key, value in events:
                await p.send(topic, value, key=key)
                n += 1
            await p.flush()
        finally:
            await p.stop()
        return n
    return asyncio.run(run())


def keyed(events: Iterable[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """Events as the replay command sends them: keyed by root_id."""
    return [((e.get("root_id") or e["id"]).encode(), orjson.dumps(e)) for e in events]


def consume(topic: str, until, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Read ``topic`` from the beginning until ``until(records)`` is true or the timeout passes."""
    async def run() -> list[dict[str, Any]]:
        c = AIOKafkaConsumer(topic, bootstrap_servers=BROKER, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None)
        await c.start()
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and not until(out):
                batch = await c.getmany(timeout_ms=300)
                for recs in batch.values():
                    out.extend(orjson.loads(r.value) for r in recs)
        finally:
            await c.stop()
        return out
    return asyncio.run(run())


def consume_records(topic: str, until, timeout: float = 60.0) -> list[tuple[bytes | None, bytes | None]]:
    """Read ``topic`` from the beginning as raw ``(key, value)`` pairs (a tombstone's value is None)."""
    async def run() -> list[tuple[bytes | None, bytes | None]]:
        c = AIOKafkaConsumer(topic, bootstrap_servers=BROKER, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None)
        await c.start()
        out: list[tuple[bytes | None, bytes | None]] = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and not until(out):
                batch = await c.getmany(timeout_ms=300)
                for recs in batch.values():
                    out.extend((r.key, r.value) for r in recs)
        finally:
            await c.stop()
        return out
    return asyncio.run(run())


def filled_worker(start_worker, names: Names, n: int) -> Worker:
    """A worker (started with ``start_worker``) that has processed :func:`small_cascades` ``(n)``."""
    from tests.factories import small_cascades

    events = small_cascades(n)
    create_topics(names)
    worker = start_worker(names)
    produce(names.posts, keyed(events))
    worker.wait_processed(len(events), timeout=120)
    return worker


def wait_active(worker: Worker, n: int, timeout: float = 60.0) -> None:
    """Wait until ``worker`` tracks ``n`` cascades (recovered ones count); fail if it does not."""
    deadline = time.monotonic() + timeout
    while worker.metric("virality_active_cascades") < n and time.monotonic() < deadline:
        time.sleep(0.3)
    assert worker.metric("virality_active_cascades") == n
