import dataclasses
import math

import pytest
from hypothesis import given, strategies as st

from detectors.forecast import Forecast
from detectors.velocity import ShareVelocity
from detectors.virality import Assessment, ViralityThresholds, assess

T0 = 1_700_000_000_000
TH = ViralityThresholds(viral_final=1000, open_ratio=1.0, escalate_final=5000, min_shares=20)


def velocity(n, spacing_ms=1000):
    v = ShareVelocity()
    for i in range(n):
        v.learn_one(T0 + i * spacing_ms)
    return v, T0 + (n - 1) * spacing_ms


def fc(final, low=None, high=None, p=0.001, sc=False):
    return Forecast(final, final * 0.7 if low is None else low, final * 1.4 if high is None else high,
                    p, sc)


def test_levels():
    v, now = velocity(100)
    assert assess(100, v, fc(500), 100, now, TH).level == 0
    assert assess(100, v, fc(1200), 100, now, TH).level == 1
    assert assess(100, v, fc(9000, low=5500), 100, now, TH).level == 2
    assert assess(100, v, fc(9000, low=4000), 100, now, TH).level == 1
    assert assess(1000, v, fc(500), 100, now, TH).level == 1       # already viral
    assert assess(6000, v, fc(6000, low=100), 100, now, TH).level == 2


def test_no_decision_before_min_shares():
    v, now = velocity(10)
    a = assess(10, v, fc(1e6, low=1e5, sc=True), 10, now, TH)
    assert a.level == 0 and 0 <= a.score <= 0.5


def test_reason_reads_like_a_sentence():
    v, now = velocity(300, spacing_ms=2000)
    now = T0 + 599_999  # end of a 50 s bucket, so the 5-minute window spans exactly 5 minutes
    a = assess(300, v, fc(2900.0, 1900.0, 4100.0), age_s=600, now_ms=now, thresholds=TH)
    assert a.reason == "300 shares in 10 min, 30.0/min over 5 min, forecast 2,900 (1,900-4,100)"
    inf = assess(300, v, Forecast(math.inf, 2000, math.inf, 0.02, True), 600, now, TH)
    assert inf.reason.endswith("forecast unbounded (2,000-unbounded), supercritical") and inf.level == 1


@given(st.floats(1, 1e6), st.floats(1, 1e6), st.integers(0, 5000))
def test_score_is_in_range_and_monotone_in_the_forecast(f1, f2, shares):
    v, now = velocity(5)
    lo, hi = sorted((f1, f2))
    a = assess(shares, v, fc(lo, low=lo, high=lo), 3600, now, TH)
    b = assess(shares, v, fc(hi, low=lo, high=hi), 3600, now, TH)
    assert isinstance(a, Assessment)
    assert 0.0 <= a.score <= b.score <= 1.0
    assert a.level <= b.level


def test_thresholds_are_frozen_and_validated():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TH.viral_final = 5  # type: ignore[misc]
    with pytest.raises(ValueError):
        ViralityThresholds(viral_final=1000, escalate_final=500)
    with pytest.raises(ValueError):
        ViralityThresholds(open_ratio=0)


def test_open_shares_backstop_opens_without_a_viral_forecast():
    v, now = velocity(100)
    th = ViralityThresholds(viral_final=1000, min_shares=20, open_shares=400)
    assert assess(399, v, fc(500), 100, now, th).level == 0
    assert assess(400, v, fc(500), 100, now, th).level == 1
