"""Throughput of language id + sentiment + complaint (DefaultAnalyzer.analyze) on 280-char posts.

    .venv/bin/python bench/bench_language.py [--n 20000]

Runs in one thread and measures its CPU time, so the figure is per core. Posts are built from hand-written sentences in the
five supported languages (no data set needed), cut or padded to 280 characters, with handles,
emoji and a link mixed in as on real platforms.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from detectors.understanding import DefaultAnalyzer  # noqa: E402

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
    out = []
    k = len(SENTENCES)
    for i in range(n):
        text = SENTENCES[i % k]
        j = i
        while len(text) < length:
            j += 7
            text += " " + SENTENCES[(i % k) if j % 3 else (i % k)]  # same language, as a post would be
        out.append(f"{text[:length - 4]} #{i % 97}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    analyzer = DefaultAnalyzer({"SJ": ["@SJ_AB"], "Norwegian": ["@Fly_Norwegian"], "PKP": ["@PKP_Intercity"],
                                "American Airlines": ["@AmericanAir"]})
    load = time.perf_counter() - t0
    texts = posts(args.n)
    for t in texts[:200]:  # warm-up
        analyzer.analyze(t)
    # CPU time of this (single-threaded) process: the per-core cost, unaffected by other load.
    t0 = time.process_time()
    for t in texts:
        analyzer.analyze(t)
    dt = time.process_time() - t0
    print(f"analyzer load {load:.2f} s; {args.n} posts of {len(texts[0])} chars: "
          f"{args.n / dt:,.0f} texts/s on one core ({dt / args.n * 1e6:.0f} µs/text)")


if __name__ == "__main__":
    main()
