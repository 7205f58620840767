"""Keep the worker's log readable while Kafka is unreachable.

While the broker is down, aiokafka logs the same few errors ("Unable connect to node ...", "Failed
fetch messages from ...") every 100 ms: measured with the broker killed under a worker, 7,500
lines (950 KB) in one minute, which buries whatever else the worker says and fills disks in a long
outage. :class:`RepeatLimiter` lets each such message through once per window and counts the rest;
the next one let through says how many were held back. It also counts every error of those
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
(True, 'Unable connect to node 1 (3 more like this in the last 30 s, not logged)')
"""
from __future__ import annotations

import logging

#: Loggers whose repeated warnings and errors are limited (those that flood while Kafka is down).
LIMITED = ("aiokafka",)
#: A message with the same template is let through at most once in this many seconds.
WINDOW_S = 30.0


class RepeatLimiter(logging.Filter):
    """A handler filter: each warning or error template of the :data:`LIMITED` loggers passes at
    most once per ``window_s`` (by the records' own times); critical messages and other loggers
    always pass. Messages are told apart by logger, level and template (not their arguments, which
    change with every retry), and at most ``max_keys`` templates are remembered."""

    def __init__(self, window_s: float = WINDOW_S, loggers: tuple[str, ...] = LIMITED, max_keys: int = 1000):
        super().__init__()
        self.window_s = window_s
        self.loggers = loggers
        self.max_keys = max_keys
        self._seen: dict[tuple, list] = {}  # (logger, level, template) -> [time let through, held back since]
        #: Error records of the limited loggers seen so far, held back or not (read by the metrics).
        self.errors = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        # one verdict per record, however many handlers (each with this filter) it goes through
        verdict = record.__dict__.get("_repeat_verdict")
        if verdict is None:
            verdict = record._repeat_verdict = self._verdict(record)
        return verdict

    def _verdict(self, record: logging.LogRecord) -> bool:
        name = record.name
        if not any(name == n or name.startswith(n + ".") for n in self.loggers):
            return True
        if record.levelno >= logging.ERROR:
            self.errors += 1
        if record.levelno >= logging.CRITICAL:
            return True
        key = (name, record.levelno, str(record.msg))
        seen = self._seen.get(key)
        now = record.created
        if seen is not None and 0.0 <= now - seen[0] < self.window_s:
            seen[1] += 1
            return False
        if seen is not None and seen[1]:
            # (no % in the suffix: the message is still formatted with its arguments)
            record.msg = f"{record.msg} ({seen[1]} more like this in the last {now - seen[0]:.0f} s, not logged)"
        if seen is None and len(self._seen) >= self.max_keys:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = [now, 0]
        return True


def limit_repeats(logger: logging.Logger, limiter: RepeatLimiter | None = None) -> RepeatLimiter:
    """Add one :class:`RepeatLimiter` to every handler of ``logger`` (the root logger, once the worker
    has set its handlers up); returns it."""
    limiter = limiter or RepeatLimiter()
    for handler in logger.handlers:
        if not any(isinstance(f, RepeatLimiter) for f in handler.filters):
            handler.addFilter(limiter)
    return limiter
