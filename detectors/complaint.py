"""Complaint detection: complaint, praise, question or other. Not the same as negative sentiment.

A complaint reports a bad experience with a company or product: a delay, a refund that does not
come, rude staff, a broken product, "never again". "The weather is awful" is negative but no
complaint; "@SJ where is my refund? Waited 3 weeks" is a complaint with hardly a negative word.

The probability is a logistic function of a few features, with hand-set weights (not fitted):

* complaint vocabulary of the post's language (``COMPLAINT`` in :mod:`detectors.lexicons.sv` etc.;
  ``försenad``, ``forsinket``, ``opóźnienie``, ``zwrot pieniędzy``, ``customer service``, ``refund``),
  weighted 1-3 and capped, so a long rant does not saturate on vocabulary alone;
* negative sentiment (from :mod:`detectors.sentiment`), which helps but is not needed. It counts
  fully next to complaint vocabulary (weight 2 or more: a topic word such as ``order`` or an
  evaluative ``awful`` alone is not enough) or a support handle, 40% when the post is only addressed to
  someone (a reply to a person can be negative about anything: "@mike you idiot" is banter, not a
  complaint), and as little when the post has no target (no addressee, no complaint vocabulary):
  "I hate Mondays" is mood, not a complaint;
* the post being addressed to someone (``@handle``) or naming a configured brand, more so when the
  handle looks like a support account (``@AmazonHelp``, ``@SJ_kundtjanst``) and the post shows some
  sign of trouble (problem vocabulary, a negative word, a negator);
* negators (``not``, ``inte``, ``nie``): "did not arrive", "fungerar inte";
* a question together with problem vocabulary (``where is my refund?``); a question with no sign of
  trouble at all asks for information and counts against (``@AmazonHelp do you ship to Norway?``);
* praise vocabulary and positive sentiment, which pull the other way, unless irony turned them.

Complaint vocabulary of weight 2 or more names a problem (``delayed``, ``broken``, ``svarar inte``);
weight 1 is topic vocabulary (``order``, ``flight``, ``password``), which only adds to problem evidence
where it decides anything above.

The kind is ``complaint`` when the probability is at least 0.5, else ``praise`` for clearly
positive posts or praise vocabulary, else ``question`` for questions, else ``other``.

>>> c = ComplaintClassifier()
>>> c.classify("@SJ tåget är försenat igen, tredje gången den här veckan", "sv").kind
'complaint'
>>> c.classify("Tusen takk for rask levering, veldig fornøyd!", "no").kind
'praise'
>>> c.classify("Hvornår åbner butikken i morgen?", "da").kind
'question'
>>> c.classify("Pogoda dziś jest okropna", "pl").kind
'other'
"""
from __future__ import annotations

import math
import re
from itertools import compress
from typing import NamedTuple, Sequence

from detectors.lexicons import LanguagePack, WeightedVocab, language_pack
from detectors.sentiment import NEUTRAL, Sentiment, SentimentScorer, cached_lookup, tokens

_THRESHOLD = 0.5
_SUPPORT_HANDLE = re.compile(
    r"@\w*(?:help|support|care|service|kund|kunde|obslug|pomoc|asiakas|hjelp|hjælp|cs\b)")
# Hand-set weights of the logistic score (checked on the dev half of the English complaint set).
W_BIAS = -1.8
W_CUE = 0.45  # per unit of complaint vocabulary weight (capped at 9)
W_NEG = 0.35  # per unit of negative valence (capped at 6)
W_UNTARGETED = 0.4  # share of W_NEG when the post has no addressee and no complaint vocabulary
W_ADDRESSED_ONLY = 0.4  # share of W_NEG when addressed but with no complaint vocabulary at all
W_POS = 0.30
W_PRAISE = 0.35
W_NEGATION = 0.5  # per distinct negator ("not", "inte", "nie"), at most 3
W_ADDRESSED = 1.2  # the post @-mentions someone or names a configured brand
# ... and the handle is a customer-support account (@AmazonHelp, @SJ_kundtjanst), counted only next
# to some sign of trouble (problem vocabulary, a negative word, a negator): support accounts get
# plain questions ("@AmazonHelp can I change my delivery address?") as often as complaints.
W_SUPPORT = 0.5
W_QUESTION = 0.4  # a question that also carries problem vocabulary (weight 2 or more)
W_INFO_QUESTION = 0.5  # subtracted: a question with no sign of trouble asks for information


class ComplaintResult(NamedTuple):
    probability: float  # [0, 1] that the post is a complaint
    kind: str  # 'complaint' | 'praise' | 'question' | 'other'


def _phrase_at(vocab: WeightedVocab, low: Sequence[str], i: int) -> tuple[int, float]:
    n = len(low)
    for k in (3, 2):
        if i + k <= n:
            p = vocab.phrases.get(tuple(low[i:i + k]))
            if p is not None:
                return k, p
    return 0, 0.0


_NO_CUE = ()  # falsy, so compress() skips it


def _cue_scores(pack: LanguagePack, low: Sequence[str], cache: dict[str, tuple[float, float]]
                ) -> tuple[float, float, float]:
    """(problem, topic, praise) cue weight sums; a phrase counts once, its words not again.

    Problem cues are complaint words of weight 2 or more; topic cues the weight-1 words.
    """
    comp, praise = pack.complaint, pack.praise
    # Most words are no cue and start no phrase: the cache says so with _NO_CUE (falsy), so
    # one C-level pass finds the few words worth a look.
    def cue(w: str) -> tuple[float, float]:
        c, p = comp.lookup(w) or 0.0, praise.lookup(w) or 0.0
        starts = w in comp.phrase_starts or w in praise.phrase_starts
        return (c, p) if c or p or starts else _NO_CUE
    cws = cached_lookup(cache, low, cue)
    prob = topic = p_total = 0.0
    c_until = p_until = 0  # words before these indices belong to a phrase already counted
    for i in compress(range(len(cws)), cws):
        cw = cws[i]
        w = low[i]
        if i >= c_until:
            v = cw[0]
            if w in comp.phrase_starts:
                k, pv = _phrase_at(comp, low, i)
                if k:
                    v = pv
                    c_until = i + k
            if v >= 2.0:
                prob += v
            else:
                topic += v
        if i >= p_until:
            k = 0
            if w in praise.phrase_starts:
                k, v = _phrase_at(praise, low, i)
                if k:
                    p_total += v
                    p_until = i + k
            if not k:
                p_total += cw[1]
    return prob, topic, p_total


def _is_question(pack: LanguagePack | None, low: Sequence[str], joined: str) -> bool:
    if "?" in joined:  # only punctuation tokens can hold a "?"
        return True
    if pack is None:
        return False
    for t in low:
        if t[0].isalpha():
            return t in pack.question and t not in ("is", "are", "can", "kan")
    return False


class ComplaintClassifier:
    """Scores one post; cheap, stateless, language-aware (see module docstring)."""

    def __init__(self, sentiment: SentimentScorer | None = None) -> None:
        self._sentiment = sentiment or SentimentScorer()
        self._cache: dict[str, dict[str, tuple[float, float]]] = {}  # lang -> word -> cue weights

    def classify(self, text: str, lang: str, addressed: bool | None = None) -> ComplaintResult:
        """Classify ``text`` in language ``lang``; ``addressed`` defaults to "has an @handle"."""
        raw = tokens(text)
        sent = self._sentiment.score_tokens(raw, lang, text) if raw else NEUTRAL
        if addressed is None:
            addressed = any(t[0] == "@" for t in raw)
        return self.classify_tokens([t.lower() for t in raw], lang, sent, addressed)

    def classify_tokens(self, low: Sequence[str], lang: str, sent: Sentiment,
                        addressed: bool) -> ComplaintResult:
        """Classify from lower-cased :func:`~detectors.sentiment.tokens` and their sentiment."""
        pack = language_pack(lang)
        if pack is None:
            cue = praise = prob = 0.0
        else:
            prob, topic, p = _cue_scores(pack, low, self._cache.setdefault(lang, {}))
            cue, praise = min(prob + topic, 9.0), min(p, 6.0)
        joined = " ".join(low)
        question = _is_question(pack, low, joined)
        neg = min(-sent.neg, 6.0)
        pos = min(sent.pos, 6.0)
        negations = min(len(pack.negators.intersection(low)), 3) if pack is not None else 0
        support = addressed and _SUPPORT_HANDLE.search(joined) is not None
        trouble = prob > 0 or neg > 0 or negations > 0  # a topic word alone ("order", "app") is none
        # Negativity with no target (no addressee, no complaint vocabulary) is mood, not a complaint;
        # addressed to someone but naming no problem, it is as often banter as a complaint.
        share = 1.0 if cue >= 2 or support else W_ADDRESSED_ONLY if addressed else W_UNTARGETED
        z = (W_BIAS + W_CUE * cue + W_NEG * neg * share
             - W_POS * pos - W_PRAISE * praise + W_NEGATION * negations
             + (W_ADDRESSED if addressed else 0.0) + (W_SUPPORT if support and trouble else 0.0))
        if question:
            z += W_QUESTION if prob >= 2 else 0.0 if trouble else -W_INFO_QUESTION
        p = 1.0 / (1.0 + math.exp(-z))
        if p >= _THRESHOLD:
            kind = "complaint"
        elif sent.score >= 0.3 or (praise >= 2 and sent.score >= 0):
            kind = "praise"
        elif question:
            kind = "question"
        else:
            kind = "other"
        return ComplaintResult(p, kind)
