"""The bundled demo scenario: synthetic, multilingual, deterministic (a seed), written by us.

Three hours of a morning, compressed by ``virality demo``:

* a Swedish complaint about a delayed train that goes viral (about 2,400 shares, angry replies),
* an English/Norwegian thank-you to a furniture shop that goes viral too (about 1,500 shares),
* a storm of small Polish complaints about a fuel brand, none of them viral,
* background chatter in sv, no, da, pl and en: small cascades of a few shares,
* a handful of broken events (bad JSON, missing fields, a duplicate), which must be dead-lettered.
"""
from __future__ import annotations

import math
import random
from typing import Any, Iterator

import orjson

DURATION_S = 3 * 3600
BRANDS = "sj=SJ,@SJ_AB,SJ AB;ikea=IKEA,@IKEA,@IKEANorge;orlen=Orlen,@Orlen,@OrlenPL;dsb=DSB,@DSB;norwegian=Norwegian,@Fly_Norwegian"

COMPLAINT_ROOT = ("@SJ_AB tåget från Göteborg står still i tre timmar utan information och personalen "
                  "var otrevlig. Ingen ersättning, aldrig mer SJ!")
COMPLAINT_REPLIES = [
    "Samma här, försenat varje dag och ingen svarar på kundtjänst",
    "SJ är värdelösa, jag vill ha pengarna tillbaka",
    "Skandal. Stod i kylan i två timmar igår också",
    "Har väntat på återbetalning i en månad nu",
    "Otroligt dålig service från SJ, igen",
]
PRAISE_ROOT = ("Huge thanks to the staff at @IKEA Furuset who stayed late to help my elderly mum carry "
               "everything to the car. Amazing service, you made her day!")
PRAISE_REPLIES = [
    "Så hyggelig! Fantastisk service fra IKEA",
    "Love this, great staff make all the difference",
    "Tusen takk IKEA, dette varmet",
    "What a lovely story, well done IKEA",
]
STORM_TEXTS = [
    "@Orlen stacja znowu bez paliwa, skandal, nigdy więcej",
    "Orlen oszukuje na cenach, chcę zwrot pieniędzy",
    "Obsługa na stacji Orlen była bardzo niemiła, reklamacja odrzucona",
    "Karta Orlen nie działa od tygodnia, infolinia nie odpowiada",
    "Zapłaciłem za myjnię Orlen a nie działała, zwrot pieniędzy odmówiony",
]
CHATTER = [
    ("sv", "Fin morgon i Stockholm idag, kaffe och tidning"),
    ("sv", "Någon som sett matchen igår? Vilket mål!"),
    ("no", "Nydelig vær i Bergen i dag, endelig sol"),
    ("no", "Hva skal dere gjøre i helgen? Jeg skal på hytta"),
    ("da", "Dejligt vejr i København i dag, vi tager cyklen"),
    ("da", "Hvem har set den nye film? Den var rigtig god"),
    ("pl", "Piękny dzień w Krakowie, idziemy na spacer"),
    ("pl", "Ktoś oglądał wczoraj mecz? Świetna gra"),
    ("en", "Lovely morning for a run by the river"),
    ("en", "Anyone watching the game tonight?"),
    ("da", "DSB toget var til tiden i dag, fint nok"),
    ("no", "Fløy med Norwegian i går, helt grei tur"),
]


def _iso(t_ms: int) -> str:
    from detectors.chain import iso_ms
    return iso_ms(t_ms)


def _cascade_times(rng: random.Random, total: int, ramp_s: float, decay_s: float, start_s: float) -> list[float]:
    """Share delays of a cascade: a ramp, then a power-law decay (the shape of real retweet cascades)."""
    out = []
    for _ in range(total):
        u = rng.random()
        if u < 0.35:
            t = ramp_s * math.sqrt(rng.random())
        else:
            t = ramp_s + decay_s * ((1 - rng.random()) ** (-1 / 1.3) - 1)
        out.append(start_s + t)
    return sorted(t for t in out if t < DURATION_S)


def generate(base_ms: int, seed: int = 7) -> Iterator[dict[str, Any] | bytes]:
    """The scenario's events (dicts), and a few broken raw lines (bytes), unsorted."""
    rng = random.Random(seed)
    n = 0

    def uid() -> str:
        nonlocal n
        n += 1
        return f"u{n}"

    def event(eid: str, kind: str, root: str | None, t_s: float, text: str | None, lang: str | None,
              followers: int | None, brands: list[str] | None = None) -> dict[str, Any]:
        e: dict[str, Any] = {"id": eid, "kind": kind, "created_at": _iso(base_ms + int(t_s * 1000)),
                             "author": {"id": uid(), "followers": followers}, "platform": "x"}
        if root:
            e["root_id"] = root
            e["parent_id"] = root
        if text is not None:
            e["text"] = text
        if lang:
            e["lang"] = lang
        if brands:
            e["brands"] = brands
        return e

    def followers() -> int:
        return int(min(2_000_000, rng.lognormvariate(5.0, 1.6)))

    # 1. the viral complaint
    t0 = 10 * 60.0
    yield event("sj-delay", "post", None, t0, COMPLAINT_ROOT, "sv", 3_400, ["sj"])
    for i, t in enumerate(_cascade_times(rng, 2_600, 25 * 60, 18 * 60, t0)):
        if i % 15 == 7:
            yield event(f"sj-delay-r{i}", "reply", "sj-delay", t, rng.choice(COMPLAINT_REPLIES), "sv", followers())
        else:
            yield event(f"sj-delay-s{i}", "share", "sj-delay", t, None, None, followers())

    # 2. the viral praise
    t1 = 40 * 60.0
    yield event("ikea-thanks", "post", None, t1, PRAISE_ROOT, "en", 12_000, ["ikea"])
    for i, t in enumerate(_cascade_times(rng, 1_700, 30 * 60, 20 * 60, t1)):
        if i % 20 == 3:
            lang = "no" if "takk" in (txt := rng.choice(PRAISE_REPLIES)) or "hyggelig" in txt else "en"
            yield event(f"ikea-thanks-q{i}", "quote", "ikea-thanks", t, txt, lang, followers())
        else:
            yield event(f"ikea-thanks-s{i}", "share", "ikea-thanks", t, None, None, followers())

    # 3. a storm of small complaints about one brand
    for i in range(45):
        t = 70 * 60.0 + rng.uniform(0, 14 * 60)
        root = f"orlen-{i}"
        yield event(root, "post", None, t, rng.choice(STORM_TEXTS), "pl", followers(), ["orlen"])
        for j in range(rng.randint(0, 3)):
            yield event(f"{root}-s{j}", "share", root, t + rng.uniform(5, 600), None, None, followers())

    # 4. background chatter, a post every ~40 s, a few shares each
    t = 0.0
    k = 0
    while t < DURATION_S - 60:
        t += rng.expovariate(1 / 40.0)
        if t > DURATION_S - 960:
            break
        lang, text = CHATTER[k % len(CHATTER)]
        k += 1
        root = f"chat-{k}"
        brands = ["dsb"] if "DSB" in text else (["norwegian"] if "Norwegian" in text else None)
        yield event(root, "post", None, t, text, lang, followers(), brands)
        for j in range(rng.randint(0, 6)):
            yield event(f"{root}-s{j}", "share", root, t + rng.uniform(1, 900), None, None, followers())

    # 5. broken input, which the worker must dead-letter with a reason
    yield b'{"id": "broken-1", "kind": "share", "root_id": '
    yield orjson.dumps({"id": "broken-2", "kind": "share", "created_at": _iso(base_ms + 3_600_000),
                        "author": {"id": "x"}})                                   # no root_id
    yield orjson.dumps({"id": "broken-3", "kind": "post", "created_at": "yesterday",
                        "author": {"id": "x"}, "text": "hej"})                   # bad timestamp
    dup = event("sj-delay-dup", "share", "sj-delay", t0 + 3000, None, None, 10)
    yield dup
    yield dict(dup)                                                               # sent twice


def write(path: str, base_ms: int, seed: int = 7) -> tuple[int, int]:
    """Write the scenario as JSONL in event-time order; return (valid events, broken lines)."""
    valid, broken = [], []
    for item in generate(base_ms, seed):
        if isinstance(item, bytes):
            broken.append(item)
        else:
            valid.append(item)
    valid.sort(key=lambda e: (e["created_at"], e["id"]))
    with open(path, "wb") as f:
        for e in valid:
            f.write(orjson.dumps(e) + b"\n")
        for raw in broken:
            f.write(raw + b"\n")
    return len(valid), len(broken)
