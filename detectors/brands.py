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


# Characters where case-insensitive matching and str.lower()/casefold() disagree: dotted and
# dotless i and the long s (matching equates them with i and s, which case-folding does not), and
# the combining ypogegrammeni (not a word character, but it case-folds to the letter iota). A text
# or an alias holding one skips the pre-checks. Checked over all of Unicode (tests/detectors).
_CASE_TRAPS = re.compile("[\u0130\u0131\u017f\u0345]")


def _needle(alias: str) -> str | None:
    """A lower-case ASCII piece every match of ``alias`` contains, or None if there is none."""
    parts = [p for p in re.split(r"[\s_\-@#]+", alias.strip()) if p]
    if not parts:
        return None
    n = parts[0].lower()
    return n if n.isascii() else None


#: Up to this many distinct substring pre-checks (one per alias's first word) a text is scanned once
#: per needle; beyond it, once for its letter-and-digit runs, whatever the number of brands.
_MAX_NEEDLES = 64
_RUN_RE = re.compile(r"[^\W_]+")


def _runs(alias: str) -> list[str]:
    """The case-folded letter-and-digit runs of ``alias`` (none if it holds a trap character).

    Wherever the alias matches, the text holds each of them as a whole run: the alias's ends meet a
    non-word character, ``@``/``#`` or a separator, and inside it the same characters stand around
    each run. Case-folding equates every pair of characters that case-insensitive matching equates,
    except the traps (checked over all of Unicode).
    """
    a = alias.strip()
    if a[:1] in ("@", "#"):
        a = a[1:]
    if _CASE_TRAPS.search(a):
        return []
    return _RUN_RE.findall(a.casefold())


class BrandMatcher:
    """Finds configured brands in text with one compiled regular expression.

    Most posts name no brand, so a pre-check rules them out before an expression runs (its
    look-behind defeats re's prefix scan). With a few ASCII aliases it is a substring test per alias
    on the lower-cased text. With more, every alias gets a *key*, its run of letters and digits that
    the fewest other aliases share; the text's runs are collected once and looked up, so the cost
    does not grow with the number of brands, and only the aliases under the keys found are matched,
    by one expression per key (compiled when first needed, so at most one per key). Their matches
    are merged as the full expression would find them: leftmost first, then the earliest alias.
    """

    def __init__(self, brands: Mapping[str, Iterable[str]] | None = None) -> None:
        self._canon: dict[str, str] = {}
        patterns: list[tuple[int, str, str, str | None, list[str]]] = []
        for name, aliases in (brands or {}).items():
            for alias in (name, *aliases):
                p = _alias_pattern(alias)
                if p is not None:
                    patterns.append((len(alias), p, name, _needle(alias), _runs(alias)))
        # Longest aliases first so "Norwegian Air Shuttle" wins over "Norwegian Air".
        patterns.sort(key=lambda x: -x[0])
        shared: dict[str, int] = {}
        for *_, runs in patterns:
            for r in set(runs):
                shared[r] = shared.get(r, 0) + 1
        self._groups: list[str] = []
        by_key: dict[str | None, list[int]] = {}
        needles: set[str | None] = set()
        for k, (_, p, name, needle, runs) in enumerate(patterns):
            g = f"b{k}"
            self._canon[g] = name
            self._groups.append(f"(?P<{g}>{p})")
            # the run fewest aliases share (then the longest): small groups per key
            key = min(runs, key=lambda r: (shared[r], -len(r))) if runs else None
            by_key.setdefault(key, []).append(k)
            needles.add(needle)
        self._re = self._compile(self._groups) if self._groups else None
        self._needles: tuple[str, ...] | None = (
            None if None in needles or len(needles) > _MAX_NEEDLES else tuple(sorted(needles)))
        self._unkeyed = tuple(by_key.pop(None, ()))   # aliases without runs: always candidates
        self._by_key = {key: tuple(ks) for key, ks in by_key.items()}
        self._keys = frozenset(self._by_key)
        self._key_re: dict[str | None, re.Pattern[str]] = {}

    @staticmethod
    def _compile(groups: list[str]) -> re.Pattern[str]:
        return re.compile(r"(?<![\w@#])(?:" + "|".join(groups) + r")(?!\w)", re.IGNORECASE)

    def _expression(self, key: str | None) -> re.Pattern[str]:
        """The expression over the aliases of one key (None: the aliases without a key)."""
        rx = self._key_re.get(key)
        if rx is None:
            ks = self._by_key[key] if key is not None else self._unkeyed
            rx = self._key_re[key] = self._compile([self._groups[k] for k in ks])
        return rx

    def _merged(self, text: str) -> list[re.Match[str]] | None:
        """The full expression's matches, from the expressions of the keys ``text`` holds only
        (None when it holds none: nothing can match)."""
        keys: list[str | None] = list(self._keys.intersection(_RUN_RE.findall(text.casefold())))
        if self._unkeyed:
            keys.append(None)
        if not keys:
            return None
        if len(keys) == 1:
            return list(self._expression(keys[0]).finditer(text))
        rxs = [self._expression(k) for k in keys]
        nxt = [rx.search(text) for rx in rxs]
        out = []
        pos = 0
        while True:
            best = None
            for i, m in enumerate(nxt):
                if m is not None and m.start() < pos:
                    m = nxt[i] = rxs[i].search(text, pos)
                if m is not None and (best is None or m.start() < best.start() or (
                        m.start() == best.start() and int(m.lastgroup[1:]) < int(best.lastgroup[1:]))):
                    best = m
            if best is None:
                return out
            out.append(best)
            pos = best.end()

    def match(self, text: str) -> tuple[str, ...]:
        """Canonical names of the brands in ``text``, in order of first mention."""
        if self._re is None or not text:
            return ()
        if _CASE_TRAPS.search(text) is not None:
            matches = self._re.finditer(text)
        elif self._needles is not None:
            low = text.lower()
            for n in self._needles:
                if n in low:
                    break
            else:
                return ()
            matches = self._re.finditer(text)
        else:
            found = self._merged(text)
            if not found:
                return ()
            matches = found
        seen: dict[str, None] = {}
        for m in matches:
            seen.setdefault(self._canon[m.lastgroup], None)
        return tuple(seen)
