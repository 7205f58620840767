"""The alert lifecycle of one subject (a cascade or a brand): open, escalated, resolved.

One alert per subject at a time, deduplicated: the lifecycle emits a transition only when the state
changes. ``alert_id`` names the incident (``type:subject:seq``) and stays the same for its open,
escalated and resolved messages; a new incident after resolution gets the next ``seq``. A resolved
subject cannot open again before ``cooldown_s`` of event time has passed unless it comes back at the
escalation level, which keeps a cascade hovering around a threshold from flapping.

>>> life = AlertLifecycle()
>>> life.step(level=1, t_ms=0, cooldown_s=3600)
'open'
>>> life.step(level=1, t_ms=1000, cooldown_s=3600) is None   # no change, no message
True
>>> life.step(level=2, t_ms=2000, cooldown_s=3600)
'escalated'
>>> life.resolve(t_ms=3000)
'resolved'
>>> life.step(level=1, t_ms=4000, cooldown_s=3600) is None   # cooling down
True
>>> life.step(level=1, t_ms=3_700_000, cooldown_s=3600), life.seq
('open', 2)
"""
from __future__ import annotations

from typing import Any

NONE, OPEN, ESCALATED, RESOLVED = "none", "open", "escalated", "resolved"
_LEVEL_STATE = {1: OPEN, 2: ESCALATED}


class AlertLifecycle:
    """State machine of one subject's alert. Time is event time, passed in."""

    __slots__ = ("state", "seq", "opened_ms", "changed_ms", "peak_rate")

    def __init__(self) -> None:
        self.state = NONE
        self.seq = 0
        self.opened_ms = 0
        self.changed_ms = 0
        self.peak_rate = 0.0

    @property
    def active(self) -> bool:
        return self.state in (OPEN, ESCALATED)

    @property
    def next_level(self) -> int | None:
        """The lowest level at which :meth:`step` can change the state: 1 before an alert (or after
        one resolved), 2 while it is open, None once escalated (no level changes it then)."""
        state = self.state
        return 2 if state == OPEN else None if state == ESCALATED else 1

    def step(self, level: int, t_ms: int, cooldown_s: float) -> str | None:
        """Fold in a new assessment level (0, 1, 2); return the new state if it changed."""
        if level <= 0:
            return None
        if self.state == OPEN and level >= 2:
            return self._move(ESCALATED, t_ms)
        if self.state in (NONE, RESOLVED):
            if self.state == RESOLVED and level < 2 and t_ms - self.changed_ms < cooldown_s * 1000:
                return None
            self.seq += 1
            self.opened_ms = t_ms
            self.peak_rate = 0.0
            return self._move(OPEN, t_ms)
        return None

    def escalate_opened(self, state: str | None, level: int, t_ms: int, cooldown_s: float) -> bool:
        """After :meth:`step` returned ``state``: an alert that opened already at the escalation level
        is escalated at once (its caller sends both messages), not at the next assessment; True if
        it was.

        >>> life = AlertLifecycle()
        >>> life.escalate_opened(life.step(2, 0, 3600), 2, 0, 3600), life.state
        (True, 'escalated')
        """
        return state == OPEN and level >= 2 and self.step(level, t_ms, cooldown_s) == ESCALATED

    def resolve(self, t_ms: int) -> str | None:
        if not self.active:
            return None
        return self._move(RESOLVED, t_ms)

    def _move(self, state: str, t_ms: int) -> str:
        self.state = state
        self.changed_ms = t_ms
        return state

    def to_state(self) -> list[Any]:
        return [self.state, self.seq, self.opened_ms, self.changed_ms, self.peak_rate]

    @classmethod
    def from_state(cls, s: list[Any], idle: "AlertLifecycle | None" = None) -> "AlertLifecycle":
        """Rebuild from :meth:`to_state`; a subject that never alerted gets ``idle`` if given (the
        shared :data:`IDLE_ALERT`) instead of an object of its own."""
        if idle is not None and s[0] == NONE and s[1] == 0:
            return idle
        life = cls()
        life.state, life.seq, life.opened_ms, life.changed_ms, life.peak_rate = s
        return life


class _IdleAlert(AlertLifecycle):
    """A lifecycle that never alerted, shared by every subject that has not: read-only."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("IDLE_ALERT is shared and read-only: give the subject its own "
                             "AlertLifecycle before stepping it")

    # Copies and pickles of a subject keep sharing the one object (and so stay `is IDLE_ALERT`).
    def __copy__(self) -> "_IdleAlert":
        return self

    def __deepcopy__(self, memo: dict) -> "_IdleAlert":
        return self

    def __reduce__(self) -> str:
        return "IDLE_ALERT"


#: The state of every subject that never alerted, one object for all of them (most never alert):
#: a subject holds it until its first alert, then its own :class:`AlertLifecycle`. Stepping it with
#: a level above 0 raises ``AttributeError`` (level 0 and :meth:`~AlertLifecycle.resolve` change
#: nothing and work).
IDLE_ALERT: AlertLifecycle = _IdleAlert.__new__(_IdleAlert)
for _name, _value in zip(AlertLifecycle.__slots__, AlertLifecycle().to_state()):
    object.__setattr__(IDLE_ALERT, _name, _value)
del _name, _value
