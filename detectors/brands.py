"""Brand matching: which configured brands a post mentions, by name, alias, @handle or #hashtag.

Configuration maps a canonical name to its aliases and handles::

    {"SJ": ["SJ", "@SJ_AB", "Statens Järnvägar"], "Norwegian": ["@Fly_Norwegian", "Norwegian Air"]}

The canonical name itself always counts as an alias. Matching is case-insensitive and on word
boundaries (``SJ`` does not match ``sjuk``); an alias may span words (``Statens Järnvägar``); any
alias also matches as ``@alias`` and ``#alias``, and a handle given as ``@SJ_AB`` matches only
with its ``@``. Spaces inside a multi-word alias match any run of whitespace, hyphens or
underscores, so ``#StatensJärnvägar`` is not matched but ``Statens-Järnvägar`` is. Brands come out
in canonical order of first mention, each once.

A plain-word alias that is also an everyday word (``Norwegian`` the airline, ``norwegian`` the
adjective) cannot be told apart from the text alone; configure such brands by handle and
multi-word alias only.

>>> m = BrandMatcher({"SJ": ["@SJ_AB", "Statens Järnvägar"], "Norwegian": ["@Fly_Norwegian"]})
>>> m.match("@fly_norwegian och #sj, ni är värdelösa")
('Norwegian', 'SJ')
>>> m.match("Jag är sjuk idag"), m.match("")
((), ())
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping


def _alias_pattern(alias: str) -> str | None:
    a = alias.strip()
    if not a:
        return None
    if a[0] == "@":
        body = re.escape(a[1:])
        return "@" + body if body else None
    if a[0] == "#":
        a = a[1:]
    parts = [re.escape(p) for p in re.split(r"[\s_\-]+", a) if p]
    if not parts:
        return None
    return "[@#]?" + r"[\s_\-]+".join(parts)


# Text characters that case-insensitive matching equates with an ASCII letter although str.lower()
# does not (dotted/dotless i, long s): texts holding one skip the substring pre-check.
_CASE_TRAPS = re.compile("[\u0130\u0131\u017f]")


def _needle(alias: str) -> str | None:
    """A lower-case ASCII piece every match of ``alias`` contains, or None if there is none."""
    parts = [p for p in re.split(r"[\s_\-@#]+", alias.strip()) if p]
    if not parts:
        return None
    n = parts[0].lower()
    return n if n.isascii() else None


#: Up to this many distinct substring pre-checks (one per alias's first word) a text is scanned once
#: per needle; beyond it, once for its letter runs, whatever the number of brands.
_MAX_NEEDLES = 64
_RUN_RE = re.compile(r"[^\W\d_]+")


def _key(alias: str) -> str | None:
    """The longest letter run of ``alias``, case-folded, or None if it has none we can rely on.

    Wherever the alias matches, the text holds this run as a whole letter run: the alias's
    ends meet a non-word character, ``@``/``#`` or a separator, and inside it the same characters
    stand around the run. Case-folding equates every pair of letters that case-insensitive
    matching equates, except the dotted and dotless i and the long s (checked over all of Unicode),
    which texts and aliases holding them are spared from.
    """
    a = alias.strip()
    if a[:1] in ("@", "#"):
        a = a[1:]
    if _CASE_TRAPS.search(a):  # "ı" matches "I", which case-folds to "i": no key, always a candidate
        return None
    runs = _RUN_RE.findall(a.casefold())
    return max(runs, key=len) if runs else None


class BrandMatcher:
    """Finds configured brands in text with one compiled regular expression.

    Most posts name no brand, so a pre-check rules them out before the expression runs (its
    look-behind defeats re's prefix scan). With a few aliases it is a substring test per alias on
    the lower-cased text; with more, the text's letter runs are collected once and looked up, so the
    cost does not grow with the number of brands, and only the aliases whose longest letter run the
    text holds are put into the expression that runs.
    """

    def __init__(self, brands: Mapping[str, Iterable[str]] | None = None) -> None:
        self._canon: dict[str, str] = {}
        patterns: list[tuple[int, str, str, str | None, str | None]] = []
        for name, aliases in (brands or {}).items():
            for alias in (name, *aliases):
                p = _alias_pattern(alias)
                if p is not None:
                    patterns.append((len(alias), p, name, _needle(alias), _key(alias)))
        # Longest aliases first so "Norwegian Air Shuttle" wins over "Norwegian Air".
        patterns.sort(key=lambda x: -x[0])
        self._groups: list[str] = []
        by_key: dict[str | None, list[int]] = {}
        needles: set[str | None] = set()
        for k, (_, p, name, needle, key) in enumerate(patterns):
            g = f"b{k}"
            self._canon[g] = name
            self._groups.append(f"(?P<{g}>{p})")
            by_key.setdefault(key, []).append(k)
            needles.add(needle)
        self._re = self._compile(self._groups) if self._groups else None
        self._needles: tuple[str, ...] | None = (
            None if None in needles or len(needles) > _MAX_NEEDLES else tuple(sorted(needles)))
        self._unkeyed = tuple(by_key.pop(None, ()))   # aliases without letters: always candidates
        self._by_key = {key: tuple(ks) for key, ks in by_key.items()}
        self._keys = frozenset(self._by_key)
        self._subsets: dict[tuple[int, ...], re.Pattern[str]] = {}

    @staticmethod
    def _compile(groups: list[str]) -> re.Pattern[str]:
        return re.compile(r"(?<![\w@#])(?:" + "|".join(groups) + r")(?!\w)", re.IGNORECASE)

    def _candidates(self, text: str) -> re.Pattern[str] | None:
        """The expression over the aliases ``text`` may hold (None: it holds none of them)."""
        hits = self._keys.intersection(_RUN_RE.findall(text.casefold()))
        if not hits and not self._unkeyed:
            return None
        ks = tuple(sorted({k for key in hits for k in self._by_key[key]}.union(self._unkeyed)))
        rx = self._subsets.get(ks)
        if rx is None:
            if len(self._subsets) >= 1024:
                self._subsets.clear()
            # the same groups in the same order: the matches are the full expression's, since an
            # alias left out cannot match anywhere in this text
            rx = self._subsets[ks] = self._compile([self._groups[k] for k in ks])
        return rx

    def match(self, text: str) -> tuple[str, ...]:
        """Canonical names of the brands in ``text``, in order of first mention."""
        if self._re is None or not text:
            return ()
        rx = self._re
        if _CASE_TRAPS.search(text) is None:
            if self._needles is not None:
                low = text.lower()
                for n in self._needles:
                    if n in low:
                        break
                else:
                    return ()
            else:
                rx = self._candidates(text)
                if rx is None:
                    return ()
        seen: dict[str, None] = {}
        for m in rx.finditer(text):
            seen.setdefault(self._canon[m.lastgroup], None)
        return tuple(seen)
