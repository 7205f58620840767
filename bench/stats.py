"""Bootstrap intervals for the evaluation scripts: how much a figure could move with another draw
of the same kind of data (resampling the evaluated items with replacement, seeded, so a run
prints the same intervals every time)."""
from __future__ import annotations

import numpy as np

#: Resamples per interval.
BOOTSTRAP = 2000


def bootstrap_f1(outs, n=BOOTSTRAP, seed=0):
    """F1 of each outcome array (per item: 1 true positive, 2 false positive, 3 false negative,
    0 true negative) on the same ``n`` resamples of the items: an array of shape
    ``(n, len(outs))``. Shared resamples make the differences between methods paired."""
    idx = np.random.default_rng(seed).integers(0, len(outs[0]), size=(n, len(outs[0])))
    cols = []
    for o in outs:
        s = o[idx]
        tp, fp, fn = (s == 1).sum(1), (s == 2).sum(1), (s == 3).sum(1)
        cols.append(np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0))
    return np.stack(cols, 1)


def bootstrap_mean(values, n=BOOTSTRAP, seed=0):
    """Means of ``n`` resamples of ``values`` (an accuracy, for 0/1 values)."""
    v = np.asarray(values, float)
    return v[np.random.default_rng(seed).integers(0, len(v), size=(n, len(v)))].mean(axis=1)


def bootstrap_median(values, n=BOOTSTRAP, seed=0):
    """Medians of ``n`` resamples (with replacement) of ``values``."""
    v = np.asarray(values, float)
    return np.median(v[np.random.default_rng(seed).integers(0, len(v), size=(n, len(v)))], axis=1)


def interval(samples):
    """The 5th and 95th percentile of ``samples``: a 90 % interval."""
    lo, hi = np.percentile(samples, [5, 95])
    return float(lo), float(hi)
