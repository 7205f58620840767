import json

from hypothesis import given, settings, strategies as st

from detectors.baselines import ShareCountThreshold, SpikeRule

T0 = 1_700_000_000_000


def test_share_count_threshold_flags_at_the_threshold_and_round_trips():
    b = ShareCountThreshold(3)
    b.learn_one(T0)
    b.learn_one(T0 + 1)
    assert not b.flag(T0 + 1)
    c = ShareCountThreshold.from_state(json.loads(json.dumps(b.to_state())))
    b.learn_one(T0 + 2)
    c.learn_one(T0 + 2)
    assert b.flag(T0 + 2) and c.flag(T0 + 2)


def spike_oracle(times, now, ratio, min_count):
    bucket = SpikeRule.BUCKET_MS
    b = now // bucket
    last = sum(1 for t in times if b - 11 <= t // bucket <= b)
    prev = sum(1 for t in times if b - 155 <= t // bucket <= b - 12) / 12
    return last >= min_count and last >= ratio * prev


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 14 * 3600 * 1000), min_size=1, max_size=200),
       st.integers(0, 3 * 3600 * 1000), st.floats(1.0, 5.0), st.integers(1, 30))
def test_spike_rule_matches_recomputation(offsets, ahead, ratio, min_count):
    times = sorted(T0 + o for o in offsets)
    s = SpikeRule(ratio=ratio, min_count=min_count)
    for t in times:
        s.learn_one(t)
    r = SpikeRule.from_state(json.loads(json.dumps(s.to_state())))
    now = times[-1] + ahead
    expected = spike_oracle(times, now, ratio, min_count)
    assert s.flag(now) == expected
    assert r.flag(now) == expected


def test_spike_rule_needs_a_rise_over_the_background():
    s = SpikeRule(ratio=3.0, min_count=10)
    for m in range(12 * 60):            # 1 share a minute for 12 hours: steady, no spike
        s.learn_one(T0 + m * 60_000)
    now = T0 + 12 * 3600_000
    assert not s.flag(now)
    for k in range(200):                # then 200 shares within the next 10 minutes
        s.learn_one(now + k * 3000)
    assert s.flag(now + 600_000)
