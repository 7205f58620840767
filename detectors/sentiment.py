"""Lexicon-and-rule sentiment for short posts, per language, score in [-1, 1].

The rules follow VADER (Hutto & Gilbert, "VADER: A Parsimonious Rule-based Model for Sentiment
Analysis of Social Media Text", ICWSM 2014): a sum of word valences (-4..4), each adjusted for

* negation in the three words before it (``not good``, ``inte bra``, ``nie polecam``) and, in
  Swedish, Norwegian and Danish, right after it (``jeg anbefaler ikke``), since there the
  negator follows the finite verb;
* intensifiers and dampeners before it (``very``, ``väldigt``, ``bardzo``; ``lite``) and as a
  compound prefix (``jättebra``, ``kjempedårlig``);
* ALL CAPS in an otherwise lower-case text, and elongation (``sooo baaad``);
* contrast: words before the last ``but``/``men``/``ale`` count half, words after it 1.5 times;
* exclamation marks, which push the total further from zero;
* negativity: negative contributions weigh 1.5 times the positive ones (SO-CAL, Taboada et al.
  2011), so ``tack för svaret, men paketet är trasigt`` reads negative;
* irony markers (``thanks for nothing``, ``#sarkasm``, ``🙄`` next to praise): praise is read as
  its opposite. This is a heuristic and catches only explicit markers.

Polish words fused with ``nie`` (``niemiły``) that are not in the lexicon are scored as the negation
of the rest. Emoji and emoticons score the same in every language. Words of another language in a
post (``worst service ever`` in a Swedish post) are scored with strong English VADER words, minus
false friends (Swedish ``gift`` = married). A post with no sentiment word but a bare negation
(``fungerar inte``, ``nie dostałem``) leans slightly negative. Unknown languages (``und``, ``de``)
get emoji, laughter and the English fallback only. The total is squashed by ``x / sqrt(x² + 15)`` as in VADER; the label is ``positive``
above +0.05, ``negative`` below -0.05, else ``neutral``. Lexicon sources: :mod:`detectors.lexicons`.

>>> s = SentimentScorer()
>>> s.score("This is great!", "en").label, s.score("This is not great", "en").label
('positive', 'negative')
>>> s.score("Jeg anbefaler ikke denne butikken", "no").label
'negative'
>>> s.score("Bardzo dobra obsługa 👍", "pl").label, s.score("Tak för ingenting 🙄", "sv").label
('positive', 'negative')
>>> s.score("", "sv")
Sentiment(score=0.0, label='neutral', pos=0.0, neg=0.0)
"""
from __future__ import annotations

import math
import re
from itertools import compress, repeat
from operator import is_
from typing import NamedTuple, Sequence

from detectors.lexicons import UNIVERSAL_VALENCE, LanguagePack, emoji_valence, language_pack, vader_lexicon

# One token: a @handle or #tag, an emoticon, a word (inner apostrophe kept), an emoji, a run of !/?,
# or a clause mark. Each emoticon checks "no word character before it" after its first character
# (a two-character look-behind), not before: that lets re skip quickly over positions no branch can
# start at, about a quarter faster than a leading look-behind. Words, the commonest token, come
# right after the only branch that can also start with a letter (``xD`` is an emoticon, not a
# word); the branches after them start with characters a word cannot, so the order does not matter.
TOKEN_RE = re.compile(
    r"[@#]\w+"
    r"|[:;=](?<!\w[:;=])[\-o'^]?[)(\]\[dDpP/\\|*@3$]+(?!\w)"
    r"|[xX](?<!\w[xX])[dDpP]+(?!\w)"
    r"|[^\W\d_]+(?:['’][^\W\d_]+)?"
    r"|<(?<!\w<)(?:3+|/3)(?!\w)"
    r"|[)(](?<!\w[)(])[)(]*[\-']?[:;=](?!\w)"
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]"
    r"|[!?]+|[,.;:]"
)
# The same tokens, found faster: a possessive whitespace skip means the branches are tried once per
# token instead of at every space (findall returns the group).
_TOKEN_SCAN = re.compile(r"\s*+(" + TOKEN_RE.pattern + ")")
_LINK_RE = re.compile(r"https?://\S+|www\.\S+")
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
# Any character three times in a row: implied by _ELONGATED and about four times cheaper to look
# for, so most words (new ones are looked up once each) are ruled out by this alone.
_TRIPLE = re.compile(r"(.)\1\1")

_NEGATION_FACTOR = -0.74  # VADER's N_SCALAR
_BOOST = 1.3
_DAMPEN = 0.6
_CAPS = 1.3
_ELONGATION = 1.15
_ALPHA = 15.0
_CACHE_MAX = 200_000


def cached_lookup(cache: dict, words: Sequence[str], compute, max_size: int = _CACHE_MAX) -> list:
    """``[cache[w] for w in words]``, computing and caching the missing ones.

    One C-level ``map`` finds the cached words; only misses run Python code. The cache is cleared
    when it outgrows ``max_size``, so a stream of new words cannot grow it without bound.

    >>> cache = {}
    >>> cached_lookup(cache, ["a", "bb", "a"], len), cache
    ([1, 2, 1], {'a': 1, 'bb': 2})
    """
    found = list(map(cache.get, words))
    if None in found:
        if len(cache) > max_size:
            cache.clear()
        # Only the positions of the misses run Python code; compress() finds them at C speed.
        for i in compress(range(len(found)), map(is_, found, repeat(None))):
            w = words[i]
            v = cache.get(w)  # (the same new word earlier in this text)
            if v is None:
                v = cache[w] = compute(w)
            found[i] = v
    return found
_IMPLICIT_NEGATION = -0.6
# Negative expressions weigh 1.5 times as much as positive ones (Taboada et al., "Lexicon-Based
# Methods for Sentiment Analysis", Computational Linguistics 2011, SO-CAL's negativity weighting):
# complaints are often wrapped in politeness ("tack för snabbt svar, men paketet är trasigt").
_NEG_WEIGHT = 1.5
_POS_THRESHOLD = 0.05
_CLAUSE = frozenset(",.;:?!")
_IRONY_EMOJI = frozenset("🙄😒🤡🙃")

# Strong English words used as a fallback inside other languages (mixed posts: "worst service
# ever" in a Swedish post). Words that mean something else in sv/no/da/pl are excluded.
_FALSE_FRIENDS = frozenset(
    "gift slut kiss hell fart arm bad full dead rich stark prick glad fine bra god hate hat sure "
    "rolig moral kill gross mist rape".split()
)


class Sentiment(NamedTuple):
    score: float  # [-1, 1]
    label: str  # 'positive' | 'negative' | 'neutral'
    pos: float  # sum of positive contributions (>= 0), before squashing
    neg: float  # sum of negative contributions (<= 0), before squashing


NEUTRAL = Sentiment(0.0, "neutral", 0.0, 0.0)


def tokens(text: str) -> list[str]:
    """Tokens of ``text``: words, ``@handles``, ``#tags``, emoji, emoticons, ``!?`` runs, ``,.;:``.

    Links are dropped. Every token is non-empty; its first character tells its kind.
    """
    if "://" in text or "www." in text:
        text = _LINK_RE.sub(" ", text)
    return _TOKEN_SCAN.findall(text)


def label_of(score: float) -> str:
    if score >= _POS_THRESHOLD:
        return "positive"
    if score <= -_POS_THRESHOLD:
        return "negative"
    return "neutral"


# Roles of a word for the valence of a word near it; intensifiers and dampeners are their factor.
_CLAUSE_MARK = "clause"
_NEGATOR = "negator"


def _roles(pack: LanguagePack | None) -> dict[str, object]:
    roles: dict[str, object] = {}
    if pack is not None:
        roles.update(dict.fromkeys(pack.dampeners, _DAMPEN))
        roles.update(dict.fromkeys(pack.intensifiers, _BOOST))
        roles.update(dict.fromkeys(pack.negators, _NEGATOR))
    roles.update(dict.fromkeys(_CLAUSE, _CLAUSE_MARK))
    return roles


def _fallback_lexicon() -> dict[str, float]:
    return {w: v * 0.8 for w, v in vader_lexicon().items()
            if abs(v) >= 1.5 and len(w) >= 4 and w.isalpha() and w not in _FALSE_FRIENDS}


class SentimentScorer:
    """Scores text in any supported language; emoji-only scoring for the others (see module doc)."""

    def __init__(self) -> None:
        self._emoji = emoji_valence()
        self._fallback = _fallback_lexicon()
        self._packs = {lang: language_pack(lang) for lang in ("sv", "no", "da", "pl", "en")}
        # What a word does to its neighbour's valence, one lookup per word (clause marks first, then
        # negators, intensifiers, dampeners, as the rules read).
        self._roles = {lang: _roles(pack) for lang, pack in [*self._packs.items(), (None, None)]}
        # word -> valence, per language: words repeat across posts (Zipf), lookups with stems and
        # prefixes do not need repeating. Bounded by clearing; the result never depends on it.
        self._cache: dict[str | None, dict[str, float]] = {}

    def score(self, text: str, lang: str) -> Sentiment:
        raw = tokens(text)
        if not raw:
            return NEUTRAL
        return self.score_tokens(raw, lang, text)

    def _word_valence(self, pack: LanguagePack | None, low: str) -> tuple[float, bool]:
        """(valence, elongated) of one lower-case word; 0.0 when unknown."""
        v = self._lookup(pack, low)
        if v is not None:
            return v, False
        if _TRIPLE.search(low) and _ELONGATED.search(low):
            two = _ELONGATED.sub(r"\1\1", low)
            one = _ELONGATED.sub(r"\1", low)
            for cand in (two, one):
                v = self._lookup(pack, cand)
                if v is not None:
                    return v * _ELONGATION, True
        return 0.0, False

    def _lookup(self, pack: LanguagePack | None, low: str) -> float | None:
        if pack is not None:
            v = pack.valence.lookup(low)
            if v is not None:
                return v
            if low.startswith(pack.intensifier_prefixes):  # one call rules out most words
                for pre in pack.intensifier_prefixes:
                    if low.startswith(pre) and len(low) > len(pre) + 2:
                        v = pack.valence.lookup(low[len(pre):])
                        if v is not None:
                            return v * _BOOST
            if pack.lang == "pl" and low.startswith("nie") and len(low) > 6:
                v = pack.valence.lookup(low[3:])
                if v is not None:
                    return v * _NEGATION_FACTOR
        v = UNIVERSAL_VALENCE.get(low)
        if v is not None:
            return v
        if low.startswith(("haha", "hehe")):
            return UNIVERSAL_VALENCE["haha"]
        if pack is not None and pack.lang == "en":
            return None
        return self._fallback.get(low)

    def _token_value(self, pack: LanguagePack | None, w: str) -> float:
        """Valence of one lower-case token on its own; 0.0 for modifiers, handles, punctuation."""
        if w[0] == "#":
            w = w[1:]
        c = w[0]
        if not c.isalpha():
            return self._emoji.get(w, 0.0) if c != "@" else 0.0
        if pack is not None and (w in pack.negators or w in pack.intensifiers or w in pack.dampeners):
            return 0.0
        return self._word_valence(pack, w)[0]

    def score_tokens(self, raw: Sequence[str], lang: str, text: str = "",
                     low: Sequence[str] | None = None) -> Sentiment:
        pack = self._packs.get(lang)
        if low is None:
            low = [t.lower() for t in raw]
        n = len(low)
        shouting_text: bool | None = None
        vals = [0.0] * n
        negators = pack.negators if pack else frozenset()
        role = self._roles[lang if pack else None].get
        follows = pack is not None and pack.negation_follows_verb
        phrases = pack.valence.phrases if pack else {}
        phrase_starts = pack.valence.phrase_starts if pack else frozenset()
        cache = self._cache.setdefault(lang if pack else None, {})
        # Most tokens carry no valence: one C-level pass over the cache finds the few that do. A
        # word that starts a phrase is cached wrapped in a 1-tuple, so it is looked at too.
        def value(w: str):
            v = self._token_value(pack, w)
            return (v,) if w in phrase_starts else v
        vs = cached_lookup(cache, low, value)
        hits = list(compress(range(n), vs))  # the indices of non-zero values, at C speed
        skip_until = 0  # tokens before this index belong to a phrase already scored
        for i in hits:
            if i < skip_until:
                continue
            v = vs[i]
            w = low[i]
            if v.__class__ is tuple:
                hit = None
                for k in (3, 2):
                    if i + k <= n:
                        p = phrases.get(tuple(low[i:i + k]))
                        if p is not None:
                            hit = (k, p)
                            break
                if hit is not None:
                    vals[i] = hit[1]
                    skip_until = i + hit[0]
                    continue
                v = v[0]
                if not v:
                    continue
            if not w[0].isalpha():
                vals[i] = v
                continue
            t = raw[i]
            if len(t) > 1 and t.isupper():
                if shouting_text is None:
                    shouting_text = all(x.isupper() for x in raw if len(x) > 1 and x[0].isalpha())
                if not shouting_text:
                    v *= _CAPS
            # Modifiers and negation before the word, within its clause.
            negated = False
            for j in range(i - 1, i - 4 if i > 3 else -1, -1):
                r = role(low[j])
                if r is None:
                    continue
                if r is _CLAUSE_MARK:
                    break
                if r is _NEGATOR:
                    negated = not negated
                elif j >= i - 2:
                    v *= r
            if not negated and follows:
                for j in range(i + 1, i + 3 if i + 3 < n else n):
                    r = role(low[j])
                    if r is _CLAUSE_MARK:
                        break
                    if r is _NEGATOR:
                        negated = True
                        break
            if negated:
                v *= _NEGATION_FACTOR
            vals[i] = v

        if pack is not None and not pack.contrast.isdisjoint(low):
            for j in range(n - 1, 0, -1):
                if low[j] in pack.contrast:
                    for k in hits:  # the other values are zero
                        if k < j:
                            vals[k] *= 0.5
                        elif k > j:
                            vals[k] *= 1.5
                    break

        pos = neg = 0.0
        for i in hits:  # the other values are zero
            v = vals[i]
            if v > 0:
                pos += v
            elif v < 0:
                neg += v
        if pos > 0 and self._ironic(pack, low, text):
            neg -= pos + 1.0
            pos = 0.0
        if not pos and not neg and pack is not None and not negators.isdisjoint(low):
            # A bare negation with no sentiment word ("det fungerar inte", "nie dostałem") leans
            # negative in social posts; count it weakly.
            neg = _IMPLICIT_NEGATION * min(2, len(negators.intersection(low)))
            total = neg
        else:
            total = pos + _NEG_WEIGHT * neg  # ``neg`` itself is reported unweighted
        if total:
            bangs = sum(len(t) for t in low if t[0] == "!") if not text or "!" in text else 0
            total += math.copysign(min(bangs, 4) * 0.292, total)
        score = total / math.sqrt(total * total + _ALPHA) if total else 0.0
        score = max(-1.0, min(1.0, score))
        return Sentiment(score, label_of(score), pos, neg)

    @staticmethod
    def _ironic(pack: LanguagePack | None, low: Sequence[str], text: str) -> bool:
        if not _IRONY_EMOJI.isdisjoint(low):
            return True
        if pack is None or not text:
            return False
        lt = text.lower()
        if "://" in lt or "www." in lt:
            lt = _LINK_RE.sub(" ", lt)
        return any(m in lt for m in pack.irony)
