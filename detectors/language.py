"""Language identification for short social posts, tuned to tell Swedish, Norwegian and Danish apart.

Why not a package: py3langid confuses Danish and Norwegian, and lingua manages about 1,300 texts/s,
too slow for the stream. Debian's hunspell dictionaries (``hunspell-no``, ``hunspell-da``) were
tried on 2026-11-25 as more Danish/Norwegian evidence and not kept: letting the words that only one
side's dictionary knows decide fixed 39 and broke 123 of the NoReC tuning half's sentences, and
fixed 15 and broke 23 of the Danish comments (the Bokmål dictionary accepts many Danish-looking
forms). This is a word-level naive Bayes (summed log-frequency evidence) over data that ships in
PyPI packages, plus hand-written cues:

* word frequencies of 12 languages from the ``wordfreq`` package's data files: each word votes
  ``log10(frequency in L) - floor`` for every language L that has it. Frequency differences under
  5x between languages sharing a word are ignored, also below the word's most frequent language
  (they reflect the corpora, not the languages), so only distinct forms decide: ``och/og``,
  ``inte/ikke``, ``hvad/hva``, ``efter/etter``;
* hand-written cue words (:mod:`detectors.lexicons.langid_words`), notably Nynorsk, which wordfreq
  lacks, and Danish/Norwegian pairs (``fik/fikk``, ``uge/uke``, ``ved/vet``);
* letters: ``ä ö`` (Swedish), ``æ ø`` (Danish/Norwegian), ``ą ę ł ż`` (Polish), ...;
* when the race is close: character 3/4-grams of the supported languages' word lists for words no
  list has (compounds: ``-vagter`` is Danish, ``-vakter`` Norwegian) and Danish/Norwegian spelling
  marks (``kj gj øy ei``, a double consonant at the end or before a consonant ``takk fått
  opplevelse alltid``, ``-sjon -messig`` against ``øj ej hv -ede -hed -tion -mæssig``, ``æ`` before
  a letter other than r ``næste sætte`` and the neuter ``-igt``) and the Danish infinitive marker
  ``at`` before a verb (``at komme``; Norwegian ``å komme``).

The first 12 words are read, and more (up to :data:`MAX_WORDS`) only while no language leads by a
clear margin: each word costs a lookup in a large table, most of language id's time on long posts.
So a post that switches language after a dozen words is given the language it starts in. Short
texts that use only words the three Scandinavian languages share (``Gode musikere``) stay
ambiguous; exact ties go to the first in alphabetical order (``da`` before ``no`` before ``sv``)
unless a hint says otherwise.

Fallback, stated once: when the words carry too little evidence (empty, emoji-only, a handle and a
link, digits) and the whole text is at hand, its hashtags are read as words (split where a capital
follows a small letter: ``#idioterSmadrerDanmark``) and a link's country domain (``.dk``, ``.no``,
``.se``, ...) counts like a cue word for that country's language. If that too says too little,
the ``lang_hint`` is returned if it names a language we recognise (``nb``/``nn``
count as ``no``); otherwise ``'und'``. A recognised hint also adds a prior worth a word about 100
times more frequent in that language, so it settles near-ties (``"Perfekt 👍"`` with hint ``da`` is
Danish) but not clear evidence in the text. Recognised but not fully supported languages
(``de fr es it nl pt fi``) are returned as such, so the caller can tell "not ours" from "unknown".

>>> identify("Tåget är försenat igen och ingen säger något")
'sv'
>>> identify("Toget er forsinket igjen, og ingen sier noe")
'no'
>>> identify("Toget er forsinket igen, og ingen siger noget")
'da'
>>> identify("Pociąg znowu spóźniony, nikt nic nie mówi")
'pl'
>>> identify("The train is late again and nobody says anything")
'en'
>>> identify("👍👍", lang_hint="nb"), identify("", lang_hint="xx"), identify("1234 :)")
('no', 'und', 'und')
>>> identify("#tusenTakk 👍"), identify("👀 https://www.dr.dk/nyheder/a1")
('no', 'da')
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.util
import math
import os
import pickle
import re
import sys
from typing import Sequence

from detectors.built import BUILT_DIR, store
from detectors.lexicons import langid_words
from detectors.lexicons.langid_words import CUES

#: Languages with full support (language id, sentiment, complaint vocabulary).
SUPPORTED_LANGS: frozenset[str] = frozenset({"sv", "no", "da", "pl", "en"})
#: Languages recognised from the text but without sentiment/complaint support.
RECOGNISED_LANGS: frozenset[str] = SUPPORTED_LANGS | frozenset({"de", "fr", "es", "it", "nl", "pt", "fi"})

_HINT_ALIASES = {"nb": "no", "nn": "no", "nob": "no", "nno": "no", "nor": "no", "swe": "sv",
                 "dan": "da", "pol": "pl", "eng": "en"}
#: Words read per text; the language of a post is settled well before this.
MAX_WORDS = 30
#: Words read first; the rest (up to MAX_WORDS) only when the leader is not yet ahead by _SETTLED.
_FIRST_WORDS = 12
_SETTLED = 6.0
#: Minimum evidence (in word votes) to trust the text over the hint.
_MIN_EVIDENCE = 1.0
_HINT_PRIOR = 2.0

# Words: letters only (digits and underscores are no evidence); ``'`` kept inside English words.
WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_NOISE_RE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")


# Word frequency lists that ship inside the ``wordfreq`` package (Speer et al., wordfreq 3.1: word
# frequencies from subtitles, Wikipedia, news, web text and social media). Only the data files are
# read (msgpack is a wordfreq dependency). Norwegian there is Bokmål; Nynorsk comes from CUES.
_WORDFREQ_LANGS = {"sv": "sv", "nb": "no", "da": "da", "pl": "pl", "en": "en",
                   "de": "de", "fr": "fr", "es": "es", "it": "it", "nl": "nl", "pt": "pt", "fi": "fi"}
_TOP_WORDS_OTHER = 8000  # languages we only need to recognise, not to tell apart finely
_SAME_WORD = 0.7  # log10(5)
_MIN_VOTE = 1.0  # weaker votes of languages we only recognise are dropped (speed)
_MIN_VOTE_SUPPORTED = 0.8  # the rarest words of our languages too: the n-grams cover them
_CUE_WEIGHT = 1.5  # a hand-written cue word counts like a word 30x more frequent (log10 1.5)


def _wordfreq_buckets(code: str) -> list[list[str]]:
    """Buckets of words by frequency in centibels (bucket i holds words of frequency 10**(-i/100))."""
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        return []
    path = os.path.join(spec.submodule_search_locations[0], "data", f"small_{code}.msgpack.gz")
    if not os.path.isfile(path):
        return []
    import msgpack

    with gzip.open(path, "rb") as f:
        data = msgpack.load(f, raw=False)
    return data[1:] if data and isinstance(data[0], dict) else []


_SCANDINAVIAN = ("sv", "no", "da")


def _share_danish_norwegian(votes: dict[str, dict[str, float]]) -> None:
    """Give Danish and Norwegian the same vote on international words only one of their lists has.

    Written Danish and Bokmål share most of their vocabulary, and which loanwords and names make it
    into one list but not the other says more about the corpora than about the languages. So when
    a word is in exactly one of the two lists and another language (English, French, ...) uses it
    at least as much (``genre``, ``thriller``, ``wii``, names), both get the higher vote.
    Hand-written cue words (:mod:`detectors.lexicons.langid_words`) are added afterwards, so the
    forms they list for one language only (``dig``, ``end``) still decide.
    """
    for d in votes.values():
        da, no = d.get("da"), d.get("no")
        if (da is None) == (no is None):  # both lists have it (or neither): frequencies decide
            continue
        both = max(da or 0.0, no or 0.0)
        others = [v for lang, v in d.items() if lang not in _SCANDINAVIAN]
        if others and max(others) >= both:
            d["da"] = d["no"] = both


def _build_votes(cues: str) -> dict[str, tuple[tuple[str, float], ...]]:
    """word -> ((lang, vote), ...): log10 frequency above the language's floor, plus hand cues.

    Summing votes over the words of a text is naive Bayes with a frequency floor for words a
    language's list lacks; a word absent from every list votes for nobody.
    """
    votes: dict[str, dict[str, float]] = {}
    for code, lang in _WORDFREQ_LANGS.items():
        buckets = _wordfreq_buckets(code)
        limit = None if lang in SUPPORTED_LANGS else _TOP_WORDS_OTHER
        seen = 0
        last = len(buckets)
        for i, bucket in enumerate(buckets):
            if limit is not None and seen >= limit:
                last = i
                break
            seen += len(bucket)
        floor = -last / 100.0 - 0.3
        for i, bucket in enumerate(buckets[:last]):
            v = -i / 100.0 - floor
            for w in bucket:
                if w.isalpha():
                    votes.setdefault(w, {})[lang] = v
    _share_danish_norwegian(votes)
    langs_of: dict[str, set[str]] = {}
    for line in cues.strip().splitlines():
        lang, _, words = line.partition(":")
        for w in words.split():
            langs_of.setdefault(w, set()).add(lang.strip())
    for w, ls in langs_of.items():
        entry = votes.setdefault(w, {})
        for lang in ls:
            entry[lang] = entry.get(lang, 0.0) + _CUE_WEIGHT / len(ls)
    out = {}
    for w, d in votes.items():
        # Frequency differences under 5x between languages that share a word are mostly the
        # corpora's, not the languages'; treat them as equal so only distinct forms decide. This
        # holds below the top too: English "for" must not make Norwegian "for" beat Danish "for".
        snapped: dict[str, float] = {}
        top = math.inf
        for lang, v in sorted(d.items(), key=lambda x: (-x[1], x[0])):
            if top - v >= _SAME_WORD:
                top = v
            snapped[lang] = top
        entry = tuple(sorted((lang, v) for lang, v in snapped.items()
                             if v >= (_MIN_VOTE_SUPPORTED if lang in SUPPORTED_LANGS else _MIN_VOTE)))
        if entry:
            out[w] = entry
    return out


# Character n-grams (3-4, word-boundary padded) of the supported languages' word lists, for words
# no list has: compounds and rare inflections carry their language's spelling ("-vagter" is Danish,
# "-vakter" Norwegian). Counted over word types, add-half smoothed; log10 ratio to the floor.
_NGRAM_LANGS = ("sv", "no", "da", "pl", "en")
_NGRAM_MIN_WORD = 5
_CLOSE_RACE = 6.0  # a lead (log10 units) that n-grams and spelling cues rarely overturn
_NGRAM_MIN_VOTE = 1.3  # train on the words at least ~10x above the list's floor
_NGRAM_SCALE = 3.5  # an OOV word votes like a word this many log10 units more frequent


def _ngrams(word: str) -> list[str]:
    w = f"^{word}$"
    return [w[i:i + n] for n in (3, 4) for i in range(len(w) - n + 1)]


def _build_ngrams(votes) -> dict[str, tuple[tuple[str, float], ...]]:
    counts: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for w, entry in votes.items():
        for lang, vote in entry:
            if lang in _NGRAM_LANGS and len(w) >= 4 and vote > _NGRAM_MIN_VOTE:
                for g in _ngrams(w):
                    c = counts.setdefault(g, {})
                    c[lang] = c.get(lang, 0) + 1
                    totals[lang] = totals.get(lang, 0) + 1
    out: dict[str, tuple[tuple[str, float], ...]] = {}
    for g, c in counts.items():
        if sum(c.values()) < 3:
            continue
        out[g] = tuple((lang, math.log10((k + 0.5) / totals[lang]) - math.log10(0.5 / totals[lang]))
                       for lang, k in sorted(c.items()))
    return out


# Building the two tables from the word lists takes about a second. ``python -m detectors.language
# build`` (run by scripts/setup and the Dockerfile) stores them next to this module under a key that
# changes with this file, the cue words and the wordfreq version; importing loads them from there
# when the key matches and builds them otherwise. Importing never writes anything.
_BUILT_DIR = BUILT_DIR


def _tables_key() -> str:
    h = hashlib.sha256()
    for path in (__file__, langid_words.__file__):
        with open(path, "rb") as f:
            h.update(f.read())
    try:
        h.update(importlib.metadata.version("wordfreq").encode())
    except importlib.metadata.PackageNotFoundError:
        pass
    h.update(sys.version.encode())
    return h.hexdigest()[:16]


def _tables_path() -> str:
    return os.path.join(_BUILT_DIR, f"langid-{_tables_key()}.pickle")


def _shared_values(table: dict) -> dict:
    """``table`` with equal values (and equal ``(lang, vote)`` pairs inside them) made one object.

    74,541 words have only about 9,000 distinct vote lists: shared, they take far less memory and
    the common ones stay in the CPU cache. Pickle keeps the sharing (it stores a repeated object once).
    """
    pairs: dict = {}
    values: dict = {}
    return {k: values.setdefault(v, v) for k, v in
            ((k, tuple(pairs.setdefault(p, p) for p in v)) for k, v in table.items())}


def _build_tables() -> tuple[dict, dict]:
    votes = _shared_values(_build_votes(CUES))
    return votes, _shared_values(_build_ngrams(votes))


def _load_tables() -> tuple[dict, dict]:
    try:
        with open(_tables_path(), "rb") as f:
            votes, ngrams = pickle.load(f)
        if isinstance(votes, dict) and isinstance(ngrams, dict):
            return votes, ngrams
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
        pass
    # Not an error (the tables built here are the same), but every start now pays about a second.
    # (Not said by `python -m detectors.language build`, which is building them to store them.)
    if __name__ != "__main__":
        print("detectors.language: no stored language tables for this code; building them (about 1 s "
              "per start until `python -m detectors.language build` stores them)", file=sys.stderr)
    return _build_tables()


def build_tables() -> str:
    """Store the word and n-gram vote tables for later imports (replacing stale ones); returns the
    path. The tables stored are the ones this import holds: loaded under the current key, or built."""
    return store(_tables_path(), lambda: (_VOTES, _NGRAM_VOTES))


_VOTES, _NGRAM_VOTES = _load_tables()

def _oov_votes(word: str, scores: dict[str, float]) -> None:
    grams = _ngrams(word)
    acc: dict[str, float] = {}
    for g in grams:
        v = _NGRAM_VOTES.get(g)
        if v is not None:
            for lang, s in v:
                acc[lang] = acc.get(lang, 0.0) + s
    if acc:
        k = _NGRAM_SCALE / len(grams)
        top = max(acc.values())
        for lang, s in acc.items():
            # Relative to the best language only, so an OOV word shifts the race, not its size.
            scores[lang] = scores.get(lang, 0.0) + k * (s - top) + _NGRAM_SCALE * 0.5

# Letters: (characters, ((lang, vote), ...)). Counted once per text, not per occurrence.
_LETTER_CUES: tuple[tuple[frozenset[str], tuple[tuple[str, float], ...]], ...] = (
    (frozenset("äö"), (("sv", 1.2), ("fi", 0.6), ("de", 0.4))),
    (frozenset("æø"), (("da", 1.0), ("no", 1.0))),
    (frozenset("å"), (("sv", 0.3), ("da", 0.3), ("no", 0.3))),
    (frozenset("ąćęłńśźż"), (("pl", 2.0),)),
    (frozenset("ßü"), (("de", 1.5),)),
    (frozenset("ñ¿¡"), (("es", 1.5),)),
    (frozenset("ãõ"), (("pt", 1.5),)),
    (frozenset("çèêëàâœ"), (("fr", 0.8), ("pt", 0.2))),
)
# Spellings that split Norwegian from Danish (sound shifts and orthography reforms): Norwegian
# kj/gj (kjøpe, gjennom, Danish købe, gennem) and the diphthongs øy/ei (høy, vei; Danish høj, vej).
# "hv" is weak evidence only: Bokmål writes hvor, hva, hvem as Danish does; Nynorsk has kvar, kva.
_NO_MARKS = ("kj", "gj", "øy", "ei")
_DA_MARKS = ("øj", "ej", "hv")


# A doubled k t p m n l followed by a consonant other than s, h, j (plural/genitive -s, English th).
_INNER_DOUBLE_RE = re.compile(r"(kk|tt|pp|mm|nn|ll)[bcdfgklmnpqrtvwxz]")
_ENGLISH_TAILS = ("le", "les", "led", "ling", "lings", "ly", "ness")


# æ before a letter other than r (and not at the end of the word); Bokmål words that keep such an æ.
_DA_AE_RE = re.compile(r"æ[^r\W]")
_NO_AE_PREFIXES = ("væske", "blæs", "hæl", "bæsj", "æsj", "kræsj", "ætt", "væpn", "æsel")
# Short Bokmål words that keep æ, matched whole: as prefixes they would swallow Danish words
# (sælge, mælk, fælles, sædvanlig, tælle).
_NO_AE_EXACT = frozenset("fæl fælt fæle sæl sæle sæd".split())


def _spelling_votes(word: str) -> tuple[float, float]:
    """(Norwegian, Danish) votes from the spelling of one word containing æ/ø/å or a marker."""
    no = da = 0.0
    for m in _NO_MARKS:
        if m in word:
            no += 0.35
    for m in _DA_MARKS:
        if m in word:
            da += 0.25
    # Danish past tense -ede (elskede; Norwegian elsket), -hed (Norwegian -het). Not -ende: the
    # present participle is -ende in both (strålende, rørende).
    if len(word) > 5 and word.endswith(("ede", "hed", "heden")):
        da += 0.35
    if len(word) > 5 and word.endswith(("het", "heten", "ene", "erte")):
        no += 0.2
    # Verbs in -ere: participle -eret in Danish (interesseret), -ert in Norwegian (interessert).
    if len(word) > 6 and word.endswith(("eret", "erede")):
        da += 0.35
    elif len(word) > 6 and word.endswith(("sert", "tert", "rert", "nert", "vert")):
        no += 0.2
    # Norwegian writes the short vowel's double consonant at the end of a word, Danish does not
    # (takk/tak, fått/fået, opp/op, full/fuld, mann/mand); -sjon/-tion; -messig/-mæssig.
    if len(word) > 3 and word[-1] == word[-2] and word[-1] in "ktpmln":
        no += 0.35
    elif _INNER_DOUBLE_RE.search(word) and not word.endswith(_ENGLISH_TAILS):
        # ... and keeps it before a consonant inside the word: opplevelse, inntrykk, alltid,
        # innlegg, takknemlig (Danish oplevelse, indtryk, altid, indlæg, taknemmelig).
        no += 0.35
    if word.endswith(("sjon", "sjonen", "sjoner", "messig", "messige")):
        no += 0.35
    elif word.endswith(("tion", "tionen", "tioner", "mæssig", "mæssige")):
        da += 0.35
    # Danish writes æ where Bokmål writes e (næste, mænd, sætte, tænke, ændre, læse, væk; Bokmål
    # neste, menn, sette, tenke, endre, lese, vekk); Bokmål keeps æ mainly before r (være, lære).
    if ("æ" in word and _DA_AE_RE.search(word) and not word.startswith(_NO_AE_PREFIXES)
            and word not in _NO_AE_EXACT):
        da += 0.25
    # Danish gives -ig adjectives a neuter -t (vigtigt, muligt); Norwegian does not (viktig, mulig).
    if len(word) > 4 and word.endswith("igt"):
        da += 0.35
    return no, da


def normalise_hint(lang_hint: str | None) -> str | None:
    """Map a hint to our codes: ``'nb'``/``'nn'`` to ``'no'``; None for anything unrecognised."""
    if not lang_hint:
        return None
    h = lang_hint.strip().lower().replace("_", "-").split("-")[0]
    h = _HINT_ALIASES.get(h, h)
    return h if h in RECOGNISED_LANGS else None


def _word_extra(word: str) -> tuple[tuple[tuple[str, float], ...], float, float]:
    """(n-gram votes if out of vocabulary, Norwegian spelling votes, Danish spelling votes)."""
    oov: dict[str, float] = {}
    if word not in _VOTES and len(word) >= _NGRAM_MIN_WORD:
        _oov_votes(word, oov)
    no, da = _spelling_votes(word)
    if not oov and not no and not da:
        return _NO_EXTRA
    return tuple(oov.items()), no, da


def _close_race(scores: dict[str, float]) -> bool:
    """True when the leader's lead is small enough for spelling evidence to matter."""
    if not scores:
        return True
    ranked = sorted(scores.values(), reverse=True)
    return len(ranked) < 2 or ranked[0] - ranked[1] < _CLOSE_RACE


_NO_EXTRA: tuple[tuple[tuple[str, float], ...], float, float] = ((), 0.0, 0.0)


_EXTRA_CACHE: dict[str, tuple[tuple[tuple[str, float], ...], float, float]] = {}


_CUE_LETTERS = frozenset().union(*(chars for chars, _ in _LETTER_CUES))


def _add_letter_cues(words: Sequence[str], scores: dict[str, float]) -> None:
    joined = "".join(words)
    if joined.isascii():  # every cue letter is outside ASCII
        return
    letters = _CUE_LETTERS.intersection(joined)
    if not letters:
        return
    for chars, cue in _LETTER_CUES:
        if not chars.isdisjoint(letters):
            for lang, s in cue:
                scores[lang] = scores.get(lang, 0.0) + s


# The infinitive marker is "at" in Danish and "å" in Norwegian: "at være", "at komme" are Danish
# (Norwegian "at" is only the conjunction "that", followed by a subject). Verbs spelled alike in both.
_AT_INFINITIVES = frozenset(
    "være få se komme gå stå bo tro kunne ville skulle holde spise betale vente lære leve forstå "
    "ringe prøve stemme sende dele vise følge høre finde bruge tage give gøre sige have blive "
    "hjælpe læse sætte tænke snakke skrive arbejde købe sælge lave møde sove vælge stoppe".split())


def _danish_infinitives(words: Sequence[str]) -> float:
    """Danish spelling votes for ``at`` + infinitive (one per occurrence)."""
    return float(sum(1 for i in range(len(words) - 1)
                     if words[i] == "at" and words[i + 1] in _AT_INFINITIVES))


def _add_votes(words: Sequence[str], scores: dict[str, float]) -> None:
    """Add the vocabulary votes of ``words`` to ``scores`` (words no list has vote for nobody)."""
    get = scores.get
    for entry in map(_VOTES.get, words):
        if entry is not None:
            for lang, s in entry:
                scores[lang] = get(lang, 0.0) + s


def _leader(scores: dict[str, float]) -> str:
    """The language with the most votes; an exact tie goes to the first in alphabetical order.

    Votes are compared at 9 decimals: sums of the same votes in another order can differ in the
    last bit, and that must not decide a tie.
    """
    top = max(scores.values())
    # Only languages within a hair of the top can tie with it at 9 decimals; usually that is one.
    near = [lang for lang, s in scores.items() if s >= top - 1e-8]
    if len(near) == 1:
        return near[0]
    return min(near, key=lambda lang: (-round(scores[lang], 9), lang))


def language_scores(words: Sequence[str]) -> dict[str, float]:
    """Votes per language from lower-cased words (see module docstring)."""
    scores: dict[str, float] = {}
    # The first words usually settle it; each further word costs a lookup in a large table (a
    # cache miss, most of language id's time on long posts), so the rest is read only if needed.
    _add_votes(words[:_FIRST_WORDS], scores)
    if len(words) > _FIRST_WORDS:
        ranked = sorted(scores.values(), reverse=True) + [0.0, 0.0]
        if ranked[0] - ranked[1] < _SETTLED:  # (a language alone leads the zero of the others)
            _add_votes(words[_FIRST_WORDS:], scores)
        else:
            words = words[:_FIRST_WORDS]
    no_sp = da_sp = 0.0
    if not _close_race(scores):
        # Clear lead on known words: n-grams and spellings would hardly change the winner.
        _add_letter_cues(words, scores)
        return scores
    extra_cache = _EXTRA_CACHE
    for w in words:
        e = extra_cache.get(w)
        if e is None:
            if len(extra_cache) > 200_000:
                extra_cache.clear()
            e = extra_cache[w] = _word_extra(w)
        if e is _NO_EXTRA:
            continue
        for lang, s in e[0]:
            scores[lang] = scores.get(lang, 0.0) + s
        no_sp += e[1]
        da_sp += e[2]
    if "at" in words:
        da_sp += _danish_infinitives(words)
    _add_letter_cues(words, scores)
    if (no_sp or da_sp) and scores and _leader(scores) in ("da", "no"):
        scores["no"] = scores.get("no", 0.0) + min(no_sp, 1.5)
        scores["da"] = scores.get("da", 0.0) + min(da_sp, 1.5)
    return scores


# Country-code domains of links -> language (weak evidence, read only when the words say too little).
_DOMAIN_LANGS = {"dk": "da", "no": "no", "se": "sv", "pl": "pl", "uk": "en", "ie": "en", "au": "en",
                 "nz": "en", "de": "de", "fr": "fr", "es": "es", "it": "it", "nl": "nl", "pt": "pt",
                 "fi": "fi"}
_TAG_RE = re.compile(r"(?<![\w#])#(\w+)")
_HOST_RE = re.compile(r"(?:https?://|(?<![\w.])www\.)([^\s/?#:@]+)", re.IGNORECASE)


def _tag_words(tag: str) -> list[str]:
    """Lower-cased words of a hashtag's body, split where a capital follows a small letter."""
    cuts = [0] + [i for i in range(1, len(tag)) if tag[i].isupper() and tag[i - 1].islower()] + [len(tag)]
    return [w for a, b in zip(cuts, cuts[1:]) for w in WORD_RE.findall(tag[a:b].lower())]


def weak_scores(text: str) -> dict[str, float]:
    """Votes from what :func:`text_words` leaves out: hashtags read as words, links' country domains.

    >>> weak_scores("https://example.se/x")
    {'sv': 1.5}
    """
    scores: dict[str, float] = {}
    if "#" in text:
        words = [w for tag in _TAG_RE.findall(text) for w in _tag_words(tag)]
        if words:
            scores = language_scores(words[:MAX_WORDS])
    if "." in text:
        for host in _HOST_RE.findall(text):
            lang = _DOMAIN_LANGS.get(host.rstrip(".").rpartition(".")[2].lower())
            if lang is not None:
                scores[lang] = scores.get(lang, 0.0) + _CUE_WEIGHT
                break
    return scores


def identify_words(words: Sequence[str], lang_hint: str | None = None, text: str | None = None) -> str:
    """Language of lower-cased ``words`` (URLs, handles and hashtags already removed).

    At most the first :data:`MAX_WORDS` words are read, often fewer (see module docstring). When
    they carry too little evidence and ``text`` (the whole post) is given, its hashtags and links'
    country domains are read instead (:func:`weak_scores`).
    """
    hint = normalise_hint(lang_hint)
    scores = language_scores(words[:MAX_WORDS])
    if text and (not scores or max(scores.values()) < _MIN_EVIDENCE):
        weak = weak_scores(text)
        if weak and max(weak.values()) >= _MIN_EVIDENCE:
            scores = weak
    if hint is not None:
        scores[hint] = scores.get(hint, 0.0) + _HINT_PRIOR
    if not scores:
        return hint or "und"
    best = _leader(scores)
    evidence = scores[best] - (_HINT_PRIOR if best == hint else 0.0)
    if evidence < _MIN_EVIDENCE or _undecided(scores, best):
        return hint or "und"
    return best


#: Languages close enough that a tie among them still says something: they share most of their
#: words and their sentiment lexicons score those words alike.
_SCANDINAVIAN = frozenset({"da", "no", "sv"})


def _undecided(scores: dict[str, float], best: str) -> bool:
    """True when ``best`` ties exactly with a language outside the Scandinavian three: words every
    language has ("ok", "x", "hmm") say nothing of the language, and the alphabetical tie-break
    made them Danish (with a Danish sentiment). A tie among Danish, Norwegian and Swedish stays
    decided as :func:`_leader` documents ("aldrig igen", "fantastisk", "kaos": made 'und', their
    sentiment was lost, a review found, for 122 of the 1,614 words of those lexicons)."""
    top = round(scores[best], 9)
    tied = {lang for lang, v in scores.items() if round(v, 9) == top}
    return len(tied) > 1 and not tied <= _SCANDINAVIAN


def text_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` without URLs, @handles and #hashtags."""
    return WORD_RE.findall(_NOISE_RE.sub(" ", text).lower())


def identify(text: str, lang_hint: str | None = None) -> str:
    """ISO 639-1 code of ``text`` (``'no'`` for Bokmål and Nynorsk), or ``'und'``; see module doc."""
    return identify_words(text_words(text), lang_hint, text)


if __name__ == "__main__":  # python -m detectors.language build
    if sys.argv[1:] != ["build"]:
        sys.exit("usage: python -m detectors.language build   (stores the language tables and the merged "
                 "Polish lexicon for later starts)")
    print(f"language tables stored in {build_tables()}")
    from detectors.lexicons import store_lexicons

    for stored in store_lexicons():
        print(f"lexicon stored in {stored}")
