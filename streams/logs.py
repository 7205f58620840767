"""Keep the worker's log readable while Kafka is unreachable.

While the broker is down, aiokafka logs the same few errors ("Unable connect to node ...", "Failed
fetch messages from ...") every 100 ms: measured with the broker killed under a worker, 7,500
lines (950 KB) in one minute, which buries whatever else the worker says and fills disks in a long
outage. :class:`RepeatLimiter` lets each such message through once per window and counts the rest;
the next one let through says how many were held back, and when. It also counts every error of those
loggers, held back or not (:attr:`RepeatLimiter.errors`): the worker exports the count as
``virality_kafka_client_errors_total``, on which the ``KafkaUnreachable`` alert fires.

>>> import logging
>>> limiter = RepeatLimiter(window_s=30.0)
>>> def record(t):
...     r = logging.LogRecord("aiokafka.conn", logging.ERROR, __file__, 1, "Unable connect to node %s", (1,), None)
...     r.created = t
...     return r
>>> [limiter.filter(record(t)) for t in (0.0, 0.1, 0.2, 29.9)]
[True, False, False, False]
>>> again = record(30.5)
>>> limiter.filter(again), again.getMessage()
(True, 'Unable connect to node 1 (3 more like this from 00:00:00 to 00:00:29 UTC, not logged)')
"""
from __future__ import annotations

import logging
import threading
import time

#: Loggers whose repeated warnings and errors are limited (those that flood while Kafka is down).
LIMITED = ("aiokafka",)
#: The same message (logger, level, text, exception type) passes at most once in this many seconds.
WINDOW_S = 30.0


class RepeatLimiter(logging.Filter):
    """A handler filter: each warning or error of the :data:`LIMITED` loggers passes at most once per
    ``window_s`` (by the records' own times); critical messages and other loggers always pass.

    Messages are told apart by logger, level, formatted text and exception type, so a flood of one
    error is held back while another node's, another topic's or another exception's still shows.
    The next one let through says how many were held back and between which times (UTC). At most
    ``max_keys`` messages are remembered. Safe to call from several threads (Faust runs the Kafka
    consumer in a thread of its own).
    """

    def __init__(self, window_s: float = WINDOW_S, loggers: tuple[str, ...] = LIMITED, max_keys: int = 1000):
        super().__init__()
        self.window_s = window_s
        self.loggers = loggers
        self.max_keys = max_keys
        # key -> [time last let through, how many held back since, first and last of those times]
        self._seen: dict[tuple, list] = {}
        self._lock = threading.Lock()
        #: Error records of the limited loggers seen so far, held back or not (read by the metrics).
        self.errors = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        name = record.name
        if not any(name == n or name.startswith(n + ".") for n in self.loggers):
            return True
        # one verdict per record, however many handlers (each with this filter) it goes through
        verdict = record.__dict__.get("_repeat_verdict")
        if verdict is None:
            with self._lock:
                verdict = record._repeat_verdict = self._verdict(record)
        return verdict

    def _verdict(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            self.errors += 1
        if record.levelno >= logging.CRITICAL:
            return True
        try:
            text = record.getMessage()
        except Exception:  # (arguments that do not fit the template: logging reports that itself)
            text = str(record.msg)
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
        key = (record.name, record.levelno, text, exc)
        seen = self._seen.get(key)
        now = record.created
        if seen is not None and now - seen[0] < self.window_s:
            seen[1] += 1
            if seen[1] == 1:
                seen[2] = now
            seen[3] = max(seen[3], now)
            return False
        if seen is not None and seen[1]:
            # (no % in the suffix: the message is still formatted with its arguments)
            record.msg = (f"{record.msg} ({seen[1]} more like this from {_utc(seen[2])} to {_utc(seen[3])} UTC, "
                          "not logged)")
        if seen is None and len(self._seen) >= self.max_keys:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = [now, 0, now, now]
        return True


def _utc(t: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t))


def limit_repeats(logger: logging.Logger, limiter: RepeatLimiter | None = None) -> RepeatLimiter:
    """Add one :class:`RepeatLimiter` to every handler of ``logger`` (the root logger, once the worker
    has set its handlers up); returns it."""
    limiter = limiter or RepeatLimiter()
    for handler in logger.handlers:
        if not any(isinstance(f, RepeatLimiter) for f in handler.filters):
            handler.addFilter(limiter)
    return limiter
