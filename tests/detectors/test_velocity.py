import json
import random

import pytest
from hypothesis import given, settings, strategies as st

from detectors.velocity import BUCKETS_PER_WINDOW, ShareVelocity

WINDOWS = (60, 300, 900, 3600)
LATENESS_S = 300
T0 = 1_700_000_000_000


def oracle(events, lateness_s=LATENESS_S):
    """From scratch: which events are accepted, and the window statistics over them."""
    accepted, late, newest = [], 0, None
    for t, f in events:
        if newest is not None and t < newest - lateness_s * 1000:
            late += 1
            continue
        newest = t if newest is None else max(newest, t)
        accepted.append((t, f))
    return accepted, late, newest


def oracle_count(accepted, window_s, now_ms, which="latest"):
    width = window_s * 1000 // BUCKETS_PER_WINDOW
    b = now_ms // width
    first, last = (b - BUCKETS_PER_WINDOW + 1, b) if which == "latest" else (
        b - 2 * BUCKETS_PER_WINDOW + 1, b - BUCKETS_PER_WINDOW)
    return sum(1 for t, _ in accepted if first <= t // width <= last), first * width


def oracle_rate(accepted, window_s, now_ms):
    n, start = oracle_count(accepted, window_s, now_ms)
    return n / ((now_ms - start + 1) / 60_000)


def oracle_acceleration(accepted, window_s, now_ms):
    prev, _ = oracle_count(accepted, window_s, now_ms, "previous")
    minutes = window_s / 60
    return (oracle_rate(accepted, window_s, now_ms) - prev / minutes) / minutes


# events: offsets up to 3 h, arbitrary arrival order (some will be too late), optional followers
event_lists = st.lists(
    st.tuples(st.integers(0, 3 * 3600 * 1000), st.one_of(st.none(), st.integers(0, 10**6))),
    min_size=1, max_size=120,
).map(lambda xs: [(T0 + t, f) for t, f in xs])


def run(events, **kw):
    v = ShareVelocity(**kw)
    results = [v.learn_one(t, f) for t, f in events]
    return v, results


@settings(max_examples=150, deadline=None)
@given(event_lists, st.integers(0, 2 * 3600 * 1000))
def test_every_statistic_matches_recomputation(events, ahead_ms):
    v, results = run(events)
    accepted, late, newest = oracle(events)
    assert results.count(False) == late == v.late
    assert v.shares == len(accepted)
    assert v.reach == sum(f for _, f in accepted if f is not None)
    assert v.unknown_followers == sum(1 for _, f in accepted if f is None)
    assert v.last_t_ms == newest
    # answers are kept from the newest share on (a late share still counts where it falls)
    for now in (newest + ahead_ms, newest):
        for w in WINDOWS:
            assert v.count(w, now) == oracle_count(accepted, w, now)[0]
            assert v.count_previous(w, now) == oracle_count(accepted, w, now, "previous")[0]
            assert v.count_pair(w, now) == (oracle_count(accepted, w, now)[0],
                                            oracle_count(accepted, w, now, "previous")[0])
            assert v.rate_per_min(w, now) == pytest.approx(oracle_rate(accepted, w, now), rel=1e-12)
            assert v.acceleration_per_min2(w, now) == pytest.approx(
                oracle_acceleration(accepted, w, now), rel=1e-12, abs=1e-12)
        assert v.window_pairs(now) == [(oracle_count(accepted, w, now)[0],
                                        oracle_count(accepted, w, now, "previous")[0]) for w in WINDOWS]


@settings(max_examples=100, deadline=None)
@given(event_lists, st.integers(0, 3600 * 1000))
def test_state_round_trip_answers_the_same(events, ahead_ms):
    half = len(events) // 2
    v, _ = run(events[:half])
    restored = ShareVelocity.from_state(json.loads(json.dumps(v.to_state())))
    for t, f in events[half:]:
        assert v.learn_one(t, f) == restored.learn_one(t, f)
    assert restored.to_state() == v.to_state()
    now = v.last_t_ms + ahead_ms
    for w in WINDOWS:
        assert restored.rate_per_min(w, now) == v.rate_per_min(w, now)
        assert restored.acceleration_per_min2(w, now) == v.acceleration_per_min2(w, now)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 4 * 3600 * 1000), min_size=1, max_size=150), st.randoms())
def test_out_of_order_within_lateness_equals_in_order(offsets, rnd):
    times = sorted(T0 + o for o in offsets)
    # arrival order: sort by time plus a delay of up to the lateness, so no event is too late
    arrival = sorted(times, key=lambda t: t + rnd.randint(0, LATENESS_S * 1000))
    in_order, _ = run([(t, 1) for t in times])
    shuffled, results = run([(t, 1) for t in arrival])
    assert all(results) and shuffled.late == 0
    assert shuffled.to_state() == in_order.to_state()
    now = times[-1] + 1
    for w in WINDOWS:
        assert shuffled.rate_per_min(w, now) == in_order.rate_per_min(w, now)


def test_later_than_lateness_is_counted_late_and_not_applied():
    v = ShareVelocity(lateness_s=300)
    assert v.learn_one(T0 + 600_000)
    assert v.learn_one(T0 + 300_000)           # exactly at the lateness limit: accepted
    assert not v.learn_one(T0 + 299_999, 50)   # 1 ms beyond: late
    assert (v.shares, v.late, v.reach) == (2, 1, 0)
    assert v.count(900, T0 + 600_000) == 2


def test_rate_and_acceleration_of_a_steady_then_faster_stream():
    v = ShareVelocity()
    for s in range(0, 600):         # 1 share/s for 10 minutes
        v.learn_one(T0 + s * 1000)
    for s in range(600, 900):       # then 2 shares/s for 5 minutes
        v.learn_one(T0 + s * 1000)
        v.learn_one(T0 + s * 1000 + 500)
    now = T0 + 900 * 1000 - 1       # end of a bucket of every window, so exact spans
    assert v.rate_per_min(300, now) == pytest.approx(120.0)
    assert v.acceleration_per_min2(300, now) == pytest.approx((120.0 - 60.0) / 5)


def test_query_before_the_newest_share_is_refused():
    v = ShareVelocity(lateness_s=300)
    v.learn_one(T0 + 3_600_000)
    with pytest.raises(ValueError):
        v.rate_per_min(60, T0)
    with pytest.raises(ValueError):
        v.rate_per_min(60, T0 + 3_600_000 - 20_000)   # two 10 s buckets back
    assert v.rate_per_min(60, T0 + 3_600_000 - 10_000) == 0.0  # one bucket back: still answered
    with pytest.raises(ValueError):
        v.rate_per_min(61, T0 + 3_600_000)
    # all windows at once: None where the window refuses, answers where it does not
    pairs = v.window_pairs(T0 + 3_600_000 - 20_000)
    assert pairs[0] is None and pairs[1:] == [v.count_pair(w, T0 + 3_600_000 - 20_000) for w in v.windows_s[1:]]
    assert v.window_pairs(T0) == [None] * len(v.windows_s)


def test_state_of_a_busy_cascade_is_small():
    rnd = random.Random(7)
    v = ShareVelocity()
    t = T0
    for _ in range(50_000):
        t += rnd.randint(0, 400)
        v.learn_one(t, rnd.randint(0, 10**6))
    assert len(json.dumps(v.to_state(), separators=(",", ":"))) < 600


@pytest.mark.parametrize("kw", [dict(windows_s=()), dict(windows_s=(0,)), dict(windows_s=(61,)),
                                dict(windows_s=(60, 60)), dict(lateness_s=-1)])
def test_rejects_bad_configuration(kw):
    with pytest.raises(ValueError):
        ShareVelocity(**kw)


def test_live_cascade_holds_no_per_instance_dict_and_few_objects():
    import sys
    import tracemalloc
    v = ShareVelocity()
    assert not hasattr(v, "__dict__")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    live = [ShareVelocity() for _ in range(500)]
    for i, x in enumerate(live):
        for k in range(3):
            x.learn_one(T0 + i + k * 5000, 100)
    per = (tracemalloc.get_traced_memory()[0] - before - sys.getsizeof(live)) / len(live)
    tracemalloc.stop()
    # 52 one-byte counts and the counters; was about 1.9 KB with a ring object per window, about
    # 800 bytes with rings that also kept the lateness and a head per ring, and about 600 with
    # four-byte counts
    assert per < 500


@pytest.mark.parametrize("per_bucket", [100, 170, 255, 43_000, 65_535, 70_000])
def test_counts_too_big_for_the_array_widen_it_and_stay_exact(per_bucket):
    # Counts start as bytes; a bucket that outgrows them widens the array (to 16, then 32 bits).
    v = ShareVelocity()
    events = [T0 + 3_000] * per_bucket + [T0 + 15_000] * 3 + [T0 + 200_000] * (per_bucket // 2)
    for t in events:
        v.learn_one(t, 1)
    now = T0 + 205_000
    accepted = [(t, 1) for t in events]
    for w in WINDOWS:
        for which, got in (("latest", v.count(w, now)), ("previous", v.count_previous(w, now))):
            assert got == oracle_count(accepted, w, now, which)[0], (w, which)
    biggest = per_bucket + 3 + per_bucket // 2  # all of them in one 10-minute bucket of the 1-h ring
    assert v._counts.typecode == ("B" if biggest <= 255 else "H" if biggest <= 65_535 else "i")
    restored = ShareVelocity.from_state(json.loads(json.dumps(v.to_state())))
    assert restored.to_state() == v.to_state() and restored._counts.typecode == v._counts.typecode
    assert [restored.count(w, now) for w in WINDOWS] == [v.count(w, now) for w in WINDOWS]


def test_state_written_with_longer_rings_loads_and_answers_the_same():
    # Earlier versions kept the lateness in every ring too (43 ten-second buckets for the
    # 1-minute window); such a state must still load, the extra old buckets being dropped.
    rnd = random.Random(3)
    v = ShareVelocity()
    t = T0
    for _ in range(2000):
        t += rnd.randint(0, 3000)
        v.learn_one(t, 1)
    state = json.loads(json.dumps(v.to_state()))
    old = json.loads(json.dumps(state))
    for ring in old["b"]:
        ring[1] = ring[1] + [0] * (13 - len(ring[1])) + [7] * 30  # older buckets, out of every window
    restored = ShareVelocity.from_state(old)
    assert restored.to_state() == state
    for w in WINDOWS:
        assert restored.count(w, t) == v.count(w, t)
        assert restored.count_previous(w, t) == v.count_previous(w, t)


def test_a_new_lateness_changes_only_which_late_shares_are_accepted() -> None:
    v = ShareVelocity(lateness_s=300)
    for t in range(0, 600_000, 10_000):
        v.learn_one(1_000_000 + t)
    late = 1_000_000 + 590_000 - 600_000 + 5_000      # 595 s behind the newest
    assert not v.learn_one(late)
    before = v.to_state()
    v.lateness_s = 900
    assert {k: x for k, x in v.to_state().items() if k != "l"} == {k: x for k, x in before.items() if k != "l"}
    assert v.learn_one(late) and v.lateness_s == 900
    with pytest.raises(ValueError):
        v.lateness_s = -1
