"""How long a worker restart takes with many cascades in its table (the ``memory://`` store).

    .venv/bin/python bench/bench_recovery.py [--cascades 100000] [--shares 3] [--spacing-ms 20]

With the in-memory table store every start reads the compacted cascades changelog back before the
worker is ready. This fills the table with ``--cascades`` cascades (a post and ``--shares`` shares
each) through a real worker, stops it with SIGTERM, starts a second one in the same group, and
prints the time from its start to ``worker: ready`` (tables recovered), the changelog size, and the
second worker's resident memory. Needs the broker (``scripts/kafka start``); deletes its topics.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import uuid

import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from aiokafka import AIOKafkaConsumer  # noqa: E402

from bench_pipeline import (count, preload, rss_mb, run_env, scrape, start_worker,  # noqa: E402
                            stop_workers, wait_ready)
from streams.topics import delete_topics  # noqa: E402

T0 = 1_795_000_000_000


def make_events(n_cascades: int, shares: int, seed: int = 3, spacing_ms: int = 20) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    out = []
    for c in range(n_cascades):
        root = f"r{c}"
        t = T0 + c * spacing_ms
        out.append((t, root.encode(), orjson.dumps(
            {"id": root, "kind": "post", "created_at": t, "author": {"id": f"a{c}", "followers": 500},
             "text": "Tåget är försenat igen @SJ_AB", "lang": "sv"})))
        for k in range(shares):
            ts = t + 1000 * (k + 1)
            out.append((ts, root.encode(), orjson.dumps(
                {"id": f"{root}-{k}", "kind": "share", "root_id": root, "created_at": ts,
                 "author": {"id": f"u{rng.randrange(10**6)}", "followers": rng.randrange(5000)}})))
    out.sort(key=lambda x: x[0])
    return [(k, v) for _, k, v in out]


async def distinct_keys(bootstrap: str, topic: str) -> int:
    c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False)
    await c.start()
    keys = set()
    try:
        while True:
            batch = await c.getmany(timeout_ms=1500)
            if not batch:
                return len(keys)
            for recs in batch.values():
                keys.update(r.key for r in recs)
    finally:
        await c.stop()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cascades", type=int, default=100_000)
    ap.add_argument("--shares", type=int, default=3)
    ap.add_argument("--spacing-ms", type=int, default=20,
                    help="event time between cascades (20: 100,000 span 33 min; 120: 3.3 h, most idle)")
    ap.add_argument("--broker", default=os.environ.get("VIRALITY_BROKER", "kafka://127.0.0.1:9092"))
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--profile", default=None,
                    help="run the restarted worker under cProfile and write its stats here (slows it down)")
    args = ap.parse_args()
    bootstrap = args.broker.split("://", 1)[-1]
    run = f"recov{uuid.uuid4().hex[:6]}"
    os.makedirs(".run", exist_ok=True)
    # idle cascades are dropped to their stored form every 5 s here (60 s by default)
    env = run_env(run, args.broker, metrics_port=9129, VIRALITY_BRANDS="sj=SJ,@SJ_AB",
                  VIRALITY_MAINTAIN_EVERY_S="5")
    events = make_events(args.cascades, args.shares, spacing_ms=args.spacing_ms)
    try:
        subprocess.run([sys.executable, "-m", "streams.cli", "topics"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        asyncio.run(preload(bootstrap, f"{run}.posts", events))
        print(f"preloaded {len(events):,} events ({args.cascades:,} cascades)", flush=True)
        w = start_worker(env, f".run/{run}-1.log")
        try:
            wait_ready(w, f".run/{run}-1.log", args.timeout)
            deadline = time.monotonic() + args.timeout
            done = 0.0
            while time.monotonic() < deadline and done < len(events):
                time.sleep(0.5)
                try:
                    m = scrape(9129)
                except OSError:
                    continue
                done = m.get("virality_events_consumed_total", 0) + m.get("virality_events_rejected_total", 0)
            if done < len(events):
                print(f"FAILED: {done:,.0f} of {len(events):,} processed")
                return 1
            first_rss, first_now = rss_mb(w.pid), rss_mb(w.pid, "VmRSS")
            time.sleep(5.5)  # a publication of the state gauges (every 5 s)
            gauges = scrape(9129)
        finally:
            stop_workers([w], timeout=60)
        changelog = asyncio.run(count(bootstrap, f"{run}-cascades-changelog"))
        keys = asyncio.run(distinct_keys(bootstrap, f"{run}-cascades-changelog"))
        print(f"first worker: processed everything, RSS {first_now:,.0f} MB (peak {first_rss:,.0f} MB); "
              f"changelog {changelog:,} records, {keys:,} cascades; it tracked "
              f"{gauges.get('virality_active_cascades', float('nan')):,.0f} cascades, "
              f"{gauges.get('virality_live_cascades', float('nan')):,.0f} of them in memory", flush=True)
        started = time.monotonic()
        w = start_worker(env, f".run/{run}-2.log", args.profile)
        try:
            ready = wait_ready(w, f".run/{run}-2.log", args.timeout)
            time.sleep(3.0)
            try:
                again = scrape(9129).get("virality_events_consumed_total", 0)
            except OSError:
                again = float("nan")
            print(f"restart: events processed again after the restart: {again:,.0f}")
            print(f"restart: ready {ready - started:.1f} s after start (tables recovered from "
                  f"{changelog:,} changelog records); peak RSS {rss_mb(w.pid):,.0f} MB")
        finally:
            stop_workers([w], timeout=60)
        return 0
    finally:
        asyncio.run(delete_topics(bootstrap, run))


if __name__ == "__main__":
    sys.exit(main())
