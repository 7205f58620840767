"""The Grafana dashboards: structure, and every query run against a real Prometheus.

The live tests start ``prometheus`` on a free loopback port with the repository's
prometheus.yml (targets rewritten) and rules, scraping a prometheus_client server in this
module that exposes every worker metric with synthetic values that move between scrapes.
"""
from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import promstack  # noqa: E402

DASHBOARDS = ROOT / "grafana" / "dashboards"
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROMETHEUS_YML = ROOT / "prometheus" / "prometheus.yml"
RULES_DIR = ROOT / "prometheus" / "rules"


def _load_check_dashboards():
    spec = importlib.util.spec_from_file_location("check_dashboards", ROOT / "scripts" / "check_dashboards.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_dashboards", module)
    spec.loader.exec_module(module)
    return module


cd = _load_check_dashboards()

# The worker's metric contract (streams/metrics.py); the exporter below serves all of them.
WORKER_METRICS = {
    "virality_events_consumed_total", "virality_events_rejected_total",
    "virality_processing_lag_seconds", "virality_detection_latency_seconds",
    "virality_active_cascades", "virality_live_cascades",
    "virality_cascades_evicted_total", "virality_cascades_expired_total", "virality_cascades_loaded_total",
    "virality_top_cascade_velocity_per_min", "virality_top_cascade_shares",
    "virality_top_cascade_predicted_final_shares",
    "virality_alert_cascade_velocity_per_min", "virality_alert_cascade_shares",
    "virality_alert_cascade_predicted_final_shares", "virality_alert_cascade_predicted_low",
    "virality_alert_cascade_predicted_high",
    "virality_alert_brand_complaints", "virality_alert_brand_texts", "virality_alert_brand_complaint_share",
    "virality_alert_brand_sentiment",
    "virality_brand_sentiment", "virality_brand_complaint_share", "virality_brand_events_total",
    "virality_alerts_total", "virality_open_alerts", "virality_kafka_consumer_lag_messages",
    "virality_last_event_timestamp_seconds", "virality_build_info", "virality_table_recovery_seconds",
    "virality_texts_analysed_ahead_total", "virality_brand_untracked_events_total",
    "virality_kafka_client_errors_total", "virality_states_unreadable_total", "virality_events_reread_total",
    "virality_events_past_log_end_total", "virality_brand_events_late_total", "virality_state_age_seconds",
    "virality_kafka_records_read_total",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

ALERT_ID = "a-complaint-1"
# a root id as producers may send it: quotes, a backslash, a line break and braces
ODD_ALERT_ID = 'viral_complaint:it\'s "odd" \\ {x}\nnext:1'
VARIABLES = {
    "alert_id": ALERT_ID,
    "brand": ["sj", "volvo"],  # multi-value: exercises Grafana's (a|b) regex format
    "lang": ["sv", "en", "und"],
    # 1 s scrapes in the test: a rate window of 30 s holds many samples
    "__rate_interval": "30s",
    "__interval": "5s",
}


# ---------------------------------------------------------------- structure (no binaries)

def _dashboards() -> dict[str, dict]:
    boards = cd.load_dashboards(DASHBOARDS)
    assert set(boards) == {"overview.json", "oncall.json"}, boards.keys()
    return boards


def _datasource_uid() -> str:
    import yaml

    return yaml.safe_load(DATASOURCES.read_text())["datasources"][0]["uid"]


def test_every_panel_has_a_datasource_and_a_query():
    uid = _datasource_uid()
    problems = []
    for name, board in _dashboards().items():
        panels = list(cd.iter_panels(board))
        assert panels, f"{name} has no panels"
        for _, panel in panels:
            title = f"{name}: {panel.get('title')}"
            if panel.get("datasource", {}).get("uid") != uid:
                problems.append(f"{title}: datasource is not {uid}")
            targets = [t for t in panel.get("targets", []) if t.get("expr", "").strip()]
            if not targets:
                problems.append(f"{title}: no query")
            for t in panel.get("targets", []):
                if t.get("datasource", {}).get("uid") != uid:
                    problems.append(f"{title} [{t.get('refId')}]: target datasource is not {uid}")
            refs = [t.get("refId") for t in panel.get("targets", [])]
            if len(refs) != len(set(refs)):
                problems.append(f"{title}: duplicate refId {refs}")
    assert not problems, "\n".join(problems)


def test_dashboards_have_unique_uids_ids_and_titles():
    boards = _dashboards()
    assert {b["uid"] for b in boards.values()} == {"virality-overview", "virality-oncall"}
    for name, board in boards.items():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        titles = [p["title"] for _, p in cd.iter_panels(board)]
        assert len(titles) == len(set(titles)), f"{name}: duplicate panel titles"


def test_oncall_board_is_driven_by_alert_id():
    board = _dashboards()["oncall.json"]
    variables = dict(cd.variable_queries(board))
    assert variables == {"alert_id": "label_values(virality_alert_cascade_shares, alert_id)"}
    exprs = " ".join(q.expr for q in cd.panel_queries("oncall.json", board))
    for metric in ("velocity_per_min", "shares", "predicted_final_shares", "predicted_low", "predicted_high"):
        assert f"virality_alert_cascade_{metric}{{alert_id=${{alert_id:json}}}}" in exprs, metric
    # every panel is about the chosen alert, the id as a quoted, escaped string (Grafana's json
    # format): the default escaping for a single-value variable in a Prometheus query turns ' into
    # \\' (meant for regexes in single quotes), and the id inserted raw between quotes broke the query
    # on a " or a \\ (root ids come from producers)
    for q in cd.panel_queries("oncall.json", board):
        assert "alert_id=${alert_id:json}" in q.expr, q


def test_alert_links_point_at_existing_dashboards():
    # Rule annotations and dashboard links must use the real uids, or on-call lands on a 404.
    uids = {b["uid"] for b in _dashboards().values()}
    texts = [(RULES_DIR / "virality.yml").read_text()] + [p.read_text() for p in DASHBOARDS.glob("*.json")]
    linked = {m for text in texts for m in re.findall(r"/d/([\w-]+)/", text)}
    assert linked and linked <= uids, linked - uids


def _recording_rules() -> set[str]:
    import yaml

    groups = yaml.safe_load((RULES_DIR / "virality.yml").read_text())["groups"]
    return {r["record"] for g in groups for r in g["rules"] if "record" in r}


def test_queries_use_only_known_metrics_and_variables():
    known = set(WORKER_METRICS) | {m + s for m in WORKER_METRICS for s in HISTOGRAM_SUFFIXES}
    known |= _recording_rules() | {"up", "ALERTS"}
    problems = []
    for name, board in _dashboards().items():
        defined = {v["name"] for v in board["templating"]["list"]} | set(cd.BUILTIN_VARIABLES)
        for q in cd.panel_queries(name, board):
            unquoted = re.sub(r'"[^"]*"', '""', q.expr)  # label values are not metric names
            for metric in re.findall(r"\b([\w:]*virality[\w:]*)", unquoted):
                if metric not in known:
                    problems.append(f"{name} {q.panel}: unknown metric {metric}")
            for var in re.findall(r"\$\{?(\w+)", q.expr):
                if var not in defined:
                    problems.append(f"{name} {q.panel}: undefined variable ${var}")
    assert not problems, "\n".join(problems)


def test_substitute_formats_like_grafana():
    assert cd.substitute('x{a=~"$v"}[$__rate_interval]', {"v": ["a.b", "c"]}) == r'x{a=~"(a\.b|c)"}[1m]'
    assert cd.substitute('x{a="${v}"}', {"v": "one"}) == 'x{a="one"}'
    assert cd.substitute('x{a="[[v:raw]]"}', {"v": ["p", "q"]}) == 'x{a="p,q"}'
    with pytest.raises(cd.UnknownVariable):
        cd.substitute('x{a="$nope"}', {})
    # a board's "All" goes in as it is, in any format (Grafana does not escape allValue)
    assert cd.substitute('x{a=~"${v:regex}", b=~"$v"}', {"v": cd.AllValue(".*")}) == 'x{a=~".*", b=~".*"}'


def test_variables_not_given_take_the_boards_all_value():
    """docs/operations.md runs the check with only --var alert_id: $brand and $lang must take the
    board's All (before 2026-11-24 their 15 queries failed with 'no value for $brand')."""
    overview = _dashboards()["overview.json"]
    assert cd.all_values(overview) == {"brand": ".*", "lang": ".*"}
    exprs = [cd.substitute(q.expr, cd.all_values(overview)) for q in cd.panel_queries("overview.json", overview)]
    assert any('brand=~".*"' in e for e in exprs)


# ---------------------------------------------------------------- live: a real Prometheus

class SyntheticWorker:
    """Every worker metric, with values that move with time so rate() is not zero."""

    def __init__(self):
        self.t0 = time.time()

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        k = max(1.0, (time.time() - self.t0) * 10)  # grows ~10 per second

        consumed = CounterMetricFamily("virality_events_consumed", "events", labels=["kind", "lang"])
        for i, (kind, lang) in enumerate([("post", "sv"), ("share", "sv"), ("share", "en"), ("reply", "und")]):
            consumed.add_metric([kind, lang], k * (i + 1))
        yield consumed
        rejected = CounterMetricFamily("virality_events_rejected", "rejects", labels=["reason"])
        rejected.add_metric(["malformed_json"], k / 10)
        rejected.add_metric(["duplicate"], k / 20)
        yield rejected
        for name in ("virality_processing_lag_seconds", "virality_detection_latency_seconds"):
            h = HistogramMetricFamily(name, "latency")
            h.add_metric([], [("0.5", k), ("1.0", 2 * k), ("5.0", 3 * k), ("+Inf", 3 * k)], sum_value=4 * k)
            yield h
        g = GaugeMetricFamily("virality_active_cascades", "cascades")
        g.add_metric([], 42)
        yield g
        g = GaugeMetricFamily("virality_live_cascades", "in memory")
        g.add_metric([], 12)
        yield g
        g = GaugeMetricFamily("virality_table_recovery_seconds", "restoring")
        g.add_metric([], 0.0)
        yield g
        c = CounterMetricFamily("virality_texts_analysed_ahead", "ahead")
        c.add_metric([], k)
        yield c
        c = CounterMetricFamily("virality_kafka_client_errors", "client errors")
        c.add_metric([], k / 50)
        yield c
        for name in ("virality_cascades_evicted", "virality_cascades_expired", "virality_cascades_loaded"):
            c = CounterMetricFamily(name, name)
            c.add_metric([], k)
            yield c
        for name, base in (("velocity_per_min", 100), ("shares", 1000), ("predicted_final_shares", 5000)):
            g = GaugeMetricFamily(f"virality_top_cascade_{name}", name, labels=["rank", "brand"])
            for rank, brand in enumerate(["sj", "volvo", "ikea"], start=1):
                g.add_metric([str(rank), brand], base / rank)
            yield g
        alerts = [(ALERT_ID, "viral_complaint", "escalated", "sj"), ("a-praise-1", "viral_praise", "open", "volvo"),
                  (ODD_ALERT_ID, "viral_complaint", "open", "sj")]
        for name, base in (("velocity_per_min", 50), ("shares", 800), ("predicted_final_shares", 4000),
                           ("predicted_low", 2500), ("predicted_high", 7000)):
            g = GaugeMetricFamily(f"virality_alert_cascade_{name}", name, labels=["alert_id", "type", "state", "brand"])
            for a in alerts:
                g.add_metric(list(a), base)
            yield g
        for name, value in (("complaints", 41), ("texts", 60), ("complaint_share", 0.68), ("sentiment", -0.5)):
            g = GaugeMetricFamily(f"virality_alert_brand_{name}", name, labels=["alert_id", "type", "state", "brand"])
            g.add_metric(["complaint_storm:sj:1", "complaint_storm", "escalated", "sj"], value)
            yield g
        for name, values in (("virality_brand_sentiment", {"sj": -0.4, "volvo": 0.5, "ikea": 0.1}),
                             ("virality_brand_complaint_share", {"sj": 0.7, "volvo": 0.1, "ikea": 0.3})):
            g = GaugeMetricFamily(name, name, labels=["brand"])
            for brand, v in values.items():
                g.add_metric([brand], v)
            yield g
        c = CounterMetricFamily("virality_brand_events", "brand events", labels=["brand", "lang"])
        for brand, lang in (("sj", "sv"), ("sj", "en"), ("volvo", "sv"), ("volvo", "und"), ("ikea", "sv")):
            c.add_metric([brand, lang], k)
        yield c
        c = CounterMetricFamily("virality_alerts", "alerts", labels=["type", "state", "severity"])
        c.add_metric(["viral_complaint", "open", "warning"], k / 5)
        c.add_metric(["viral_complaint", "escalated", "critical"], k / 10)
        c.add_metric(["viral_praise", "open", "info"], k / 10)
        yield c
        g = GaugeMetricFamily("virality_open_alerts", "open", labels=["type", "severity"])
        g.add_metric(["viral_complaint", "critical"], 1)
        g.add_metric(["viral_praise", "info"], 1)
        yield g
        g = GaugeMetricFamily("virality_kafka_consumer_lag_messages", "lag", labels=["topic", "partition"])
        for p in range(3):
            g.add_metric(["posts", str(p)], 10 * p)
        yield g
        c = CounterMetricFamily("virality_kafka_records_read", "records read", labels=["topic", "partition"])
        for p in range(3):
            c.add_metric(["posts", str(p)], 20 * k)
        yield c
        g = GaugeMetricFamily("virality_last_event_timestamp_seconds", "last")
        g.add_metric([], time.time() - 1)
        yield g
        g = GaugeMetricFamily("virality_build_info", "build", labels=["version", "python", "faust", "app", "config"])
        g.add_metric(["0.0.0-test", "3.11", "0.15", "virality", "ee3d23b6"], 1)
        yield g
        c = CounterMetricFamily("virality_brand_events_late", "late brand events", labels=["stage"])
        c.add_metric(["partition"], k / 10)
        c.add_metric(["windows"], 0)
        yield c


@pytest.fixture(scope="module")
def exporter(request):
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    worker = SyntheticWorker()
    registry.register(worker)
    port = promstack.free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)

    def stop():
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    request.addfinalizer(stop)
    return f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def prometheus(request, exporter, tmp_path_factory):
    if promstack.find_binary(*promstack.PROMETHEUS_NAMES) is None:
        print("prometheus binary not on PATH: live dashboard checks skipped")
        pytest.skip("prometheus binary not on PATH")
    config = promstack.loopback_prometheus_config(PROMETHEUS_YML.read_text(), {"virality": [exporter]}, None)
    url, stop = promstack.start_prometheus(config, RULES_DIR, tmp_path_factory.mktemp("prom"))
    request.addfinalizer(stop)

    def ready():
        # two scrapes of the worker, and the rules have produced a pending/firing alert
        scrapes = promstack.prometheus_query(url, 'count_over_time(up{job="virality"}[1m]) >= 3')
        alerts = promstack.prometheus_query(url, 'ALERTS{alert_id="%s"}' % ALERT_ID)
        return all(a.get("status") == "success" and a["data"]["result"] for a in (scrapes, alerts))

    promstack.wait_for(ready, timeout=30, what="three scrapes and a rule evaluation")
    return url


def test_every_dashboard_query_returns_data(prometheus):
    detailed = cd.check_queries_detailed(prometheus, DASHBOARDS, VARIABLES)
    text, failures = cd.report(detailed, require_data=True)
    print(text)
    n_panels = sum(len(cd.panel_queries(n, b)) for n, b in _dashboards().items())
    assert len(detailed) == n_panels + 3  # plus the three variable queries
    assert failures == 0, text


def test_oncall_board_finds_an_alert_whose_id_has_quotes_and_backslashes(prometheus):
    """The id comes from a producer's root_id: with ``"${alert_id:raw}"`` a " or a \\ in it made every
    panel of the board a PromQL syntax error (or another alert's figures)."""
    board = {"oncall.json": _dashboards()["oncall.json"]}
    for q in cd.panel_queries("oncall.json", board["oncall.json"]):
        expr = cd.substitute(q.expr, {**VARIABLES, "alert_id": ODD_ALERT_ID})
        ok, n, err = cd.run_query(prometheus, expr)
        assert ok and n >= 1, (q.panel, expr, err)
        answer = promstack.prometheus_query(prometheus, expr)["data"]["result"]
        ids = {r["metric"].get("alert_id") for r in answer} - {None}
        assert ids <= {ODD_ALERT_ID}, ids
    # the same query with the id inserted raw (the board before) is no query at all
    raw = 'max(virality_alert_cascade_shares{alert_id="%s"})' % ODD_ALERT_ID
    assert not cd.run_query(prometheus, raw)[0]


def test_json_format_is_a_promql_string():
    assert cd.substitute("x{a=${v:json}}", {"v": 'it\'s "q" \\'}) == 'x{a="it\'s \\"q\\" \\\\"}'
    assert cd.substitute("${v:json}", {"v": ["a", "b"]}) == '["a","b"]'  # as JSON.stringify: no spaces


def test_check_queries_reports_broken_and_empty_queries(prometheus, tmp_path):
    # The checker must be able to fail: a syntax error, a metric nobody exposes, an unset variable.
    board = {"uid": "broken", "templating": {"list": []}, "panels": [
        {"type": "timeseries", "title": "syntax", "targets": [{"refId": "A", "expr": "sum(rate(virality_events_consumed_total[1m]"}]},
        {"type": "timeseries", "title": "missing", "targets": [{"refId": "A", "expr": "virality_no_such_metric"}]},
        {"type": "timeseries", "title": "unset", "targets": [{"refId": "A", "expr": 'up{job="$job"}'}]},
        {"type": "timeseries", "title": "fine", "targets": [{"refId": "A", "expr": 'up{job="virality"}'}]},
    ]}
    (tmp_path / "broken.json").write_text(json.dumps(board))
    results = {r.panel: r for r in cd.check_queries(prometheus, tmp_path, {})}
    assert [(r.ok, r.n_series) for r in results.values()] == [(False, 0), (True, 0), (False, 0), (True, 1)]
    panel, expr, ok, n_series = results["broken / fine [A]"]  # the lead's e2e unpacks 4-tuples
    assert (expr, ok, n_series) == ('up{job="virality"}', True, 1)


def test_the_metric_contract_is_what_the_worker_exposes():
    # the synthetic exporter above serves WORKER_METRICS; they must be the worker's own names
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from streams.metrics import Metrics, Snapshot

    registry = CollectorRegistry()
    metrics = Metrics(registry, changelogs=["app-cascades-changelog"], inputs=["posts", "posts.by-root"])
    metrics.state.publish(Snapshot(last_event_s=1.0))
    metrics.consumed.labels("share", "sv").inc()
    metrics.rejected.labels("duplicate").inc()
    metrics.brand_events.labels("sj", "sv").inc()
    metrics.alerts.labels("viral_complaint", "open", "warning").inc()
    names = set()
    for fam in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in fam.samples:
            name = sample.name
            if name.endswith("_created"):
                continue
            for suffix in HISTOGRAM_SUFFIXES:
                if name.endswith(suffix) and name[:-len(suffix)] in WORKER_METRICS:
                    name = name[:-len(suffix)]
            names.add(name)
    # per-cascade, per-brand and lag series exist only while there is such a cascade, brand or lag
    conditional = {m for m in WORKER_METRICS
                   if m.startswith(("virality_top_cascade_", "virality_alert_cascade_", "virality_alert_brand_"))}
    conditional |= {"virality_brand_sentiment", "virality_brand_complaint_share", "virality_open_alerts",
                    "virality_kafka_consumer_lag_messages", "virality_brand_untracked_events_total",
                    "virality_kafka_records_read_total"}   # (per assigned partition)
    assert names - WORKER_METRICS == set()
    assert WORKER_METRICS - conditional <= names, (WORKER_METRICS - conditional) - names
