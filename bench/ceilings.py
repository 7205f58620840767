"""How far the shared data lets general-purpose models go, fitted to the same data, beside ours.

    .venv/bin/pip install -e '.[bench]'          # scikit-learn, for this script only
    .venv/bin/python -m bench.ceilings DATA_DIR [--only flag,forecast,sentiment,langid]   # ~5 min

The quality targets of issues 3 and 4 (viral-detection F1 0.9, median forecast error 10 % at 1 h,
binary sentiment accuracy 85 % in every language, complaint F1 0.80, language id 95 % on sv/no/da)
are measured on the shared data. This script asks what that data allows models of a general kind
(scikit-learn's gradient boosting, linear and logistic regression on everything the data gives:
all event times and follower counts, or tf-idf of a text's words and characters), trained on the
same sources, with more freedom than the shipped detectors have. If such a model, trained on data of
the very kind it is scored on, stays well under a target, the target is out of reach of that kind
of model on this data. These are not bounds on every possible model: a large model pretrained on
these languages, say, might do better on the texts (none is reachable from this machine).

Nothing here is shipped or saved: the fitted models live for the run only. Every figure is on the
same half, split and population as ``bench/eval_cascades.py`` and ``bench/eval_language.py`` (ours
is recomputed here by their code). Parts:

``flag``
    Viral detection under eval_cascades' rule (viral: 1,000 shares in 72 h; a flag counts only
    before the 500th event). A model that decides at the K-th event sees the times (and follower
    counts) of all K events: their log age at every 20th event and the share of the K events in
    the last 1 min .. 12 h, the median gap of the last 50 and the followers' mean and maximum.
    K = 499 is the last moment the rule allows, so no flag made under the rule can know more.
    Flagging only at K=499 costs lead time, which these F1s ignore; ours flags from 150 shares on.
    ``tune->eval``: fitted on the tuning half, scored on the evaluation half, with the decision
    threshold chosen by 5-fold cross-validation on the tuning half. ``optimistic``: 10-fold
    cross-validation over both halves, with the threshold chosen on the scored predictions (it
    peeks at the answers: an upper bound for that model).
``forecast``
    Median absolute percentage error of the final size at 5 min, 10 min and 1 h, over
    eval_cascades' population: a gradient-boosted and a linear median regression of
    log(final / shares so far) on the counts at 1/60 .. 3/4 of the age, the recent counts and
    the followers, with the intercept shifted to the least median APE as ours' calibration is
    (:func:`bench.eval_cascades.ape_shift`). ``tune->eval`` and ``optimistic`` as for ``flag``.
``sentiment``
    Binary sentiment accuracy and macro-F1 per set, and complaint F1, on each set's held-out half:
    a logistic regression on tf-idf of words (1-2) and characters (2-5), its C chosen by 5-fold
    cross-validation on the dev half, fitted on the dev half (``dev-fitted``) or, for more training
    data, on 9/10 of both halves by 10-fold cross-validation (``10-fold``: every held-out text is
    scored by a model that did not see it, trained on about 1.8 times as many texts).
``langid``
    Language id per set: one logistic regression on tf-idf of words and characters (1-4) fitted
    on the dev halves of all seven sets, scored on the held-out halves. It learns each set's
    topics as well as its language (every NoReC sentence is Norwegian, every Danish comment
    Danish), so it is an optimistic bound; the split by length shows where the errors are.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter

import numpy as np

try:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, QuantileRegressor
    from sklearn.metrics import f1_score
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline, make_union
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("bench/ceilings.py needs scikit-learn: .venv/bin/pip install -e '.[bench]'")

from bench.cascade_data import Cascade, load_all
from bench.eval_cascades import APE_AGES, HALF, MIN_FINAL_FOR_APE, VIRAL, ape_errors, ape_shift, ours_with_assess
from bench.eval_language import half_of, load_sets
from detectors.forecast import CascadeForecast
from detectors.understanding import DefaultAnalyzer
from detectors.virality import ViralityThresholds

PARTS = ("flag", "forecast", "sentiment", "langid")
FLAG_AT = (150, 300, 400, 499)
SEEDS = (0, 1, 2)


# -- cascades -----------------------------------------------------------------------------------

def flag_features(c: Cascade, k: int) -> list[float]:
    """What a model deciding at the k-th event of ``c`` is given (see the module docstring)."""
    t = np.asarray(c.t_s[:k])
    now = t[-1]
    f = [math.log1p(t[j] / 60.0) for j in list(range(5, k, 20)) + [k - 1]]
    for w in (60, 180, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200):
        f.append(float(np.sum(t > now - w)) / k)
    f.append(math.log1p(float(np.median(np.diff(t[-51:])))))
    fol = [x for x in c.followers[:k] if x is not None]
    f += [math.log1p(float(np.mean(fol))) if fol else -1.0,
          math.log1p(max(fol)) if fol else -1.0, len(fol) / k]
    return f


def _best_threshold(y, p) -> tuple[float, float]:
    """(threshold, F1) of the threshold on ``p`` with the best F1 against ``y``."""
    best = (0.5, 0.0)
    for th in np.unique(p):
        f = f1_score(y, p >= th)
        if f > best[1]:
            best = (float(th), float(f))
    return best


def _classifiers():
    return (("gradient boosting", lambda: HistGradientBoostingClassifier(
                max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=10, random_state=0)),
            ("logistic", lambda: LogisticRegression(max_iter=5000)))


def part_flag(cascades: list[Cascade]) -> None:
    eval_set = [c for c in cascades if c.split() == "eval"]
    # ours: the shipped decision replayed through assess(), as eval_cascades scores it
    th = ViralityThresholds(viral_final=VIRAL, escalate_final=5 * VIRAL)
    flagged = np.array([ours_with_assess(c, th) is not None for c in eval_set])
    viral = np.array([c.size >= VIRAL for c in eval_set])
    print(f"== flag: viral = {VIRAL:,} shares in 72 h, a flag counts before the {HALF}th event; "
          f"evaluation half {len(eval_set)} cascades, {int(viral.sum())} viral ==")
    print(f"ours (shipped decision, flags from 150 shares on): F1 {f1_score(viral, flagged):.3f} "
          f"({int(np.sum(flagged & viral))}/{int(np.sum(flagged & ~viral))}/{int(np.sum(~flagged & viral))} tp/fp/fn)")
    print(f"{'decides at event':>16} | {'cascades':>8} | {'model':>17} | {'tune->eval F1':>13} | "
          f"{'optimistic F1 (3 seeds)':>23}")
    for k in FLAG_AT:
        cs = [c for c in cascades if c.size >= k]  # the others are never flagged, and never viral
        X = np.array([flag_features(c, k) for c in cs])
        y = np.array([c.size >= VIRAL for c in cs])
        tune = np.array([c.split() == "tune" for c in cs])
        for name, make in _classifiers():
            p_cv = cross_val_predict(make(), X[tune], y[tune], method="predict_proba",
                                     cv=StratifiedKFold(5, shuffle=True, random_state=0))[:, 1]
            th, _ = _best_threshold(y[tune], p_cv)
            p_eval = make().fit(X[tune], y[tune]).predict_proba(X[~tune])[:, 1]
            # cascades of the evaluation half below k events: true negatives, they change no F1
            held = f1_score(y[~tune], p_eval >= th)
            opt = []
            for seed in SEEDS:
                p = cross_val_predict(make(), X, y, method="predict_proba",
                                      cv=StratifiedKFold(10, shuffle=True, random_state=seed))[:, 1]
                opt.append(_best_threshold(y, p)[1])
            print(f"{k:>16} | {len(cs):>8} | {name:>17} | {held:>13.3f} | "
                  f"{f'{min(opt):.3f}-{max(opt):.3f}':>23}", flush=True)
    print("(optimistic: both halves, 10-fold, threshold chosen on the scored predictions)")


def forecast_features(c: Cascade, age: float) -> tuple[list[float], int]:
    t = np.asarray(c.t_s)
    seen = t[t <= age]
    n = len(seen)
    f = [math.log(n)] + [math.log1p(float(np.sum(seen <= age * q))) for q in (1 / 60, 1 / 30, 0.1, 0.25, 0.5, 0.75)]
    f += [math.log1p(seen[-1] / 60.0), math.log1p(float(np.sum(seen > age - 60))),
          math.log1p(float(np.sum(seen > age * 0.9)))]
    fol = [x for x, tt in zip(c.followers, c.t_s) if tt <= age and x is not None]
    f += [math.log1p(float(np.mean(fol))) if fol else -1.0, math.log1p(float(np.sum(fol))) if fol else -1.0,
          1.0 if fol else 0.0]
    return f, n


def part_forecast(cascades: list[Cascade]) -> None:
    eval_set = [c for c in cascades if c.split() == "eval"]
    ours = ape_errors(eval_set, CascadeForecast)
    print(f"\n== forecast: median APE of the final size, cascades with final >= {MIN_FINAL_FOR_APE} "
          f"and >= 5 events by then ==")
    print(f"{'age':>6} | {'n eval':>6} | {'ours':>6} | {'model':>21} | {'tune->eval':>10} | {'optimistic':>10}")
    models = (("gradient boosting", lambda: HistGradientBoostingRegressor(
                  loss="absolute_error", max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                  min_samples_leaf=10, random_state=0)),
              ("linear (median)", lambda: QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs")))
    for age in APE_AGES:
        rows = []
        for c in cascades:
            if c.size < MIN_FINAL_FOR_APE:
                continue
            f, n = forecast_features(c, age)
            if n >= 5:
                rows.append((f, n, c.size, c.split() == "tune"))
        X = np.array([r[0] for r in rows])
        n = np.array([r[1] for r in rows], float)
        size = np.array([r[2] for r in rows], float)
        tune = np.array([r[3] for r in rows])
        y = np.log(size / n)

        def median_ape(pred, idx):
            return float(np.median(np.abs(n[idx] * np.exp(pred) - size[idx]) / size[idx]))

        ours_med = float(np.median([e for _, e, _ in ours[age]]))
        for name, make in models:
            # as ours' calibration: the intercept moved to where the median APE is lowest (a median
            # of the log ratio is not the point of least median percentage error), the shift
            # chosen on cross-validated predictions of the tuning half
            cv_tune = cross_val_predict(make(), X[tune], y[tune], cv=KFold(5, shuffle=True, random_state=0))
            shift = ape_shift(cv_tune - y[tune])
            held = median_ape(make().fit(X[tune], y[tune]).predict(X[~tune]) + shift, ~tune)
            cv_all = cross_val_predict(make(), X, y, cv=KFold(10, shuffle=True, random_state=0))
            opt = median_ape(cv_all + ape_shift(cv_all - y), np.ones(len(y), bool))
            print(f"{age:>5}s | {int((~tune).sum()):>6} | {ours_med:>6.1%} | {name:>21} | {held:>10.1%} | "
                  f"{opt:>10.1%}", flush=True)
    print("(each model's intercept shifted to its least median APE, as ours' calibration is; "
          "optimistic: both halves, 10-fold, the shift chosen on the scored predictions)")


# -- texts --------------------------------------------------------------------------------------

#: The regularisation strengths the text models choose from (by 5-fold cross-validation).
TEXT_C = (0.5, 2.0, 8.0, 32.0)


def _text_features(words=(1, 2), chars=(2, 5)):
    """tf-idf of word and character n-grams (of these lengths), fitted on texts without labels."""
    return make_union(TfidfVectorizer(ngram_range=words, sublinear_tf=True),
                      TfidfVectorizer(analyzer="char_wb", ngram_range=chars, min_df=2, sublinear_tf=True))


def _text_scores(texts: list[str], y: np.ndarray, dev: np.ndarray, balanced: bool) -> tuple[np.ndarray, np.ndarray]:
    """Predictions for the held-out items (``~dev``) of a logistic regression whose C is chosen by
    5-fold cross-validation on the dev items: (fitted on the dev half, fitted on 9/10 of both
    halves by 10-fold cross-validation)."""
    X = _text_features().fit_transform(texts)

    def model(C):
        return LogisticRegression(C=C, max_iter=3000, class_weight="balanced" if balanced else None)

    def dev_cv_score(C):   # F1 for the complaint class, accuracy for sentiment
        p = cross_val_predict(model(C), X[dev], y[dev], cv=StratifiedKFold(5, shuffle=True, random_state=0))
        return f1_score(y[dev], p) if balanced else float(np.mean(p == y[dev]))

    best_c = max(TEXT_C, key=dev_cv_score)
    held = model(best_c).fit(X[dev], y[dev]).predict(X[~dev])
    both = cross_val_predict(model(best_c), X, y, cv=StratifiedKFold(10, shuffle=True, random_state=0))[~dev]
    return held, both


def part_sentiment(sets, analyzer) -> None:
    print("\n== sentiment and complaints: logistic regression on tf-idf of words and characters, scored on "
          "each set's held-out half ==")
    print("   dev-fitted: fitted on the set's dev half (C by 5-fold CV there); 10-fold: fitted on 9/10 of "
          "both halves, each held-out item scored by a model that did not see it")
    print(f"{'set':>18} | {'dev':>5} | {'held':>5} | {'ours':>6} | {'dev-fitted':>10} | {'10-fold':>7} | "
          f"{'dev-fitted macro-F1':>19}")
    for name, items in sets.items():
        if name == "complaints-en":
            continue
        data = [(it.text, it.polarity == "positive") for it in items if it.polarity in ("positive", "negative")]
        texts = [t for t, _ in data]
        y = np.array([v for _, v in data])
        dev = np.array([half_of(t) == "dev" for t in texts])
        majority = Counter(y[dev].tolist()).most_common(1)[0][0]
        # ours as eval_language's bin_acc0: the sign of the score, a zero as the dev half's majority
        scores = [analyzer.analyze(t).sentiment for t, d in zip(texts, dev) if not d]
        ours = np.mean([(sc > 0 if sc != 0 else majority) == v for sc, v in zip(scores, y[~dev])])
        held, both = _text_scores(texts, y, dev, balanced=False)
        print(f"{name:>18} | {int(dev.sum()):>5} | {int((~dev).sum()):>5} | {ours:>6.3f} | "
              f"{np.mean(held == y[~dev]):>10.3f} | {np.mean(both == y[~dev]):>7.3f} | "
              f"{f1_score(y[~dev], held, average='macro'):>19.3f}", flush=True)
    items = sets["complaints-en"]
    texts = [it.text for it in items]
    y = np.array([it.complaint == 1 for it in items])
    dev = np.array([half_of(t) == "dev" for t in texts])
    ours = np.array([analyzer.analyze(t).kind == "complaint" for t, d in zip(texts, dev) if not d])
    held, both = _text_scores(texts, y, dev, balanced=True)
    print(f"complaints-en, complaint F1 on the held-out half ({int((~dev).sum())} texts): ours "
          f"{f1_score(y[~dev], ours):.3f}, dev-fitted {f1_score(y[~dev], held):.3f}, "
          f"10-fold {f1_score(y[~dev], both):.3f}")


def part_langid(sets, analyzer) -> None:
    print("\n== language id: one model fitted on the dev halves of all sets, scored on the held-out halves ==")
    train, test = [], {}
    for name, items in sets.items():
        for it in items:
            if half_of(it.text) == "dev":
                train.append((it.text, it.lang))
            else:
                test.setdefault(name, []).append((it.text, it.lang))
    m = make_pipeline(_text_features(words=(1, 1), chars=(1, 4)), LogisticRegression(C=10.0, max_iter=3000))
    m.fit([t for t, _ in train], [lang for _, lang in train])
    print(f"{'set':>18} | {'test':>5} | {'ours':>6} | {'model':>6} | {'<5 words: n':>11} | {'ours':>6} | {'model':>6}")
    for name, xs in test.items():
        y = np.array([lang for _, lang in xs])
        p = m.predict([t for t, _ in xs])
        ours = np.array([analyzer.analyze(t).lang for t, _ in xs])
        short = np.array([len(t.split()) < 5 for t, _ in xs])
        print(f"{name:>18} | {len(xs):>5} | {np.mean(ours == y):>6.3f} | {np.mean(p == y):>6.3f} | "
              f"{int(short.sum()):>11} | {np.mean(ours[short] == y[short]):>6.3f} | "
              f"{np.mean(p[short] == y[short]):>6.3f}", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {', '.join(PARTS)}")
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        ap.error(f"unknown part(s) {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    t0 = time.time()
    if {"flag", "forecast"} & set(parts):
        cascades = load_all(args.data_dir)
        if "flag" in parts:
            part_flag(cascades)
        if "forecast" in parts:
            part_forecast(cascades)
    if {"sentiment", "langid"} & set(parts):
        sets, analyzer = load_sets(args.data_dir), DefaultAnalyzer()
        if "sentiment" in parts:
            part_sentiment(sets, analyzer)
        if "langid" in parts:
            part_langid(sets, analyzer)
    print(f"({time.time() - t0:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
