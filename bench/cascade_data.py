"""Loaders that turn the shared cascade data sets into per-cascade event lists.

Used by the evaluation and the benchmarks only; the detectors never see these files. Every
loader takes the data directory (the one holding ``seismic-tideh-subset/`` etc.) as an argument.

A :class:`Cascade` holds event times in seconds since the original post (the post itself first,
at 0) and the author's follower count per event (``None`` where the source has none).
:func:`event_dicts` turns one into wire-format events that :func:`detectors.events.decode_event`
accepts.

Choices (stated, not tuned):
* every cascade is cut at ``horizon_s`` (72 h by default); its final size is its event count then;
* Twitter15/16: the 169 source tweets present in both sets are kept once (twitter15 copy); exact
  duplicate lines are dropped; an event is a distinct (child_uid, child_delay_min) pair, as the data
  README advises; no follower counts;
* Chilean replies: an event is a distinct reply tweet; no follower counts;
* SEISMIC and auspol: one event per row, with the follower count.
"""
from __future__ import annotations

import csv
import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

HORIZON_S = 72 * 3600
SOURCES = ("seismic", "twitter1516", "auspol", "chile")


@dataclass(slots=True)
class Cascade:
    source: str
    cascade_id: str
    t_s: list[float]
    followers: list[int | None]

    @property
    def size(self) -> int:
        return len(self.t_s)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.cascade_id}"

    def split(self) -> str:
        """'tune' or 'eval': a deterministic half of every source, by a hash of the id."""
        return "tune" if zlib.crc32(self.key.encode()) % 2 == 0 else "eval"


def _finish(source: str, cid: str, pairs: list[tuple[float, int | None]], horizon_s: float) -> Cascade:
    root = [p for p in pairs[:1]]
    rest = sorted((p for p in pairs[1:] if 0 <= p[0] <= horizon_s), key=lambda p: p[0])
    events = root + rest
    return Cascade(source, cid, [float(t) for t, _ in events], [f for _, f in events])


def load_seismic(data_dir: str | Path, horizon_s: float = HORIZON_S) -> list[Cascade]:
    d = Path(data_dir) / "seismic-tideh-subset"
    with open(d / "data.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    out = []
    with open(d / "index.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            start, end = int(r["start_ind"]), int(r["end_ind"])
            pairs = [(float(t), int(f)) for t, f in rows[start - 1:end]]
            out.append(_finish("seismic", r["cascade_id"], pairs, horizon_s))
    return out


def load_twitter1516(data_dir: str | Path, horizon_s: float = HORIZON_S) -> list[Cascade]:
    d = Path(data_dir) / "twitter15-16-propagation-trees"
    per: dict[str, dict] = {}
    owner: dict[str, str] = {}
    with gzip.open(d / "edges.csv.gz", "rt", newline="") as fh:
        for r in csv.DictReader(fh):
            src, ds = r["source_tweet_id"], r["dataset"]
            if owner.setdefault(src, ds) != ds:
                continue  # the copy of a source tweet that is in both sets
            events = per.setdefault(src, {})
            key = (r["child_uid"], r["child_delay_min"])
            if key not in events:
                events[key] = float(r["child_delay_min"]) * 60.0
    out = []
    for src, events in per.items():
        times = list(events.values())
        # the root edge is first in each tree; keep it first at t = 0
        pairs = [(0.0, None)] + [(t, None) for t in times[1:]]
        out.append(_finish("twitter1516", src, pairs, horizon_s))
    return out


def load_auspol(data_dir: str | Path, horizon_s: float = HORIZON_S) -> list[Cascade]:
    d = Path(data_dir) / "evently-auspol-cascades"
    per: dict[str, list] = {}
    with open(d / "auspol.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            per.setdefault(r["cascade_id"], []).append(
                (int(r["event_index"]), float(r["time_s"]), int(float(r["magnitude_followers"]))))
    out = []
    for cid, rows in per.items():
        rows.sort()
        out.append(_finish("auspol", cid, [(t, f) for _, t, f in rows], horizon_s))
    return out


def load_chile(data_dir: str | Path, horizon_s: float = HORIZON_S) -> list[Cascade]:
    d = Path(data_dir) / "chile-disinfo-reply-cascades"
    per: dict[str, dict] = {}
    with gzip.open(d / "edges.csv.gz", "rt", newline="") as fh:
        for r in csv.DictReader(fh):
            per.setdefault(r["root_tweet_id"], {}).setdefault(r["child_tweet_id"], float(r["child_elapsed_s"]))
    out = []
    for root, children in per.items():
        pairs = [(0.0, None)] + [(t, None) for c, t in children.items() if c != root]
        out.append(_finish("chile", root, pairs, horizon_s))
    return out


LOADERS = {"seismic": load_seismic, "twitter1516": load_twitter1516, "auspol": load_auspol,
           "chile": load_chile}


def load_all(data_dir: str | Path, sources=SOURCES, horizon_s: float = HORIZON_S) -> list[Cascade]:
    out: list[Cascade] = []
    for s in sources:
        out.extend(LOADERS[s](data_dir, horizon_s))
    return out


def event_dicts(c: Cascade, base_ms: int = 1_700_000_000_000) -> Iterator[dict]:
    """The cascade as wire-format events (post first), ``created_at`` in epoch ms."""
    root_id = f"{c.source}-{c.cascade_id}"
    for i, (t, f) in enumerate(zip(c.t_s, c.followers)):
        author: dict = {"id": f"u{i}"}
        if f is not None:
            author["followers"] = f
        ev = {"id": root_id if i == 0 else f"{root_id}-{i}", "created_at": base_ms + int(t * 1000),
              "author": author}
        if i == 0:
            ev.update(kind="post", text="(cascade root)")
        else:
            ev.update(kind="share", root_id=root_id, parent_id=root_id)
        yield ev


if __name__ == "__main__":
    import sys
    import statistics
    for name in SOURCES:
        cs = LOADERS[name](sys.argv[1])
        sizes = [c.size for c in cs]
        print(f"{name:12s} cascades={len(cs):5d} median size={statistics.median(sizes):7.0f} "
              f"max={max(sizes):6d} >=1000: {sum(s >= 1000 for s in sizes)}")
