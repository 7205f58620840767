"""The peer a user would pick instead, on the same machine and events: Quix Streams.

    scripts/kafka start
    .venv/bin/python bench/bench_quix.py [--events 200000] [--window tumbling|hopping] [--texts DATA_DIR]

The team measured Quix Streams doing the core of our job (shares, a per-cascade 5-minute window, a
deduplicated alert topic) at about 10,000 events/s on its reference machine. This runs that job
here, on the events ``bench_pipeline`` generates (the same generator, seed and
keys: the root id), pre-loaded into a fresh 4-partition topic:

* every event is read and JSON-decoded (Quix's ``json`` deserializer), its event time taken from
  ``created_at``;
* shares are counted per cascade (the message key) in a 5-minute window, tumbling by default or
  hopping by 1 minute (``--window hopping``), in Quix's RocksDB state with its changelog topics
  (Quix's defaults);
* a cascade whose window count reaches 150 (the detector's first alert band) is alerted once:
  a stateful filter remembers it, and the alert goes to an alert topic as JSON.

The rate is the time from the first event the app sees to the last (backlog drained), as
``bench_pipeline`` measures ours. Our job does much more per event: validation and dead-lettering,
the repartition by root, text analysis of every post, quote and reply, velocity, forecast, the
alert lifecycle, brand windows and metrics. Run ``bench_pipeline`` and ``bench_reference`` beside it.

Quix Streams is not a dependency of the project: it is installed on first use into ``.venv-quix``
(``--quix-python`` takes another interpreter that has it). Topics are deleted afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
QUIX_VERSION = "3.28.1"
#: Shares in the window at which a cascade is alerted (the detector's ``min_shares`` band).
ALERT_AT = 150


def child(bootstrap: str, topic: str, n: int, window: str, out: str, state_dir: str) -> None:
    """The Quix Streams app (runs under the Quix interpreter: imports nothing of the project)."""
    from quixstreams import Application

    app = Application(broker_address=bootstrap, consumer_group=f"{topic}-quix", auto_offset_reset="earliest",
                      state_dir=state_dir, loglevel="WARNING")
    source = app.topic(topic, value_deserializer="json",
                       timestamp_extractor=lambda value, headers, ts, ts_type: value["created_at"])
    alerts = app.topic(f"{topic}-alerts", value_serializer="json")
    seen = {"n": 0, "t0": 0.0, "cpu0": 0.0}

    def tick(value):
        if seen["n"] == 0:
            seen["t0"], seen["cpu0"] = time.perf_counter(), time.process_time()
        seen["n"] += 1
        if seen["n"] == n:
            wall, cpu = time.perf_counter() - seen["t0"], time.process_time() - seen["cpu0"]
            with open(out, "w") as f:
                f.write(f"{n / wall} {cpu / wall}")
            app.stop()

    def first_time(value, state) -> bool:
        if state.get("alerted"):
            return False
        state.set("alerted", True)
        return True

    sdf = app.dataframe(source)
    sdf = sdf.update(tick)
    sdf = sdf.filter(lambda value: value.get("kind") == "share")
    if window == "hopping":
        sdf = sdf.hopping_window(duration_ms=300_000, step_ms=60_000)
    else:
        sdf = sdf.tumbling_window(duration_ms=300_000)
    sdf = sdf.count().current()
    sdf = sdf.filter(lambda w: w["value"] >= ALERT_AT)
    sdf = sdf.filter(first_time, stateful=True)
    sdf = sdf.apply(lambda w: {"type": "viral", "shares_5min": w["value"], "window_start": w["start"]})
    sdf.to_topic(alerts)
    app.run()


def quix_python(path: str | None) -> str:
    """An interpreter with Quix Streams: ``path``, or ``.venv-quix`` (made on first use)."""
    if path:
        return path
    venv = os.path.join(ROOT, ".venv-quix")
    py = os.path.join(venv, "bin", "python")
    has = os.path.exists(py) and subprocess.run(
        [py, "-c", f"import importlib.metadata as m; assert m.version('quixstreams') == '{QUIX_VERSION}'"],
        capture_output=True).returncode == 0
    if not has:  # (also after an install that failed half-way)
        print(f"installing quixstreams=={QUIX_VERSION} into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", f"quixstreams=={QUIX_VERSION}"], check=True)
    return py


async def create(bootstrap: str, topic: str, partitions: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--broker", default=os.environ.get("KAFKA_BOOTSTRAP", "localhost:9092"))
    ap.add_argument("--window", choices=("tumbling", "hopping"), default="tumbling")
    ap.add_argument("--texts", help="shared data dir: real tweets as texts, as bench_pipeline --texts")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--quix-python", help="an interpreter with quixstreams installed")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--state-dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.broker, args.topic, args.events, args.window, args.out, args.state_dir)
        return 0

    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    from bench_pipeline import count, make_events, preload, real_texts
    from bench_reference import run_child
    from streams.topics import delete_topics

    py = quix_python(args.quix_python)
    topic = f"quix{uuid.uuid4().hex[:8]}"
    print(f"generating {args.events:,} events ...", flush=True)
    events = make_events(args.events, texts=real_texts(args.texts) if args.texts else None)
    asyncio.run(create(args.broker, topic, args.partitions))
    work = tempfile.mkdtemp(prefix="bench-quix-")
    try:
        t = time.monotonic()
        asyncio.run(preload(args.broker, topic, events))
        print(f"preloaded {len(events):,} events in {time.monotonic() - t:.1f}s", flush=True)
        out = os.path.join(work, "rate")
        argv = [py, os.path.abspath(__file__), "--child", "--broker", args.broker, "--topic", topic, "--events",
                str(len(events)), "--window", args.window, "--out", out, "--state-dir", os.path.join(work, "state")]
        rate, cpu = map(float, run_child(argv, out, work, args.timeout, "the Quix app").split())
        alerts = asyncio.run(count(args.broker, f"{topic}-alerts"))
    finally:
        # the input and alert topics, and Quix's internal ones (<type>__<consumer group>--...)
        asyncio.run(delete_topics(args.broker, (topic, f"changelog__{topic}-quix", f"repartition__{topic}-quix")))
        shutil.rmtree(work, ignore_errors=True)
    print(f"quix streams {QUIX_VERSION}, {args.window} 5-minute window, dedup alert topic: "
          f"{rate:,.0f} events/s ({len(events):,} events, {args.partitions} partitions), "
          f"{cpu:.0%} of one core while draining (all its threads); {alerts:,} alerts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
