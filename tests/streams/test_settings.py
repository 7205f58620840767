import pytest

from streams.settings import Settings, SettingsError, parse_brands


def test_defaults_run_locally() -> None:
    s = Settings.from_env({})
    assert s.bootstrap_servers == "127.0.0.1:9092"
    assert s.posts_topic == "posts" and s.alerts_topic == "alerts" and s.deadletter_topic == "posts.deadletter"
    assert s.flush_interval_s < s.commit_interval_s


def test_environment_overrides_and_types() -> None:
    s = Settings.from_env({"VIRALITY_PARTITIONS": "8", "VIRALITY_VIRAL_FINAL": "500", "VIRALITY_BROKER": "kafka://a:1,kafka://b:2",
                           "VIRALITY_BRANDS": "sj=SJ,@SJ_AB;ikea", "VIRALITY_ESCALATE_FINAL": "600"})
    assert s.partitions == 8 and s.viral_final == 500.0
    assert s.bootstrap_servers == "a:1,b:2"
    assert s.brands == {"sj": ["SJ", "@SJ_AB"], "ikea": ["ikea"]}
    assert s.chain_config().thresholds.viral_final == 500.0
    short = Settings.from_env({"VIRALITY_EXPIRE_S": "3600", "VIRALITY_QUIET_S": "600", "VIRALITY_COOLDOWN_S": "600"})
    assert short.chain_config().expire_s == 3600


@pytest.mark.parametrize("env, words", [
    ({"VIRALITY_PARTITIONS": "four"}, "VIRALITY_PARTITIONS"),
    ({"VIRALITY_PARTITIONS": "0"}, "at least 1"),
    ({"VIRALITY_FLUSH_INTERVAL_S": "5"}, "below VIRALITY_COMMIT_INTERVAL_S"),
    ({"VIRALITY_HEARTBEAT_S": "20"}, "third"),
    ({"VIRALITY_ESCALATE_FINAL": "10"}, "ESCALATE"),
    ({"VIRALITY_BRANDS": "=x"}, "empty brand"),
    ({"VIRALITY_EXPIRE_S": "3600"}, "QUIET_S \\+ VIRALITY_COOLDOWN_S"),
    ({"VIRALITY_EVICT_IDLE_S": "-1"}, "EVICT_IDLE_S"),
    ({"VIRALITY_MAINTAIN_EVERY_S": "0"}, "MAINTAIN_EVERY_S"),
    ({"VIRALITY_METRICS_PORT": "70000"}, "port number"),
    ({"VIRALITY_BATCH_MAX": "0"}, "BATCH_MAX"),
    ({"VIRALITY_REPLICATION": "0"}, "REPLICATION"),
    ({"VIRALITY_LOG_LEVEL": "verbose"}, "not one of debug"),
    ({"VIRALITY_STORE": "rocksdb://"}, "only memory://"),
    ({"VIRALITY_MIN_SHARES": "-5"}, "thresholds .*must not be negative"),
    ({"VIRALITY_QUIET_S": "nan"}, "finite"),
    ({"VIRALITY_BRANDS": "ikea=IKEA,@IKEANorge;ikea=@IKEA"}, "listed twice"),
    ({"VIRALITY_BRANDS": "sj=SJ;ikea=IKEA,@SJ"}, "belongs to both 'sj' and 'ikea'"),
    ({"VIRALITY_BROKER": "kafka://127.0.0.1:notaport"}, "host:port"),
    ({"VIRALITY_BROKER": "kafka://a:9092,:9093"}, "host:port"),
    ({"VIRALITY_VIRAL_FINAL": "inf", "VIRALITY_ESCALATE_FINAL": "inf"}, "finite"),
    # negative times were accepted: lateness -5 dead-lettered every event as internal_error, quiet -5
    # opened and resolved one cascade 28 times
    ({"VIRALITY_LATENESS_S": "-5"}, "VIRALITY_LATENESS_S must not be negative"),
    ({"VIRALITY_MAX_FUTURE_S": "-1"}, "VIRALITY_MAX_FUTURE_S must not be negative"),
    ({"VIRALITY_COOLDOWN_S": "-60"}, "VIRALITY_COOLDOWN_S must not be negative"),
    ({"VIRALITY_QUIET_S": "-5"}, "VIRALITY_QUIET_S must be positive"),
    ({"VIRALITY_QUIET_S": "0"}, "VIRALITY_QUIET_S must be positive"),
    ({"VIRALITY_SHUTDOWN_TIMEOUT_S": "-1"}, "must be positive"),
    ({"VIRALITY_MIN_SHARES": "150.5"}, "VIRALITY_MIN_SHARES='150.5' is not a whole number"),
    ({"VIRALITY_COOLDOWN_S": "soon"}, "VIRALITY_COOLDOWN_S='soon' is not a number"),
])
def test_bad_values_are_clear_errors(env, words) -> None:
    with pytest.raises(SettingsError, match=words):
        Settings.from_env(env)


def test_parse_brands_skips_blanks() -> None:
    assert parse_brands(" ; a=A ;; ") == {"a": ["A"]}


def test_parse_brands_refuses_a_comma_for_a_semicolon() -> None:
    """'sj=SJ,ikea=IKEA' made 'ikea=IKEA' an alias of sj: IKEA never matched, silently."""
    with pytest.raises(SettingsError, match=r"more than one '='.*separate brands with ';'"):
        parse_brands("sj=SJ,ikea=IKEA")


def test_text_helpers_default_to_one_for_the_built_in_analyzer_on_two_cores(monkeypatch) -> None:
    from streams import settings as settings_module

    monkeypatch.setattr(settings_module.os, "cpu_count", lambda: 2)
    assert Settings.from_env({}).text_helper_processes == 1
    assert Settings.from_env({"VIRALITY_ANALYZER": "tests.fakes:BoomAnalyzer"}).text_helper_processes == 0
    assert Settings.from_env({"VIRALITY_ANALYZER": "tests.fakes:BoomAnalyzer",
                              "VIRALITY_ANALYSIS_PROCESSES": "2"}).text_helper_processes == 2
    assert Settings.from_env({"VIRALITY_ANALYSIS_PROCESSES": "0"}).text_helper_processes == 0
    monkeypatch.setattr(settings_module.os, "cpu_count", lambda: 1)
    assert Settings.from_env({}).text_helper_processes == 0
    with pytest.raises(SettingsError):
        Settings.from_env({"VIRALITY_ANALYSIS_PROCESSES": "-1"})


def test_max_brands_reaches_the_brand_rules_and_configured_brands_are_pinned() -> None:
    import pytest
    from streams.settings import Settings, SettingsError

    rules = Settings.from_env({"VIRALITY_MAX_BRANDS": "7", "VIRALITY_BRANDS": "sj=SJ;ikea=IKEA"}).chain_config().brand_rules
    assert rules.max_brands == 7 and rules.pinned == {"sj", "ikea"}
    assert Settings.from_env({}).chain_config().brand_rules.max_brands == 500
    for bad in ("0", "1"):   # at least 1, and at least the two configured brands
        with pytest.raises(SettingsError, match="VIRALITY_MAX_BRANDS"):
            Settings.from_env({"VIRALITY_MAX_BRANDS": bad, "VIRALITY_BRANDS": "sj=SJ;ikea=IKEA"})


def test_log_levels_are_the_ones_logging_knows() -> None:
    for level in ("debug", "INFO", "warning", "warn", "error", "critical", "fatal"):
        assert Settings.from_env({"VIRALITY_LOG_LEVEL": level}).log_level == level


def test_broker_addresses_that_kafka_clients_take_are_accepted() -> None:
    for broker in ("kafka://127.0.0.1:9092", "kafka://localhost", "kafka://a:9092,b:9093", "kafka://[::1]:9092"):
        assert Settings.from_env({"VIRALITY_BROKER": broker}).broker == broker


def test_the_decision_fingerprint_tells_workers_that_would_decide_differently() -> None:
    base = {"VIRALITY_BRANDS": "sj=SJ,@SJ_AB;ikea=IKEA"}
    a = Settings.from_env(base)
    assert a.decision_fingerprint == Settings.from_env(dict(base)).decision_fingerprint
    # where a worker runs and how it reports does not decide anything
    same = Settings.from_env({**base, "VIRALITY_METRICS_PORT": "9200", "VIRALITY_LOG_LEVEL": "debug",
                              "VIRALITY_DATA_DIR": "/tmp/elsewhere"})
    assert same.decision_fingerprint == a.decision_fingerprint
    for change in ({"VIRALITY_BRANDS": "sj=SJ,@SJ_AB"}, {"VIRALITY_BRANDS": "sj=SJ;ikea=IKEA"},
                   {"VIRALITY_VIRAL_FINAL": "2000"}, {"VIRALITY_LATENESS_S": "600"},
                   {"VIRALITY_PARTITIONS": "8"}, {"VIRALITY_POSTS_TOPIC": "posts2"}):
        assert Settings.from_env({**base, **change}).decision_fingerprint != a.decision_fingerprint, change
    line = a.summary()
    assert "2 brands (ikea, sj)" in line and "viral at a forecast of 1000 shares" in line
    assert a.decision_fingerprint in line


def test_settings_that_act_alike_have_one_fingerprint() -> None:
    a = Settings.from_env({"VIRALITY_BRANDS": "sj=SJ,@SJ_AB"})
    assert Settings.from_env({"VIRALITY_BRANDS": "sj=@SJ_AB,SJ"}).decision_fingerprint == a.decision_fingerprint
    default_min = a.chain_config().thresholds.min_shares
    same = Settings.from_env({"VIRALITY_BRANDS": "sj=SJ,@SJ_AB", "VIRALITY_MIN_SHARES": str(default_min)})
    assert same.decision_fingerprint == a.decision_fingerprint


def test_a_misspelt_variable_is_warned_about_once_with_the_likely_setting(caplog) -> None:
    from streams import settings as settings_module

    settings_module._warned.difference_update({"VIRALITY_PARTITION", "VIRALITY_SOMETHING_ELSE"})
    env = {"VIRALITY_PARTITION": "6", "VIRALITY_REPLAY_DIR": "/data", "VIRALITY_TEST_BROKER": "x",
           "VIRALITY_SOMETHING_ELSE": "1"}
    with caplog.at_level("WARNING", logger="virality.settings"):
        s = Settings.from_env(env)
        Settings.from_env(env)
    assert s.partitions == 4   # ignored: the default holds, which is why it is worth a warning
    warned = [r.getMessage() for r in caplog.records if r.name == "virality.settings"]
    assert sum("VIRALITY_PARTITION is not a setting" in w and "did you mean VIRALITY_PARTITIONS?" in w
               for w in warned) == 1, warned
    assert not any("REPLAY_DIR" in w or "TEST_BROKER" in w for w in warned), warned
    assert any(w.startswith("VIRALITY_SOMETHING_ELSE is not a setting and is ignored (") for w in warned), warned


@pytest.mark.parametrize("env, words", [
    # dead letters written to the input topic were read back and rejected again, without end
    ({"VIRALITY_DEADLETTER_TOPIC": "posts"}, "VIRALITY_DEADLETTER_TOPIC and VIRALITY_POSTS_TOPIC are both 'posts'"),
    ({"VIRALITY_ALERTS_TOPIC": "posts.by-root"}, "VIRALITY_ALERTS_TOPIC and VIRALITY_REPARTITION_TOPIC"),
    ({"VIRALITY_POSTS_TOPIC": "my posts"}, "VIRALITY_POSTS_TOPIC='my posts' is not a Kafka topic name"),
    ({"VIRALITY_BRAND_TOPIC": ".."}, "VIRALITY_BRAND_TOPIC='..' is not a Kafka topic name"),
    ({"VIRALITY_ALERTS_TOPIC": "a" * 250}, "VIRALITY_ALERTS_TOPIC="),
    ({"VIRALITY_APP_ID": "a b"}, "VIRALITY_APP_ID='a b'"),
    # a session timeout above the client's request timeout failed only once the worker had connected
    ({"VIRALITY_SESSION_TIMEOUT_S": "120"}, "VIRALITY_SESSION_TIMEOUT_S \\(120.0\\) must be between 6.0"),
    ({"VIRALITY_SESSION_TIMEOUT_S": "3", "VIRALITY_HEARTBEAT_S": "1"}, "VIRALITY_SESSION_TIMEOUT_S"),
    # 1e-6 woke an idle worker 96,000 times a second
    ({"VIRALITY_FLUSH_INTERVAL_S": "0.000001", "VIRALITY_COMMIT_INTERVAL_S": "0.0002"}, "at least 0.01"),
    ({"VIRALITY_COMMIT_INTERVAL_S": "0"}, "below VIRALITY_COMMIT_INTERVAL_S \\(0.0\\)"),
    # 0 made every stop a hard exit; 1e20 overflowed time.sleep in the stop's watchdog
    ({"VIRALITY_SHUTDOWN_TIMEOUT_S": "0"}, "VIRALITY_SHUTDOWN_TIMEOUT_S \\(0.0\\) must be positive"),
    ({"VIRALITY_SHUTDOWN_TIMEOUT_S": "1e20"}, "at most 3600"),
    # overflowed in gc.set_threshold / the process pool, with a traceback
    ({"VIRALITY_GC_GEN0": "99999999999"}, "VIRALITY_GC_GEN0 must be at most"),
    ({"VIRALITY_ANALYSIS_PROCESSES": "99999999999999999999"}, "VIRALITY_ANALYSIS_PROCESSES at most 64"),
    # a new changelog segment every few milliseconds
    ({"VIRALITY_CHANGELOG_COMPACT_S": "9"}, "VIRALITY_CHANGELOG_COMPACT_S \\(9\\) must be at least 10"),
])
def test_settings_that_failed_late_or_looped_are_refused_at_once(env, words) -> None:
    with pytest.raises(SettingsError, match=words):
        Settings.from_env(env)


def test_the_bounds_themselves_are_accepted() -> None:
    s = Settings.from_env({"VIRALITY_SESSION_TIMEOUT_S": "90", "VIRALITY_FLUSH_INTERVAL_S": "0.01",
                           "VIRALITY_SHUTDOWN_TIMEOUT_S": "3600", "VIRALITY_GC_GEN0": "10000000",
                           "VIRALITY_ANALYSIS_PROCESSES": "64", "VIRALITY_POSTS_TOPIC": "Posts_v2.eu-1",
                           "VIRALITY_CHANGELOG_COMPACT_S": "10"})
    assert (s.session_timeout_s, s.posts_topic) == (90.0, "Posts_v2.eu-1")
    assert s.changelog_topic_configs() == {"max.compaction.lag.ms": "10000", "delete.retention.ms": "10000"}
    assert Settings().changelog_topic_configs()["max.compaction.lag.ms"] == "600000"   # 10 minutes by default


def test_faust_is_given_no_environment_of_its_own(monkeypatch, caplog) -> None:
    """Faust reads BROKER_URL, TOPIC_PARTITIONS, CONSUMER_AUTO_OFFSET_RESET, ... itself, over the
    values the worker gives it: topics were made on VIRALITY_BROKER's cluster while the worker
    consumed from another, from 'latest'."""
    from prometheus_client import CollectorRegistry

    from streams.app import create_app

    monkeypatch.setenv("BROKER_URL", "kafka://other-cluster:9092")
    monkeypatch.setenv("TOPIC_PARTITIONS", "1")
    monkeypatch.setenv("CONSUMER_AUTO_OFFSET_RESET", "latest")
    with caplog.at_level("WARNING"):
        app = create_app(Settings(broker="kafka://127.0.0.1:9092", partitions=4), CollectorRegistry())
    assert [str(u) for u in app.conf.broker] == ["kafka://127.0.0.1:9092"]
    assert (app.conf.topic_partitions, app.conf.consumer_auto_offset_reset) == (4, "earliest")
    assert "ignored: BROKER_URL, CONSUMER_AUTO_OFFSET_RESET, TOPIC_PARTITIONS" in caplog.text
