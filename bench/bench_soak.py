"""Soak: does a worker that runs for days stay bounded? A live stream at a steady rate through a real
Kafka broker, with event time running faster than the wall clock, so that a short run covers many
times the cascade expiry.

    scripts/kafka start
    .venv/bin/python -m bench.bench_soak                        # 20 min, 4,000 events/s, 60x time
    .venv/bin/python -m bench.bench_soak --minutes 60 --rate 8000 --expire-h 4

A producer writes ``--rate`` events a second (posts, shares, quotes and replies of new cascades,
Pareto sizes, a viral one now and then, five brands, texts in five languages) to fresh topics while
one ``virality worker`` reads them. Event time starts ``minutes x speedup`` in the past and runs
``--speedup`` times faster than the wall clock, so it ends near now (no event is from the future):
20 minutes at 60x are 20 hours of traffic, ten times the 2-hour ``VIRALITY_EXPIRE_S`` given to
the worker. Once event time has run past the expiry, cascades are forgotten as fast as new ones
come, so a worker without a leak holds a steady number of cascades and a steady memory.

Every ``--sample-s`` seconds it prints: event time reached, events produced and processed, the
consumer lag, cascades tracked and in memory, cascades forgotten so far, the resident memory of
the worker and of its text helpers, the records written to the cascade changelog and its size on
the broker's disk (which shrinks when Kafka compacts it). At the end (after the worker has worked
off what was produced) it prints whether every event was accounted for and how memory and the
tracked cascades moved over the second half of the run, when event time was well past the expiry:
the figures to read for a leak. Then (unless ``--no-restart``) a second worker starts on the same
topics, and the time it takes to read the changelog back is printed: what a restart costs after
such a run. Compaction runs on the wall clock (``VIRALITY_CHANGELOG_COMPACT_S``, 10 minutes by
default; ``--changelog-compact-s 120`` shows it more often in a short run). The run's topics are deleted afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import heapq
import math
import os
import random
import subprocess
import sys
import time
import uuid

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.bench_pipeline import (SCRAPED, TEXTS, count, descendants, real_texts, rss_mb, run_env,
                                  scrape, start_worker, stop_workers, wait_ready)
from streams.topics import delete_topics

BRANDS = ("acme", "sj", "ikea", "orlen", "dsb")
#: Cascade sizes: 10 x Pareto(1.2) shares, capped; one cascade in VIRAL_EVERY has VIRAL_SIZE.
SIZE_CAP = 3000
VIRAL_EVERY = 2000
VIRAL_SIZE = 2500
#: Mean delay of a share after its post (event seconds): ordinary and viral cascades.
MEAN_DELAY_S = 600.0
VIRAL_DELAY_S = 1800.0


class Stream:
    """Events in event-time order, generated as event time advances (``until``)."""

    def __init__(self, seed: int, start_ms: int, texts: dict[str, list[str]] = TEXTS):
        self.rng = random.Random(seed)
        self.texts = texts
        self.langs = list(texts)
        self.pending: list[tuple[int, int, bytes, bytes]] = []  # (time, seq, key, value)
        self.seq = 0
        self.cascades = 0
        self.clock_ms = start_ms
        sizes = [self._size(i) for i in range(1, 200_001)]
        self.mean_events = 1 + sum(sizes) / len(sizes)

    def _size(self, c: int) -> int:
        if c % VIRAL_EVERY == 0:
            return VIRAL_SIZE
        return min(SIZE_CAP, int(self.rng.paretovariate(1.2) * 10))

    def _push(self, t: int, key: bytes, event: dict) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (t, self.seq, key, orjson.dumps(event)))

    def _new_cascade(self, t0: int) -> None:
        rng = self.rng
        self.cascades += 1
        c = self.cascades
        root = f"c{c}"
        lang = self.langs[c % len(self.langs)]
        key = root.encode()
        self._push(t0, key, {"id": root, "kind": "post", "created_at": t0,
                             "author": {"id": f"a{c % 50_000}", "followers": rng.randrange(10, 100_000)},
                             "text": rng.choice(self.texts[lang]), "lang": lang,
                             "brands": [BRANDS[c % len(BRANDS)]]})
        size = self._size(c)
        mean = VIRAL_DELAY_S if size == VIRAL_SIZE else MEAN_DELAY_S
        for i in range(size):
            t = t0 + 1 + int(rng.expovariate(1.0 / mean) * 1000)
            kind = "share" if rng.random() < 0.8 else rng.choice(("reply", "quote"))
            e = {"id": f"{root}-{i}", "kind": kind, "root_id": root, "created_at": t,
                 "author": {"id": f"u{rng.randrange(10 ** 6)}", "followers": rng.randrange(0, 5000)}}
            if kind != "share":
                e["text"] = rng.choice(self.texts[lang])
                e["lang"] = lang
            self._push(t, key, e)

    def until(self, t_ms: int, rate_per_event_s: float) -> list[tuple[bytes, bytes]]:
        """Start new cascades between the last call and ``t_ms`` (so that about
        ``rate_per_event_s`` events per event-second result) and return every event due by then."""
        span_s = (t_ms - self.clock_ms) / 1000.0
        if span_s > 0:
            n_new = _poisson(self.rng, rate_per_event_s * span_s / self.mean_events)
            for _ in range(n_new):
                self._new_cascade(self.clock_ms + int(self.rng.random() * span_s * 1000))
            self.clock_ms = t_ms
        out = []
        while self.pending and self.pending[0][0] <= t_ms:
            _, _, k, v = heapq.heappop(self.pending)
            out.append((k, v))
        return out


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation above 50)."""
    if lam > 50:
        return max(0, round(rng.gauss(lam, lam ** 0.5)))
    n, p, limit = 0, rng.random(), math.exp(-lam)
    while p > limit:
        n += 1
        p *= rng.random()
    return n


#: The worker's series each sample reads.
METRICS = SCRAPED + ("virality_cascades_expired_total", "virality_cascades_evicted_total",
                     "virality_kafka_consumer_lag_messages", "virality_brand_events_late_total")

async def records(consumer: AIOKafkaConsumer, topic: str) -> int:
    """Records in ``topic`` (end minus start offsets; 0 while it does not exist yet)."""
    await consumer._client.force_metadata_update()
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        return 0
    tps = [TopicPartition(topic, p) for p in parts]
    ends, starts = await consumer.end_offsets(tps), await consumer.beginning_offsets(tps)
    return sum(ends[tp] - starts[tp] for tp in tps)


def slope(samples: list[dict], field: str) -> float:
    """Least-squares trend of ``field`` per hour of event time over ``samples``."""
    xs = [x["event_h"] for x in samples]
    ys = [x[field] for x in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


def disk_mb(data_dir: str, topic: str) -> float:
    """Size on the broker's disk of ``topic``'s log segments (MB; NaN without the directory):
    unlike the offsets, it shrinks when Kafka compacts."""
    if not os.path.isdir(data_dir):
        return math.nan
    total = 0
    for d in os.listdir(data_dir):
        if d.rpartition("-")[0] == topic:
            part = os.path.join(data_dir, d)
            total += sum(os.path.getsize(os.path.join(part, f)) for f in os.listdir(part) if f.endswith(".log"))
    return total / 1e6


def rss_split(pid: int) -> tuple[float, float]:
    """Current resident MB of the worker and, summed, of its text helpers."""
    procs = descendants(pid)
    return rss_mb(pid, "VmRSS"), sum(rss_mb(p, "VmRSS") for p in procs[1:])


async def produce(bootstrap: str, topic: str, stream: Stream, rate: float, speedup: float, seconds: float,
                  start_ms: int, produced: list[int]) -> None:
    """Write the stream for ``seconds`` of wall time at ``rate`` events/s: every tick, the events
    due by the event time that the wall clock maps to."""
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024)
    await p.start()
    try:
        t0 = time.monotonic()
        while True:
            wall = time.monotonic() - t0
            if wall >= seconds:
                break
            batch = stream.until(start_ms + int(wall * speedup * 1000), rate / speedup)
            for k, v in batch:
                await p.send(topic, v, key=k)
            produced[0] += len(batch)
            await asyncio.sleep(0.05)
        await p.flush()
    finally:
        await p.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=20.0, help="wall-clock length of the stream")
    ap.add_argument("--rate", type=float, default=4000.0, help="events per wall-clock second")
    ap.add_argument("--speedup", type=float, default=60.0, help="event seconds per wall-clock second")
    ap.add_argument("--expire-h", type=float, default=2.0, help="the worker's VIRALITY_EXPIRE_S, in hours")
    ap.add_argument("--sample-s", type=float, default=30.0, help="seconds between the printed samples")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--broker", default=os.environ.get("VIRALITY_BROKER", "kafka://127.0.0.1:9092"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--texts", default=None, metavar="DATA_DIR",
                    help="texts of real tweets from the shared data (sv, pl, en; default: 15 sentences)")
    ap.add_argument("--changelog-compact-s", type=int, default=None,
                    help="the worker's VIRALITY_CHANGELOG_COMPACT_S (wall-clock seconds; default: the "
                         "worker's own, 10 minutes)")
    ap.add_argument("--kafka-data", default=os.path.join(".kafka", "data"),
                    help="the broker's log directory, for the changelog's size on disk (scripts/kafka's)")
    ap.add_argument("--no-restart", action="store_true",
                    help="skip the restart at the end (a second worker recovering the tables)")
    args = ap.parse_args()
    if args.speedup < 1 or args.rate <= 0 or args.minutes <= 0:
        ap.error("need --speedup >= 1, --rate > 0 and --minutes > 0")
    if args.expire_h < 1.5:
        ap.error("--expire-h must be at least 1.5: the worker needs VIRALITY_EXPIRE_S >= VIRALITY_QUIET_S "
                 "+ VIRALITY_COOLDOWN_S (30 + 60 min by default)")
    bootstrap = args.broker.split("://", 1)[-1]
    run = f"soak{uuid.uuid4().hex[:6]}"
    port = 9139
    seconds = args.minutes * 60
    env = run_env(run, args.broker, metrics_port=port, VIRALITY_PARTITIONS=str(args.partitions),
                  VIRALITY_BRANDS=";".join(f"{b}={b.upper()}" for b in BRANDS),
                  VIRALITY_EXPIRE_S=str(int(args.expire_h * 3600)),
                  **({"VIRALITY_CHANGELOG_COMPACT_S": str(args.changelog_compact_s)}
                     if args.changelog_compact_s else {}))
    os.makedirs(".run", exist_ok=True)
    subprocess.run([sys.executable, "-m", "streams.cli", "topics"], env=env, check=True, stdout=subprocess.DEVNULL)
    # event time ends a minute before now: nothing is from the future, however late it is read
    start_ms = int(time.time() * 1000) - int(seconds * args.speedup * 1000) - 60_000
    stream = Stream(args.seed, start_ms, real_texts(args.texts) if args.texts else TEXTS)
    worker = start_worker(env, f".run/{run}.log")
    produced = [0]
    samples: list[dict] = []
    print(f"soak {run}: {args.minutes:g} min at {args.rate:,.0f} events/s, event time x{args.speedup:g} "
          f"({seconds * args.speedup / 3600:.1f} h of traffic), VIRALITY_EXPIRE_S {args.expire_h:g} h; "
          f"worker log .run/{run}.log", flush=True)
    print(f"{'wall':>6} {'event h':>7} {'produced':>10} {'processed':>10} {'lag':>8} {'cascades':>9} "
          f"{'in mem':>7} {'expired':>9} {'RSS MB':>7} {'helpers':>7} {'changelog':>10} {'disk MB':>8}", flush=True)

    async def sampler(task: asyncio.Task, offsets: AIOKafkaConsumer) -> None:
        t0 = time.monotonic()
        nxt = 0.0
        drained_at = None
        while True:
            wall = time.monotonic() - t0
            if wall >= nxt:
                nxt += args.sample_s
                try:
                    m = scrape(port, METRICS, timeout=5.0)
                except OSError:
                    m = {}
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited with {worker.returncode}: see .run/{run}.log")
                w, h = rss_split(worker.pid)
                log = await records(offsets, f"{run}-cascades-changelog")
                mb = disk_mb(args.kafka_data, f"{run}-cascades-changelog")
                done = m.get("virality_events_consumed_total", 0) + m.get("virality_events_rejected_total", 0)
                ev_h = min(wall, seconds) * args.speedup / 3600
                s = dict(wall=wall, event_h=ev_h, produced=produced[0], done=done, rss=w, helpers=h,
                         log=log, mb=mb, **m)
                samples.append(s)
                print(f"{wall / 60:5.1f}m {ev_h:7.1f} {produced[0]:10,} {done:10,.0f} "
                      f"{m.get('virality_kafka_consumer_lag_messages', float('nan')):8,.0f} "
                      f"{m.get('virality_active_cascades', float('nan')):9,.0f} "
                      f"{m.get('virality_live_cascades', float('nan')):7,.0f} "
                      f"{m.get('virality_cascades_expired_total', float('nan')):9,.0f} "
                      f"{w:7,.0f} {h:7,.0f} {log:10,} {mb:8,.1f}", flush=True)
                if task.done() and done >= produced[0]:
                    if drained_at is None:  # one more sample after the last event, then stop
                        drained_at = wall
                    elif wall > drained_at:
                        return
                if task.done() and wall > seconds + 600:
                    raise RuntimeError(f"{produced[0] - done:,.0f} events still unprocessed 10 minutes "
                                       "after the stream ended")
            await asyncio.sleep(1.0)

    async def run_all() -> None:
        task = asyncio.ensure_future(produce(bootstrap, f"{run}.posts", stream, args.rate, args.speedup,
                                             seconds, start_ms, produced))
        offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        await offsets.start()
        try:
            await sampler(task, offsets)
        finally:
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await offsets.stop()

    try:
        try:
            asyncio.run(run_all())
        except RuntimeError as e:
            print(f"FAILED: {e}")
            return 1
        finally:
            stop_workers([worker], timeout=60)
        code = report(samples, args, seconds)
        if not args.no_restart:
            restart(env, run, bootstrap, samples[-1], args.kafka_data)
        return code
    finally:
        asyncio.run(delete_topics(bootstrap, run))


def restart(env: dict[str, str], run: str, bootstrap: str, last: dict, kafka_data: str) -> None:
    """Start a second worker on the soaked topics and say how long it takes to recover its tables
    from the changelog (the worker's ``ready``), and whether it processes anything again."""
    log_records = asyncio.run(count(bootstrap, f"{run}-cascades-changelog"))
    mb = disk_mb(kafka_data, f"{run}-cascades-changelog")
    log = f".run/{run}-restart.log"
    started = time.monotonic()
    w = start_worker(env, log)
    try:
        ready = wait_ready(w, log, timeout=1800)
        time.sleep(6.0)  # a publication of the state gauges (every 5 s)
        m = scrape(int(env["VIRALITY_METRICS_PORT"]), METRICS, timeout=5.0)
        print(f"restart           ready {ready - started:.1f} s after start, recovering a changelog of "
              f"{mb:,.1f} MB ({log_records:,} records written to it) for {m.get('virality_active_cascades', float('nan')):,.0f} cascades "
              f"(the first worker tracked {last.get('virality_active_cascades', float('nan')):,.0f}); "
              f"events processed again: {m.get('virality_events_consumed_total', 0):,.0f}; "
              f"RSS {rss_mb(w.pid, 'VmRSS'):,.0f} MB", flush=True)
    finally:
        stop_workers([w], timeout=60)


def report(samples: list[dict], args, seconds: float) -> int:
    last = samples[-1]
    during = [s for s in samples if s["wall"] <= seconds]
    half = [s for s in during if s["wall"] >= seconds / 2]
    expire_wall = args.expire_h * 3600 / args.speedup
    print()
    print(f"events            {last['produced']:,} produced, {last['done']:,.0f} processed "
          f"({last.get('virality_events_rejected_total', 0):,.0f} of them rejected), "
          f"{last.get('virality_alerts_total', 0):,.0f} alert transitions, "
          f"{last.get('virality_brand_events_late_total', 0):,.0f} brand events late")
    print(f"throughput        {last['produced'] / seconds:,.0f} events/s produced; largest lag "
          f"{max(s.get('virality_kafka_consumer_lag_messages', 0) for s in samples):,.0f} messages")
    if len(half) >= 2 and half[0]["wall"] > expire_wall:
        a, b = half[0], half[-1]
        print(f"second half       ({a['event_h']:.1f} to {b['event_h']:.1f} h of event time, expiry at "
              f"{args.expire_h:g} h): worker RSS {a['rss']:,.0f} -> {b['rss']:,.0f} MB "
              f"(trend {slope(half, 'rss'):+,.1f} MB per hour of event time), text helpers "
              f"{a['helpers']:,.0f} -> {b['helpers']:,.0f} MB; cascades tracked "
              f"{a.get('virality_active_cascades', 0):,.0f} -> {b.get('virality_active_cascades', 0):,.0f}; "
              f"changelog {a['log']:,} -> {b['log']:,} records written, {a['mb']:,.1f} -> {b['mb']:,.1f} MB "
              "on disk")
        print(f"peak              worker RSS {max(s['rss'] for s in samples):,.0f} MB, cascades tracked "
              f"{max(s.get('virality_active_cascades', 0) for s in samples):,.0f}")
    else:
        print("second half       the run is too short for event time to pass the expiry before its "
              "second half: nothing to say about a leak (raise --minutes or --speedup)")
    lost = last["produced"] - last["done"]
    if lost:
        print(f"FAILED: {lost:,.0f} events produced but not processed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
