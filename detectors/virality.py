"""The virality decision: is this cascade going viral, and should a person be told?

One pure function, :func:`assess`, turns what the detectors know about a cascade (shares so far,
their velocity, the final-size forecast, its age) into a level, a score and a one-line reason.
Its thresholds live in one frozen dataclass, :class:`ViralityThresholds`, which the settings layer
fills from the environment.

Levels: 0 = not viral, 1 = going viral (open an alert), 2 = escalate. A cascade is *going viral*
when it has at least ``min_shares`` shares and its forecast final size reaches
``viral_final * open_ratio`` (or it already has ``open_shares`` or ``viral_final`` shares). It is *escalated* when even the low end of the forecast
interval reaches ``escalate_final``, or the shares themselves do.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from detectors.forecast import Forecast
from detectors.velocity import ShareVelocity


@dataclass(frozen=True, slots=True)
class ViralityThresholds:
    """Where the decision draws its lines.

    Attributes
    ----------
    viral_final
        Final size (shares) that counts as viral; the alert opens when the forecast reaches
        ``viral_final * open_ratio``.
    open_ratio
        Fraction of ``viral_final`` the point forecast must reach to open an alert (below 1 trades
        precision for lead time).
    escalate_final
        Final size at which an open alert is escalated: when the low end of the forecast interval
        (or the share count) reaches it.
    min_shares
        No decision (level 0) before a cascade has this many shares.
    open_shares
        Open an alert at this many shares whatever the forecast says (0 = off): a plain count
        backstop for cascades the forecast underrates.
    rate_window_s
        The velocity window quoted in the reason.
    """

    viral_final: float = 1000.0
    open_ratio: float = 1.0
    escalate_final: float = 5000.0
    min_shares: int = 20
    open_shares: int = 0
    rate_window_s: int = 300

    def __post_init__(self) -> None:
        if not (self.viral_final > 0 and self.escalate_final >= self.viral_final):
            raise ValueError("need 0 < viral_final <= escalate_final")
        if not (0 < self.open_ratio <= 1.5):
            raise ValueError("open_ratio must be in (0, 1.5]")
        if self.min_shares < 0 or self.open_shares < 0:
            raise ValueError("min_shares and open_shares must not be negative")


class Assessment(NamedTuple):
    level: int
    score: float
    reason: str


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
                 "log_reach")


def flag_features(shares: int, velocity: ShareVelocity, forecast: Forecast, age_s: float,
                  now_ms: int, viral_final: float) -> list[float]:
    """The early-flag classifier's inputs, all from what :func:`assess` is given.

    Sizes are relative to ``viral_final`` and recent counts relative to the shares so far, so the
    features mean the same for another viral threshold (the coefficients were fitted at 1,000).
    """
    n = float(max(shares, 1))
    counts = []
    prev = 0
    for w in FLAG_WINDOWS_S:
        try:
            c = velocity.count(w, now_ms) if w in velocity.windows_s else 0
            if w == 300 and w in velocity.windows_s:
                prev = velocity.count_previous(w, now_ms)
        except ValueError:  # now_ms further back than the velocity can answer for
            c = 0
        counts.append(c)
    final = forecast.final if forecast.final > n else n
    known = velocity.shares - velocity.unknown_followers
    return [
        math.log(n / viral_final),
        min(math.log(final / viral_final), 7.0),
        *(math.log1p(c / n) for c in counts),
        (counts[1] - prev) / (counts[1] + prev + 1.0),
        math.log1p(max(age_s, 0.0) / 60.0),
        1.0 if forecast.supercritical else 0.0,
        math.log1p(100.0 * max(forecast.infectiousness, 0.0)),
        math.log1p(velocity.reach / known) if known > 0 else 0.0,
    ]


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
    >>> for i in range(412):
    ...     _ = v.learn_one(i * 5_500)
    >>> a = assess(412, v, Forecast(2900.0, 1900.0, 4100.0, 0.004, False), age_s=38 * 60,
    ...            now_ms=411 * 5_500)
    >>> a.level, round(a.score, 2)
    (1, 0.96)
    >>> a.reason
    '412 shares in 38 min, 11.1/min over 5 min, forecast 2,900 (1,900-4,100)'
    """
    th = thresholds
    window = th.rate_window_s if th.rate_window_s in velocity.windows_s else min(velocity.windows_s)
    try:
        rate = velocity.rate_per_min(window, now_ms)
    except ValueError:  # now_ms further back than the velocity can answer for
        rate = 0.0
    final = forecast.final
    reason = (f"{shares:,} shares in {_age(age_s)}, {rate:.1f}/min over {_age(window)}, "
              f"forecast {_size(final)} ({_size(forecast.low)}-{_size(forecast.high)})")
    if forecast.supercritical:
        reason += ", supercritical"

    # score: logistic in log(final / viral_final), 0.5 at the opening line
    ratio = (final if final > 0 else 0.0) / (th.viral_final * th.open_ratio)
    if ratio <= 0:
        score = 0.0
    elif math.isinf(ratio):
        score = 1.0
    else:
        score = 1.0 / (1.0 + ratio ** -3.0)
    if shares < th.min_shares:
        score *= shares / th.min_shares if th.min_shares else 1.0
        return Assessment(0, score, reason)

    if shares >= th.escalate_final or forecast.low >= th.escalate_final:
        return Assessment(2, max(score, 0.5), reason)
    if (shares >= th.viral_final or final >= th.viral_final * th.open_ratio
            or 0 < th.open_shares <= shares):
        return Assessment(1, max(score, 0.5), reason)
    return Assessment(0, min(score, 0.5), reason)
