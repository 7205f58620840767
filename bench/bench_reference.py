"""How fast is this machine today, against the team's reference machine?

    scripts/kafka start
    .venv/bin/python bench/bench_reference.py [--events 200000] [--broker localhost:9092]

The speed of these machines changes from day to day (the same code's figures have moved by a factor
of two or more between sessions), so a throughput figure means little without the machine it ran
on. This measures the two floors the team measured on its reference machine (2 cores, loopback
broker), on ``--events`` small JSON messages pre-loaded into a fresh one-partition topic:

* a plain aiokafka consumer (``getmany`` and ``json.loads`` of every value): about 260,000/s there;
* a trivial Faust agent (iterates a JSON-valued stream and counts, nothing else): about 8,600/s there.

and prints each with its ratio to the reference. Quote them next to any other bench figure of the
same day. The topic is deleted afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

#: The team's figures for its reference machine (2 cores, loopback broker; the yardstick of its speed targets).
REFERENCE = {"plain aiokafka consumer": 260_000.0, "trivial Faust agent": 8_600.0}


def message(i: int) -> bytes:
    """A small JSON message, about the size of a share event."""
    return json.dumps({"id": f"s{i}", "kind": "share", "root_id": f"c{i % 1000}",
                       "created_at": 1_795_000_000_000 + i, "author": {"id": f"u{i}", "followers": i % 5000}},
                      separators=(",", ":")).encode()


async def preload(bootstrap: str, topic: str, n: int) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await p.start()
    try:
        pending = []
        for i in range(n):
            pending.append(await p.send(topic, message(i)))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await p.stop()


async def plain_consumer(bootstrap: str, topic: str, n: int) -> float:
    """Messages per second read and decoded by a bare aiokafka consumer, first message to last."""
    from aiokafka import AIOKafkaConsumer

    c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False)
    await c.start()
    try:
        seen, t0, first = 0, None, 0
        while seen < n:
            batch = await c.getmany(timeout_ms=5000)
            if not batch:
                raise SystemExit(f"plain consumer: only {seen:,} of {n:,} messages arrived")
            for recs in batch.values():
                for r in recs:
                    json.loads(r.value)
                seen += len(recs)
            if t0 is None:  # the clock starts after the first batch, which is not counted
                t0, first = time.perf_counter(), seen
        return (n - first) / (time.perf_counter() - t0)
    finally:
        await c.stop()


def faust_child(bootstrap: str, topic: str, n: int, out: str) -> None:
    """Run a Faust worker whose one agent counts ``n`` events, write the rate to ``out``, stop."""
    import faust

    app = faust.App(f"{topic}-app", broker=f"kafka://{bootstrap}", store="memory://",
                    web_enabled=False, topic_partitions=1, consumer_auto_offset_reset="earliest")
    source = app.topic(topic, value_serializer="json")

    @app.agent(source)
    async def count(stream):
        seen, t0 = 0, None
        async for _ in stream:
            if t0 is None:
                t0 = time.perf_counter()
            seen += 1
            if seen == n:
                rate = n / (time.perf_counter() - t0)
                with open(out, "w") as f:
                    f.write(str(rate))
                os._exit(0)  # (a worker's shutdown waits on this very event and is not what is measured)

    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


def run_child(argv: list[str], out: str, cwd: str, timeout: float, what: str) -> str:
    """Run a measuring child process and return what it wrote to ``out``; a clear exit if it takes
    longer than ``timeout`` seconds or ends without writing it."""
    proc = subprocess.Popen(argv, cwd=cwd)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise SystemExit(f"{what}: not done after {timeout:.0f} s")
    if not os.path.exists(out):
        raise SystemExit(f"{what}: exited ({proc.returncode}) without a result")
    with open(out) as f:
        return f.read()


def trivial_faust(bootstrap: str, topic: str, n: int, timeout: float) -> float:
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "rate")
        argv = [sys.executable, __file__, "--child", "--broker", bootstrap, "--topic", topic, "--events", str(n),
                "--out", out]
        return float(run_child(argv, out, d, timeout, "trivial Faust agent"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--broker", default=os.environ.get("KAFKA_BOOTSTRAP", "localhost:9092"))
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds the Faust agent may take")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        faust_child(args.broker, args.topic, args.events, args.out)
        return 0
    from streams.topics import delete_topics

    topic = f"ref{uuid.uuid4().hex[:8]}"
    print(f"pre-loading {args.events:,} small JSON messages into {topic} ...", flush=True)
    try:
        asyncio.run(preload(args.broker, topic, args.events))
        rates = {"plain aiokafka consumer": asyncio.run(plain_consumer(args.broker, topic, args.events)),
                 "trivial Faust agent": trivial_faust(args.broker, topic, args.events, args.timeout)}
    finally:
        asyncio.run(delete_topics(args.broker, topic))
    for name, rate in rates.items():
        ref = REFERENCE[name]
        print(f"{name:24} {rate:>10,.0f} msgs/s   reference machine {ref:>9,.0f}/s   ratio {rate / ref:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
