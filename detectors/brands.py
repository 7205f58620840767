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


class BrandMatcher:
    """Finds configured brands in text with one compiled regular expression."""

    def __init__(self, brands: Mapping[str, Iterable[str]] | None = None) -> None:
        self._canon: dict[str, str] = {}
        patterns: list[tuple[int, str, str]] = []
        needles: set[str | None] = set()
        for i, (name, aliases) in enumerate((brands or {}).items()):
            for alias in (name, *aliases):
                p = _alias_pattern(alias)
                if p is not None:
                    patterns.append((len(alias), p, name))
                    needles.add(_needle(alias))
        # Most posts name no brand: a plain substring test on the lower-cased text rules them out
        # far faster than the regular expression (whose look-behind defeats re's prefix scan).
        self._needles: tuple[str, ...] | None = None if None in needles else tuple(sorted(needles))
        # Longest aliases first so "Norwegian Air Shuttle" wins over "Norwegian Air".
        patterns.sort(key=lambda x: -x[0])
        groups = []
        for k, (_, p, name) in enumerate(patterns):
            g = f"b{k}"
            self._canon[g] = name
            groups.append(f"(?P<{g}>{p})")
        self._re = (re.compile(r"(?<![\w@#])(?:" + "|".join(groups) + r")(?!\w)", re.IGNORECASE)
                    if groups else None)

    def match(self, text: str) -> tuple[str, ...]:
        """Canonical names of the brands in ``text``, in order of first mention."""
        if self._re is None or not text:
            return ()
        if self._needles is not None and _CASE_TRAPS.search(text) is None:
            low = text.lower()
            for n in self._needles:
                if n in low:
                    break
            else:
                return ()
        seen: dict[str, None] = {}
        for m in self._re.finditer(text):
            seen.setdefault(self._canon[m.lastgroup], None)
        return tuple(seen)
