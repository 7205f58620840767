#!/usr/bin/env python3
"""Run every query of the Grafana dashboards against a Prometheus and report per panel.

Grafana's template variables are substituted first: the built-in interval variables get
defaults (``$__rate_interval`` -> 1m, ``$__range`` -> 1h, ...), the dashboards' own
variables (``$brand``, ``$alert_id``) come from the caller. A list value becomes Grafana's
multi-value regex ``(a|b)``. Each variable's own query (``label_values(metric, label)``) is
checked too, so an empty drop-down shows up in the report.

    python scripts/check_dashboards.py --prometheus http://127.0.0.1:9090 \\
        --var alert_id=a-123 --var brand=sj --require-data

Library use (tests/streams/test_dashboards.py, the end-to-end test)::

    results = check_queries(url, "grafana/dashboards", {"alert_id": "a-123"})
    failed = [r for r in results if not r.ok or r.n_series == 0]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator, NamedTuple

DEFAULT_DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "grafana" / "dashboards"

#: Grafana's built-in variables, at values that suit a 15 s scrape interval.
BUILTIN_VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "30s",
    "__interval_ms": "30000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

# ${name}, ${name:format}, [[name]], [[name:format]], $name
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]|\$(\w+)")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$")


class PanelQuery(NamedTuple):
    """One query as written in a dashboard."""
    dashboard: str  # file name
    panel: str  # panel title, with the row it sits in
    ref_id: str
    expr: str


class QueryResult(NamedTuple):
    """One checked query: ``panel`` names dashboard, panel and refId; ``expr`` is substituted."""
    panel: str
    expr: str
    ok: bool
    n_series: int


class UnknownVariable(KeyError):
    pass


def load_dashboards(dashboards_dir: str | Path = DEFAULT_DASHBOARDS_DIR) -> dict[str, dict]:
    """File name -> dashboard model, for every ``*.json`` in ``dashboards_dir``."""
    out = {}
    for path in sorted(Path(dashboards_dir).glob("*.json")):
        model = json.loads(path.read_text())
        out[path.name] = model.get("dashboard", model)  # accept API exports too
    return out


def iter_panels(dashboard: dict) -> Iterator[tuple[str, dict]]:
    """(row title, panel) for every panel, including those inside collapsed rows; rows excluded."""
    row = ""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            row = panel.get("title", "")
            for inner in panel.get("panels", []):
                yield row, inner
        else:
            yield row, panel


def panel_queries(name: str, dashboard: dict) -> list[PanelQuery]:
    """Every Prometheus expression in the dashboard's panels."""
    out = []
    for row, panel in iter_panels(dashboard):
        title = f"{row} / {panel.get('title', '?')}" if row else panel.get("title", "?")
        for target in panel.get("targets", []):
            if target.get("expr"):
                out.append(PanelQuery(name, title, target.get("refId", "?"), target["expr"]))
    return out


def variable_queries(dashboard: dict) -> list[tuple[str, str]]:
    """(variable name, query) for the dashboard's query variables."""
    out = []
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        query = query or var.get("definition")
        if query:
            out.append((var["name"], query))
    return out


class AllValue(str):
    """A variable's custom "All" value (``allValue``): Grafana inserts it as it is, in any format."""


def all_values(dashboard: dict) -> dict[str, "AllValue"]:
    """Each variable's "All" value (``includeAll`` with an ``allValue``): what Grafana uses when
    nobody picks, so a query with no ``--var`` for it runs as the board opens."""
    return {var["name"]: AllValue(var["allValue"]) for var in dashboard.get("templating", {}).get("list", [])
            if var.get("includeAll") and isinstance(var.get("allValue"), str)}


def _format(value: str | list[str], fmt: str | None) -> str:
    if isinstance(value, AllValue):
        return str(value)
    values = [value] if isinstance(value, str) else list(value)
    if fmt == "json":
        # Grafana's JSON.stringify: a quoted string, with " and \ escaped (a PromQL string too)
        return json.dumps(value if isinstance(value, str) else values, ensure_ascii=False, separators=(",", ":"))
    if fmt == "raw" or fmt == "csv":
        return ",".join(values)
    if fmt == "pipe":
        return "|".join(values)
    if fmt == "regex" or (fmt is None and len(values) > 1):
        escaped = [re.sub(r"([\\.^$*+?()\[\]{}|])", r"\\\1", v) for v in values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    return values[0]


def substitute(expr: str, variables: dict[str, str | list[str]]) -> str:
    """``expr`` with Grafana variables replaced; raises UnknownVariable for any without a value."""
    values = {**BUILTIN_VARIABLES, **variables}

    def repl(m: re.Match) -> str:
        name = m.group(1) or m.group(3) or m.group(5)
        fmt = m.group(2) or m.group(4)
        if name not in values:
            raise UnknownVariable(name)
        return _format(values[name], fmt)

    return _VARIABLE.sub(repl, expr)


def _get_json(url: str, timeout: float = 10.0) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:  # Prometheus explains bad queries in a JSON body
        try:
            return json.loads(e.read())
        except ValueError:
            return {"status": "error", "error": str(e)}
    except (urllib.error.URLError, OSError, ValueError) as e:
        return {"status": "error", "error": str(e)}


def run_query(prometheus_url: str, expr: str) -> tuple[bool, int, str]:
    """Instant query; returns (status is success, number of series, error text)."""
    answer = _get_json(f"{prometheus_url.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    if answer.get("status") != "success":
        return False, 0, f"{answer.get('errorType', '')}: {answer.get('error', answer)}"
    data = answer["data"]
    n = len(data["result"]) if data["resultType"] in ("vector", "matrix") else 1
    return True, n, ""


def run_variable_query(prometheus_url: str, query: str) -> tuple[bool, int, str]:
    """A variable's ``label_values(...)`` (or a plain expression); returns (ok, number of values, error)."""
    m = _LABEL_VALUES.match(query)
    if not m:
        return run_query(prometheus_url, query.removeprefix("query_result(").removesuffix(")"))
    match, label = m.group(1), m.group(2)
    params = [("match[]", match)] if match else []
    answer = _get_json(f"{prometheus_url.rstrip('/')}/api/v1/label/{label}/values?" + urllib.parse.urlencode(params))
    if answer.get("status") != "success":
        return False, 0, str(answer.get("error", answer))
    return True, len(answer["data"]), ""


def check_queries_detailed(prometheus_url: str, dashboards_dir: str | Path = DEFAULT_DASHBOARDS_DIR,
                           variables: dict[str, str | list[str]] | None = None) -> list[tuple[QueryResult, str]]:
    """Like :func:`check_queries`, with the error text of each query ('' when it ran)."""
    given = variables or {}
    out: list[tuple[QueryResult, str]] = []
    for name, dashboard in load_dashboards(dashboards_dir).items():
        uid = dashboard.get("uid", name)
        # a variable not given takes the board's "All" (before 2026-11-24: 'no value for $brand')
        variables = {**all_values(dashboard), **given}
        for var, query in variable_queries(dashboard):
            try:
                expr = substitute(query, variables)
            except UnknownVariable as e:
                out.append((QueryResult(f"{uid} / variable ${var}", query, False, 0), f"no value for ${e.args[0]}"))
                continue
            ok, n, err = run_variable_query(prometheus_url, expr)
            out.append((QueryResult(f"{uid} / variable ${var}", expr, ok, n), err))
        for q in panel_queries(name, dashboard):
            label = f"{uid} / {q.panel} [{q.ref_id}]"
            try:
                expr = substitute(q.expr, variables)
            except UnknownVariable as e:
                out.append((QueryResult(label, q.expr, False, 0), f"no value for ${e.args[0]}"))
                continue
            ok, n, err = run_query(prometheus_url, expr)
            out.append((QueryResult(label, expr, ok, n), err))
    return out


def check_queries(prometheus_url: str, dashboards_dir: str | Path = DEFAULT_DASHBOARDS_DIR,
                  variables: dict[str, str | list[str]] | None = None) -> list[QueryResult]:
    """Run every dashboard query (and variable query) against ``prometheus_url``.

    Returns one ``QueryResult(panel, expr, ok, n_series)`` per query; ``ok`` is False when a
    variable has no value or Prometheus rejects the query.
    """
    return [r for r, _ in check_queries_detailed(prometheus_url, dashboards_dir, variables)]


def report(results: list[tuple[QueryResult, str]], require_data: bool) -> tuple[str, int]:
    """Text report and number of failures (errors, and empty results when ``require_data``)."""
    lines, failures = [], 0
    for r, err in results:
        bad = not r.ok or (require_data and r.n_series == 0)
        failures += bad
        status = "FAIL" if bad else ("ok" if r.n_series else "empty")
        lines.append(f"{status:5} {r.n_series:4}  {r.panel}")
        if bad or status == "empty":
            lines.append(f"             {r.expr}")
        if err:
            lines.append(f"             {err}")
    lines.append(f"{len(results)} queries, {failures} failed")
    return "\n".join(lines), failures


def _parse_var(text: str) -> tuple[str, str | list[str]]:
    name, _, value = text.partition("=")
    return name, value.split(",") if "," in value else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus base URL")
    parser.add_argument("--dashboards", default=str(DEFAULT_DASHBOARDS_DIR), help="directory of dashboard JSON")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="template variable value (comma-separated for several); repeatable")
    parser.add_argument("--require-data", action="store_true", help="count empty results as failures")
    args = parser.parse_args(argv)
    variables = dict(_parse_var(v) for v in args.var)
    text, failures = report(check_queries_detailed(args.prometheus, args.dashboards, variables), args.require_data)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
