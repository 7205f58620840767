"""A cascade's state: guards against re-reads and duplicates, and exact state round trips."""
from __future__ import annotations

import orjson
import pytest

from detectors.cascade import CascadeState
from detectors.chain import ChainConfig, PartitionProcessor
from detectors.events import Rejected, decode_event
from detectors.understanding import DefaultAnalyzer
from tests.factories import BASE_MS, COMPLAINT_SV, by_time, cascade

ANALYZER = DefaultAnalyzer({"sj": ["SJ", "@SJ_AB"]})


def run(events, round_trip: bool):
    proc = PartitionProcessor(ChainConfig(), ANALYZER)
    out = []
    for offset, raw in enumerate(events):
        try:
            out += [(a["transition_id"], a["shares"], a["velocity_per_min"], a["predicted_final_shares"])
                    for a in proc.process(decode_event(raw), "p", offset)]
        except Rejected as r:
            out.append(("rejected", r.reason))
        if round_trip:
            for k in list(proc.store):
                proc.store[k] = CascadeState.from_state(orjson.loads(orjson.dumps(proc.store[k].to_state())))
    return out, proc


def test_state_round_trip_after_every_event_changes_no_decision() -> None:
    events = by_time(cascade("c1", COMPLAINT_SV, "sv", 1500, brands=["sj"], reply_every=9))
    plain, _ = run(events, False)
    tripped, _ = run(events, True)
    assert any(t[0] == "viral_complaint:c1:1:open" for t in plain)
    assert plain == tripped


def test_state_round_trip_is_exact() -> None:
    """A cascade read back from its stored form (a restart, or the worker evicting an idle one)
    continues exactly as if it had stayed in memory: nothing in the state is rounded."""
    events = by_time(cascade("c1", COMPLAINT_SV, "sv", 600, brands=["sj"], reply_every=3,
                             reply_texts=["Tack för hjälpen!", "Helt otroligt dåligt SJ", "Varför?"]))
    _, plain = run(events, False)
    _, tripped = run(events, True)
    c = plain.store["c1"]
    assert c.n_text > 100 and c.alert.peak_rate > 0
    assert tripped.store["c1"].to_state() == c.to_state()


def test_state_is_small() -> None:
    events = by_time(cascade("c2", COMPLAINT_SV, "sv", 3000, brands=["sj"], reply_every=5))
    _, proc = run(events, False)
    size = len(orjson.dumps(proc.store["c2"].to_state()))
    assert size <= 2048, size


def test_a_re_read_offset_is_skipped_silently_and_a_producer_duplicate_is_rejected() -> None:
    events = by_time(cascade("c3", COMPLAINT_SV, "sv", 50))
    proc = PartitionProcessor(ChainConfig(), ANALYZER)
    for offset, raw in enumerate(events):
        proc.process(decode_event(raw), "p", offset)
    c = proc.store["c3"]
    before = c.to_state()
    assert proc.process(decode_event(events[-1]), "p", len(events) - 1) == []   # restart re-read
    assert c.to_state() == before and proc.reapplied == 1
    with pytest.raises(Rejected) as info:
        proc.process(decode_event(events[-1]), "p", len(events))                # same id, new offset
    assert info.value.reason == "duplicate"
    with pytest.raises(Rejected) as info:
        proc.process(decode_event(events[0]), "p", len(events) + 1)             # the root again
    assert info.value.reason == "duplicate"


def test_an_offset_past_the_end_of_its_log_is_not_a_re_read() -> None:
    """An input topic deleted and recreated under the same name starts its offsets again at 0: a
    cascade's applied offset beyond where the partition now ends came from the old log, so events
    at or below it are new, not re-reads (they were skipped silently before)."""
    events = by_time(cascade("c4", COMPLAINT_SV, "sv", 60))
    proc = PartitionProcessor(ChainConfig(), ANALYZER)
    for offset, raw in enumerate(events[:40]):
        proc.process(decode_event(raw), "t#0", 1000 + offset)              # the old log: 1000..1039
    c = proc.store["c4"]
    ends = {"t#0": 1040}
    proc.log_end = ends.get
    before = c.to_state()
    assert proc.process(decode_event(events[39]), "t#0", 1039) == []       # a genuine re-read
    assert c.to_state() == before and proc.reapplied == 1 and proc.past_end == {}
    ends["t#0"] = 15                                                       # recreated: 15 records so far
    for offset, raw in enumerate(events[40:55]):
        proc.process(decode_event(raw), "t#0", offset)
    assert c.velocity.shares == 54 and proc.reapplied == 1
    assert proc.past_end == {"t#0": 1} and c.applied_offset("t#0") == 14  # the new log's offsets from then on
    assert proc.process(decode_event(events[54]), "t#0", 14) == []         # and re-reads of the new log
    assert proc.reapplied == 2
    proc.log_end = lambda source: None                                     # the consumer cannot tell:
    assert proc.process(decode_event(events[55]), "t#0", 3) == []          # a re-read, as before
    assert proc.reapplied == 3


def test_too_late_and_future_events_are_rejected() -> None:
    events = by_time(cascade("c4", COMPLAINT_SV, "sv", 30))
    proc = PartitionProcessor(ChainConfig(lateness_s=60), ANALYZER)
    for raw in events:
        proc.process(decode_event(raw))
    newest = max(e["created_at"] for e in events)
    late = {"id": "late", "kind": "share", "root_id": "c4", "created_at": newest - 120_000, "author": {"id": "z"}}
    with pytest.raises(Rejected) as info:
        proc.process(decode_event(late))
    assert info.value.reason == "too_late"
    early = {**late, "id": "early", "created_at": newest + 3_600_000}
    with pytest.raises(Rejected) as info:
        proc.process(decode_event(early), arrival_ms=newest)
    assert info.value.reason == "from_the_future"


def test_out_of_order_within_lateness_gives_the_same_counts() -> None:
    events = by_time(cascade("c5", COMPLAINT_SV, "sv", 200))
    swapped = list(events)
    for i in range(1, len(swapped) - 1, 7):
        if swapped[i + 1]["created_at"] - swapped[i]["created_at"] < 300_000:   # within the lateness
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    _, a = run(events, False)
    _, b = run(swapped, False)
    ca, cb = a.store["c5"], b.store["c5"]
    assert ca.shares == cb.shares and ca.velocity.reach == cb.velocity.reach
    now = ca.velocity.last_t_ms
    assert ca.velocity_or_zero(now) == cb.velocity_or_zero(now)


def test_what_most_cascades_never_need_is_shared_until_needed() -> None:
    """A cascade that never alerts holds the shared idle alert; one that alerts gets its own.
    Offsets of two sources and the kind counts survive a round trip in their JSON form."""
    from detectors.alerts import IDLE_ALERT
    quiet = by_time(cascade("q1", COMPLAINT_SV, "sv", 40, reply_every=4))
    loud = by_time(cascade("c1", COMPLAINT_SV, "sv", 1500, brands=["sj"], reply_every=9))
    proc = PartitionProcessor(ChainConfig(), ANALYZER)
    for offset, raw in enumerate(quiet + loud):
        proc.process(decode_event(raw), "p" if offset % 3 else "r", offset)
    q, c = proc.store["q1"], proc.store["c1"]
    assert q.alert is IDLE_ALERT and c.alert is not IDLE_ALERT and c.alert.seq == 1
    assert set(q.offsets) == {"p", "r"} and q.offsets["p"] == max(o for o in range(len(quiet)) if o % 3)
    shares, quotes, replies = q.kind_counts
    assert replies == 10 and shares + quotes + replies == q.shares == 40
    for before in (q, c):
        state = orjson.loads(orjson.dumps(before.to_state()))
        assert state["o"] == before.offsets and state["k"] == list(before.kind_counts)
        after = CascadeState.from_state(state)
        assert after.to_state() == before.to_state()
        assert (after.alert is IDLE_ALERT) == (before.alert is IDLE_ALERT)
        assert after.applied_offset("r") == before.applied_offset("r") >= 0
        assert after.applied_offset("x") == -1 and not after.already_applied("x", 0)


def test_skipping_assessments_that_cannot_change_an_alert_changes_no_alert(monkeypatch) -> None:
    """decide() skips the classifier for an open alert the forecast cannot escalate, and the whole
    assessment once escalated; the alerts must be exactly those of assessing every time."""
    import detectors.cascade as cascade_module
    from detectors.alerts import AlertLifecycle

    def events():
        out = []
        for k, (shares, hours) in enumerate([(7000, 2), (1800, 3), (600, 3), (3000, 1)]):
            out += cascade(f"v{k}", COMPLAINT_SV, "sv", shares, seed=k, duration_s=hours * 3600)
        # the second cascade comes back a day later, fast: reopen after resolution
        again = cascade("v1", COMPLAINT_SV, "sv", 2500, start_ms=BASE_MS + 86_400_000, seed=9,
                        duration_s=1800)
        out += [dict(e, id=f"again-{e['id']}") for e in again if e["kind"] != "post"]
        return by_time(out)

    def alerts():
        proc = PartitionProcessor(ChainConfig(), ANALYZER)
        out = []
        for offset, raw in enumerate(events()):
            try:
                out += proc.process(decode_event(raw), "p", offset)
            except Rejected:
                pass
        out += proc.sweep(BASE_MS + 10 * 86_400_000)
        return out, proc

    fast, proc = alerts()
    states = {a["transition_id"].rsplit(":", 1)[-1] for a in fast}
    assert {"open", "escalated", "resolved"} <= states, states       # every path was taken
    assert any(a["transition_id"].startswith("viral_complaint:v1:2:") for a in fast)  # reopened
    monkeypatch.setattr(AlertLifecycle, "next_level", property(lambda self: 1))
    monkeypatch.setattr(cascade_module, "may_escalate", lambda *a: True)
    slow, _ = alerts()
    assert [a["transition_id"] for a in fast] == [a["transition_id"] for a in slow]
    assert fast == slow


def _stored(events=None) -> dict:
    events = events or by_time(cascade("c9", COMPLAINT_SV, "sv", 40))
    _, proc = run(events, False)
    return orjson.loads(orjson.dumps(proc.store["c9"].to_state()))


def test_the_stored_form_names_its_format_version_last_and_older_states_read_as_version_1() -> None:
    from detectors.cascade import STATE_VERSION

    state = _stored()
    assert list(state)[-1] == "_v" and state["_v"] == STATE_VERSION == 1
    del state["_v"]   # as written before versions were recorded
    assert CascadeState.from_state(state).to_state() == _stored()


@pytest.mark.parametrize("damage", [
    lambda d: d.pop("v"),                      # a key missing
    lambda d: d.update(id="not a list"),       # a value of the wrong type
    lambda d: d.update(k=[1]),                 # too short
    lambda d: d.update(_v="1"),                # a version that is not a number
    lambda d: d.update(_v=0),
])
def test_a_damaged_state_is_a_state_error_not_a_key_error(damage) -> None:
    from detectors.state import NewerStateError, StateError

    state = _stored()
    damage(state)
    with pytest.raises(StateError) as err:
        CascadeState.from_state(state)
    assert not isinstance(err.value, NewerStateError)
    assert "cascade state" in str(err.value)


@pytest.mark.parametrize("value", [[1, 2], "text", None, 3])
def test_a_state_that_is_not_an_object_is_a_state_error(value) -> None:
    from detectors.state import StateError

    with pytest.raises(StateError, match="not a JSON object"):
        CascadeState.from_state(value)


def test_a_state_of_a_newer_release_is_refused_by_name() -> None:
    from detectors.state import NewerStateError

    state = _stored()
    state["_v"] = 2
    with pytest.raises(NewerStateError, match="format version 2, written by a newer release"):
        CascadeState.from_state(state)
