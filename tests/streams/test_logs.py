import io
import logging
import sys

from streams.logs import RepeatLimiter, limit_repeats


def rec(name="aiokafka.conn", level=logging.ERROR, msg="Unable connect to node with id %s: %s", args=(1, "refused"),
        t=0.0):
    r = logging.LogRecord(name, level, __file__, 1, msg, args, None)
    r.created = t
    return r


def test_a_flood_is_held_back_and_counted_by_the_records_own_times():
    limiter = RepeatLimiter(window_s=30.0)
    # the same error every 100 ms for 65 s (as aiokafka logs while the broker is down)
    passed = [r for k in range(650) if limiter.filter(r := rec(t=1_795_000_000.0 + k * 0.1))]
    assert [round(r.created - 1_795_000_000.0, 1) for r in passed] == [0.0, 30.0, 60.0]
    assert passed[0].getMessage() == "Unable connect to node with id 1: refused"
    # 1,795,000,000 s is 2026-11-18 11:06:40 UTC; held back: +0.1 s ... +29.9 s
    assert passed[1].getMessage() == ("Unable connect to node with id 1: refused "
                                      "(299 more like this from 11:06:40 to 11:07:09 UTC, not logged)")
    assert passed[2].getMessage().endswith("(299 more like this from 11:07:10 to 11:07:39 UTC, not logged)")


def test_the_report_says_when_the_held_back_ones_were_even_much_later():
    limiter = RepeatLimiter(window_s=30.0)
    for t in (0.0, 1.0, 2.0):
        limiter.filter(rec(t=t))
    days_later = rec(t=86_400.0 + 5.0)
    assert limiter.filter(days_later)
    assert days_later.getMessage().endswith("(2 more like this from 00:00:01 to 00:00:02 UTC, not logged)")


def test_other_nodes_topics_and_exceptions_are_not_held_back_by_one_flood():
    limiter = RepeatLimiter(window_s=30.0)
    assert limiter.filter(rec(args=(1, "refused"), t=0.0))
    assert limiter.filter(rec(args=(2, "refused"), t=0.1))       # another node
    assert not limiter.filter(rec(args=(1, "refused"), t=0.2))
    try:
        raise ValueError("x")
    except ValueError:
        first = sys.exc_info()
    try:
        raise KeyError("y")
    except KeyError:
        second = sys.exc_info()

    def exc(info, t):
        r = rec(name="aiokafka.consumer.fetcher", msg="Unexpected error in fetcher routine", args=(), t=t)
        r.exc_info = info
        return r
    assert limiter.filter(exc(first, 1.0))
    assert limiter.filter(exc(second, 1.1))       # another exception: its traceback is shown
    assert not limiter.filter(exc(first, 1.2))


def test_other_templates_levels_loggers_and_critical_messages_pass():
    limiter = RepeatLimiter(window_s=30.0)
    assert limiter.filter(rec(t=0.0))
    assert not limiter.filter(rec(t=1.0))
    assert limiter.filter(rec(msg="Failed fetch messages from %s: %s", t=1.0))    # another template
    assert limiter.filter(rec(level=logging.WARNING, t=1.0))                      # another level
    assert limiter.filter(rec(level=logging.CRITICAL, t=1.0))                     # never held back
    assert limiter.filter(rec(level=logging.INFO, t=1.0)) and limiter.filter(rec(level=logging.INFO, t=1.1))
    assert limiter.filter(rec(name="virality", t=1.0)) and limiter.filter(rec(name="virality", t=1.1))
    assert limiter.filter(rec(name="aiokafkaX", t=1.0)) and limiter.filter(rec(name="aiokafkaX", t=1.1))
    assert limiter.filter(rec(name="aiokafka", t=1.0)) and not limiter.filter(rec(name="aiokafka", t=2.0))
    assert limiter.filter(rec(name="aiokafka.consumer.fetcher", t=1.0))
    assert not limiter.filter(rec(name="aiokafka.consumer.fetcher", t=2.0))


def test_remembers_a_bounded_number_of_templates():
    limiter = RepeatLimiter(window_s=30.0, max_keys=10)
    for k in range(100):
        assert limiter.filter(rec(msg=f"template {k}", args=(), t=0.0))
    assert len(limiter._seen) == 10
    assert not limiter.filter(rec(msg="template 99", args=(), t=1.0))   # the newest are kept


def test_installed_once_on_each_handler_of_a_logger():
    logger = logging.getLogger("test-logs-root")
    logger.propagate = False
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    try:
        limit_repeats(logger)
        limit_repeats(logger)
        assert sum(isinstance(f, RepeatLimiter) for f in handler.filters) == 1
        for k in range(50):  # (the limiter goes by the record's logger name, aiokafka.conn here)
            logger.handle(rec(t=k * 0.1))
        assert out.getvalue().count("Unable connect") == 1
    finally:
        logger.removeHandler(handler)


def test_counts_every_kafka_client_error_and_decides_once_per_record():
    limiter = RepeatLimiter(window_s=30.0)
    records = [rec(t=k * 0.1) for k in range(20)] + [rec(level=logging.WARNING, t=0.0), rec(name="virality", t=0.0),
                                                    rec(level=logging.CRITICAL, t=0.0)]
    for r in records:
        # two handlers with the same filter: the second sees what the first decided
        assert limiter.filter(r) == limiter.filter(r)
    assert limiter.errors == 21   # 20 errors (1 logged, 19 held back) and the critical one


def test_a_logger_with_two_handlers_writes_the_first_of_a_flood_to_both():
    logger = logging.getLogger("test-logs-two")
    logger.propagate = False
    outs = [io.StringIO(), io.StringIO()]
    handlers = [logging.StreamHandler(o) for o in outs]
    for h in handlers:
        logger.addHandler(h)
    try:
        limiter = limit_repeats(logger)
        for k in range(10):
            logger.handle(rec(t=k * 0.1))
        assert [o.getvalue().count("Unable connect") for o in outs] == [1, 1]
        assert limiter.errors == 10
    finally:
        for h in handlers:
            logger.removeHandler(h)


def test_a_worker_at_warning_level_does_not_turn_on_debug_records():
    """Faust's terminal spinner set the root logger to DEBUG for log levels of WARNING and above, so
    every debug call of Faust and aiokafka built a record nobody printed (two per changelog record in
    a recovery, 101,000 in a profile of one restart)."""
    from streams.app import create_app
    from streams.cli import BoundedWorker
    from streams.settings import Settings

    app = create_app(Settings(metrics_port=0))
    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    root.handlers = [logging.StreamHandler(io.StringIO())]
    root.setLevel(logging.WARNING)   # as the worker's logging set-up leaves it
    try:
        worker = BoundedWorker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
        worker.on_setup_root_logger(root, logging.WARNING)
        assert worker.spinner is None
        assert not logging.getLogger("faust.tables.recovery").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(saved[0])
        root.handlers = saved[1]
