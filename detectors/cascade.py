"""Everything the detector keeps about one cascade (a root post and its shares, quotes and replies).

:class:`CascadeState` folds in one decoded event at a time and answers with the alert transition
that event caused, if any. It composes the pure parts: :class:`~detectors.velocity.ShareVelocity`,
:class:`~detectors.forecast.CascadeForecast`, :func:`~detectors.virality.assess` and
:class:`~detectors.alerts.AlertLifecycle`. Its state is JSON-safe and small (``to_state()``).

Two guards make replays and restarts exact:

* ``offsets``: the highest input offset applied per source (topic, partition). An event at or
  below it was already applied (a restarted worker re-reads events after its last committed
  offset) and is skipped silently: it is not a duplicate of the producer's, it is our own re-read.
* ``recent``: CRC-32 of the last :data:`RECENT_IDS` event ids. An id seen again is a producer
  duplicate and is rejected as ``duplicate``. Older duplicates are not caught: an exact set per
  cascade would not fit the memory budget of a cascade with ten thousand shares.

The cascade's own rolling sentiment and complaint score are exponentially decayed means over the
texts of the root, quotes and replies, with a half-life of :data:`SENTIMENT_HALF_LIFE_S` of event
time, an O(1) rolling window that needs no buffer of past texts.
"""
from __future__ import annotations

import math
import zlib
from array import array
from typing import Any, NamedTuple

from detectors.alerts import IDLE_ALERT, AlertLifecycle
from detectors.events import Event
from detectors.forecast import CascadeForecast, Forecast
from detectors.state import read_state
from detectors.understanding import TextAnalysis
from detectors.velocity import ShareVelocity
from detectors.virality import Assessment, ViralityThresholds, assess, may_escalate

RECENT_IDS = 16
#: Brands a cascade whose root was not seen takes from its shares' tags, at most.
MAX_UNROOTED_BRANDS = 5
#: Version of the stored form (:meth:`CascadeState.to_state`); see :mod:`detectors.state`.
STATE_VERSION = 1
SENTIMENT_HALF_LIFE_S = 900.0
ROOT_TEXT_CHARS = 280
#: Velocity window used in alerts and the top-k gauges.
RATE_WINDOW_S = 300
#: Re-assess at least this often (event time) between growth checkpoints.
CHECK_EVERY_MS = 60_000
#: A resolved cascade reopens only at this fraction of the peak rate of its last alert.
REOPEN_RATE_RATIO = 0.5




class Decision(NamedTuple):
    """An alert transition caused by one event."""
    state: str              # open | escalated | resolved
    assessment: Assessment
    forecast: Forecast


def id_hash(event_id: str) -> int:
    """CRC-32 of an event id (what the duplicate guard remembers)."""
    return zlib.crc32(event_id.encode("utf-8", "surrogatepass"))


class CascadeState:
    """The state of one cascade. Build with :meth:`new`, fold events in with :meth:`learn_one`."""

    # Memory: a live cascade is mostly these slots and the detectors' arrays. What most cascades
    # never need costs nothing: the alert is a shared idle one until the first alert, brands an
    # empty tuple, applied offsets None until the first tracked one (then a flat list, not a dict).
    __slots__ = ("root_id", "root_ms", "root_seen", "root_text", "root_lang", "root_kind",
                 "root_complaint", "root_sentiment", "brands", "platform", "sent", "compl",
                 "text_ms", "n_text", "velocity", "forecast", "alert", "recent", "_applied",
                 "last_ms", "quotes", "replies", "next_check", "check_ms", "alert_type")

    def __init__(self, root_id: str, root_ms: int, lateness_s: int):
        self.root_id = root_id
        self.root_ms = root_ms          # the root post's time, or the earliest event's until it arrives
        self.root_seen = False
        self.root_text = ""
        self.root_lang = "und"
        self.root_kind = "other"
        self.root_complaint = 0.0
        self.root_sentiment = 0.0
        self.brands: tuple[str, ...] = ()
        self.platform: str | None = None
        self.sent = 0.0                 # decayed mean sentiment of the cascade's texts
        self.compl = 0.0                # decayed mean complaint probability
        self.text_ms = 0
        self.n_text = 0
        self.velocity = ShareVelocity(lateness_s=lateness_s)
        self.forecast = CascadeForecast()
        self.alert = IDLE_ALERT          # replaced by its own AlertLifecycle at the first alert
        self.recent = array("I")       # CRC-32s of the last RECENT_IDS ids (4 bytes each)
        self._applied: list | None = None   # [source, offset, source, offset, ...]
        self.last_ms = root_ms
        self.quotes = 0                 # of the shares counted by velocity, how many were quotes ...
        self.replies = 0                # ... and replies
        self.next_check = 0             # assess again at this many shares ...
        self.check_ms = 0               # ... or this much event time after the last assessment
        self.alert_type = ""            # the type an alert opened with: kept until it resolves

    @classmethod
    def new(cls, event: Event, lateness_s: int = 300) -> "CascadeState":
        return cls(event.root_id, event.t_ms, lateness_s)

    # -- guards -----------------------------------------------------------------------------

    def already_applied(self, source: str | None, offset: int | None) -> bool:
        """True when this input offset was applied before (a re-read after a restart)."""
        if source is None or offset is None:
            return False
        return offset <= self.applied_offset(source)

    def _offset_at(self, source: str) -> int:
        """Where ``source``'s offset sits in ``_applied`` (``[source, offset, ...]``), -1 if absent."""
        a = self._applied
        if a:
            for i in range(0, len(a), 2):
                if a[i] == source:
                    return i + 1
        return -1

    def applied_offset(self, source: str) -> int:
        """The highest offset applied from ``source``, -1 if none."""
        i = self._offset_at(source)
        return self._applied[i] if i >= 0 else -1

    def mark_applied(self, source: str | None, offset: int | None) -> None:
        if source is None or offset is None:
            return
        i = self._offset_at(source)
        if i >= 0:
            self._applied[i] = offset
        elif self._applied is None:
            self._applied = [source, offset]
        else:
            self._applied += (source, offset)

    def rename_sources(self, names: dict[str, str]) -> None:
        """Keep the applied offsets of each source in ``names`` under its new name instead."""
        a = self._applied
        if a:
            for i in range(0, len(a), 2):
                a[i] = names.get(a[i], a[i])

    @property
    def offsets(self) -> dict[str, int]:
        """The applied offsets as a dict ``{source: offset}`` (a copy)."""
        a = self._applied or ()
        return dict(zip(a[0::2], a[1::2]))

    @property
    def kind_counts(self) -> tuple[int, int, int]:
        """``(shares, quotes, replies)`` counted so far (late ones excluded)."""
        q, r = self.quotes, self.replies
        return (self.velocity.shares - q - r, q, r)

    def is_duplicate(self, event: Event, h: int | None = None) -> bool:
        """True for a root seen before, or an id among the last :data:`RECENT_IDS` (``h``: the
        event id's :func:`id_hash`, when the caller has it already)."""
        if event.is_root and self.root_seen:
            return True
        return (id_hash(event.id) if h is None else h) in self.recent

    def remember(self, event: Event, h: int | None = None) -> None:
        recent = self.recent
        recent.append(id_hash(event.id) if h is None else h)
        if len(recent) > RECENT_IDS:
            del recent[0]

    # -- learning ---------------------------------------------------------------------------

    def fold_text(self, t_ms: int, analysis: TextAnalysis) -> None:
        """Fold one text's sentiment and complaint probability into the decayed means."""
        if self.n_text == 0:
            self.sent, self.compl = analysis.sentiment, analysis.complaint
        else:
            dt = max(0, t_ms - self.text_ms) / 1000.0
            keep = math.exp(-dt * math.log(2) / SENTIMENT_HALF_LIFE_S) if dt else 1.0
            # weight of the new text relative to the decayed history (at most 1/2 for the second)
            w = 1.0 / (1.0 + keep * min(self.n_text, 20))
            self.sent += w * (analysis.sentiment - self.sent)
            self.compl += w * (analysis.complaint - self.compl)
        self.text_ms = max(self.text_ms, t_ms)
        self.n_text += 1

    def set_root(self, event: Event, analysis: TextAnalysis | None) -> None:
        self.root_seen = True
        if event.t_ms < self.root_ms:
            self.root_ms = event.t_ms
        self.root_text = (event.text or "")[:ROOT_TEXT_CHARS]
        self.platform = event.platform
        if analysis is not None:
            self.root_lang = analysis.lang
            self.root_kind = analysis.kind
            self.root_complaint = analysis.complaint
            self.root_sentiment = analysis.sentiment
        # the root's own brands first, then any its shares were tagged with before it arrived; but
        # an alert already open keeps the brand it opened with (consumers route by it)
        own = (*event.brands, *(analysis.brands if analysis else ()))
        brands = (*self.brands, *own) if self.alert.active else (*own, *self.brands)
        self.brands = tuple(dict.fromkeys(brands))  # no repeats

    def learn_unrooted(self, event: Event, analysis: TextAnalysis | None) -> None:
        """What a share, quote or reply tells about a cascade whose root post has not been seen (the
        stream began after it, or it was lost): the brands the producer tagged its shares with (a
        quote or reply is tagged for its own text, which may name a competitor), and the
        language (of its text) and platform of the first that has them. The root post, if it
        comes, takes precedence. Brands a reply only *names* are not taken: a reply praising a
        competitor would make the competitor the subject of the whole cascade."""
        if event.brands and event.kind == "share":   # a quote's or reply's tags are its own text's
            self.brands = tuple(dict.fromkeys((*self.brands, *event.brands)))[:MAX_UNROOTED_BRANDS]
        if self.root_lang == "und" and analysis is not None and analysis.lang != "und":
            self.root_lang = analysis.lang
        if self.platform is None and event.platform is not None:
            self.platform = event.platform

    @property
    def shares(self) -> int:
        return self.velocity.shares

    @property
    def cascade_kind(self) -> str:
        """complaint, praise or other: the root's kind if seen, otherwise what the replies say."""
        if self.root_seen and self.root_kind in ("complaint", "praise"):
            return self.root_kind
        if self.n_text:
            if self.compl >= 0.5:
                return "complaint"
            if self.sent >= 0.3:
                return "praise"
        return "other"

    def learn_share(self, event: Event) -> bool:
        """Count a share/quote/reply; False if it came later than the allowed lateness."""
        t_ms = event.t_ms
        if not self.velocity.learn_one(t_ms, event.followers):
            return False
        if t_ms < self.root_ms and not self.root_seen:
            self.root_ms = t_ms
        self.forecast.learn_one((t_ms - self.root_ms) / 1000.0, event.followers)  # clamps at 0
        kind = event.kind
        if kind == "quote":
            self.quotes += 1
        elif kind == "reply":
            self.replies += 1
        if t_ms > self.last_ms:
            self.last_ms = t_ms
        return True

    def decide(self, now_ms: int, thresholds: ViralityThresholds, cooldown_s: float) -> Decision | None:
        """Assess virality at event time ``now_ms`` and step the alert lifecycle."""
        shares = self.velocity.shares
        if shares < thresholds.decide_from:
            return None
        # Assessing costs a forecast; do it on 4 % growth or every CHECK_EVERY_MS of event time.
        if shares < self.next_check and now_ms < self.check_ms + CHECK_EVERY_MS:
            return None
        # nothing to flag in a cascade neither complaint nor praise, also once its last alert has
        # resolved: reopened, it would be labelled a complaint and page (an active alert goes on)
        if self.cascade_kind == "other" and not self.alert.active:
            return None
        self.next_check = shares + max(1, shares // 25)
        self.check_ms = now_ms
        now_ms = max(now_ms, self.velocity.last_t_ms or now_ms)
        alert = self.alert
        # The busiest cascades are the ones alerting: what cannot change their alert is skipped
        # (exactly: the same transitions come out). Escalated, no level changes it; open, only
        # level 2 does, and the forecast alone can rule that out without the classifier's score.
        # Only the alert's peak rate is kept up to date then.
        need = alert.next_level
        if need is None:
            self._track_peak(alert, now_ms)
            return None
        age_s = max(0.0, (now_ms - self.root_ms) / 1000.0)
        forecast = self.forecast.predict(age_s)
        if need == 2 and not may_escalate(shares, forecast, thresholds):
            self._track_peak(alert, now_ms)
            return None
        assessment = assess(shares, self.velocity, forecast, age_s, now_ms, thresholds)
        level = assessment.level
        if alert.state == "resolved" and level and self.rate(now_ms) < REOPEN_RATE_RATIO * alert.peak_rate:
            level = 0  # past its peak: a cascade reopens only when it comes back fast
        if level and alert is IDLE_ALERT:
            alert = self.alert = AlertLifecycle()
        state = alert.step(level, now_ms, cooldown_s)
        self._track_peak(alert, now_ms)
        if state is None:
            return None
        return Decision(state, assessment, forecast)

    def _track_peak(self, alert: AlertLifecycle, now_ms: int) -> None:
        """Raise an active alert's peak rate to the current one (what the cool-down compares with)."""
        if alert.active:
            rate = self.rate(now_ms)
            if rate > alert.peak_rate:
                alert.peak_rate = rate

    def maybe_resolve(self, now_ms: int, quiet_s: float, cool_ratio: float) -> Decision | None:
        """Resolve an active alert once the cascade has cooled down at watermark ``now_ms``.

        Cooled means: no share for ``quiet_s``, or the 15-minute share rate has fallen below
        ``cool_ratio`` of the peak 5-minute rate seen while the alert was active.
        """
        if not self.alert.active or now_ms < self.alert.changed_ms:
            return None
        quiet = now_ms - (self.velocity.last_t_ms or self.last_ms) >= quiet_s * 1000
        try:
            slow = self.velocity.rate_per_min(900, now_ms) < cool_ratio * self.alert.peak_rate
        except ValueError:
            slow = True
        if not (quiet or (slow and now_ms - self.alert.opened_ms >= 900_000)):
            return None
        age_s = max(0.0, (now_ms - self.root_ms) / 1000.0)
        forecast = self.forecast.predict(age_s)
        self.alert.resolve(now_ms)
        why = "no shares" if quiet else "share rate fell"
        reason = (f"cooled down: {why}; {self.shares:,} shares, "
                  f"{self.velocity_or_zero(now_ms):.1f}/min over 5 min")
        return Decision("resolved", Assessment(0, 0.0, reason), forecast)

    def rate(self, now_ms: int) -> float:
        return self.velocity_or_zero(now_ms)

    def velocity_or_zero(self, now_ms: int, window_s: int = RATE_WINDOW_S) -> float:
        try:
            return self.velocity.rate_per_min(window_s, now_ms)
        except ValueError:
            return 0.0

    def acceleration(self, now_ms: int) -> float:
        try:
            return self.velocity.acceleration_per_min2(RATE_WINDOW_S, now_ms)
        except ValueError:
            return 0.0

    # -- state --------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "r": self.root_id, "rm": self.root_ms, "rs": self.root_seen, "rt": self.root_text,
            "rl": self.root_lang, "rk": self.root_kind, "rc": self.root_complaint,
            "rn": self.root_sentiment, "b": list(self.brands), "p": self.platform,
            "s": self.sent, "c": self.compl, "tm": self.text_ms, "nt": self.n_text,
            "v": self.velocity.to_state(), "f": self.forecast.to_state(), "a": self.alert.to_state(),
            "id": self.recent.tolist(), "o": self.offsets, "lm": self.last_ms, "k": list(self.kind_counts),
            "nc": self.next_check, "cm": self.check_ms, "at": self.alert_type,
            "_v": STATE_VERSION,  # last: the worker reads it from the stored bytes' end
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> "CascadeState":
        """The cascade of a :meth:`to_state` state; :class:`~detectors.state.StateError` if ``d`` is
        not one (:class:`~detectors.state.NewerStateError` if a newer release wrote it)."""
        return read_state(d, STATE_VERSION, "cascade", cls._from_state)

    @classmethod
    def _from_state(cls, d: dict[str, Any]) -> "CascadeState":
        c = cls.__new__(cls)
        c.root_id, c.root_ms, c.root_seen, c.root_text = d["r"], d["rm"], d["rs"], d["rt"]
        c.root_lang, c.root_kind, c.root_complaint, c.root_sentiment = d["rl"], d["rk"], d["rc"], d["rn"]
        c.brands, c.platform, c.sent, c.compl = tuple(d["b"]), d["p"], d["s"], d["c"]
        c.text_ms, c.n_text = d["tm"], d["nt"]
        c.velocity = ShareVelocity.from_state(d["v"])
        c.forecast = CascadeForecast.from_state(d["f"])
        c.alert = AlertLifecycle.from_state(d["a"], idle=IDLE_ALERT)
        c.recent, c.last_ms = array("I", d["id"]), d["lm"]
        c._applied = [x for kv in d["o"].items() for x in kv] or None
        c.quotes, c.replies = d["k"][1], d["k"][2]
        c.next_check, c.check_ms, c.alert_type = d["nc"], d["cm"], d["at"]
        return c
