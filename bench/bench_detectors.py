"""Throughput and state size of velocity + forecast + assess, on one core, synthetic events.

    python -m bench.bench_detectors [--events 200000] [--cascades 200000]

Figures printed:
* events/s with ``learn_one`` on both detectors and ``assess`` (with a fresh forecast) after every
  event, and with ``assess`` once per 10 s of event time per cascade (the cheaper policy);
* events/s through the detector's own per-cascade path (``CascadeState.learn_share`` + ``decide``,
  which assesses on 4 % growth or once a minute, from ``min_shares`` on): the product's figure;
* JSON bytes of velocity + forecast state for a quiet and for a busy cascade;
* bytes of Python objects per live cascade (tracemalloc), for a quiet and a busy cascade;
* resident memory for ``--cascades`` live cascades (each with a few shares) and the extrapolation
  to 1,000,000, and for ``--full-cascades`` whole ``CascadeState`` objects as the worker holds them
  (``--full-cascades 1000000`` holds a million at once).
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import random
import resource
import time
import tracemalloc

from detectors.cascade import CascadeState
from detectors.events import Event
from detectors.forecast import CascadeForecast
from detectors.velocity import ShareVelocity
from detectors.virality import ViralityThresholds, assess

T0 = 1_700_000_000_000
TH = ViralityThresholds()


def synthetic_events(n, n_cascades=1000, seed=1):
    """(cascade index, epoch ms, followers), interleaved, roughly 200 shares/s overall."""
    rnd = random.Random(seed)
    t = T0
    out = []
    for _ in range(n):
        t += rnd.randint(0, 10)
        out.append((rnd.randrange(n_cascades), t, rnd.choice((None, rnd.randint(0, 5000)))))
    return out


def throughput(events, assess_every_ms):
    state = {}
    last_assess = {}
    t_start = time.perf_counter()
    for c, t, f in events:
        s = state.get(c)
        if s is None:
            s = state[c] = (ShareVelocity(), CascadeForecast(), t)
        v, fc, t_root = s
        v.learn_one(t, f)
        age = (t - t_root) / 1000.0
        fc.learn_one(age, f)
        if assess_every_ms == 0 or t - last_assess.get(c, -10**15) >= assess_every_ms:
            last_assess[c] = t
            assess(v.shares, v, fc.predict(age), age, t, TH)
    return len(events) / (time.perf_counter() - t_start)


def cascade_throughput(events):
    """The detector's own per-event path: :class:`CascadeState` ``learn_share`` + ``decide``.

    Every cascade is a complaint (so every one is a candidate for an alert) and decisions follow the
    detector's policy: none below ``min_shares``, then a check on 4 % growth or a minute of event
    time. A check of an open alert that the forecast cannot escalate skips the classifier, and one
    of an escalated alert skips the assessment (see ``CascadeState.decide``); both are counted as
    checks. Events are decoded beforehand (decoding and text analysis are measured by ``virality detect``).
    """
    decoded = [Event(f"e{i}", "share", f"c{c}", None, t, "u", f, None, None, None, (), None)
               for i, (c, t, f) in enumerate(events)]
    state = {}
    decisions = transitions = 0
    t_start = time.perf_counter()
    for e in decoded:
        c = state.get(e.root_id)
        if c is None:
            c = state[e.root_id] = CascadeState.new(e)
            c.root_seen, c.root_kind = True, "complaint"
        c.learn_share(e)
        checked = c.check_ms
        if c.decide(e.t_ms, TH, 3600.0) is not None:
            transitions += 1
        decisions += c.check_ms != checked
    rate = len(events) / (time.perf_counter() - t_start)
    return rate, decisions, transitions


def state_bytes(n_events, seed=2):
    rnd = random.Random(seed)
    v, fc = ShareVelocity(), CascadeForecast()
    t = T0
    for _ in range(n_events):
        t += rnd.randint(0, 2000)
        f = rnd.randint(0, 10**6)
        v.learn_one(t, f)
        fc.learn_one((t - T0) / 1000.0, f)
    return len(json.dumps({"v": v.to_state(), "f": fc.to_state()}, separators=(",", ":")))


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def memory(n_cascades):
    gc.collect()
    before = rss_mb()
    live = {}
    for i in range(n_cascades):
        v, fc = ShareVelocity(), CascadeForecast()
        for k in range(3):
            v.learn_one(T0 + i + k * 5000, 100)
            fc.learn_one(k * 5.0, 100)
        live[i] = (v, fc)
    gc.collect()
    after = rss_mb()
    return after - before, len(live)


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def one_cascade(i, shares, root_text=""):
    """Cascade ``c{i}``: its root post and ``shares`` shares 5 s apart, as the worker holds it
    (duplicate ids and applied offsets remembered)."""
    root = f"c{i}"
    c = CascadeState.new(Event(root, "post", root, None, T0 + i, "a", 1000, None, None, None, (), None))
    c.root_seen = True
    c.root_text = root_text
    for k in range(shares):
        e = Event(f"{root}-{k}", "share", root, None, T0 + i + k * 5000, "u", 100, None, None, None, (), None)
        c.learn_share(e)
        c.remember(e)
        c.mark_applied("posts#0", i * shares + k)  # the worker's source id: topic#partition
    return c


def full_cascades(n_cascades, shares=3):
    """RSS growth for ``n_cascades`` whole :class:`CascadeState` objects (root post, ``shares``
    shares each, duplicate ids and applied offsets remembered), in the dict the worker keeps."""
    gc.collect()
    before = current_rss_mb()
    live = {}
    for i in range(n_cascades):
        c = one_cascade(i, shares)
        live[c.root_id] = c
    gc.collect()
    return current_rss_mb() - before, len(live)


def traced_bytes(n_cascades=2000, shares=3):
    """Bytes of Python objects per live cascade (velocity + forecast), by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    live = []
    for i in range(n_cascades):
        v, fc = ShareVelocity(), CascadeForecast()
        for k in range(shares):
            v.learn_one(T0 + i + k * 5000, 100)
            fc.learn_one(k * 5.0, 100)
        live.append((v, fc))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # the list holding them and its tuples are the caller's, not the cascade's
    per = (after - before - sys.getsizeof(live) - n_cascades * sys.getsizeof((1, 2))) / n_cascades
    return per


def stored_bytes(n_cascades=20_000, shares=3):
    """Bytes per idle cascade as the worker keeps it: the serialized state in the table (key, value,
    dict slot) plus its entry in the expiry index (:class:`streams.app.TableScan`), by tracemalloc."""
    from streams.app import TableScan, dumps_kept  # the worker's own code (imports Faust)

    states = [(f"c{i}", one_cascade(i, shares, "Tåget är försenat igen @SJ_AB").to_state())
              for i in range(n_cascades)]

    class Table:
        data: dict = {}

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    table = Table()
    table.data = {root.encode(): dumps_kept(st) for root, st in states}  # keys too, as the worker
    for _ in TableScan(table, {0, 1, 2, 3}, 4).run():
        pass
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    value = sum(len(v) for v in table.data.values()) / n_cascades
    return (after - before) / n_cascades, value


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--cascades", type=int, default=200_000)
    ap.add_argument("--full-cascades", type=int, default=200_000,
                    help="whole CascadeState objects to hold at once (try 1000000)")
    args = ap.parse_args(argv)
    events = synthetic_events(args.events)
    mb, n = memory(args.cascades)  # first: the RSS figure is a growth of the peak
    full_mb, full_n = full_cascades(args.full_cascades)
    every = throughput(events, 0)
    per10s = throughput(events, 10_000)
    learn_only = throughput(events, 10**15)
    # 200 cascades of about 1,000 shares (one share a second each): past ``min_shares`` (400), so
    # decisions are made; and the 1,000 quieter cascades of the other figures (200 shares each)
    product, decisions, transitions = cascade_throughput(synthetic_events(args.events, n_cascades=200))
    quiet_product, _, _ = cascade_throughput(events)
    quiet, busy = state_bytes(20), state_bytes(100_000)
    traced = traced_bytes()
    traced_busy = traced_bytes(200, shares=2000)
    stored, stored_value = stored_bytes()
    print(f"events/s, learn + assess after every event:      {every:>10,.0f}")
    print(f"events/s, learn + assess once per 10 s/cascade:  {per10s:>10,.0f}")
    print(f"events/s, learn only (velocity + forecast):      {learn_only:>10,.0f}")
    print(f"events/s, CascadeState learn_share + decide:     {product:>10,.0f}  (200 cascades, "
          f"{decisions:,} checks, {transitions} alert transitions)")
    print(f"events/s, the same over 1,000 quieter cascades:  {quiet_product:>10,.0f}  (one share per 5 s "
          f"each, none reaches min_shares)")
    print(f"state JSON bytes per cascade: quiet (20 shares) {quiet}, busy (100,000 shares) {busy}")
    print(f"Python objects per live cascade (tracemalloc, velocity + forecast): {traced:,.0f} bytes "
          f"with 3 shares, {traced_busy:,.0f} bytes with 2,000")
    print(f"memory: {mb:,.0f} MB RSS for {n:,} live cascades = {mb * 1024 / n:.2f} KB each; "
          f"1,000,000 cascades ~ {mb * 1_000_000 / n / 1024:.1f} GB")
    print(f"memory, whole CascadeState (ids, offsets, alert state): {full_mb:,.0f} MB RSS for "
          f"{full_n:,} cascades = {full_mb * 1024 / full_n:.2f} KB each"
          + ("" if full_n >= 1_000_000 else f"; 1,000,000 ~ {full_mb * 1_000_000 / full_n / 1024:.1f} GB"))
    print(f"memory, an idle cascade in the worker (stored form, {stored_value:,.0f}-byte value, plus its "
          f"expiry index entry): {stored:,.0f} bytes (tracemalloc)")


if __name__ == "__main__":
    main()
