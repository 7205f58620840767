import pytest
from hypothesis import given, strategies as st

from detectors.alerts import AlertLifecycle


def test_one_open_per_incident_then_escalate_and_resolve() -> None:
    life = AlertLifecycle()
    assert life.step(0, 0, 60) is None
    assert life.step(1, 1, 60) == "open"
    assert life.step(1, 2, 60) is None
    assert life.step(2, 3, 60) == "escalated"
    assert life.step(2, 4, 60) is None
    assert life.step(1, 5, 60) is None          # no de-escalation message
    assert life.resolve(6) == "resolved"
    assert life.resolve(7) is None


def test_cooldown_blocks_reopening_unless_escalation_level() -> None:
    life = AlertLifecycle()
    life.step(1, 0, 60)
    life.resolve(1000)
    assert life.step(1, 30_000, 60) is None      # within 60 s of event time
    assert life.step(2, 31_000, 60) == "open"    # comes back hard: a new incident at once
    assert life.seq == 2


@given(st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=60))
def test_state_round_trip_and_no_repeated_transitions(steps) -> None:
    life, other = AlertLifecycle(), AlertLifecycle()
    last = None
    for t, (level, resolve) in enumerate(steps):
        a = life.resolve(t * 1000) if resolve else life.step(level, t * 1000, 10)
        other = AlertLifecycle.from_state(other.to_state())
        b = other.resolve(t * 1000) if resolve else other.step(level, t * 1000, 10)
        assert a == b
        if a is not None:
            assert a != last
            last = a


def test_the_shared_idle_alert_is_read_only_and_stands_for_never_alerted_states() -> None:
    from detectors.alerts import IDLE_ALERT
    assert IDLE_ALERT.to_state() == AlertLifecycle().to_state()
    assert IDLE_ALERT.step(0, 5, 60) is None and IDLE_ALERT.resolve(5) is None
    with pytest.raises(AttributeError):
        IDLE_ALERT.step(1, 5, 60)          # would open an alert on every subject sharing it
    assert IDLE_ALERT.to_state() == AlertLifecycle().to_state()
    assert AlertLifecycle.from_state(AlertLifecycle().to_state(), idle=IDLE_ALERT) is IDLE_ALERT
    life = AlertLifecycle()
    life.step(1, 0, 60)
    life.resolve(10)
    back = AlertLifecycle.from_state(life.to_state(), idle=IDLE_ALERT)
    assert back is not IDLE_ALERT and back.to_state() == life.to_state()


def test_copies_and_pickles_of_a_never_alerted_cascade_share_the_idle_alert() -> None:
    import copy
    import pickle

    from detectors.alerts import IDLE_ALERT
    from detectors.cascade import CascadeState

    c = CascadeState("r", 0, 300)
    for other in (copy.copy(c), copy.deepcopy(c), pickle.loads(pickle.dumps(c))):
        assert other.alert is IDLE_ALERT and other.to_state() == c.to_state()
