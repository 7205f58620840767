import dataclasses
import math

import pytest
from hypothesis import given, strategies as st

from detectors.forecast import Forecast
from detectors.velocity import ShareVelocity
from detectors.virality import (FLAG_COEF, FLAG_FEATURES, Assessment, ViralityThresholds, assess,
                                flag_features, flag_score)

T0 = 1_700_000_000_000
TH = ViralityThresholds(viral_final=1000, open_score=0.95, escalate_final=5000, min_shares=20)


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
    assert assess(100, v, fc(9000, low=5500), 100, now, TH).level == 2
    assert assess(1000, v, fc(500), 100, now, TH).level == 1       # already viral
    assert assess(6000, v, fc(6000, low=100), 100, now, TH).level == 2


def test_fast_cascade_is_flagged_and_the_same_size_grown_slowly_is_not():
    fast, now_fast = velocity(450, spacing_ms=1000)       # 450 shares in 7.5 minutes
    slow, now_slow = velocity(450, spacing_ms=60_000)     # the same in 7.5 hours
    a = assess(450, fast, fc(5000, p=0.009), 449, now_fast, TH)
    b = assess(450, slow, fc(600, p=0.002), 449 * 60, now_slow, TH)
    assert a.level == 1 and a.score >= TH.open_score
    assert b.level == 0 and b.score < a.score


def test_flag_score_is_the_logistic_of_the_coefficients():
    assert len(FLAG_COEF) == len(FLAG_FEATURES) + 1
    zero = [0.0] * len(FLAG_FEATURES)
    assert flag_score(zero) == pytest.approx(1 / (1 + math.exp(-FLAG_COEF[0])))
    for i in range(len(FLAG_FEATURES)):
        x = list(zero)
        x[i] = 1.0
        z = FLAG_COEF[0] + FLAG_COEF[i + 1]
        assert flag_score(x) == pytest.approx(1 / (1 + math.exp(-z)))


def test_flag_features_are_relative_to_the_viral_size():
    v, now = velocity(200, spacing_ms=3000)
    f = fc(2000, p=0.004)
    x = dict(zip(FLAG_FEATURES, flag_features(200, v, f, 600, now, 1000)))
    y = dict(zip(FLAG_FEATURES, flag_features(200, v, f, 600, now, 4000)))
    assert x["log_shares"] == pytest.approx(math.log(200 / 1000))
    assert x["log_forecast"] == pytest.approx(math.log(2000 / 1000))
    assert y["log_shares"] == pytest.approx(x["log_shares"] - math.log(4))
    # 20 shares in the last minute (bucket-aligned), of 200
    assert x["recent_1min"] == pytest.approx(math.log1p(v.count(60, now) / 200))
    assert x["log_reach"] == 0.0                # no follower counts known
    assert x["supercritical"] == 0.0 and fc(2000, sc=True).supercritical


def test_no_decision_before_min_shares():
    v, now = velocity(10)
    a = assess(10, v, fc(1e6, low=1e5, sc=True), 10, now, TH)
    assert a.level == 0 and 0 <= a.score <= TH.open_score


def test_reason_reads_like_a_sentence():
    v, now = velocity(300, spacing_ms=2000)
    now = T0 + 599_999  # end of a 50 s bucket, so the 5-minute window spans exactly 5 minutes
    f = fc(2900.0, 1900.0, 4100.0)
    a = assess(300, v, f, age_s=600, now_ms=now, thresholds=TH)
    # the classifier's own score, before the alert line bounds a.score
    p = flag_score(flag_features(300, v, f, 600, now, TH.viral_final))
    assert a.reason == ("300 shares in 10 min, 30.0/min over 5 min, forecast 2,900 (1,900-4,100), "
                        f"viral probability {p:.0%}")
    inf = assess(300, v, Forecast(math.inf, 2000, math.inf, 0.02, True), 600, now, TH)
    assert "forecast unbounded (2,000-unbounded), supercritical, viral probability" in inf.reason and inf.level == 1


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
        ViralityThresholds(open_score=1.0)


def test_open_shares_backstop_opens_without_a_viral_forecast():
    v, now = velocity(100)
    th = ViralityThresholds(viral_final=1000, min_shares=20, open_shares=400)
    assert assess(399, v, fc(500), 100, now, th).level == 0
    assert assess(400, v, fc(500), 100, now, th).level == 1


def test_speedup_features_follow_the_windows():
    # 30 shares an hour ago, then 120 in the last hour: speeding up over 1 h and 15 min
    v = ShareVelocity()
    t = T0
    for i in range(30):
        v.learn_one(t + i * 120_000)
    t1 = T0 + 3_600_000
    for i in range(120):
        v.learn_one(t1 + i * 30_000)
    now = t1 + 119 * 30_000
    x = dict(zip(FLAG_FEATURES, flag_features(150, v, fc(300), (now - T0) / 1000, now, 1000)))
    assert len(FLAG_FEATURES) == len(flag_features(150, v, fc(300), 60, now, 1000))
    assert x["speedup_1h"] > 0 and x["speedup_15min"] == pytest.approx(0.0, abs=0.1)
    quiet = dict(zip(FLAG_FEATURES, flag_features(150, v, fc(300), 7200, now + 2_400_000, 1000)))
    assert quiet["speedup_1h"] < 0 and quiet["recent_1min"] == 0.0


def test_default_lines_follow_viral_final_and_nothing_opens_before_the_first():
    th = ViralityThresholds()
    assert (th.early_shares, th.min_shares, th.decide_from) == (150, 400, 150)
    small = ViralityThresholds(viral_final=200, escalate_final=1000)
    assert (small.early_shares, small.min_shares, small.decide_from) == (30, 80, 30)
    v, now = velocity(450, spacing_ms=1000)
    f = Forecast(4200.0, 2900.0, 6100.0, 0.009, False)
    assert assess(th.decide_from - 1, v, f, 449, now, th).level == 0
    assert assess(450, v, f, 449, now, th).level == 1


def test_early_line_opens_a_sure_cascade_before_min_shares():
    v, now = velocity(100)
    th = ViralityThresholds(viral_final=1000, open_score=0.8, min_shares=400, early_score=0.9,
                            early_shares=150)
    assert th.decide_from == 150

    def score(shares, f):
        return flag_score(flag_features(shares, v, f, 100, now, 1000))

    sure = fc(20_000, low=12_000, high=30_000)
    assert score(150, sure) >= 0.9
    assert assess(149, v, sure, 100, now, th).level == 0
    assert assess(150, v, sure, 100, now, th).level >= 1
    # a score between the two lines waits for min_shares
    between = [f for f in (fc(x, low=1000, high=x) for x in range(1000, 20_000, 25))
               if 0.8 <= score(200, f) < 0.9 and score(400, f) >= 0.8]
    assert between, "no forecast gives a score between the lines"
    f = between[0]
    assert assess(200, v, f, 100, now, th).level == 0
    assert assess(400, v, f, 100, now, th).level == 1
    off = ViralityThresholds(viral_final=1000, min_shares=400, early_shares=0)
    assert off.decide_from == 400 and assess(150, v, sure, 100, now, off).level == 0
