"""The virality decision: is this cascade going viral, and should a person be told?

One pure function, :func:`assess`, turns what the detectors know about a cascade (shares so far,
their velocity, the final-size forecast, its age) into a level, a score and a one-line reason.
Its thresholds live in one frozen dataclass, :class:`ViralityThresholds`, which the settings layer
fills from the environment.

Levels: 0 = not viral, 1 = going viral (open an alert), 2 = escalate. The score is an explicit
early-flag classifier: a logistic regression (coefficients :data:`FLAG_COEF`) on a handful of
features (:func:`flag_features`: shares and forecast relative to ``viral_final``, the share of
recent shares over 1 min .. 1 h, the speed-up over 5 min, 15 min and 1 h, age, the SEISMIC
infectiousness and the follower reach). A cascade is *going viral* when it has at least
``min_shares`` shares and the score reaches ``open_score``, or at least ``early_shares`` and the
score reaches the higher ``early_score`` (or it already has ``open_shares`` or ``viral_final``
shares). It is
*escalated* when even the low end of the forecast interval reaches ``escalate_final``, or the
shares themselves do. The decision is stateless: it needs no memory beyond the detectors'.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from detectors.forecast import Forecast
from detectors.velocity import ShareVelocity


#: Default ``min_shares`` and ``early_shares`` as fractions of ``viral_final`` (chosen with
#: ``open_score``, ``early_score`` and the coefficients below, see :data:`FLAG_COEF`).
MIN_SHARE_RATIO = 0.4
EARLY_SHARE_RATIO = 0.15


@dataclass(frozen=True, slots=True)
class ViralityThresholds:
    """Where the decision draws its lines.

    Attributes
    ----------
    viral_final
        Final size (shares) that counts as viral.
    open_score
        The classifier score (0..1) at which an alert opens (lower trades precision for lead time).
    escalate_final
        Final size at which an open alert is escalated: when the low end of the forecast interval
        (or the share count) reaches it.
    min_shares
        From this many shares, a score of ``open_score`` opens an alert. ``None`` (the default)
        means :data:`MIN_SHARE_RATIO` of ``viral_final`` (400 for 1,000): the classifier's features
        are relative to ``viral_final``, and so is the point from which it may decide.
    early_score, early_shares
        The early line: from ``early_shares`` shares (default :data:`EARLY_SHARE_RATIO` of
        ``viral_final``, 150 for 1,000), a score of at least ``early_score`` opens an alert already.
        Fast cascades are sure early; the rest wait for ``min_shares``. ``early_shares=0`` turns it off.
    open_shares
        Open an alert at this many shares whatever the forecast says (0 = off): a plain count
        backstop for cascades the forecast underrates.
    rate_window_s
        The velocity window quoted in the reason.
    """

    viral_final: float = 1000.0
    open_score: float = 0.8
    escalate_final: float = 5000.0
    min_shares: int | None = None
    early_score: float = 0.9
    early_shares: int | None = None
    open_shares: int = 0
    rate_window_s: int = 300
    #: No assessment before this many shares: the lower of the two lines (set from the others).
    decide_from: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not (self.viral_final > 0 and self.escalate_final >= self.viral_final):
            raise ValueError("need 0 < viral_final <= escalate_final")
        if self.min_shares is None:
            object.__setattr__(self, "min_shares", max(1, round(MIN_SHARE_RATIO * self.viral_final)))
        if self.early_shares is None:
            object.__setattr__(self, "early_shares", max(1, round(EARLY_SHARE_RATIO * self.viral_final)))
        if not (0 < self.early_score <= 1):
            raise ValueError("early_score must be in (0, 1]")
        if not (0 < self.open_score < 1):
            raise ValueError("open_score must be in (0, 1)")
        if self.min_shares < 0 or self.open_shares < 0 or self.early_shares < 0:
            raise ValueError("min_shares, early_shares and open_shares must not be negative")
        first = min(self.min_shares, self.early_shares) if self.early_shares else self.min_shares
        object.__setattr__(self, "decide_from", first)


class Assessment:
    """A decision's level (0 none, 1 viral, 2 escalated), score (0..1) and one-line reason.

    The reason is written when first read: most assessments change nothing and nobody reads it.
    """

    __slots__ = ("level", "score", "_reason", "_parts")

    def __init__(self, level: int, score: float, reason: str | None = None, parts: tuple | None = None):
        if reason is None and parts is None:
            raise ValueError("an Assessment needs a reason or the parts to write it from")
        self.level = level
        self.score = score
        self._reason = reason
        self._parts = parts

    @property
    def reason(self) -> str:
        if self._reason is None:
            self._reason = _reason(*self._parts)
        return self._reason

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Assessment):
            return NotImplemented
        return (self.level, self.score, self.reason) == (other.level, other.score, other.reason)

    def __repr__(self) -> str:
        return f"Assessment(level={self.level}, score={self.score!r}, reason={self.reason!r})"


def _reason(shares: int, age_s: float, rate: float, window: int, forecast: Forecast, score: float) -> str:
    reason = (f"{shares:,} shares in {_age(age_s)}, {rate:.1f}/min over {_age(window)}, "
              f"forecast {_size(forecast.final)} ({_size(forecast.low)}-{_size(forecast.high)})")
    if forecast.supercritical:
        reason += ", supercritical"
    # the classifier, not the forecast alone, opens alerts: say how sure it is
    return reason + f", viral probability {score:.0%}"


def _age(age_s: float) -> str:
    if age_s < 3600:
        return f"{max(age_s, 0.0) / 60:.0f} min"
    if age_s < 172_800:
        return f"{age_s / 3600:.1f} h"
    return f"{age_s / 86400:.1f} days"


def _size(x: float) -> str:
    if math.isinf(x):
        return "unbounded"
    return f"{x:,.0f}"


#: Windows (s) of the recent share counts the early-flag classifier reads.
FLAG_WINDOWS_S = (60, 300, 900, 3600)
#: Names of :func:`flag_features`, in order (the classifier's coefficients follow this order).
FLAG_FEATURES = ("log_shares", "log_forecast", "recent_1min", "recent_5min", "recent_15min",
                 "recent_1h", "speedup_5min", "log_age", "supercritical", "log_branching",
                 "log_reach", "speedup_15min", "speedup_1h")


#: Intercept, then one coefficient per feature of FLAG_FEATURES. FITTED on the tuning half of the
#: shared cascade sets: a least-squares regression of log(final size / 1,000) (capped at 3) on the
#: features of every assessment with at least 150 shares before the cascade reaches half of 1,000
#: shares (each cascade weighing the same), turned into a probability by a one-variable logistic
#: regression of "ends viral" on that prediction (Platt scaling), so the score is still the
#: logistic of a linear function of the features. The defaults ``open_score`` = 0.8 and
#: ``min_shares`` = 400 (:data:`MIN_SHARE_RATIO` of 1,000) were chosen on the same half for the F1
#: of the first flag. Reproduce with ``python -m bench.eval_virality_flag DATA_DIR``.
FLAG_COEF = (2.5489, 2.8974, 1.1066, 3.2556, -0.3736, 2.6336, 1.0960, -0.0549, -0.0568, 0.4114,
             0.2241, 0.3305, -0.1624, -0.4710)


_FLAG_SLOPES = FLAG_COEF[1:]


def flag_score(features: list[float]) -> float:
    """Probability-like score of the early-flag classifier for :func:`flag_features`."""
    z = FLAG_COEF[0]
    for b, x in zip(_FLAG_SLOPES, features):
        z += b * x
    if z < -30.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def flag_features(shares: int, velocity: ShareVelocity, forecast: Forecast, age_s: float,
                  now_ms: int, viral_final: float) -> list[float]:
    """The early-flag classifier's inputs, all from what :func:`assess` is given.

    Sizes are relative to ``viral_final`` and recent counts relative to the shares so far, so the
    features mean the same for another viral threshold (the coefficients were fitted at 1,000).
    """
    n = float(max(shares, 1))
    windows = velocity.windows_s
    pairs = velocity.window_pairs(now_ms)  # None where now_ms is further back than a window answers
    if windows != FLAG_WINDOWS_S:  # other windows: the ones the classifier reads, (0, 0) if missing
        pairs = [pairs[windows.index(w)] if w in windows else (0, 0) for w in FLAG_WINDOWS_S]
    (c1, _), (c5, p5), (c15, p15), (c60, p60) = [pair or (0, 0) for pair in pairs]
    final = forecast.final if forecast.final > n else n
    known = velocity.shares - velocity.unknown_followers
    log1p = math.log1p
    # speed-up over a window: latest against previous window, in -1..1 (not read for 1 min)
    return [
        math.log(n / viral_final),
        min(math.log(final / viral_final), 7.0),
        log1p(c1 / n), log1p(c5 / n), log1p(c15 / n), log1p(c60 / n),
        (c5 - p5) / (c5 + p5 + 1.0),
        log1p(max(age_s, 0.0) / 60.0),
        1.0 if forecast.supercritical else 0.0,
        log1p(100.0 * max(forecast.infectiousness, 0.0)),
        log1p(velocity.reach / known) if known > 0 else 0.0,
        (c15 - p15) / (c15 + p15 + 1.0),
        (c60 - p60) / (c60 + p60 + 1.0),
    ]


def may_escalate(shares: int, forecast: Forecast, thresholds: ViralityThresholds) -> bool:
    """False when :func:`assess` cannot answer level 2 for these shares and this forecast, whatever
    the classifier's score: a caller that only cares about escalation then needs no assessment.

    >>> from detectors.forecast import Forecast
    >>> th = ViralityThresholds()
    >>> may_escalate(900, Forecast(4200.0, 2900.0, 6100.0, 0.009, False), th)
    False
    >>> may_escalate(900, Forecast(8000.0, 5100.0, 12000.0, 0.009, False), th)
    True
    """
    # assess's level 2 needs this (and an alert-worthy score or min_shares); it is the part that
    # needs no score
    return shares >= thresholds.escalate_final or forecast.low >= thresholds.escalate_final


def assess(shares: int, velocity: ShareVelocity, forecast: Forecast, age_s: float, now_ms: int,
           thresholds: ViralityThresholds = ViralityThresholds()) -> Assessment:
    """Decide whether a cascade is going viral.

    Parameters
    ----------
    shares
        Shares of the cascade so far.
    velocity
        Its :class:`~detectors.velocity.ShareVelocity`.
    forecast
        Its current final-size :class:`~detectors.forecast.Forecast`.
    age_s
        Seconds since the original post.
    now_ms
        Event time of the decision (epoch ms).
    thresholds
        Where to draw the lines.

    Examples
    --------
    >>> from detectors.forecast import Forecast
    >>> from detectors.velocity import ShareVelocity
    >>> v = ShareVelocity()
    >>> for i in range(450):
    ...     _ = v.learn_one(i * 1_000)
    >>> a = assess(450, v, Forecast(4200.0, 2900.0, 6100.0, 0.009, False), age_s=449,
    ...            now_ms=449_000)
    >>> a.level, round(a.score, 2)
    (1, 0.98)
    >>> a.reason
    '450 shares in 7 min, 60.2/min over 5 min, forecast 4,200 (2,900-6,100), viral probability 98%'
    """
    th = thresholds
    window = th.rate_window_s if th.rate_window_s in velocity.windows_s else min(velocity.windows_s)
    try:
        rate = velocity.rate_per_min(window, now_ms)
    except ValueError:  # now_ms further back than the velocity can answer for
        rate = 0.0
    score = flag_score(flag_features(shares, velocity, forecast, age_s, now_ms, th.viral_final))
    reason = (shares, age_s, rate, window, forecast, score)  # written if read (Assessment.reason)
    first = th.decide_from
    if shares < first:
        score *= shares / first if first else 1.0
        return Assessment(0, min(score, th.open_score), parts=reason)
    opens = (shares >= th.viral_final or 0 < th.open_shares <= shares
             or (score >= th.open_score and shares >= th.min_shares)
             or (score >= th.early_score and 0 < th.early_shares <= shares))
    # the score is the classifier's; an alert's is at least the line, a non-alert's at most
    if (opens or shares >= th.min_shares) and may_escalate(shares, forecast, th):
        return Assessment(2, max(score, th.open_score), parts=reason)
    if opens:
        return Assessment(1, max(score, th.open_score), parts=reason)
    return Assessment(0, min(score, th.open_score), parts=reason)
