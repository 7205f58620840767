"""``virality``: the command line.

=========  ===========================================================================================
worker     the Faust worker (creates its topics, serves /metrics)
replay     produce a JSONL file of events into Kafka in event-time order, at X times real speed
detect     the same detector chain offline, no Kafka: JSONL events in, JSONL alerts out
tail       print alerts from the alert topic as they arrive
demo       broker + worker + a replay of the bundled scenario, alerts on screen, then stop everything
classify   language, sentiment and complaint kind of texts (JSONL in, JSONL out)
forecast   final-size forecasts of cascades at given observation times (JSONL in, JSONL out)
topics     create the topics (the worker does this too)
=========  ===========================================================================================
"""
from __future__ import annotations

import argparse
import errno
import gc
import asyncio
import os
import socket
import select
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, TextIO

import orjson

from detectors.events import MAX_TEXT_CHARS, Event, Rejected, decode_event, parse_json
from streams.deadletter import value_fields

ROOT = Path(__file__).resolve().parent.parent


# -- input ------------------------------------------------------------------------------------------

#: A line longer than this is not held whole: it is rejected as ``too_large`` and skipped as it is
#: read (a 300 MB file without a newline took 675 MB in ``detect`` and 969 MB in ``classify``).
#: Valid lines are far shorter: an event is at most 64,000 bytes, a text to classify 10,000 characters.
MAX_LINE_BYTES = 1 << 20


class LongLine(bytes):
    """The first :data:`MAX_LINE_BYTES` of a line too long to hold; ``size``: its whole length."""
    size: int = 0


def _long_line(head: bytes, size: int) -> LongLine:
    line = LongLine(head[:MAX_LINE_BYTES])
    line.size = size
    return line


def check_line(raw: bytes) -> None:
    """Raise ``too_large`` for a :class:`LongLine` (one the readers did not hold whole)."""
    if type(raw) is LongLine:
        raise Rejected("too_large", f"the line has {raw.size:,} bytes; it was skipped unread past "
                                    f"{MAX_LINE_BYTES:,} (an event is at most 64,000)")

def read_jsonl(path: str, idle: list[bool] | None = None) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) of a JSONL file, or of stdin for ``-``; blank lines skipped, and a
    UTF-8 byte order mark at the start (files saved by Windows editors) dropped.

    ``idle``: a one-item list set to True when a line is the last one available for now (stdin is
    a pipe or terminal and nothing more has arrived yet), so a caller that batches can print what it
    has instead of waiting for more input that may come much later (``tail -f ... | classify``)."""
    if path == "-" and idle is not None and not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode):
        yield from _pipe_lines(sys.stdin.fileno(), idle)
        return
    stream = sys.stdin.buffer if path == "-" else open(path, "rb")
    try:
        n = 0
        readline = stream.readline
        while line := readline(MAX_LINE_BYTES + 1):
            n += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):   # skipped, not held
                head, size = line, len(line)
                while line and not line.endswith(b"\n"):
                    line = readline(MAX_LINE_BYTES)
                    size += len(line)
                yield n, _long_line(head, size - (1 if line.endswith(b"\n") else 0))
                continue
            line = _clean_line(n, line)
            if line:
                yield n, line
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _pipe_lines(fd: int, idle: list[bool]) -> Iterator[tuple[int, bytes]]:
    """:func:`read_jsonl` over a pipe: read what has arrived, and mark the last complete line of it
    idle when nothing more is waiting."""
    pending: list[bytes] = []  # a line still incomplete, in pieces (joining each time is quadratic)
    held = skipped = 0         # bytes of it in pending, and past MAX_LINE_BYTES not kept
    rest, n = b"", 0
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            rest = b"".join(pending)
            if skipped:
                rest = _long_line(rest, held + skipped)
            break
        if b"\n" not in chunk:
            if held <= MAX_LINE_BYTES:
                pending.append(chunk)
                held += len(chunk)
            else:
                skipped += len(chunk)
            continue
        pending.append(chunk)
        *lines, last = b"".join(pending).split(b"\n")
        if skipped or len(lines[0]) > MAX_LINE_BYTES:
            lines[0] = _long_line(lines[0], len(lines[0]) + skipped)
        pending = [last] if last else []
        held, skipped = len(last), 0
        waiting = bool(select.select([fd], [], [], 0)[0])
        for i, line in enumerate(lines):
            n += 1
            if type(line) is not LongLine:   # (one is never empty: it is yielded as it is)
                line = _clean_line(n, line)
            idle[0] = i == len(lines) - 1 and not waiting
            if line:
                yield n, line
            elif idle[0]:
                # a blank last line: nothing to yield it with, so the flag goes with an empty marker
                yield n, b""
    idle[0] = True
    rest = rest if type(rest) is LongLine else _clean_line(n + 1, rest)
    if rest:
        yield n + 1, rest


def _clean_line(n: int, line: bytes) -> bytes:
    """Line ``n`` stripped, and without the UTF-8 byte order mark a first line may start with."""
    if n == 1 and line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    return line.strip()


def _reject_value(raw: bytes) -> dict[str, Any]:
    """The rejected line itself for ``detect --rejects``, as the dead-letter topic keeps it (see
    :func:`streams.deadletter.value_fields`). Nothing for an event rejected by its cascade (a
    duplicate, too late): that line was valid JSON, and ``line`` finds it.

    >>> _reject_value(b'{"id": 1'), _reject_value(b"")
    ({'value': '{"id": 1', 'value_encoding': 'utf-8'}, {})
    """
    return value_fields(raw) if raw else {}


def event_time_order(path: str, on_reject, keep_raw: bool = True, progress: bool | None = None,
                     command: str = "virality", keys_only: bool = False) -> list[tuple[int, int, bytes, Any]]:
    """Every valid event of the file as (t_ms, line, raw, event), sorted by event time (stable);
    ``raw`` is ``b""`` unless ``keep_raw`` (``detect`` needs only the decoded events); with
    ``keys_only`` the event is only its Kafka key, the root id as bytes (``replay`` sends the raw
    line: a decoded event held per line was most of its memory). With ``progress`` (default:
    stderr is a terminal), the lines read so far are shown while reading."""
    rows = []
    show = sys.stderr.isatty() if progress is None else progress
    for n, raw in read_jsonl(path):
        if show and n % 100_000 == 0:
            sys.stderr.write(f"\rreading {path}: {n:,} lines   ")
            sys.stderr.flush()
        try:
            check_line(raw)
            e = decode_event(raw)
        except Rejected as r:
            on_reject(n, raw, r)
            continue
        rows.append((e.t_ms, n, raw if keep_raw else b"", e.root_id.encode() if keys_only else e))
    if show:
        sys.stderr.write(f"\rreading {path}: done, ordering {len(rows):,} events by time\n")
    rows.sort()  # by (t_ms, line): line numbers are unique, so the raw bytes and events are never compared
    warn_early_times(command, sum(1 for r in rows if r[0] < EARLY_MS), len(rows))
    return rows


#: Event times below this (epoch ms: 1973-03-03) are most likely epoch seconds taken for
#: milliseconds; the offline commands say so (the events are still used, as the worker does).
EARLY_MS = 100_000_000_000


def warn_early_times(command: str, n_early: int, n_events: int) -> None:
    """Say on stderr that ``n_early`` of ``n_events`` events are dated before 1973: a file of epoch
    seconds read as milliseconds put a day of shares within 90 seconds, with no word (a review)."""
    if n_early:
        print(f"{command}: {n_early:,} of {n_events:,} events are dated before 1973: 'created_at' numbers are "
              f"epoch milliseconds; if these are seconds, multiply them by 1000", file=sys.stderr)


class Progress:
    """A one-line progress display on stderr (only when stderr is a terminal or forced)."""

    def __init__(self, total: int, label: str, enabled: bool | None = None):
        self.total = max(total, 1)
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.last = 0.0

    def update(self, done: int, extra: str = "") -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.2 and done < self.total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        width = 30
        filled = int(width * done / self.total)
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} "
                         f"{rate:,.0f}/s {extra}   ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


# -- commands -----------------------------------------------------------------------------------------

def _batch_items(events: list[Event], k: int) -> list[tuple[str, str | None] | None]:
    """``(text, lang hint)`` of each event of batch ``k`` (``chain.BATCH_EVENTS`` events), None
    for one without a text."""
    from detectors.chain import BATCH_EVENTS

    return [(e.text, e.lang) if e.has_text else None for e in events[k * BATCH_EVENTS:(k + 1) * BATCH_EVENTS]]


class _CounterLost(Exception):
    """The batch counter's lock stayed taken: a helper died holding it (a kill in that instant)."""


def _claim(claimed: Any, n_batches: int, only: int | None = None, holder: tuple[Any, int] | None = None,
           timeout: float | None = None) -> int | None:
    """Take the next batch nobody has taken (or only batch ``only``, if it is that one), and note it
    in ``holder`` (an array and an index) while the lock is held. :class:`_CounterLost` after
    ``timeout`` s."""
    lock = claimed.get_lock()
    if not lock.acquire(True, timeout):
        raise _CounterLost
    try:
        k = claimed.value
        if k >= n_batches or (only is not None and k != only):
            return None
        claimed.value = k + 1
        if holder is not None:
            holder[0][holder[1]] = k
        return k
    finally:
        lock.release()


def _analysing_process(analyzer: Any, events: list[Event], claimed: Any, n_batches: int,
                       holding: tuple[Any, int], conn: Any, not_mine: list[Any]) -> None:
    """(in an analysing process) Analyse batch after batch, each taken as the next nobody has (noted
    in ``holding``: the shared array and this helper's index in it), and send ``(k, analyses)`` for each;
    end when every batch is taken or the main process is gone. ``analyzer`` and ``events`` are the
    main process's, shared at the fork."""
    from detectors.understanding import analyze_each

    # The read ends of the result pipes came with the fork: with one open here, a send would never
    # learn that the main process is gone (it would wait on a full pipe for ever).
    for c in not_mine:
        c.close()
    _helper_signals()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})   # see analyses_in_processes
    try:
        while (k := _claim(claimed, n_batches, holder=holding)) is not None:
            conn.send((k, analyze_each(analyzer, _batch_items(events, k))))
    except (BrokenPipeError, EOFError, ConnectionError):
        pass  # the main process stopped reading: nothing to do
    finally:
        conn.close()


def _helper_signals() -> None:
    # Ctrl-C is the main process's to handle; SIGTERM back to its default: the main process ends
    # its helpers with it, quietly
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def detect_jobs(requested: int | None, analyzer: Any, n_events: int, helpers: int) -> int:
    """Processes for ``detect``: as asked (``--jobs``), or else for 20,000 events or more the main
    one plus ``helpers``, the worker's text helpers (``Settings.text_helper_processes``: 1 for the
    built-in analyzer on 2 or more cores unless ``VIRALITY_ANALYSIS_PROCESSES`` says otherwise), one
    policy for both; fewer events, 1. An analyzer with its own ``analyze_many`` (a batch model)
    always runs in the one process."""
    if getattr(analyzer, "analyze_many", None) is not None:
        return 1
    if requested is not None:
        return requested
    return 1 + helpers if n_events >= 20_000 else 1


def analyses_in_processes(analyzer: Any, events: list[Event], processes: int) -> Iterator[list[Any]]:
    """The analyses of the events' texts, one list per batch of ``chain.BATCH_EVENTS`` events, in
    order, made by ``processes`` forked processes and by the caller, whichever takes a batch first
    (text analysis is a pure function of the text and the language hint, so the results are the
    ones the caller would make alone).

    The helpers read the events from the memory they share with the caller at the fork (no text is
    sent to them) and take batches in order from a shared counter. The caller takes the batch it
    needs next when no helper has taken it yet, and the next free one while it waits for a
    helper's, so that neither side idles; it takes none before a helper has begun. A helper that
    dies costs only speed: the batch it held is analysed by the caller as soon as its pipe closes
    (and every batch still to come, if it died holding the counter's lock). Helpers end when every
    batch is taken, when the caller stops reading, or when the caller is gone.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    from detectors.chain import BATCH_EVENTS
    from detectors.understanding import analyze_each

    n_batches = -(-len(events) // BATCH_EVENTS)
    ctx = multiprocessing.get_context("fork")
    claimed = ctx.Value("q", 0)   # the next batch nobody has taken
    holding = ctx.Array("q", [-1] * processes, lock=False)   # the batch each helper took last
    helpers: dict[Any, tuple[Any, int]] = {}   # result pipe -> (process, slot in holding)
    for h in range(processes):
        receive, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_analysing_process, daemon=True,
                        args=(analyzer, events, claimed, n_batches, (holding, h), send, [receive, *helpers]))
        # Signals wait until the helper has its own handlers: one that came during its start would
        # run the main process's handler there (a traceback from a helper stopped at the end).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            p.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        send.close()
        helpers[receive] = (p, h)
    conns = list(helpers)
    ready: dict[int, list[Any]] = {}
    needed = [0]   # the batch the caller waits for (those before it are out already)

    def analyse(k: int) -> None:
        ready[k] = analyze_each(analyzer, _batch_items(events, k))

    def receive_from(ready_conns: list[Any]) -> None:
        for c in ready_conns:
            try:
                k, analyses = c.recv()
            except Exception:   # that helper is done, or died (perhaps in the middle of a send)
                conns.remove(c)
                k = holding[helpers[c][1]]
                if k >= needed[0] and k not in ready:   # died holding batch k: take it over now
                    analyse(k)
                continue
            ready[k] = analyses

    def stop_helpers() -> None:
        for p, _ in helpers.values():
            if p.is_alive():
                p.terminate()

    try:
        for i in range(n_batches):
            needed[0] = i
            while i not in ready:
                receive_from([c for c in conns if c.poll()])
                if i in ready:
                    break
                if not conns:   # no helper left: what is missing is ours
                    analyse(i)
                    break
                if claimed.get_obj().value > 0:   # a helper has begun (read without the lock)
                    try:
                        k = _claim(claimed, n_batches, only=i, timeout=5.0)
                        if k is None:
                            k = _claim(claimed, n_batches, timeout=5.0)
                    except _CounterLost:
                        if all(p.is_alive() for p, _ in helpers.values()):
                            continue   # only slow: the lock's holder is alive
                        stop_helpers()   # one died holding the lock: carry on alone
                        receive_from(list(conns))
                        conns.clear()
                        continue
                    if k is not None:
                        analyse(k)
                        continue
                receive_from(wait(conns))
            yield ready.pop(i)
    finally:
        stop_helpers()
        for c, (p, _) in helpers.items():
            p.join(5)
            c.close()


def cmd_detect(args: argparse.Namespace) -> int:
    whole = time.monotonic()
    from detectors.chain import OfflineDetector
    from detectors.understanding import load_analyzer
    from streams.settings import Settings, SettingsError

    settings = Settings.from_env()
    by_reason: dict[str, int] = {}
    # The input and both output paths are checked first (a bad path fails now, not after reading
    # the input, and empties no earlier output), and each reject is written as it is found: a run
    # stopped by Ctrl-C or a closed pipe keeps them.
    if args.input != "-":
        open(args.input, "rb").close()
    _distinct_paths(args.input, ("--output", args.output), ("--rejects", args.rejects))
    if args.rejects == "-" and args.output == "-":
        raise SettingsError("--rejects - and --output - both name standard output; give one of them a file")
    # ('-' is standard output, as for --output: it used to create a file named '-')
    rejects_file = (sys.stdout if args.rejects == "-" else _open_both(args.rejects)) if args.rejects else None
    out: TextIO = sys.stdout if args.output == "-" else _open_both(args.output)
    for f in (rejects_file, out):
        # a regular file only: not a pipe, a terminal or /dev/null (which refuses to be truncated)
        if f is not None and f is not sys.stdout and stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            f.seek(0)
            f.truncate()

    def on_reject(n: int, raw: bytes, r: Rejected) -> None:
        by_reason[r.reason] = by_reason.get(r.reason, 0) + 1
        if rejects_file is not None:
            rejects_file.write(orjson.dumps({"line": n, "reason": r.reason, "detail": r.detail,
                                             **_reject_value(raw)}).decode() + "\n")

    # Loading builds hundreds of thousands of objects that live to the end: the cyclic garbage
    # collector would scan them again and again (0.6 s of 1.5 s for 200,000 events), so it is off
    # while loading, and what was loaded is then frozen out of its scans.
    gc.disable()
    try:
        rows = event_time_order(args.input, on_reject, keep_raw=False, progress=args.progress, command="detect")
        partitions = args.partitions if args.partitions is not None else settings.partitions
        detector = OfflineDetector(settings.chain_config(), load_analyzer(settings.analyzer, dict(settings.brands)),
                                   partitions=partitions, now_ms=int(time.time() * 1000))
    finally:
        gc.freeze()
        gc.enable()
    progress = Progress(len(rows), "detect", enabled=args.progress)
    n_alerts = 0
    late_rejects = [0]   # found by the chain (duplicates, ...): counted as rejected, not as events

    def on_chain_reject(i: int, _: Any, r: Rejected) -> None:
        late_rejects[0] += 1
        on_reject(rows[i][1], b"", r)

    started = time.monotonic()
    jobs = detect_jobs(args.jobs, detector.analyzer, len(rows), settings.text_helper_processes)
    analyses = analyses_in_processes(detector.analyzer, [r[3] for r in rows], jobs - 1) if jobs > 1 else None
    try:
        for a in detector.run((r[3] for r in rows),
                              on_reject=on_chain_reject,
                              on_progress=lambda done: progress.update(done, f"{n_alerts} alerts"),
                              analyses=analyses):
            out.write(orjson.dumps(a).decode() + "\n")
            n_alerts += 1
        progress.update(len(rows), f"{n_alerts} alerts")
    finally:
        if analyses is not None:
            analyses.close()  # stops the analysing processes
        progress.close()
        if out is not sys.stdout:
            out.close()
        if rejects_file is not None and rejects_file is not sys.stdout:
            rejects_file.close()
    elapsed = time.monotonic() - started
    total = time.monotonic() - whole
    n_rejected = sum(by_reason.values())
    n_events = len(rows) - late_rejects[0]
    print(f"detect: {n_events:,} events in {elapsed:.2f}s ({len(rows) / max(elapsed, 1e-9):,.0f}/s), "
          f"{n_alerts} alerts, {n_rejected} rejected {by_reason or ''}; {jobs} process(es); whole command {total:.2f}s "
          f"({len(rows) / max(total, 1e-9):,.0f}/s with start-up, reading, decoding and ordering)",
          file=sys.stderr)
    return nothing_valid("detect", args.input, n_events, n_rejected)


def _distinct_paths(input_path: str, *outputs: tuple[str, str | None]) -> None:
    """Refuse an output that is the input or another output: it would be emptied before it is read
    (``--output`` naming the input gave "0 events", exit 0, and an empty input file)."""
    from streams.settings import SettingsError

    def same(a: str, b: str) -> bool:
        try:
            if b == "-":   # the input is standard input: a file redirected to it (< FILE) counts
                st, other = os.stat(a), os.fstat(sys.stdin.fileno())
                return stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)
            return os.path.samefile(a, b) and stat.S_ISREG(os.stat(a).st_mode)
        except OSError:   # one of them does not exist yet: the same if named alike
            return b != "-" and os.path.realpath(a) == os.path.realpath(b)

    seen = [("--input", input_path)]
    for flag, path in outputs:
        if not path or path == "-":
            continue
        for other_flag, other in seen:
            if same(path, other):
                raise SettingsError(f"{flag} {path} is the same file as {other_flag} {other}: it would be "
                                    f"emptied before it is read; write elsewhere")
        seen.append((flag, path))


def _open_both(path: str) -> TextIO:
    """``path`` opened for writing without emptying it yet (the caller truncates it once every file
    it needs has opened)."""
    return open(path, "a")


def nothing_valid(command: str, path: str, n_valid: int, n_rejected: int) -> int:
    """Exit status of an offline command: 1 (with a message) when the input had lines but not one
    was valid, which is a wrong file rather than a few bad lines; else 0."""
    if n_valid == 0 and n_rejected:
        print(f"{command}: no valid line in {path} ({n_rejected:,} rejected): is it the right file?",
              file=sys.stderr)
        return 1
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    return asyncio.run(_replay(args))


#: ``replay`` names the first this many invalid lines (number, reason, detail), then counts the rest.
REPLAY_REJECTS_SHOWN = 20

#: ``replay --speed`` says so when it is about to wait longer than this for the next event.
LONG_WAIT_S = 10.0


async def _topic_exists(settings: Any, topic: str) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    from streams.kafka_auth import client_options

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **client_options(settings))
    await admin.start()
    try:
        return topic in await admin.list_topics()
    finally:
        await admin.close()


async def _replay(args: argparse.Namespace) -> int:
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import MessageSizeTooLargeError

    from detectors.chain import iso_ms
    from streams.kafka_auth import client_options
    from streams.settings import Settings, SettingsError
    from streams.topics import ensure_topics

    settings = Settings.from_env()
    topic = args.topic or settings.posts_topic
    bad: list[tuple[int, bytes]] = []

    def rejected(n: int, raw: bytes, r: Any) -> None:
        bad.append((n, raw))
        if len(bad) <= REPLAY_REJECTS_SHOWN:
            print(f"replay: line {n}: {r.reason}: {r.detail}", file=sys.stderr)

    rows = event_time_order(args.file, rejected, progress=args.progress, command="replay", keys_only=True)
    if len(bad) > REPLAY_REJECTS_SHOWN:
        print(f"replay: ... {len(bad) - REPLAY_REJECTS_SHOWN:,} more invalid lines not shown", file=sys.stderr)
    if args.include_invalid and bad:
        # invalid lines go in too (at the front), so the worker's dead-letter path sees them
        rows = [(0, n, raw, None) for n, raw in bad] + rows
    elif bad:
        print(f"replay: {len(bad):,} lines are not valid events and are skipped "
              f"(--include-invalid sends them for the worker to dead-letter)", file=sys.stderr)
        if not rows:   # a wrong file: nothing sent, and not a success
            return nothing_valid("replay", args.file, 0, len(bad))
    found = await ensure_topics(settings)
    if topic not in found and not await _topic_exists(settings, topic):
        # (the client would otherwise warn ten times a second for a minute, then raise)
        raise SettingsError(f"topic {topic!r} does not exist on {settings.bootstrap_servers}; the app's input "
                            f"topic is {settings.posts_topic!r} (VIRALITY_POSTS_TOPIC)")
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5,
                                max_batch_size=512 * 1024, acks="all", enable_idempotence=True,
                                **client_options(settings))
    await producer.start()
    progress = Progress(len(rows), "replay", enabled=args.progress)
    speed = args.speed
    first_t = next((r[0] for r in rows if r[3] is not None), 0)   # (r[3]: the key; None if invalid)
    wall0 = time.monotonic()
    sent = too_large = 0
    done = False
    try:
        for t_ms, n, raw, key in rows:
            if speed and key is not None:
                due = wall0 + (t_ms - first_t) / 1000.0 / speed
                delay = due - time.monotonic()
                if delay > LONG_WAIT_S:  # a gap in event time (or one stray timestamp): say why it waits
                    print(f"replay: {sent:,} sent; waiting {delay:,.0f} s for the next event (line "
                          f"{n}, {iso_ms(t_ms)}) at {speed:g}x real time; Ctrl-C stops", file=sys.stderr)
                if delay > 0:
                    await asyncio.sleep(delay)
            try:
                await producer.send(topic, raw, key=key)
            except MessageSizeTooLargeError:
                # (an invalid line sent with --include-invalid can be of any size: the client
                # refuses records over its max_request_size, 1 MB, before they leave)
                too_large += 1
                print(f"replay: line {n}: {len(raw):,} bytes, more than a Kafka record may hold "
                      f"(1 MB); not sent", file=sys.stderr)
                continue
            sent += 1
            progress.update(sent)
        await producer.flush()
        done = True
    finally:
        progress.update(sent)
        progress.close()
        await producer.stop()
        if not done:
            print(f"replay: stopped after {sent:,} of {len(rows):,} events to {topic!r}", file=sys.stderr)
    elapsed = time.monotonic() - wall0
    print(f"replay: {sent:,} events to {topic!r} in {elapsed:.2f}s ({sent / max(elapsed, 1e-9):,.0f}/s)"
          + (f"; {too_large:,} lines too large for Kafka not sent" if too_large else ""), file=sys.stderr)
    return 0


def format_alert(a: dict[str, Any]) -> str:
    """One alert as a line a person reads on a terminal (TypeError for something else)."""
    if not isinstance(a, dict):
        raise TypeError(f"an alert is a JSON object, not {type(a).__name__}")
    icon = {"critical": "!!", "warning": "! ", "info": "  "}.get(a.get("severity"), "  ")
    subject = a.get("root_id") or a.get("brand") or "?"
    brand = f" [{a['brand']}]" if a.get("brand") and a.get("root_id") else ""
    text = a.get("root_text")
    text = f'\n      "{text[:100]}{"..." if len(text) > 100 else ""}"' if text else ""
    return (f"{icon} {a.get('detected_at', '')}  {a.get('state', '').upper():9} {a.get('type', '')} "
            f"{subject}{brand} ({a.get('lang') or '-'})\n      {a.get('reason', '')}{text}")


def format_reject(r: dict[str, Any]) -> str:
    """One dead-letter record (``posts.deadletter``) as lines a person reads: when, why, where the
    original sits, and the start of the rejected value."""
    from detectors.chain import iso_ms

    at = r.get("rejected_at_ms")
    when = iso_ms(at) if isinstance(at, int) else "?"
    where = f"{r.get('topic')}[{r.get('partition')}]@{r.get('offset')}"
    value = r.get("value") or ""
    if r.get("value_encoding") == "base64":
        value = f"(base64{', truncated' if r.get('value_truncated') else ''}) {value}"
    value = value.replace("\n", " ")
    value = f"{value[:200]}{'...' if len(value) > 200 else ''}"
    key = r.get("key")
    key = f" key={key[:80]!r}{'...' if len(key) > 80 else ''}" if isinstance(key, str) and key else ""
    return f"x  {when}  REJECTED  {r.get('reason')} {where}{key}\n      {r.get('detail')}\n      {value}"


def format_event(e: dict[str, Any]) -> str:
    """An input event (``posts``, ``posts.by-root``) as a line a person reads.

    >>> format_event({"id": "s1", "kind": "share", "root_id": "p1", "created_at": 1700000000000, "lang": "sv"})
    '   2023-11-14T22:13:20.000Z  SHARE     s1 of p1 (sv)'
    """
    from detectors.chain import iso_ms

    t = e.get("created_at")
    when = iso_ms(t) if isinstance(t, int) and not isinstance(t, bool) else str(t)
    root = f" of {e['root_id']}" if e.get("root_id") and e.get("root_id") != e.get("id") else ""
    text = e.get("text")
    if isinstance(text, str) and text:
        one_line = text[:100].replace("\n", " ")
        text = f'\n      "{one_line}{"..." if len(text) > 100 else ""}"'
    else:
        text = ""
    return f"   {when}  {str(e.get('kind', '?')).upper():9} {e.get('id')}{root} ({e.get('lang') or '-'}){text}"


def format_record(record: Any) -> str:
    """An alert, a dead-letter record or an input event, whichever it is; anything else as compact
    JSON (an input event was shown as an empty alert)."""
    if isinstance(record, dict) and "value_encoding" in record and "reason" in record:
        return format_reject(record)
    if isinstance(record, dict) and ("alert_id" in record or ("state" in record and "type" in record)):
        return format_alert(record)
    if isinstance(record, dict) and "kind" in record and "id" in record:
        return format_event(record)
    return orjson.dumps(record).decode()


def cmd_tail(args: argparse.Namespace) -> int:
    return asyncio.run(_tail(args))


async def _tail(args: argparse.Namespace, stop: asyncio.Event | None = None) -> int:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.errors import KafkaConnectionError

    from streams.kafka_auth import ConnectErrors, client_options
    from streams.settings import Settings, SettingsError

    settings = Settings.from_env()
    if args.topic_name and args.topic and args.topic_name != args.topic:
        raise SettingsError(f"two topics given ({args.topic_name!r} and --topic {args.topic!r}): name one")
    topic = args.topic_name or args.topic or settings.alerts_topic
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                auto_offset_reset="earliest" if args.from_beginning else "latest",
                                enable_auto_commit=False, group_id=None, isolation_level="read_committed",
                                **client_options(settings))
    try:
        with ConnectErrors.of(settings) as seen:
            await consumer.start()
    except KafkaConnectionError:
        await consumer.stop()  # (an unstarted consumer left open is reported at exit)
        raise KafkaConnectionError(seen.message(settings)) from None
    # A topic that does not exist would have the client warn ten times a second, forever: say so once.
    existing = await consumer.topics()
    if topic not in existing:
        await consumer.stop()
        near = sorted(t for t in existing if not t.startswith("_"))
        raise SettingsError(f"topic {topic!r} does not exist on {settings.bootstrap_servers} (the worker, or "
                            f"`virality topics`, creates the app's topics); topics there: {', '.join(near[:20]) or 'none'}"
                            f"{' ...' if len(near) > 20 else ''}")
    consumer.subscribe([topic])
    seen = 0
    try:
        while stop is None or not stop.is_set():
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    try:
                        alert = orjson.loads(rec.value)
                    except orjson.JSONDecodeError:
                        print(f"(not JSON at offset {rec.offset})", flush=True)
                        continue
                    try:
                        line = orjson.dumps(alert).decode() if args.json else format_record(alert)
                    except (TypeError, AttributeError, KeyError):  # JSON, but not an alert
                        line = f"(not an alert at offset {rec.offset}: {rec.value[:200]!r})"
                    print(line, flush=True)
                    seen += 1
                    if args.max and seen >= args.max:
                        return 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        await consumer.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from streams.settings import Settings

    settings = Settings.from_env()
    if settings.gc_gen0:
        gc.set_threshold(settings.gc_gen0, 20, 100)
    # Until Faust's worker takes SIGTERM and SIGINT over, a stop ends the start-up here: with a
    # message and exit code 0, its text helpers closed (not Python's silent death by the signal).
    previous = {sig: signal.signal(sig, _stop_before_start) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker = _start_worker(settings)
    except _StoppedBeforeStart as stop:
        print(f"worker: stopped by {signal.Signals(stop.args[0]).name} during start-up, before it read "
              "anything", file=sys.stderr, flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    worker.execute_from_commandline()
    return 0


class _StoppedBeforeStart(BaseException):
    """SIGTERM or SIGINT while the worker starts up, before Faust handles them."""


def _stop_before_start(signum: int, frame: Any) -> None:
    raise _StoppedBeforeStart(signum)


def _start_worker(settings: Any) -> Any:
    """Everything ``virality worker`` does before Faust runs: checks, metrics server, topics; returns
    the Faust worker. Closes the app's text helpers if it is stopped on the way."""
    import logging

    from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server

    from streams.app import create_app
    from streams.logs import RepeatLimiter
    from streams.settings import SettingsError
    from streams.topics import ensure_topics

    # what can be checked here first: a bad analyzer, data directory or metrics address must not
    # wait for Kafka (30 s when it is down) nor create topics before it fails
    try:
        os.makedirs(settings.data_dir, exist_ok=True)
        probe = os.path.join(settings.data_dir, f".writable-{os.getpid()}")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as exc:
        raise SettingsError(f"VIRALITY_DATA_DIR={settings.data_dir!r} cannot be used as the worker's data "
                            f"directory: {exc.strerror or exc}") from None
    registry = CollectorRegistry()
    # process_start_time_seconds (NoEventsIngested reads it), memory, CPU and open files
    ProcessCollector(registry=registry)
    app = create_app(settings, registry=registry)
    try:
        if settings.metrics_port:
            try:
                start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
            except OSError as exc:
                # a name that does not resolve, or an address that is not this host's
                if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
                    raise SettingsError(f"VIRALITY_METRICS_HOST={settings.metrics_host!r} is not an address of "
                                        f"this host ({exc.strerror or exc})") from None
                raise SettingsError(f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port} "
                                    f"({exc.strerror or exc}): another worker on this host? Give each its own "
                                    "VIRALITY_METRICS_PORT (0: no metrics server)") from None
        asyncio.run(ensure_topics(settings, worker=True))
        limiter = RepeatLimiter()
        app.metrics.kafka_client_errors.read = lambda: limiter.errors
        worker = BoundedWorker(app, loglevel=settings.log_level.upper(), quiet=True, redirect_stdouts=False,
                               shutdown_timeout=settings.shutdown_timeout_s, limiter=limiter)
        logging.getLogger("virality").setLevel(settings.log_level.upper())
        print(f"worker: consuming {settings.posts_topic!r} from {settings.bootstrap_servers}, "
              f"metrics on :{settings.metrics_port}", file=sys.stderr, flush=True)
        # what this worker decides with, whatever the log level: workers of one group must agree
        print(f"worker: settings: {settings.summary()}", file=sys.stderr, flush=True)
    except BaseException:  # a stop or a failure before Faust runs: its helpers go too
        app.close_text_helpers()
        raise
    return worker


def _bounded_worker_class():
    from faust.worker import Worker

    class _BoundedWorker(Worker):
        """A Faust worker whose stop on SIGTERM/SIGINT is bounded: past the timeout it exits. Its log
        handlers hold back repeats of Kafka client errors (:mod:`streams.logs`)."""

        def __init__(self, *args: Any, shutdown_timeout: float = 20.0, limiter: Any = None, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self._shutdown_timeout = shutdown_timeout
            self._limiter = limiter
            # No terminal spinner: at a log level of WARNING or above Faust's spinner sets the root
            # logger to DEBUG and spins on every record, so every debug call of Faust, mode and
            # aiokafka (two per changelog record in a table recovery) built a log record that no
            # handler printed.
            self.spinner = None

        def on_setup_root_logger(self, logger: Any, level: int) -> None:
            super().on_setup_root_logger(logger, level)
            from streams.logs import limit_repeats

            self._limiter = limit_repeats(logger, self._limiter)

        def _arm(self) -> None:
            def expire() -> None:
                time.sleep(self._shutdown_timeout)
                sys.stderr.write(f"worker: shutdown took more than {self._shutdown_timeout}s; exiting\n")
                os._exit(3)
            threading.Thread(target=expire, daemon=True).start()

        async def on_startup_finished(self) -> None:
            await super().on_startup_finished()
            # Faust calls this also when a stop came before the tables were recovered (its recovery
            # then never started, and counts as done): no "ready" then, it never had partitions
            if self._signalled or self.should_stop or self.app.should_stop:
                return
            # one line, whatever the log level: what scripts and tests wait for
            sys.stderr.write("worker: ready (tables recovered, partitions assigned)\n")
            sys.stderr.flush()

        _signalled = False

        def _on_sigterm(self) -> None:
            self._signalled = True
            self._arm()
            super()._on_sigterm()

        def _on_sigint(self) -> None:
            self._signalled = True
            self._arm()
            super()._on_sigint()

    return _BoundedWorker


def BoundedWorker(*args: Any, **kwargs: Any):
    return _bounded_worker_class()(*args, **kwargs)


def cmd_topics(args: argparse.Namespace) -> int:
    from streams.settings import Settings
    from streams.topics import ensure_topics

    found = asyncio.run(ensure_topics(Settings.from_env()))
    for name, n in sorted(found.items()):
        print(f"{name}: {n} partitions")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from detectors.chain import BATCH_EVENTS
    from detectors.understanding import analyze_many, load_analyzer
    from streams.settings import Settings

    settings = Settings.from_env()
    analyzer = load_analyzer(settings.analyzer, dict(settings.brands))
    out = sys.stdout
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        # BATCH_EVENTS texts per call: an analyzer with analyze_many (a model on a GPU) takes them at once
        for obj, a in zip(batch, analyze_many(analyzer, [(o["text"], o.get("lang")) for o in batch])):
            out.write(orjson.dumps({"id": obj.get("id"), "lang": a.lang, "sentiment": round(a.sentiment, 4),
                                    "label": a.label, "complaint": round(a.complaint, 4), "kind": a.kind,
                                    "brands": list(a.brands)}).decode() + "\n")
        batch.clear()

    idle = [False]
    counts = {"ok": 0, "bad": 0, "skip": 0}
    for n, raw in read_jsonl(args.input, idle):
        if raw:
            counts[classify_line(n, raw, batch)] += 1
        if len(batch) >= BATCH_EVENTS or (idle[0] and batch):
            # a pipe with nothing more waiting: print now rather than after BATCH_EVENTS lines
            flush()
            if idle[0]:
                out.flush()
    flush()
    good, bad, skipped = counts["ok"], counts["bad"], counts["skip"]
    # (always, as detect and forecast do: an empty input printed nothing at all)
    print(f"classify: {good:,} texts classified, {bad:,} lines rejected"
          + (f", {skipped:,} without text skipped (shares have none)" if skipped else ""),
          file=sys.stderr)
    if nothing_valid("classify", args.input, good, bad):
        return 1
    return 1 if bad and args.strict else 0


def classify_line(n: int, raw: bytes, batch: list[dict[str, Any]]) -> str:
    """Check one ``classify`` input line; a valid one joins ``batch``. Returns ``"ok"``, ``"bad"``
    (reported on stderr) or ``"skip"``: an object without a ``text`` field, such as a share read
    from the event stream (``tail -f posts.jsonl | virality classify``), has nothing to classify
    and is no error."""
    try:
        check_line(raw)
        obj = parse_json(raw)
        if not isinstance(obj, dict):
            raise Rejected("not_an_object", f"a line is a JSON object with 'id' and 'text', got {type(obj).__name__}")
        if obj.get("text") is None:   # absent, or null as the event schema allows for a share
            return "skip"
        if not isinstance(obj["text"], str):
            raise Rejected("wrong_type", f"'text' must be a string, got {type(obj['text']).__name__}")
        if isinstance(obj.get("id"), bool) or not isinstance(obj.get("id"), (str, int)) or obj["id"] == "":
            raise Rejected("missing_field" if obj.get("id") in (None, "") else "wrong_type",
                           "needs an 'id' (a non-empty string or an integer)")
        if obj.get("lang") is not None and not isinstance(obj["lang"], str):
            raise Rejected("wrong_type", f"'lang' must be a string, got {type(obj['lang']).__name__}")
        if len(obj["text"]) > MAX_TEXT_CHARS:  # the event contract's limit (text_too_long)
            raise Rejected("text_too_long", f"'text' has {len(obj['text']):,} characters, the limit is "
                                            f"{MAX_TEXT_CHARS:,}")
    except ValueError as exc:   # (Rejected is one: "reason: detail")
        print(f"classify: line {n}: {exc}", file=sys.stderr)
        return "bad"
    batch.append(obj)
    return "ok"


#: The forecast's calibration is fitted on cascades seen with at least this many events (the post
#: and its shares): with fewer, ``forecast`` prints no number rather than an extrapolation.
MIN_EVENTS_TO_FORECAST = 5
#: Largest observation time ``--at`` takes (a year, in seconds).
MAX_AT_S = 365 * 24 * 3600


def cmd_forecast(args: argparse.Namespace) -> int:
    from detectors.chain import ChainConfig
    from detectors.forecast import CascadeForecast

    at: list[float] = args.at
    cascades: dict[str, list[tuple[int, int | None, bool]]] = {}
    ids: dict[str, set[str]] = {}
    by_reason: dict[str, int] = {}
    n_events = 0
    # as the worker and detect: an event dated after this command's clock by more than the
    # worker's slack is from the future (forecast reads no setting: the default VIRALITY_MAX_FUTURE_S)
    now_ms = int(time.time() * 1000)
    chain = ChainConfig()
    for n, raw in read_jsonl(args.input):
        try:
            check_line(raw)
            e = decode_event(raw)
            chain.reject_after_clock(e.t_ms, now_ms)
            seen = ids.setdefault(e.root_id, set())
            if e.id in seen:  # as the stream does: a producer's repeat is not a second share
                raise Rejected("duplicate", f"event {e.id[:80]!r} was already seen in cascade {e.root_id[:80]!r}")
            seen.add(e.id)
        except Rejected as r:
            by_reason[r.reason] = by_reason.get(r.reason, 0) + 1
            print(f"forecast: line {n}: {r.reason}: {r.detail}", file=sys.stderr)
            continue
        n_events += 1
        cascades.setdefault(e.root_id, []).append((e.t_ms, e.followers, e.is_root))
    for root_id, events in cascades.items():
        events.sort(key=lambda x: (not x[2], x[0]))
        roots = [e for e in events if e[2]]
        t0 = roots[0][0] if roots else min(e[0] for e in events)
        ordered = sorted(events, key=lambda x: x[0])
        f = CascadeForecast()
        # a cascade whose post is not in the file starts at its first share, with no made-up post
        # (as the stream's chain does: before 2026-11-24 one was counted here, so forecast and detect
        # disagreed on the same file)
        i = 0
        for t in at:
            while i < len(ordered) and (ordered[i][0] - t0) / 1000.0 <= t:
                f.learn_one(max(0.0, (ordered[i][0] - t0) / 1000.0), ordered[i][1])
                i += 1
            row: dict[str, Any] = {"root_id": root_id, "at": t,
                                   "shares_seen": sum(1 for e in ordered[:i] if not e[2])}
            if f.n < MIN_EVENTS_TO_FORECAST:
                row.update(forecast=None, low=None, high=None,
                           note=f"too few events to forecast ({f.n} of {MIN_EVENTS_TO_FORECAST}, the post included when it is in the file)")
            else:
                fc = f.predict(t)
                row.update(forecast=_finite(fc.final), low=_finite(fc.low), high=_finite(fc.high))
            sys.stdout.write(orjson.dumps(row).decode() + "\n")
    warn_early_times("forecast", sum(1 for events in cascades.values() for e in events if e[0] < EARLY_MS), n_events)
    n_rejected = sum(by_reason.values())
    print(f"forecast: {len(cascades):,} cascades, {n_events:,} events, {len(at)} times each; "
          f"{n_rejected:,} lines rejected {by_reason or ''}", file=sys.stderr)
    return nothing_valid("forecast", args.input, n_events, n_rejected)


def observation_times(text: str) -> list[float]:
    """``--at``: seconds after the post, comma-separated, each in [0, a year]; sorted, repeats dropped."""
    times = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not a number of seconds") from None
        if not (0 <= value <= MAX_AT_S):  # also NaN
            raise argparse.ArgumentTypeError(f"{part}: a time must be between 0 and {MAX_AT_S:,} seconds")
        times.add(value)
    if not times:
        raise argparse.ArgumentTypeError("needs at least one time in seconds after the post, e.g. 300,600,3600")
    return sorted(times)


def _finite(x: float) -> float | None:
    return round(x, 1) if x == x and abs(x) != float("inf") else None


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo import run_demo
    return run_demo(args)


def speed_factor(text: str) -> float:
    """``--speed``: times real speed, 0 (or inf) for as fast as possible; never negative or NaN."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:  # also NaN
        raise argparse.ArgumentTypeError(f"{text}: the speed is a factor of real time, 0 or more "
                                         "(0: as fast as possible)")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not positive")
    return value


def settings_table() -> str:
    """The table of VIRALITY_* variables in :mod:`streams.settings`' docstring (its one source)."""
    import streams.settings

    doc = streams.settings.__doc__ or ""
    lines = doc.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("=====")]
    return "\n".join(lines[rules[0]:rules[-1] + 1]) if len(rules) >= 2 else "See streams/settings.py."


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="virality", description="Streaming virality detector for customer complaints.")
    sub = p.add_subparsers(dest="command", required=True)

    w = sub.add_parser("worker", help="run the Faust worker", formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run the Faust worker. It takes no options: every setting comes from the "
                                   "environment (the table below, from streams/settings.py).",
                       epilog=settings_table())
    w.set_defaults(func=cmd_worker)

    r = sub.add_parser("replay", help="produce a JSONL file of events into Kafka in event-time order")
    r.add_argument("file")
    r.add_argument("--speed", type=speed_factor, default=0.0, help="times real speed (0: as fast as possible)")
    r.add_argument("--topic", default=None)
    r.add_argument("--include-invalid", action="store_true", help="send invalid lines too, for the dead-letter path")
    r.add_argument("--progress", action="store_true", default=None)
    r.set_defaults(func=cmd_replay)

    d = sub.add_parser("detect", help="run the detector chain offline over a JSONL file")
    d.add_argument("--input", required=True)
    d.add_argument("--output", default="-")
    d.add_argument("--rejects", default=None, help="write each rejected line's number, reason and text to this JSONL file "
                                                  "('-': standard output, with --output to a file)")
    d.add_argument("--partitions", type=positive_int, default=None,
                   help="as in the stream (default VIRALITY_PARTITIONS)")
    d.add_argument("--progress", action="store_true", default=None)
    d.add_argument("--jobs", type=positive_int, default=None,
                   help="processes (default: from 20,000 events, 1 plus the worker's text helpers, "
                        "VIRALITY_ANALYSIS_PROCESSES: 2 in all with 2 or more cores and the built-in "
                        "analyzer; the others analyse texts ahead; else 1)")
    d.set_defaults(func=cmd_detect)

    t = sub.add_parser("tail", help="print alerts (or dead-lettered input) as they arrive",
                       description="Print the records of a topic as they arrive: alerts by default; "
                                   "`virality tail posts.deadletter --from-beginning` shows rejected "
                                   "input with its reason and where the original sits.")
    t.add_argument("topic_name", nargs="?", metavar="TOPIC",
                   help="topic to read (default VIRALITY_ALERTS_TOPIC, 'alerts')")
    t.add_argument("--topic", default=None, help="the same as TOPIC")
    t.add_argument("--from-beginning", action="store_true",
                   help="start at the oldest record kept, not at new ones")
    t.add_argument("--json", action="store_true", help="print each record as one JSON line")
    t.add_argument("--max", type=positive_int, default=None, help="stop after this many records")
    t.set_defaults(func=cmd_tail)

    m = sub.add_parser("demo", help="start broker and worker, replay the bundled scenario, show alerts")
    m.add_argument("--speed", type=speed_factor, default=600.0,
                   help="times real speed of the scenario (0: as fast as possible)")
    m.add_argument("--keep-broker", action="store_true", help="leave the broker running afterwards")
    m.set_defaults(func=cmd_demo)

    c = sub.add_parser("classify", help="language, sentiment and complaint kind of texts")
    c.add_argument("--input", required=True)
    c.add_argument("--strict", action="store_true", help="exit 1 if any line was invalid")
    c.set_defaults(func=cmd_classify)

    f = sub.add_parser("forecast", help="final-size forecasts at observation times",
                       description="Per cascade and observation time, the forecast final size made with "
                                   "only the events seen by then: root_id, at, shares_seen, forecast, low, "
                                   "high (an ~80% interval). forecast, low and high count the post itself, "
                                   "as the alerts' predicted_final_shares do; with fewer than "
                                   f"{MIN_EVENTS_TO_FORECAST} events seen they are null, with a note. "
                                   "Invalid and duplicate events are reported by line and skipped.")
    f.add_argument("--input", required=True)
    f.add_argument("--at", type=observation_times, default=[300.0, 600.0, 3600.0],
                   help="seconds after the root post, comma-separated (printed in increasing order)")
    f.set_defaults(func=cmd_forecast)

    tp = sub.add_parser("topics", help="create the topics")
    tp.set_defaults(func=cmd_topics)
    return p


#: Commands whose output goes to stdout, for a reader to stop when it has seen enough.
_WRITES_STDOUT = frozenset({"detect", "forecast", "classify", "tail"})


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so that it stops as on Ctrl-C: its ``finally`` blocks
    run (text helpers stopped, what ``replay`` sent reported, buffered output written)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "worker":  # the worker's own stop handles SIGTERM (cmd_worker)
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return args.func(args)
    except KeyboardInterrupt as exc:
        if args.command == "tail":  # following until stopped is what it does (Ctrl-C: _tail)
            return 0
        how = ("SIGTERM", 143) if isinstance(exc, Terminated) else ("Ctrl-C", 130)
        print(f"virality {args.command}: stopped ({how[0]})", file=sys.stderr)
        return how[1]
    except BrokenPipeError:
        if args.command not in _WRITES_STDOUT:
            print(f"virality {args.command}: broken pipe", file=sys.stderr)
            return 2
        # the reader of stdout stopped reading (`virality detect ... | head`): not an error of ours;
        # stdout goes to /dev/null so that Python's own flush at exit does not complain again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # a clear message instead of a traceback for the expected failures
        from detectors.understanding import AnalyzerError
        from streams.settings import SettingsError
        from streams.topics import TopicMismatch
        try:
            from aiokafka.errors import KafkaConnectionError
        except ImportError:  # pragma: no cover
            KafkaConnectionError = ()  # type: ignore
        if isinstance(exc, (SettingsError, AnalyzerError, TopicMismatch, KafkaConnectionError, OSError)):
            print(f"virality {args.command}: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
