"""Online forecast of a cascade's final size from a self-exciting point process.

The model is SEISMIC (Zhao, Erdogdu, He, Rajaraman & Leskovec, "SEISMIC: A Self-Exciting Point
Process Model for Predicting Tweet Popularity", KDD 2015). Every share ``i`` at time ``t_i`` by a
user with ``n_i`` followers exposes them, and each exposure turns into a new share with probability
``p_t`` (the *infectiousness*) after a delay drawn from a memory kernel ``phi`` that is flat for
5 minutes and then decays as a power law::

    phi(s) = c0                            for s <= s0
    phi(s) = c0 * (s / s0) ** -(1 + theta) for s >  s0       (s0 = 300 s, theta = 0.2315)

The final size is ``N_t + p_t * R_t / (1 - p_t * n_star)`` where ``R_t = sum_i n_i * P(delay >
t - t_i)`` is the exposure still to come and ``n_star`` the mean follower count of a future
sharer; ``p_t * n_star >= 1`` is a supercritical (ever growing) cascade.

The published estimator keeps every share and recomputes the kernel sums, O(N) per prediction.
Here the kernel's survival function is approximated by a sum of six exponentials
(``sum_j W_j * exp(-s / tau_j)``, fitted once to the analytic kernel; relative error under 3 % for
delays up to 7 days), so every sum the model needs is a decaying accumulator: a cascade's state is
a couple of dozen floats and each update is O(1). Shares are folded into the accumulators in 10 s
batches (at their follower-weighted mean time), so a busy cascade costs a few additions per share.

``p_t`` is estimated as in the paper, shares in a recent window divided by the shares the exposure
so far would have produced at ``p = 1`` in that window; the window is exponential instead of
triangular, with a mean age of a sixth of the cascade's age (between 100 s and 2,500 s), matching
the paper's triangle of half the age clamped to 5 min..2 h.

:class:`SeismicForecast` is the model as published. :class:`CascadeForecast` is the one the detector
uses: the same sufficient statistics, but the SEISMIC estimate is calibrated by observation age
(its bias is large and age dependent), supercritical cascades get a finite forecast, and the
interval is the calibrated spread of the log error at that age.
"""
from __future__ import annotations

import math
import struct
from array import array
from typing import Any, NamedTuple

# Kernel constants of the SEISMIC reference implementation (seismic R package, memory.pdf defaults).
THETA = 0.2314843
CUTOFF_S = 300.0
C0 = 0.0006265725

#: Time constants (s) and weights of the sum-of-exponentials fit to the kernel's survival
#: function. Fitted by non-negative least squares in relative error over delays 0 s .. 7 days
#: (a property of the kernel above, not of any data set), with the weights summing to 1 at delay 0,
#: exactly in floating point (tested): a share in the root's millisecond has reached nobody yet.
TAUS = (100.0, 500.0, 2500.0, 12500.0, 62500.0, 1562500.0)
WEIGHTS = (0.0078456627, 0.3485441185, 0.1926640655, 0.1356350461, 0.1155850393, 0.1997260679)
#: Indices in TAUS used as exponential windows for the infectiousness estimate.
WINDOWS = (0, 1, 2)
#: Shares within one batch of this many seconds are folded in together.
BATCH_S = 10.0
#: Fewer shares than this in a window and the next longer window is used (the paper's min.count).
MIN_COUNT = 5.0
#: z of the 10th/90th percentile of a normal, for the ~80 % intervals.
Z80 = 1.2815515655446004
#: An exposure at or below this counts as none (infectiousness 0): dividing by a subnormal one
#: (shares a few 1e-300 s apart) would give an infinite infectiousness and NaN forecasts. Real
#: exposures are many orders of magnitude larger (event times are whole milliseconds).
_TINY = 1e-290
#: Followers reached below this fraction of all followers count as none reached: the exposure's
#: six products round differently from the plain follower total, by a few parts in 1e16.
_ROUNDING = 1e-12

_NW = len(WINDOWS)
_RATES = tuple(1.0 / t for t in TAUS)
# Coefficients of the windowed exposure integral: for kernel term j and window k,
# integral_0^A exp(-(A-u)/tau_k) * (W_j/tau_j) exp(-u/tau_j) du
#   = W_j/tau_j * (exp(-A/tau_j) - exp(-A/tau_k)) / (1/tau_k - 1/tau_j)   (j != k)
#   = W_k/tau_k * A * exp(-A/tau_k)                                      (j == k)
_COEF = tuple(
    tuple(0.0 if j == k else WEIGHTS[j] / TAUS[j] / (_RATES[k] - _RATES[j]) for j in range(len(TAUS)))
    for k in (WINDOWS[i] for i in range(_NW))
)


def memory_ccdf(age_s: float) -> float:
    """Probability that a reaction comes later than ``age_s`` seconds after the exposure (exact)."""
    if age_s <= 0:
        return 1.0
    if age_s <= CUTOFF_S:
        return 1.0 - C0 * age_s
    return C0 * CUTOFF_S ** (1.0 + THETA) / THETA * age_s ** -THETA


class Forecast(NamedTuple):
    """A final-size forecast: point value, ~80 % interval, infectiousness, supercritical flag."""

    final: float
    low: float
    high: float
    infectiousness: float
    supercritical: bool


class _Stats(NamedTuple):
    n: int             # events seen, including the first (the original post)
    exposure: float    # R_t: followers not yet reached, weighted by the kernel survival
    p_all: float       # infectiousness over the whole history
    p_window: float    # infectiousness over the recent window (the SEISMIC estimate)
    count_window: float  # shares in that window (exponentially weighted)
    age_s: float
    counts: tuple = ()   # shares (after the first) per exponential window, weighted by exp(-age/tau)


# Layout of the flat array of an _ExposureState: the kernel sums, then the scalars.
_F, _C, _G = 0, len(TAUS), len(TAUS) + _NW          # F[j], C[k], G[k] start here
_NSUMS = len(TAUS) + 2 * _NW
_FSUM, _TMIN, _TREF, _BF, _BFT, _BT, _BMAX = range(_NSUMS, _NSUMS + 7)
_SIZE = _NSUMS + 7


class _ExposureState:
    """Decaying kernel sums of one cascade; the sufficient statistics of both forecasters.

    At reference time ``t_ref`` (the newest folded-in share):
    ``F[j] = sum n_i exp(-a_i/tau_j)``, ``C[k] = sum exp(-a_i/tau_k)``,
    ``G[k] = sum n_i a_i exp(-a_i/tau_k)`` with ``a_i = t_ref - t_i``, plus one open batch.
    All of them and the follower total, first time, ``t_ref`` and the open batch's sums live in one
    flat array of doubles (no float object per value; about 230 bytes).
    """

    __slots__ = ("default_followers", "n", "b_slot", "b_n", "A")

    def __init__(self, default_followers: float):
        self.default_followers = float(default_followers)
        self.n = 0
        self.b_slot = -1
        self.b_n = 0
        self.A = A = array("d", [0.0]) * _SIZE
        A[_TMIN] = math.inf

    # -- updates ------------------------------------------------------------------------------

    def learn_one(self, t_s: float, followers: int | None = None) -> None:
        """One event at ``t_s`` seconds after the original post (call it for the post too, at 0)."""
        t = float(t_s) if t_s > 0 else 0.0
        f = self.default_followers if followers is None else float(followers)
        A = self.A
        self.n += 1
        A[_FSUM] += f
        if t < A[_TMIN]:
            A[_TMIN] = t
        slot = int(t // BATCH_S)
        if slot != self.b_slot:
            if slot < self.b_slot:  # out of order, before the open batch: fold in exactly
                self._add_exact(t, f)
                return
            self._flush()
            self.b_slot = slot
        self.b_n += 1
        A[_BF] += f
        A[_BFT] += f * t
        A[_BT] += t
        if t > A[_BMAX]:
            A[_BMAX] = t

    def _add_exact(self, t: float, f: float) -> None:
        """One share folded in at its own time (a batch of one)."""
        A = self.A
        A[_TREF] = _fold(A, A[_TREF], 1, f, t, t, t)

    def _batch(self) -> tuple[int, float, float, float, float]:
        """The open batch as :func:`_folded` takes it: ``(n, followers, t_f, t_c, t_max)``.

        Its followers enter at their follower-weighted mean time, its count at its plain mean time.
        """
        A, n = self.A, self.b_n
        t_c = A[_BT] / n
        t_f = A[_BFT] / A[_BF] if A[_BF] > 0 else t_c
        return n, A[_BF], t_f, t_c, A[_BMAX]

    def _fold_batch(self, X, t_ref: float) -> float:
        """Fold the open batch into the kernel sums ``X`` at its mean times; returns the new t_ref."""
        return _fold(X, t_ref, *self._batch())

    def _flush(self) -> None:
        """Fold the open batch into the sums and empty it."""
        if self.b_n:
            A = self.A
            A[_TREF] = _fold(A, A[_TREF], *self._batch())
            self.b_n = 0
            A[_BF:_BMAX + 1] = _NO_BATCH

    # -- answers ------------------------------------------------------------------------------

    def stats(self, now_s: float) -> _Stats:
        """The sufficient statistics at ``now_s`` (self unchanged); see :func:`_fast_stats`."""
        return _fast_stats(self, now_s)

    def stats_reference(self, now_s: float) -> _Stats:
        """:meth:`stats` written plainly, from :meth:`snapshot` and :meth:`_per_window`: the
        reference the unrolled :func:`_fast_stats` must equal bit for bit (tested)."""
        F, C, G, now = self.snapshot(now_s)
        n = self.n
        if n == 0:
            return _Stats(0, 0.0, 0.0, 0.0, 0.0, now, (0.0,) * _NW)
        fsum = self.A[_FSUM]
        exposure = 0.0
        for j in range(len(TAUS)):
            exposure += WEIGHTS[j] * F[j]
        if exposure > fsum:
            exposure = fsum
        reached = fsum - exposure
        p_all = (n - 1) / reached if reached > _TINY + fsum * _ROUNDING else 0.0
        ps, counts = self._per_window(F, C, G, now)
        raw_counts = tuple(counts)
        # window of mean age age/6 in [tau_0, tau_last], log-interpolated between neighbours;
        # a window with too few shares is replaced by the next longer one (or the whole history)
        for i in range(_NW - 1, -1, -1):
            if counts[i] < MIN_COUNT:
                ps[i] = ps[i + 1] if i + 1 < _NW else p_all
                counts[i] = counts[i + 1] if i + 1 < _NW else float(n - 1)
        target = min(max(now / 6.0, TAUS[WINDOWS[0]]), TAUS[WINDOWS[-1]])
        x = math.log(target)
        p_win, c_win = ps[-1], counts[-1]
        for i in range(_NW - 1):
            lo, hi = math.log(TAUS[WINDOWS[i]]), math.log(TAUS[WINDOWS[i + 1]])
            if x <= hi:
                w = (x - lo) / (hi - lo)
                p_win = ps[i] * (1.0 - w) + ps[i + 1] * w
                c_win = counts[i] * (1.0 - w) + counts[i + 1] * w
                break
        return _Stats(n, exposure, p_all, p_win, c_win, now, raw_counts)

    def _per_window(self, F, C, G, now):
        """Infectiousness and (weighted) share count per exponential window at ``now``.

        Shares after the first, weighted by ``exp(-age/tau_k)``, over the shares the exposure so
        far would have caused at p = 1 with the same weighting.
        """
        ps, counts = [], []
        t_min = self.A[_TMIN]
        for i, k in enumerate(WINDOWS):
            num = C[i] - math.exp(-(now - t_min) * _RATES[k])
            den = WEIGHTS[k] * _RATES[k] * G[i]
            coef, Fk = _COEF[i], F[k]
            for j in range(len(TAUS)):
                if j != k:
                    den += coef[j] * (F[j] - Fk)
            counts.append(num if num > 0 else 0.0)
            ps.append(num / den if den > _TINY and num > 0 else 0.0)
        return ps, counts

    def snapshot(self, now_s: float):
        """Kernel sums ``(F, C, G, now)`` moved to ``now_s`` with the open batch folded in (self is
        unchanged)."""
        A = self.A
        X = A[:_NSUMS]  # a copy
        t_ref = A[_TREF]
        if self.b_n:
            t_ref = self._fold_batch(X, t_ref)
        now = float(now_s)
        if now > t_ref:
            _advance(X, now - t_ref)
        else:
            now = t_ref
        return X[_F:_C], X[_C:_G], X[_G:_NSUMS], now

    # -- state --------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        A = self.A
        return {"d": self.default_followers, "n": self.n, "f": A[_FSUM],
                "t0": None if self.n == 0 else A[_TMIN], "tr": A[_TREF],
                "F": A[_F:_C].tolist(), "C": A[_C:_G].tolist(), "G": A[_G:_NSUMS].tolist(),
                "b": [self.b_slot, self.b_n, A[_BF], A[_BFT], A[_BT], A[_BMAX]]}

    def _load(self, d: dict[str, Any]) -> None:
        s = self
        A = s.A
        s.n = d["n"]
        A[_FSUM], A[_TREF] = d["f"], d["tr"]
        A[_TMIN] = math.inf if d["t0"] is None else d["t0"]
        A[_F:_C], A[_C:_G], A[_G:_NSUMS] = array("d", d["F"]), array("d", d["C"]), array("d", d["G"])
        s.b_slot, s.b_n, A[_BF], A[_BFT], A[_BT], A[_BMAX] = d["b"]

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> "_ExposureState":
        s = cls(d["d"])
        s._load(d)
        return s


# _advanced and _folded are unrolled for the six kernel terms and the three windows (the first three
# terms): they run once per 10 s batch of every busy cascade, so they are the forecaster's hot path.
assert len(TAUS) == 6 and WINDOWS == (0, 1, 2)
_R0, _R1, _R2, _R3, _R4, _R5 = _RATES
_exp = math.exp


def _advanced(S, dt: float) -> tuple[float, ...]:
    """The kernel sums ``S`` (F, C, G back to back) moved ``dt`` seconds forward (no new shares)."""
    F0, F1, F2, F3, F4, F5, C0, C1, C2, G0, G1, G2 = S
    e0, e1, e2 = _exp(-dt * _R0), _exp(-dt * _R1), _exp(-dt * _R2)
    return (F0 * e0, F1 * e1, F2 * e2, F3 * _exp(-dt * _R3), F4 * _exp(-dt * _R4), F5 * _exp(-dt * _R5),
            C0 * e0, C1 * e1, C2 * e2,
            (G0 + dt * F0) * e0, (G1 + dt * F1) * e1, (G2 + dt * F2) * e2)


#: Reads and writes the kernel sums at the front of an array in one call each.
_SUMS = struct.Struct(f"={_NSUMS}d")
#: An emptied open batch (its four sums), for one slice assignment.
_NO_BATCH = array("d", [0.0]) * (_BMAX + 1 - _BF)
assert (_BF, _BFT, _BT, _BMAX) == tuple(range(_BF, _BMAX + 1))


def _advance(X, dt: float) -> None:
    """:func:`_advanced`, in place on the sums at the front of the array ``X``."""
    _SUMS.pack_into(X, 0, *_advanced(_SUMS.unpack_from(X), dt))


def _folded(S, t_ref, n, f, t_f, t_c, t_max) -> tuple[tuple[float, ...], float]:
    """The kernel sums ``S`` with ``n`` shares of ``f`` followers in all folded in: the followers at
    time ``t_f``, the count at ``t_c``, the sums first moved on to ``t_max`` if it is later than
    ``t_ref``. Returns the new sums and the new t_ref."""
    F0, F1, F2, F3, F4, F5, C0, C1, C2, G0, G1, G2 = S
    if t_max > t_ref:  # _advanced, inlined: it saves a call and a tuple on every batch
        dt = t_max - t_ref
        e0, e1, e2 = _exp(-dt * _R0), _exp(-dt * _R1), _exp(-dt * _R2)
        G0, G1, G2 = (G0 + dt * F0) * e0, (G1 + dt * F1) * e1, (G2 + dt * F2) * e2
        C0, C1, C2 = C0 * e0, C1 * e1, C2 * e2
        F0, F1, F2 = F0 * e0, F1 * e1, F2 * e2
        F3, F4, F5 = F3 * _exp(-dt * _R3), F4 * _exp(-dt * _R4), F5 * _exp(-dt * _R5)
        t_ref = t_max
    a_f = t_ref - t_f
    if a_f == 0.0 and t_c == t_f:
        # A batch folded at its own time (one share, the common case of a quiet cascade): every
        # exp(-0 * r) below is 1.0 and f * a_f is 0.0, so this is the general formula bit for bit
        # (G + 0.0 included), without its nine exp calls.
        return (F0 + f, F1 + f, F2 + f, F3 + f, F4 + f, F5 + f, C0 + n, C1 + n, C2 + n,
                G0 + 0.0, G1 + 0.0, G2 + 0.0), t_ref
    x0, x1, x2 = _exp(-a_f * _R0), _exp(-a_f * _R1), _exp(-a_f * _R2)
    if t_c == t_f:
        y0, y1, y2 = x0, x1, x2
    else:
        a_c = t_ref - t_c
        y0, y1, y2 = _exp(-a_c * _R0), _exp(-a_c * _R1), _exp(-a_c * _R2)
    fa = f * a_f
    return (F0 + f * x0, F1 + f * x1, F2 + f * x2,
            F3 + f * _exp(-a_f * _R3), F4 + f * _exp(-a_f * _R4), F5 + f * _exp(-a_f * _R5),
            C0 + n * y0, C1 + n * y1, C2 + n * y2,
            G0 + fa * x0, G1 + fa * x1, G2 + fa * x2), t_ref


def _fold(X, t_ref, n, f, t_f, t_c, t_max) -> float:
    """:func:`_folded`, in place on the sums at the front of the array ``X``; returns the new t_ref."""
    S, t_ref = _folded(_SUMS.unpack_from(X), t_ref, n, f, t_f, t_c, t_max)
    _SUMS.pack_into(X, 0, *S)
    return t_ref


_W0, _W1, _W2, _W3, _W4, _W5 = WEIGHTS
_WR0, _WR1, _WR2 = (WEIGHTS[k] * _RATES[k] for k in WINDOWS)
(_K01, _K02, _K03, _K04, _K05), (_K10, _K12, _K13, _K14, _K15), (_K20, _K21, _K23, _K24, _K25) = (
    tuple(c for j, c in enumerate(_COEF[i]) if j != k) for i, k in enumerate(WINDOWS))
_T_LO, _T_HI = TAUS[WINDOWS[0]], TAUS[WINDOWS[-1]]
_L0, _L1, _L2 = (math.log(TAUS[k]) for k in WINDOWS)
_D01, _D12 = _L1 - _L0, _L2 - _L1
_log = math.log


def _fast_stats(s: _ExposureState, now_s: float) -> _Stats:
    """:meth:`_ExposureState.stats_reference` unrolled for six kernel terms and three windows, on
    tuples and local floats instead of array copies (the same operations in the same order, so the
    same bits). It runs for every forecast, that is on every assessment of every cascade."""
    A = s.A
    S = _SUMS.unpack_from(A)
    t_ref = A[_TREF]
    if s.b_n:  # the open batch, folded in
        S, t_ref = _folded(S, t_ref, *s._batch())
    now = float(now_s)
    if now > t_ref:
        S = _advanced(S, now - t_ref)
    else:
        now = t_ref
    F0, F1, F2, F3, F4, F5, C0, C1, C2, G0, G1, G2 = S
    n = s.n
    if n == 0:
        return _Stats(0, 0.0, 0.0, 0.0, 0.0, now, (0.0,) * _NW)
    fsum = A[_FSUM]
    exposure = 0.0 + _W0 * F0 + _W1 * F1 + _W2 * F2 + _W3 * F3 + _W4 * F4 + _W5 * F5
    if exposure > fsum:
        exposure = fsum
    reached = fsum - exposure
    p_all = (n - 1) / reached if reached > _TINY + fsum * _ROUNDING else 0.0
    # per window: shares after the first, and the exposure integral (see _per_window)
    age0 = now - A[_TMIN]
    num0 = C0 - _exp(-age0 * _R0)
    num1 = C1 - _exp(-age0 * _R1)
    num2 = C2 - _exp(-age0 * _R2)
    den0 = (_WR0 * G0 + _K01 * (F1 - F0) + _K02 * (F2 - F0) + _K03 * (F3 - F0) + _K04 * (F4 - F0)
            + _K05 * (F5 - F0))
    den1 = (_WR1 * G1 + _K10 * (F0 - F1) + _K12 * (F2 - F1) + _K13 * (F3 - F1) + _K14 * (F4 - F1)
            + _K15 * (F5 - F1))
    den2 = (_WR2 * G2 + _K20 * (F0 - F2) + _K21 * (F1 - F2) + _K23 * (F3 - F2) + _K24 * (F4 - F2)
            + _K25 * (F5 - F2))
    c0 = num0 if num0 > 0 else 0.0
    c1 = num1 if num1 > 0 else 0.0
    c2 = num2 if num2 > 0 else 0.0
    p0 = num0 / den0 if den0 > _TINY and num0 > 0 else 0.0
    p1 = num1 / den1 if den1 > _TINY and num1 > 0 else 0.0
    p2 = num2 / den2 if den2 > _TINY and num2 > 0 else 0.0
    raw_counts = (c0, c1, c2)
    if c2 < MIN_COUNT:
        p2, c2 = p_all, float(n - 1)
    if c1 < MIN_COUNT:
        p1, c1 = p2, c2
    if c0 < MIN_COUNT:
        p0, c0 = p1, c1
    x = _log(min(max(now / 6.0, _T_LO), _T_HI))
    if x <= _L1:
        w = (x - _L0) / _D01
        p_win, c_win = p0 * (1.0 - w) + p1 * w, c0 * (1.0 - w) + c1 * w
    elif x <= _L2:
        w = (x - _L1) / _D12
        p_win, c_win = p1 * (1.0 - w) + p2 * w, c1 * (1.0 - w) + c2 * w
    else:  # pragma: no cover  (x is clamped to _L2)
        p_win, c_win = p2, c2
    return _Stats(n, exposure, p_all, p_win, c_win, now, raw_counts)


class SeismicForecast(_ExposureState):
    """SEISMIC as published: windowed infectiousness, ``n_star`` = 100, infinite when supercritical.

    Parameters
    ----------
    n_star
        Mean follower count of a future sharer (the paper's default, 100).
    default_followers
        Follower count assumed for a share that has none (the paper has no such case).

    Examples
    --------
    >>> f = SeismicForecast()
    >>> f.learn_one(0.0, 5000)                       # the original post
    >>> for i in range(1, 40):
    ...     f.learn_one(i * 30.0, 200)
    >>> fc = f.predict(now_s=1200.0)
    >>> fc.final > 40, fc.low <= fc.final <= fc.high, fc.supercritical
    (True, True, False)
    """

    __slots__ = ("n_star",)

    def __init__(self, n_star: float = 100.0, default_followers: float = 100.0):
        super().__init__(default_followers)
        self.n_star = float(n_star)

    def _final(self, n: int, p: float, exposure: float) -> float:
        pn = p * self.n_star
        if pn >= 1.0:
            return math.inf
        return n + p * exposure / (1.0 - pn)

    def predict(self, now_s: float) -> Forecast:
        """Forecast at ``now_s`` seconds after the post (no earlier than the newest event)."""
        st = self.stats(now_s)
        p = st.p_window
        if st.n == 0:
            return Forecast(0.0, 0.0, 0.0, 0.0, False)
        # interval from the Poisson error of the window count (the paper uses chi-square bounds)
        rel = Z80 / math.sqrt(st.count_window) if st.count_window > 0 else 1.0
        final = self._final(st.n, p, st.exposure)
        low = self._final(st.n, p * max(0.0, 1.0 - rel), st.exposure)
        high = self._final(st.n, p * (1.0 + rel), st.exposure)
        return Forecast(final, low, high, p, p * self.n_star >= 1.0)

    def to_state(self) -> dict[str, Any]:
        return {"ns": self.n_star, **super().to_state()}

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> "SeismicForecast":
        f = cls(n_star=d["ns"], default_followers=d["d"])
        f._load(d)
        return f


#: Calibration of :class:`CascadeForecast` by observation age. Each row is
#: ``(age_s, b0, b_seismic, b_100s, b_500s, b_2500s, q10, q90)`` and the forecast is
#:
#:     log(final / N) = b0 + b_seismic * log(1 + extra / N) + sum_k b_k * log(1 + count_k / N)
#:
#: where ``extra`` is the SEISMIC estimate of shares to come (branching capped at 0.95) and
#: ``count_k`` the shares in the exponential window of ``k`` seconds (recent velocity relative to
#: the size so far). q10/q90 are the 10th/90th percentiles of the log error, for the interval.
#: Coefficients are linear in log(age) between rows and constant beyond the ends.
#: FITTED: by least absolute deviation on the tuning half of the shared cascade sets (SEISMIC
#: subset, Twitter15/16, Chilean replies, auspol; cascades of >= 20 events, final size = events in
#: 72 h), then b0 moved (by -0.16 .. +0.03) to where the median absolute *percentage* error over
#: the same rows is lowest: a log error d costs e**d - 1 above the truth but only 1 - e**-d below,
#: so the median-APE point lies a little under the median of log(final). Reproduce with
#: ``python -m bench.eval_cascades DATA_DIR --fit``.
CALIBRATION: tuple[tuple[float, ...], ...] = (
    (60.0, 9.2378, 0.4189, -21.5011, 141.8653, -131.2465, -0.777, 0.9545),
    (180.0, 14.4012, -0.0048, -4.9809, 28.8481, -41.7997, -0.7846, 0.7474),
    (300.0, 16.0718, -0.0933, -1.2736, 13.4858, -32.5371, -0.5764, 0.8126),
    (600.0, 20.252, -0.1792, -3.5818, 20.68, -43.4296, -0.3631, 1.0234),
    (1200.0, 19.1251, -0.1845, -9.7255, 24.9017, -42.5741, -0.267, 1.046),
    (1800.0, 11.582, -0.1364, -12.4108, 25.0303, -28.6965, -0.2441, 1.0492),
    (3600.0, -2.0441, 0.011, 0.54, -1.9214, 7.9465, -0.214, 0.9177),
    (7200.0, -0.3767, 0.001, 0.207, -0.966, 4.6957, -0.1459, 0.6551),
    (14400.0, -0.0248, 0.0037, 12.905, -6.6187, 5.1378, -0.0964, 0.4703),
    (43200.0, 0.0506, -0.0123, 2.2592, -1.1719, 5.1233, -0.0366, 0.2017),
    (86400.0, 0.0032, 0.008, -2.2654, -2.8434, 5.8819, -0.0168, 0.0648),
)
#: p * n_star is capped here for the SEISMIC feature of a supercritical cascade.
MAX_BRANCHING = 0.95
#: The calibrated forecast is at most this many times (e**6.9, about 1,000) the size so far.
MAX_LOG_MULT = 6.9


#: id(table) -> (table, log of each row's age): the logs are computed once per calibration table.
_CAL_LOGS: dict[int, tuple[tuple, tuple[float, ...]]] = {}


def _calibration_at(age_s: float, table=CALIBRATION) -> tuple[float, ...]:
    if age_s <= table[0][0]:
        return table[0][1:]
    if age_s >= table[-1][0]:
        return table[-1][1:]
    entry = _CAL_LOGS.get(id(table))
    if entry is None or entry[0] is not table:
        entry = _CAL_LOGS[id(table)] = (table, tuple(math.log(r[0]) for r in table))
    logs = entry[1]
    x = math.log(age_s)
    for i in range(1, len(table)):
        if age_s <= table[i][0]:
            w = (x - logs[i - 1]) / (logs[i] - logs[i - 1])
            return tuple([u * (1.0 - w) + v * w for u, v in zip(table[i - 1][1:], table[i][1:])])
    return table[-1][1:]  # pragma: no cover


def calibration_features(st: _Stats, n_star: float) -> list[float]:
    """The regressors of the calibration (without the intercept), from the sufficient statistics."""
    n = st.n
    pn = min(st.p_window * n_star, MAX_BRANCHING)
    extra = (pn / n_star) * st.exposure / (1.0 - pn)
    return [math.log1p(extra / n)] + [math.log1p(c / n) for c in st.counts]


class CascadeForecast(_ExposureState):
    """Final-size forecaster the detector uses: SEISMIC statistics, calibrated by age.

    Parameters
    ----------
    n_star
        Mean follower count of a future sharer.
    default_followers
        Follower count assumed for a share whose author's count is unknown.

    Examples
    --------
    >>> f = CascadeForecast()
    >>> f.learn_one(0.0, 5000)
    >>> for i in range(1, 40):
    ...     f.learn_one(i * 30.0, 200)
    >>> fc = f.predict(now_s=1200.0)
    >>> fc.final >= 40, fc.low <= fc.final <= fc.high
    (True, True)
    >>> CascadeForecast.from_state(f.to_state()).predict(1200.0) == fc
    True
    """

    __slots__ = ("n_star", "calibration")

    def __init__(self, n_star: float = 100.0, default_followers: float = 100.0,
                 calibration: tuple[tuple[float, ...], ...] = CALIBRATION):
        super().__init__(default_followers)
        self.n_star = float(n_star)
        self.calibration = calibration

    def predict(self, now_s: float) -> Forecast:
        """Forecast at ``now_s`` seconds after the post (no earlier than the newest event)."""
        st = self.stats(now_s)
        n = st.n
        if n == 0:
            return Forecast(0.0, 0.0, 0.0, 0.0, False)
        p = st.p_window
        row = _calibration_at(max(st.age_s, 1.0), self.calibration)
        log_mult = row[0]
        for coef, x in zip(row[1:-2], calibration_features(st, self.n_star)):
            log_mult += coef * x
        q10, q90 = row[-2], row[-1]
        # never below what is already there, and no wild extrapolation outside the fitted range
        log_mult = min(max(log_mult, 0.0), MAX_LOG_MULT)
        final = n * math.exp(log_mult)
        low = max(float(n), final * math.exp(q10))
        high = final * math.exp(q90)
        return Forecast(final, low, high, p, p * self.n_star >= 1.0)

    def to_state(self) -> dict[str, Any]:
        return {"ns": self.n_star, **super().to_state()}

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> "CascadeForecast":
        f = cls(n_star=d["ns"], default_followers=d["d"])
        f._load(d)
        return f
