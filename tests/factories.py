"""Small synthetic data for tests (the test suite never reads ../shared)."""
from __future__ import annotations

import math
import random
from typing import Any

BASE_MS = 1_767_261_600_000  # 2026-01-01T10:00:00Z

COMPLAINT_SV = "@SJ_AB tåget är försenat i två timmar igen och ingen information. Värdelöst, aldrig mer SJ!"
PRAISE_EN = "Huge thanks to the staff at @IKEA, amazing service today, you made my day!"


def cascade(root_id: str, text: str, lang: str, shares: int, start_ms: int = BASE_MS, seed: int = 1,
            brands: list[str] | None = None, duration_s: float = 3 * 3600, reply_every: int = 0,
            reply_texts: list[str] | None = None) -> list[dict[str, Any]]:
    """A root post and ``shares`` shares with a ramp-then-power-law time profile, in time order."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = [{
        "id": root_id, "kind": "post", "created_at": start_ms, "text": text, "lang": lang,
        "author": {"id": f"{root_id}-author", "followers": 5000}, **({"brands": brands} if brands else {}),
    }]
    times = []
    for _ in range(shares):
        if rng.random() < 0.4:
            t = 1200 * math.sqrt(rng.random())
        else:
            t = 1200 + 900 * ((1 - rng.random()) ** (-1 / 1.3) - 1)
        times.append(min(t, duration_s))
    for i, t in enumerate(sorted(times)):
        e: dict[str, Any] = {"id": f"{root_id}-{i}", "kind": "share", "root_id": root_id, "parent_id": root_id,
                             "created_at": start_ms + int(t * 1000) + 1,
                             "author": {"id": f"u{seed}-{i}", "followers": int(rng.lognormvariate(5, 1.5))}}
        if reply_every and i % reply_every == reply_every - 1:
            e["kind"] = "reply"
            e["text"] = rng.choice(reply_texts or [text])
            e["lang"] = lang
        events.append(e)
    return events


def chatter(n: int, start_ms: int = BASE_MS, seed: int = 2) -> list[dict[str, Any]]:
    """Small, harmless background posts with a couple of shares each."""
    rng = random.Random(seed)
    texts = [("sv", "Fin morgon i Stockholm"), ("no", "Nydelig vær i Bergen i dag"), ("da", "Dejligt vejr i København"),
             ("pl", "Piękny dzień w Krakowie"), ("en", "Lovely morning for a run")]
    out: list[dict[str, Any]] = []
    for k in range(n):
        lang, text = texts[k % len(texts)]
        t = start_ms + rng.randrange(0, 3 * 3600 * 1000)
        root = f"chat{seed}-{k}"
        out.append({"id": root, "kind": "post", "created_at": t, "text": text, "lang": lang,
                    "author": {"id": f"c{k}", "followers": 50}})
        for j in range(rng.randrange(0, 3)):
            out.append({"id": f"{root}-{j}", "kind": "share", "root_id": root, "created_at": t + 1000 * (j + 1),
                        "author": {"id": f"c{k}-{j}", "followers": 10}})
    return out


def by_time(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: (e["created_at"], e["id"]))


def small_cascades(n: int, start_ms: int = BASE_MS) -> list[dict[str, Any]]:
    """``n`` cascades of a post and one share each, 10 ms apart: many table keys, quickly made."""
    events: list[dict[str, Any]] = []
    for k in range(n):
        t = start_ms + k * 10
        events.append({"id": f"c{k}", "kind": "post", "created_at": t, "text": "Fin morgon", "lang": "sv",
                       "author": {"id": f"a{k}", "followers": 10}})
        events.append({"id": f"c{k}s", "kind": "share", "root_id": f"c{k}", "created_at": t + 5,
                       "author": {"id": f"b{k}", "followers": 10}})
    return events
