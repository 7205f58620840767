"""Text understanding facade: one call gives language, sentiment, complaint kind and brands.

The stream agents call only this module::

    analyzer = load_analyzer(settings.analyzer, brands)   # once, at start-up
    a = analyzer.analyze(event.text, lang_hint=event.lang)
    a.lang, a.sentiment, a.label, a.complaint, a.kind, a.brands

Built-in implementation
    :class:`DefaultAnalyzer` combines :mod:`detectors.language` (hand-written cue model),
    :mod:`detectors.sentiment` (VADER-style rules over VADER/AFINN lexicons from PyPI plus
    hand-written lists), :mod:`detectors.complaint` and :mod:`detectors.brands`. It is pure (no
    clock, environment or network): the same text always gives the same analysis. It keeps
    bounded per-word caches (results never depend on them), and is safe to share between
    threads. Importing it loads the word lists (about 0.5 s with the stored language tables; the
    process then holds about 110 MB). Throughput on 280-char posts, one core
    (``bench/bench_language.py``): about 9,000/s when the posts repeat, 4,400-6,700/s (median
    about 6,000) on unseen real posts. The text is tokenized once; language id, sentiment and
    complaint share the tokens and their lower-cased forms.

Language fallback
    ``lang`` is what the text says. When its words say too little, its hashtags (``#tusenTakk``)
    and its links' country domains (``.dk``) are read; when those say too little too (empty,
    emoji-only, one ambiguous word) ``lang_hint`` is used if it names a language we recognise
    (``nb``/``nn`` become ``no``); otherwise ``lang`` is ``'und'``. ``SUPPORTED_LANGS`` have full
    support; a recognised language outside it (``de``, ``fr``, ...) gets emoji/English-fallback
    sentiment and no complaint vocabulary. For ``'und'`` the stream layer decides: it rejects the
    event as ``unknown_language`` when the event names a language we do not recognise
    (``"lang": "xx"``), and keeps it as ``und`` when the event names none (an emoji-only post still
    has sentiment).

Swapping in a heavier model
    Anything with an ``analyze(text, lang_hint=None) -> TextAnalysis`` method satisfies
    :class:`TextAnalyzer`. A model that is faster on many texts at once (a transformer on a GPU)
    may also have ``analyze_many(items) -> list[TextAnalysis]``, ``items`` being
    ``(text, lang_hint)`` pairs: the worker then hands it the texts of a whole fetched batch in one
    call, and ``virality detect`` and ``virality classify`` a thousand at a time
    (:func:`analyze_many`). Put the class in an importable module, give its constructor a
    ``brands`` keyword (canonical name -> aliases), and name it in the deployment's analyzer
    setting as ``"package.module:ClassName"``; :func:`load_analyzer` imports and builds it, and the
    agents do not change. A model may reuse parts of the default, e.g. keep
    :class:`~detectors.brands.BrandMatcher` and :func:`~detectors.language.identify` and replace
    only sentiment; :func:`make_analysis` clamps and validates the fields. Keep the model's own
    loading (weights from local disk, never a hub download at run time) in its constructor.

>>> a = DefaultAnalyzer({"SJ": ["@SJ_AB"]})
>>> r = a.analyze("@SJ_AB tåget är försenat igen, värdelöst!")
>>> r.lang, r.label, r.kind, r.brands
('sv', 'negative', 'complaint', ('SJ',))
>>> a.analyze("", lang_hint="nb")
TextAnalysis(lang='no', sentiment=0.0, label='neutral', complaint=0.0, kind='other', brands=())
>>> type(load_analyzer(None, {})).__name__
'DefaultAnalyzer'
"""
from __future__ import annotations

import importlib
from typing import Mapping, NamedTuple, Protocol, Sequence, runtime_checkable

from detectors.brands import BrandMatcher
from detectors.complaint import ComplaintClassifier
from detectors.language import MAX_WORDS, RECOGNISED_LANGS, SUPPORTED_LANGS, identify_words
from detectors.sentiment import SentimentScorer, label_of, tokens

__all__ = ["TextAnalysis", "TextAnalyzer", "DefaultAnalyzer", "load_analyzer", "make_analysis", "analyze_many",
           "analyze_each",
           "SUPPORTED_LANGS", "RECOGNISED_LANGS", "KINDS", "LABELS"]

#: Tokens looked at for language id (it reads at most MAX_WORDS words of them anyway).
_LANG_TOKENS = 3 * MAX_WORDS
KINDS = frozenset({"complaint", "praise", "question", "other"})
LABELS = frozenset({"positive", "negative", "neutral"})


class TextAnalysis(NamedTuple):
    lang: str  # ISO 639-1; 'no' for Bokmål and Nynorsk alike; 'und' when unknown
    sentiment: float  # [-1, 1]
    label: str  # 'positive' | 'negative' | 'neutral'
    complaint: float  # probability in [0, 1] that it is a complaint
    kind: str  # 'complaint' | 'praise' | 'question' | 'other'
    brands: tuple[str, ...]  # canonical brand names matched in the text


@runtime_checkable
class TextAnalyzer(Protocol):
    def analyze(self, text: str, lang_hint: str | None = None) -> TextAnalysis: ...


def make_analysis(lang: str, sentiment: float, complaint: float, kind: str,
                  brands: Sequence[str] = (), label: str | None = None) -> TextAnalysis:
    """A valid :class:`TextAnalysis`: scores clamped, label derived from the score if not given.
    A score that is not a number (NaN) is an error, not clamped."""
    s, c = float(sentiment), float(complaint)
    if s != s or c != c:
        raise ValueError(f"sentiment and complaint must be numbers, not {sentiment!r} and {complaint!r}")
    s = max(-1.0, min(1.0, s))
    c = max(0.0, min(1.0, c))
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    lab = label if label is not None else label_of(s)
    if lab not in LABELS:
        raise ValueError(f"label must be one of {sorted(LABELS)}, not {lab!r}")
    return TextAnalysis(lang or "und", s, lab, c, kind, tuple(brands))


class DefaultAnalyzer:
    """The built-in :class:`TextAnalyzer` (see module docstring)."""

    def __init__(self, brands: Mapping[str, list[str]] | None = None) -> None:
        self._brands = BrandMatcher(brands or {})
        self._sentiment = SentimentScorer()
        self._complaint = ComplaintClassifier(self._sentiment)

    def analyze(self, text: str, lang_hint: str | None = None) -> TextAnalysis:
        text = text or ""
        raw = tokens(text)
        low = list(map(str.lower, raw))
        # Handles and hashtags name things; they do not speak the post's language (hashtags and
        # links' country domains are read only when the words say too little: identify_words).
        lang = identify_words([w for w in low[:_LANG_TOKENS] if w[0].isalpha()], lang_hint, text)
        brands = self._brands.match(text)
        if not raw:
            return TextAnalysis(lang, 0.0, "neutral", 0.0, "other", brands)
        sent = self._sentiment.score_tokens(raw, lang, text, low)
        addressed = bool(brands) or ("@" in text and any(t[0] == "@" for t in raw))
        comp = self._complaint.classify_tokens(low, lang, sent, addressed)
        return TextAnalysis(lang, sent.score, sent.label, comp.probability, comp.kind, brands)


def analyze_many(analyzer: TextAnalyzer, items: Sequence[tuple[str, str | None]]) -> list[TextAnalysis]:
    """One analysis per ``(text, lang_hint)``, in order: by the analyzer's own ``analyze_many`` if
    it has one (one call for them all), else by ``analyze`` one at a time.

    >>> [a.lang for a in analyze_many(DefaultAnalyzer(), [("Tåget är sent", None), ("", "da")])]
    ['sv', 'da']
    """
    many = getattr(analyzer, "analyze_many", None)
    if many is None:
        return [analyzer.analyze(text, lang_hint=hint) for text, hint in items]
    out = list(many(list(items)))
    if len(out) != len(items):
        raise ValueError(f"{type(analyzer).__name__}.analyze_many returned {len(out)} analyses "
                         f"for {len(items)} texts")
    return out


def analyze_each(analyzer: TextAnalyzer, items: Sequence[tuple[str, str | None] | None]) -> list[TextAnalysis | None]:
    """One analysis per ``(text, lang_hint)`` by ``analyzer.analyze``, in order; None for a missing
    item and for a text whose analysis raises (for work done ahead: the event then analyses its own
    text, and is dead-lettered if that fails too).

    >>> [a and a.lang for a in analyze_each(DefaultAnalyzer(), [("Tåget är sent", None), None])]
    ['sv', None]
    """
    out: list[TextAnalysis | None] = []
    for item in items:
        if item is None:
            out.append(None)
            continue
        try:
            out.append(analyzer.analyze(item[0], lang_hint=item[1]))
        except Exception:
            out.append(None)
    return out


class AnalyzerError(TypeError, ValueError):
    """The analyzer named in the settings cannot be loaded (a TypeError and a ValueError, as the
    checks that raise it were before)."""


def load_analyzer(spec: str | None, brands: Mapping[str, list[str]] | None = None) -> TextAnalyzer:
    """Build the analyzer named by ``spec`` (``"package.module:ClassName"``), or the default.

    The class is called with ``brands=...``; the result must have an ``analyze`` method.
    """
    if not spec:
        return DefaultAnalyzer(brands)
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise AnalyzerError(f"analyzer spec must look like 'package.module:ClassName', not {spec!r}")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise AnalyzerError(f"analyzer {spec!r}: cannot import {module_name!r} ({exc})") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AnalyzerError(f"analyzer {spec!r}: {module_name!r} has no {attr!r}") from None
    if not callable(obj):
        raise AnalyzerError(f"analyzer {spec!r} is not a class")
    try:
        analyzer = obj(brands=dict(brands or {}))
    except TypeError as exc:
        raise AnalyzerError(f"analyzer {spec!r}: {attr}(brands=...) failed: {exc}") from exc
    if not isinstance(analyzer, TextAnalyzer):
        raise AnalyzerError(f"{spec} does not provide analyze(text, lang_hint=None)")
    return analyzer
