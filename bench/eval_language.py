"""Evaluate language id, sentiment and complaint detection on the shared development data.

    .venv/bin/python bench/eval_language.py ../shared/data            # held-out halves (report these)
    .venv/bin/python bench/eval_language.py ../shared/data --half dev # the half used for tuning

Each set is split deterministically by CRC-32 of the text: even -> ``dev``, odd -> ``heldout``.
Texts are analysed without a language hint (the text alone must say the language).

Columns: ``lang_acc`` share identified as the set's language (``lang_5w``: among texts of at
least five words, i.e. without one-word titles); ``bin_acc`` binary sentiment
accuracy on the positive/negative items, where a score of exactly 0 counts as wrong (so it is also
bounded by ``cover``, the share of those items with a non-zero score); ``bin_acc0`` the same with
zero scored as the majority class of the set's tuning half, whichever half is evaluated (the usual
lexicon-baseline convention; taken from the evaluated texts' own labels before 2026-11-25: the same
class in every set); ``macro_f1``
over positive/negative with zero counted wrong; ``cmp_f1`` complaint F1 (complaint set only);
``texts/s`` end-to-end analyze() throughput on that set. Under the table, 90 % bootstrap intervals
of ``bin_acc0`` and the complaint F1s (:mod:`bench.stats`): how far another sample of the same
kind of texts could move them.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench.stats import bootstrap_f1, bootstrap_mean, interval  # noqa: E402
from detectors.language import WORD_RE  # noqa: E402
from detectors.understanding import DefaultAnalyzer  # noqa: E402

csv.field_size_limit(10_000_000)


@dataclass
class Item:
    text: str
    lang: str
    polarity: str | None  # 'positive' | 'negative' | 'neutral' | None
    complaint: int | None = None
    domain: str = ""


def half_of(text: str) -> str:
    return "dev" if zlib.crc32(text.encode("utf-8")) % 2 == 0 else "heldout"


def load_sets(root: str) -> dict[str, list[Item]]:
    sets: dict[str, list[Item]] = {}
    with gzip.open(os.path.join(root, "trustpilot-sv-reviews", "reviews_sv.csv.gz"), "rt", encoding="utf-8") as f:
        seen = set()
        items = []
        for row in csv.DictReader(f):
            key = (row["text"], row["rating"])
            if key in seen:
                continue
            seen.add(key)
            r = int(row["rating"])
            items.append(Item(row["text"], "sv", "negative" if r <= 2 else "positive" if r >= 4 else "neutral"))
        sets["trustpilot-sv"] = items
    with open(os.path.join(root, "danish-social-media-sentiment", "all_sentences.csv"), encoding="utf-8") as f:
        sets["danish-social-da"] = [
            Item(row["text"], "da", "negative" if int(row["label"]) < 0 else "positive" if int(row["label"]) > 0 else "neutral")
            for row in csv.DictReader(f)]
    items = []
    for part in ("train", "dev", "test"):
        with open(os.path.join(root, "norec-sentence-no", f"3class_{part}.json"), encoding="utf-8") as f:
            for d in json.load(f):
                items.append(Item(d["text"], "no", d["label"].lower()))
    sets["norec-no"] = items
    for fname, lang in (("pol.csv", "pl"), ("swe.csv", "sv"), ("eng.csv", "en")):
        with open(os.path.join(root, "mozetic-twitter-sentiment-pl-sv-en", fname), encoding="utf-8") as f:
            sets[f"mozetic-{lang}"] = [Item(row["text"], lang, row["label"].lower()) for row in csv.DictReader(f)]
    with open(os.path.join(root, "complaints-twitter-en", "complaints-data.csv"), encoding="utf-8") as f:
        sets["complaints-en"] = [Item(row["text"], "en", None, int(row["label"]), row["domain"])
                                 for row in csv.DictReader(f)]
    return sets


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def evaluate(name: str, items: list[Item], analyzer: DefaultAnalyzer, majority: str | None = None) -> dict[str, str]:
    """One row of the table. ``majority``: the class a zero score counts as in ``bin_acc0`` (the
    tuning half's majority; this set's own if None)."""
    t0 = time.perf_counter()
    results = [analyzer.analyze(it.text) for it in items]
    dt = time.perf_counter() - t0
    row = {"set": name, "n": str(len(items))}
    row["lang_acc"] = f"{sum(r.lang == it.lang for r, it in zip(results, items)) / len(items):.3f}"
    long = [(r, it) for r, it in zip(results, items) if len(WORD_RE.findall(it.text)) >= 5]
    row["lang_5w"] = f"{sum(r.lang == it.lang for r, it in long) / max(1, len(long)):.3f}"
    pairs = [(r, it) for r, it in zip(results, items) if it.polarity in ("positive", "negative")]
    if pairs:
        majority = majority or Counter(it.polarity for _, it in pairs).most_common(1)[0][0]
        pred = ["positive" if r.sentiment > 0 else "negative" if r.sentiment < 0 else "zero" for r, _ in pairs]
        gold = [it.polarity for _, it in pairs]
        row["bin_acc"] = f"{sum(p == g for p, g in zip(pred, gold)) / len(gold):.3f}"
        right0 = [(majority if p == 'zero' else p) == g for p, g in zip(pred, gold)]
        row["bin_acc0"] = f"{sum(right0) / len(gold):.3f}"
        lo, hi = interval(bootstrap_mean(right0))
        row["_ci"] = f"bin_acc0 {lo:.3f}-{hi:.3f}"
        row["cover"] = f"{sum(p != 'zero' for p in pred) / len(pred):.3f}"
        f1s = []
        for c in ("positive", "negative"):
            tp = sum(p == c and g == c for p, g in zip(pred, gold))
            fp = sum(p == c and g != c for p, g in zip(pred, gold))
            fn = sum(p != c and g == c for p, g in zip(pred, gold))
            f1s.append(f1(tp, fp, fn))
        row["macro_f1"] = f"{sum(f1s) / 2:.3f}"
    comp = [(r, it) for r, it in zip(results, items) if it.complaint is not None]
    if comp:
        for label, sub in (("cmp_f1", comp), ("cmp_f1_brand", [(r, it) for r, it in comp
                                                             if not it.domain.startswith("random")])):
            tp = sum(r.kind == "complaint" and it.complaint == 1 for r, it in sub)
            fp = sum(r.kind == "complaint" and it.complaint == 0 for r, it in sub)
            fn = sum(r.kind != "complaint" and it.complaint == 1 for r, it in sub)
            row[label] = f"{f1(tp, fp, fn):.3f}"
            # macro-F1 over complaint / not complaint too, for published figures that average the two
            tn = len(sub) - tp - fp - fn
            row["_macro"] = (f"{row.get('_macro', '')}; {label}: macro-F1 {(f1(tp, fp, fn) + f1(tn, fn, fp)) / 2:.3f}, "
                             f"accuracy {(tp + tn) / len(sub):.3f} ({len(sub):,} texts)").lstrip("; ")
            outs = np.array([(1 if it.complaint == 1 else 2) if r.kind == "complaint"
                             else (3 if it.complaint == 1 else 0) for r, it in sub], np.int8)
            lo, hi = interval(bootstrap_f1([outs])[:, 0])
            row["_ci"] = f"{row.get('_ci', '')}; {label} {lo:.3f}-{hi:.3f}".lstrip("; ")
    row["texts/s"] = f"{len(items) / dt:,.0f}"
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir")
    ap.add_argument("--half", choices=("dev", "heldout"), default="heldout")
    ap.add_argument("--only", help="evaluate only sets whose name contains this")
    args = ap.parse_args()
    analyzer = DefaultAnalyzer()
    cols = ["set", "n", "lang_acc", "lang_5w", "bin_acc", "bin_acc0", "cover", "macro_f1", "cmp_f1", "cmp_f1_brand", "texts/s"]
    print(f"half={args.half}")
    print(" | ".join(f"{c:>16}" if i == 0 else f"{c:>8}" for i, c in enumerate(cols)))
    intervals = []
    macro: list[str] = []
    for name, items in load_sets(args.data_dir).items():
        if args.only and args.only not in name:
            continue
        # a zero score counts as the tuning half's majority class, whichever half is evaluated
        tuning = Counter(it.polarity for it in items
                         if half_of(it.text) == "dev" and it.polarity in ("positive", "negative"))
        items = [it for it in items if half_of(it.text) == args.half]
        row = evaluate(name, items, analyzer, tuning.most_common(1)[0][0] if tuning else None)
        print(" | ".join(f"{row.get(c, '-'):>16}" if i == 0 else f"{row.get(c, '-'):>8}" for i, c in enumerate(cols)))
        intervals.append(f"  {name}: {row.get('_ci', '-')}")
        if "_macro" in row:
            macro.append(f"  {name}: {row['_macro']}")
    print("90% bootstrap intervals (2,000 resamples of each set's texts):")
    print("\n".join(intervals))
    if macro:
        print("complaints, macro-F1 over both classes (complaint, not complaint), for comparison with "
              "published figures that average the two:")
        print("\n".join(macro))


if __name__ == "__main__":
    main()
