"""End-to-end throughput of the whole job through a real Kafka broker.

Pre-loads N synthetic events (posts, shares, quotes and replies over many cascades, a few viral,
texts in five languages) into fresh topics, then starts ``virality worker`` and measures the time
from its first consumed event until all N are accounted for (consumed + rejected, read from its
/metrics), i.e. the sustained rate with a backlog, and the alerts it sent.

    scripts/kafka start
    .venv/bin/python -m bench.bench_pipeline --events 200000

Prints events/s, alerts, peak RSS of the worker and the changelog records written (how many state
writes the batching saved).

The built-in texts are 15 short sentences, so the per-word caches of the text analysis are always
warm: an upper bound. ``--texts DATA_DIR`` takes the posts', quotes' and replies' texts from real
tweets instead (the Mozetič et al. sv/pl/en sets in the shared data, read at run time, taken in
turn: with 200,000 events about two thirds of the 43,000 texts are distinct): the figure for a
varied stream.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.topics import delete_topics  # (the project is installed in the venv)

TEXTS = {
    "sv": ["Tåget är försenat igen, ingen information alls", "Tack för bra service idag!", "Vad tycker ni om nya appen?"],
    "no": ["Flyet ble kansellert og ingen refusjon", "Fantastisk kundeservice, tusen takk", "Noen som vet når butikken åpner?"],
    "da": ["Pakken er aldrig kommet, elendig service", "Super god oplevelse i butikken i dag", "Hvornår åbner I?"],
    "pl": ["Opóźnienie pociągu znowu, skandal", "Świetna obsługa, dziękuję bardzo", "Czy ktoś wie jak złożyć reklamację?"],
    "en": ["My order never arrived and support is useless", "Great service today, thank you!", "Does anyone know the opening hours?"],
}


def real_texts(data_dir: str) -> dict[str, list[str]]:
    """Real tweets by language (sv, pl, en), for ``make_events(texts=...)``."""
    import csv

    out: dict[str, list[str]] = {}
    for lang, fname in (("sv", "swe.csv"), ("pl", "pol.csv"), ("en", "eng.csv")):
        with open(os.path.join(data_dir, "mozetic-twitter-sentiment-pl-sv-en", fname), encoding="utf-8") as f:
            out[lang] = [row["text"] for row in csv.DictReader(f) if row["text"].strip()]
    return out


def make_events(n: int, seed: int = 1, texts: dict[str, list[str]] | None = None) -> list[tuple[bytes, bytes]]:
    """``n`` events over cascades of Pareto sizes (one of 500 has 2,000 shares); ``texts`` by
    language replaces the built-in sentences, each used once in turn (from the start again only
    when a language's texts run out)."""
    rng = random.Random(seed)
    pools = texts or TEXTS
    turn = {lang: 0 for lang in pools}

    def text_of(lang: str) -> str:
        if texts is None:
            return rng.choice(TEXTS[lang])
        pool = pools[lang]
        i = turn[lang]
        turn[lang] = i + 1
        return pool[i % len(pool)]  # each once; wraps only past the end of the set

    base = int(time.time() * 1000) - 8 * 3600 * 1000  # every event time lies in the past (no from_the_future)
    out: list[tuple[int, bytes, bytes]] = []
    cascades = max(1, n // 40)
    langs = list(pools)
    made = 0
    for c in range(cascades):
        if made >= n:
            break
        root = f"c{c}"
        t0 = base + rng.randrange(0, 5 * 3600 * 1000)
        lang = langs[c % len(langs)]
        size = 2000 if c % 500 == 0 else int(rng.paretovariate(1.2) * 10)
        size = min(size, n - made - 1)
        out.append((t0, root.encode(), orjson.dumps({"id": root, "kind": "post", "created_at": t0,
                    "author": {"id": f"a{c}", "followers": rng.randrange(10, 100000)},
                    "text": text_of(lang), "lang": lang, "brands": ["acme"]})))
        made += 1
        for i in range(size):
            t = t0 + int(rng.expovariate(1 / 600_000))
            kind = "share" if rng.random() < 0.8 else rng.choice(("reply", "quote"))
            e = {"id": f"{root}-{i}", "kind": kind, "root_id": root, "created_at": t,
                 "author": {"id": f"u{rng.randrange(10**6)}", "followers": rng.randrange(0, 5000)}}
            if kind != "share":
                e["text"] = text_of(lang)
                e["lang"] = lang
            out.append((t, root.encode(), orjson.dumps(e)))
            made += 1
    out.sort(key=lambda x: x[0])
    return [(k, v) for _, k, v in out]


async def preload(bootstrap: str, topic: str, events: list[tuple[bytes, bytes]]) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=10, max_batch_size=1024 * 1024)
    await p.start()
    try:
        for k, v in events:
            await p.send(topic, v, key=k)
        await p.flush()
    finally:
        await p.stop()


async def count(bootstrap: str, topic: str) -> int:
    """Records currently in ``topic`` (end offset minus start offset, over its partitions)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        parts = [p["partition"] for p in described[0]["partitions"]]
    finally:
        await admin.close()
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        ends = await c.end_offsets(tps)
        starts = await c.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        await c.stop()


async def dump(bootstrap: str, topic: str, path: str) -> None:
    c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False)
    await c.start()
    try:
        with open(path, "wb") as f:
            while True:
                batch = await c.getmany(timeout_ms=1500)
                if not batch:
                    return
                for recs in batch.values():
                    f.writelines(r.value + b"\n" for r in recs)
    finally:
        await c.stop()


#: The worker's series :func:`scrape` reads by default.
SCRAPED = ("virality_events_consumed_total", "virality_events_rejected_total", "virality_alerts_total",
           "virality_active_cascades", "virality_live_cascades")


def scrape(port: int, names: tuple[str, ...] = SCRAPED, timeout: float = 2.0) -> dict[str, float]:
    """The worker's ``names`` series on ``port``, each summed over its labels."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout).read().decode()
    line_re = re.compile(r"^(" + "|".join(names) + r")(?:\{.*\})? (\S+)$")
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = line_re.match(line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    """Peak resident memory of ``pid`` in MB (``field="VmRSS"``: the current one)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def descendants(pid: int) -> list[int]:
    """``pid`` and its live child processes, recursively (a worker's text helpers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def cpu_s(pid: int, helpers: bool = True) -> float:
    """CPU seconds (user + system) used so far by ``pid``, and by its live child processes (its
    text helpers) unless ``helpers`` is False."""
    total = 0
    for p in descendants(pid) if helpers else [pid]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_env(run: str, broker: str, metrics_port: int, **extra: str) -> dict[str, str]:
    """The environment of a worker on run-specific topics, group and data directory."""
    return dict(os.environ, VIRALITY_APP_ID=run, VIRALITY_POSTS_TOPIC=f"{run}.posts",
                VIRALITY_ALERTS_TOPIC=f"{run}.alerts", VIRALITY_DEADLETTER_TOPIC=f"{run}.dlq",
                VIRALITY_REPARTITION_TOPIC=f"{run}.byroot", VIRALITY_BRAND_TOPIC=f"{run}.brand",
                VIRALITY_METRICS_PORT=str(metrics_port), VIRALITY_DATA_DIR=f".run/{run}",
                VIRALITY_LOG_LEVEL="warning", VIRALITY_BROKER=broker,
                VIRALITY_SESSION_TIMEOUT_S="10", VIRALITY_HEARTBEAT_S="1", **extra)


def stop_workers(workers: list[subprocess.Popen], timeout: float = 30) -> None:
    """SIGTERM every worker, then wait for each (killing one that does not stop in time)."""
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout)
        except subprocess.TimeoutExpired:
            w.kill()


def start_worker(env: dict[str, str], log: str, profile: str | None = None) -> subprocess.Popen:
    """``virality worker`` in the background, its log in ``log`` (under cProfile with ``profile``)."""
    prof = ["-m", "cProfile", "-o", profile] if profile else []
    return subprocess.Popen([sys.executable, *prof, "-m", "streams.cli", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))


def wait_ready(w: subprocess.Popen, log: str, timeout: float) -> float:
    """Monotonic time at which worker ``w`` logged ``worker: ready`` (its tables recovered)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log) as f:
            if "worker: ready" in f.read():
                return time.monotonic()
        if w.poll() is not None:
            raise SystemExit(f"worker exited with {w.returncode}; see {log}")
        time.sleep(0.1)
    raise SystemExit(f"worker not ready after {timeout}s; see {log}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--broker", default=os.environ.get("VIRALITY_BROKER", "kafka://127.0.0.1:9092"))
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--workers", type=int, default=1, help="worker processes in the group (scale-out)")
    ap.add_argument("--alerts-out", default=None, help="write the alert topic here (JSONL) before cleaning up")
    ap.add_argument("--events-out", default=None, help="write the generated events here (JSONL)")
    ap.add_argument("--texts", default=None, metavar="DATA_DIR",
                    help="take texts from real tweets in the shared data (a varied stream; default: 15 sentences)")
    ap.add_argument("--profile", default=None,
                    help="run the (first) worker under cProfile and write its stats here (slows it down; "
                         "nothing is written if the worker has to be killed at shutdown)")
    args = ap.parse_args()
    bootstrap = args.broker.split("://", 1)[-1]
    run = f"bench{uuid.uuid4().hex[:6]}"
    env = run_env(run, args.broker, metrics_port=9119, VIRALITY_PARTITIONS=str(args.partitions),
                  VIRALITY_BRANDS="acme=Acme")
    os.makedirs(".run", exist_ok=True)
    print(f"generating {args.events:,} events ...", flush=True)
    events = make_events(args.events, texts=real_texts(args.texts) if args.texts else None)
    if args.events_out:
        with open(args.events_out, "wb") as f:
            f.writelines(v + b"\n" for _, v in events)
    subprocess.run([sys.executable, "-m", "streams.cli", "topics"], env=env, check=True, stdout=subprocess.DEVNULL)
    t = time.monotonic()
    asyncio.run(preload(bootstrap, f"{run}.posts", events))
    print(f"preloaded {len(events):,} events in {time.monotonic() - t:.1f}s", flush=True)
    workers = []
    for i in range(args.workers):
        wenv = dict(env, VIRALITY_METRICS_PORT=str(9119 + i))
        workers.append(start_worker(wenv, f".run/{run}-{i}.log", args.profile if i == 0 else None))
    try:
        first = None
        deadline = time.monotonic() + args.timeout
        done = 0.0
        m: dict[str, float] = {}
        while time.monotonic() < deadline:
            time.sleep(0.2)
            m = {}
            for i in range(args.workers):
                try:
                    for k, v in scrape(9119 + i).items():
                        m[k] = m.get(k, 0.0) + v
                except OSError:
                    pass
            done = m.get("virality_events_consumed_total", 0) + m.get("virality_events_rejected_total", 0)
            if done and first is None:
                first = (time.monotonic(), done)
                cpu0 = sum(cpu_s(w.pid) for w in workers)
                own0 = sum(cpu_s(w.pid, helpers=False) for w in workers)
            if done >= len(events):
                break
        end = time.monotonic()
        cpu1 = sum(cpu_s(w.pid) for w in workers) if first else 0.0
        own1 = sum(cpu_s(w.pid, helpers=False) for w in workers) if first else 0.0
        if first is None or done < len(events):
            print(f"FAILED: {done:,.0f} of {len(events):,} processed before the timeout")
            return 1
        rate = (done - first[1]) / max(end - first[0], 1e-9)
        print(f"events            {len(events):,}")
        print(f"throughput        {rate:,.0f} events/s (backlog, {args.partitions} partitions, {args.workers} worker process(es))")
        print(f"alerts            {m.get('virality_alerts_total', 0):,.0f}")
        print(f"rejected          {m.get('virality_events_rejected_total', 0):,.0f}")
        span = max(end - first[0], 1e-9)
        print(f"worker CPU        {(cpu1 - cpu0) / span:.0%} of one core while draining: workers {(own1 - own0) / span:.0%}, "
              f"their text helpers {(cpu1 - cpu0 - own1 + own0) / span:.0%}")
        print(f"worker peak RSS   {max(rss_mb(w.pid) for w in workers):,.0f} MB", flush=True)
        time.sleep(2.0)
        changelog = asyncio.run(count(bootstrap, f"{run}-cascades-changelog"))
        print(f"changelog records {changelog:,} ({changelog / len(events):.3f} per event)")
        return 0
    finally:
        stop_workers(workers)
        if args.alerts_out:
            asyncio.run(dump(bootstrap, f"{run}.alerts", args.alerts_out))
        asyncio.run(delete_topics(bootstrap, run))


if __name__ == "__main__":
    sys.exit(main())
