"""Throughput of ``virality detect`` as a user runs it: the whole process, from start-up to the
last alert written (reading, JSON decoding, ordering by event time, text analysis and the chain).

    .venv/bin/python -m bench.bench_detect [--events 200000] [--texts DATA_DIR] [--runs 3] [--jobs N]

The events are those of ``bench_pipeline`` (posts, shares, quotes and replies over many cascades,
a few viral); ``--texts DATA_DIR`` takes the texts from real tweets in the shared data (read at run
time), as ``bench_pipeline --texts`` does: the figure for a varied stream, with about 43,000 texts
in 200,000 events. Each run is a separate ``virality detect`` process; the figures printed are
``detect``'s own (its last line on stderr) and the wall time of the process, per run and their
median. Target (issue 3): 50,000 events/s or more for the whole process.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from bench.bench_pipeline import make_events, real_texts

TARGET = 50_000
#: detect's summary line: "... in 2.31s (86,650/s) ... whole command 3.16s (63,218/s ..."
SUMMARY = re.compile(r"events in ([\d.]+)s .*?(\d+) process\(es\); whole command ([\d.]+)s")


def run_detect(path: str, out: str, jobs: int | None) -> tuple[float, float, float, int, str]:
    """One ``virality detect`` process over ``path``: (processing s, detect's whole-command s, wall
    s of the process, alert lines written, detect's summary line)."""
    cmd = [sys.executable, "-m", "streams.cli", "detect", "--input", path, "--output", out]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t
    if r.returncode != 0:
        raise SystemExit(f"detect failed ({r.returncode}):\n{r.stderr}")
    line = r.stderr.strip().splitlines()[-1]
    m = SUMMARY.search(line)
    if m is None:
        raise SystemExit(f"cannot read detect's summary line: {line!r}")
    with open(out, "rb") as f:
        alerts = sum(1 for _ in f)
    return float(m.group(1)), float(m.group(3)), wall, alerts, line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--texts", default=None, metavar="DATA_DIR",
                    help="texts from real tweets in the shared data (default: 15 sentences)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None, help="detect --jobs (default: detect's own choice)")
    args = ap.parse_args(argv)
    events = make_events(args.events, texts=real_texts(args.texts) if args.texts else None)
    with tempfile.TemporaryDirectory(prefix="bench_detect") as tmp:
        path, out = os.path.join(tmp, "events.jsonl"), os.path.join(tmp, "alerts.jsonl")
        with open(path, "wb") as f:
            f.writelines(v + b"\n" for _, v in events)
        print(f"{len(events):,} events ({os.path.getsize(path) / 2**20:.1f} MiB, "
              f"{'real tweets' if args.texts else 'built-in sentences'}), {os.cpu_count()} cores", flush=True)
        whole_rates, wall_rates, alerts = [], [], set()
        for i in range(args.runs):
            proc, whole, wall, n_alerts, line = run_detect(path, out, args.jobs)
            whole_rates.append(len(events) / whole)
            wall_rates.append(len(events) / wall)
            alerts.add(n_alerts)
            print(f"run {i + 1}: processing {proc:.2f}s, whole command {whole:.2f}s = "
                  f"{whole_rates[-1]:,.0f} events/s, process wall time {wall:.2f}s = {wall_rates[-1]:,.0f} "
                  f"events/s; {n_alerts} alerts", flush=True)
        print(f"median: whole command {statistics.median(whole_rates):,.0f} events/s, process wall "
              f"time {statistics.median(wall_rates):,.0f} events/s (target {TARGET:,}); "
              f"alerts per run {sorted(alerts)}")
        print(f"detect said: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
