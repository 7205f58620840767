"""On-call path, for real: broker + worker + Prometheus + Alertmanager + a webhook receiver.

A viral complaint is replayed into ``posts``; the test shows that Prometheus scrapes the worker, that
every query of every Grafana panel returns data, and that the ViralComplaint alert fires and reaches
the webhook through Alertmanager with the right labels. It prints the time from the first share being
produced to the webhook notification.
"""
from __future__ import annotations

import importlib.util
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests import promstack
from tests.factories import COMPLAINT_SV, by_time, cascade, chatter
from tests.integration.conftest import ROOT, Names, consume, create_topics, keyed, produce

pytestmark = pytest.mark.integration

if promstack.find_binary(*promstack.PROMETHEUS_NAMES) is None or promstack.find_binary(*promstack.ALERTMANAGER_NAMES) is None:
    pytestmark = [pytestmark, pytest.mark.skip(reason="prometheus/alertmanager not installed: run scripts/setup")]


def _check_dashboards():
    spec = importlib.util.spec_from_file_location("check_dashboards_e2e", ROOT / "scripts" / "check_dashboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Webhook:
    """A webhook receiver on a free loopback port that records what Alertmanager posts."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append((time.monotonic(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self) -> list[tuple[float, dict]]:
        return [(t, a) for t, payload in self.received for a in payload.get("alerts", [])]

    def close(self) -> None:
        self.server.shutdown()


def test_viral_complaint_pages_on_call_and_every_panel_has_data(start_worker, tmp_path: Path) -> None:
    names = Names(partitions=2)
    now_ms = int(time.time() * 1000)
    start = now_ms - 50 * 60_000
    # the first 45 minutes of a complaint cascade: it opens and escalates, and stays open
    viral = [e for e in cascade("sj-e2e", COMPLAINT_SV, "sv", 2500, start_ms=start, brands=["sj"], seed=21,
                                reply_every=12, reply_texts=["SJ är värdelösa, försenat igen", "Ingen ersättning, skandal"])
             if e["created_at"] <= start + 45 * 60_000]
    background = chatter(80, start_ms=start - 3 * 3600 * 1000 + 50 * 60_000, seed=22)
    background = [e for e in background if e["created_at"] <= now_ms - 60_000]
    events = by_time(viral + background)

    hook = Webhook()
    stops = []
    try:
        am_config = (ROOT / "prometheus" / "alertmanager.yml").read_text().replace("http://127.0.0.1:9099/hook", hook.url)
        assert hook.url in am_config
        am_url, stop = promstack.start_alertmanager(am_config, tmp_path)
        stops.append(stop)
        prom_config = promstack.loopback_prometheus_config(
            (ROOT / "prometheus" / "prometheus.yml").read_text(),
            {"virality": [f"127.0.0.1:{names.metrics_port}"]}, am_url.split("//")[1], scrape_interval="1s")
        prom_url, stop = promstack.start_prometheus(prom_config, ROOT / "prometheus" / "rules", tmp_path)
        stops.append(stop)

        create_topics(names)
        worker = start_worker(names)
        promstack.wait_for(lambda: promstack.prometheus_query(prom_url, 'up{job="virality"} == 1')["data"]["result"],
                           30, what="Prometheus to scrape the worker")

        t_first_share = time.monotonic()
        produce(names.posts, keyed(events) + [(b"bad", b"{not json")])
        worker.wait_processed(len(events) + 1)

        def paged() -> bool:
            return any(a["labels"].get("alertname") == "ViralComplaint" for _, a in hook.alerts())
        promstack.wait_for(paged, 180, interval=0.5, what="the ViralComplaint notification at the webhook")
        t_hook, page = next((t, a) for t, a in hook.alerts() if a["labels"]["alertname"] == "ViralComplaint")
        print(f"\nfirst share produced -> webhook notification: {t_hook - t_first_share:.1f}s "
              f"(rule `for: 1m`, scrape and evaluation every 1s here, Alertmanager group_wait as configured)")
        labels = page["labels"]
        assert labels["alert_id"] == "viral_complaint:sj-e2e:1"
        # a ready worker is not restoring tables, and Prometheus has the series TableRecoveryStuck reads
        assert "\nvirality_table_recovery_seconds 0.0\n" in worker.metrics()
        assert promstack.prometheus_query(prom_url, "virality_table_recovery_seconds == 0")["data"]["result"]
        # the series NoEventsIngested reads for a worker that has accepted nothing since it started
        assert promstack.prometheus_query(prom_url, 'process_start_time_seconds{job="virality"}')["data"]["result"]
        assert labels["brand"] == "sj" and labels["service"] == "virality"
        assert labels["severity"] in ("warning", "critical")
        assert page["status"] == "firing" and page["annotations"]["summary"]

        # the worker's own complaint storm about sj (the cascade's complaint replies) pages too:
        # ComplaintStorm mirrors the brand alert the worker sent to the alert topic
        def storm() -> dict | None:
            return next((a for _, a in hook.alerts() if a["labels"].get("alertname") == "ComplaintStorm"), None)
        promstack.wait_for(storm, 120, interval=0.5, what="the ComplaintStorm notification at the webhook")
        storm_labels = storm()["labels"]
        assert storm_labels["alert_id"].startswith("complaint_storm:sj:") and storm_labels["brand"] == "sj", storm_labels
        sent = consume(names.alerts, lambda out: any(a["alert_id"] == storm_labels["alert_id"] for a in out), 30)
        assert any(a["alert_id"] == storm_labels["alert_id"] for a in sent), (storm_labels, sorted({a["alert_id"] for a in sent}))

        cd = _check_dashboards()
        variables = {"alert_id": "viral_complaint:sj-e2e:1", "brand": ["sj"], "lang": ["sv", "und"]}

        def all_have_data():
            results = cd.check_queries_detailed(prom_url, ROOT / "grafana" / "dashboards", variables)
            return results, [(r.panel, r.expr, err) for r, err in results if not r.ok or r.n_series == 0]

        deadline = time.monotonic() + 60
        results, missing = all_have_data()
        while missing and time.monotonic() < deadline:
            time.sleep(2)
            results, missing = all_have_data()
        assert len(results) >= 20
        assert not missing, "panels without data:\n" + "\n".join(map(str, missing))
        assert worker.stop() == 0
    finally:
        for stop in reversed(stops):
            stop()
        hook.close()
