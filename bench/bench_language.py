"""Throughput of language id + sentiment + complaint (DefaultAnalyzer.analyze) on 280-char posts.

    .venv/bin/python bench/bench_language.py [--n 20000] [--repeat 3] [--data ../shared/data] [--brands 300]

Runs in one thread and measures its CPU time, so the figure is per core. Posts are built from hand-written sentences in the
five supported languages (no data set needed), cut or padded to 280 characters, with handles,
emoji and a link mixed in as on real platforms. They repeat, so the per-word caches are warm: an
upper bound. With ``--data`` the posts are glued from real tweets (sv, pl, en), the caches are
warmed on one half and the other, unseen half is timed once: the honest figure for a worker that
has been running for a while on a varied stream.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

SENTENCES = [
    "@SJ_AB tåget är försenat igen och ingen i kundtjänst svarar, jag vill ha pengarna tillbaka 😡",
    "Fantastisk service från er idag, tack för den snabba hjälpen! Rekommenderar varmt 👍",
    "@Fly_Norwegian flyet var forsinket i fire timer og bagasjen min er fortsatt borte. Aldri igjen!",
    "Tusen takk for rask levering, veldig fornøyd med varen og kundeservicen 🙂",
    "Jeg har ventet tre uger på min refusion og ingen svarer på mine mails. Elendig kundeservice",
    "Hvornår åbner butikken i morgen? Skal hente en pakke https://t.co/abc123",
    "@PKP_Intercity pociąg znowu opóźniony o godzinę, czekam na zwrot pieniędzy od miesiąca!!!",
    "Bardzo dziękuję za miłą obsługę, wszystko działa świetnie, polecam 😍",
    "@AmericanAir my flight was delayed 5 hours and now my bag is lost. Worst customer service EVER",
    "Thanks so much for sorting out my refund so quickly, really appreciate it!",
]


def posts(n: int, length: int = 280) -> list[str]:
    """``n`` synthetic posts: one hand-written sentence repeated to ``length`` characters."""
    out = []
    k = len(SENTENCES)
    for i in range(n):
        text = SENTENCES[i % k]
        while len(text) < length:
            text += " " + SENTENCES[i % k]
        out.append(f"{text[:length - 4]} #{i % 97}")
    return out


def real_posts(data_dir: str, n: int, length: int = 280) -> list[str]:
    """``n`` posts of ``length`` characters glued from consecutive real tweets of one language
    (the Mozetič et al. sets in the shared data; read at run time, never copied)."""
    import csv

    out: list[str] = []
    for fname in ("swe.csv", "pol.csv", "eng.csv"):
        with open(os.path.join(data_dir, "mozetic-twitter-sentiment-pl-sv-en", fname), encoding="utf-8") as f:
            buf = ""
            for row in csv.DictReader(f):
                buf = f"{buf} {row['text']}" if buf else row["text"]
                if len(buf) >= length:
                    out.append(buf[:length])
                    buf = ""
                    if len(out) >= n * (("swe.csv", "pol.csv", "eng.csv").index(fname) + 1) // 3:
                        break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", help="shared data dir: use real tweets (sv, pl, en) instead of synthetic posts")
    ap.add_argument("--brands", type=int, default=0,
                    help="configure this many more brands (made-up names, each with a handle and a "
                         "two-word alias), as a social-listening deployment would; every tenth post "
                         "then names one of them")
    args = ap.parse_args()
    t0 = time.perf_counter()
    from detectors.understanding import DefaultAnalyzer  # timed: importing loads the word lists

    brands = {"SJ": ["@SJ_AB"], "Norwegian": ["@Fly_Norwegian"], "PKP": ["@PKP_Intercity"],
              "American Airlines": ["@AmericanAir"]}
    for i in range(args.brands):
        brands[f"Brand{i}"] = [f"@Brand{i}Help", f"Brand{i} Group"]
    analyzer = DefaultAnalyzer(brands)
    load = time.perf_counter() - t0
    if args.data:
        # Warm the per-word caches on one half, time the other: unseen posts, seen language.
        glued = real_posts(args.data, args.n)
        warm, texts = glued[::2], glued[1::2]
        args.repeat = 1  # a second pass would find every word cached
    else:
        texts = posts(args.n)
        warm = texts[:200]
    if args.brands:
        texts = [f"@Brand{i % args.brands}Help {t}"[:len(t)] if i % 10 == 0 else t for i, t in enumerate(texts)]
    for t in warm:
        analyzer.analyze(t)
    # CPU time of this (single-threaded) process: the per-core cost, less affected by other load.
    # Best of --repeat passes, as timeit does: noise only ever adds time. Each pass after the
    # first sees warm per-word caches, as a long-running worker would.
    dt = float("inf")
    for _ in range(args.repeat):
        t0 = time.process_time()
        for t in texts:
            analyzer.analyze(t)
        dt = min(dt, time.process_time() - t0)
    kind = "real tweets glued" if args.data else "synthetic posts"
    print(f"import + analyzer load {load:.2f} s; {len(brands)} brands; {len(texts)} {kind} of {len(texts[0])} chars: "
          f"{len(texts) / dt:,.0f} texts/s on one core ({dt / len(texts) * 1e6:.0f} µs/text)")


if __name__ == "__main__":
    main()
