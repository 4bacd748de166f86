"""`deploy/grafana/`, checked offline against the code: the dashboard and the alert rules
name only metrics the services export, the dashboard shows every one of them, the rules
have the shape Prometheus loads and the alerts the operators were promised; with
`promtool` installed (Debian's `prometheus` package), the rules, their unit tests
(`alerts.test.yaml`) and the example scrape configuration are checked by it too."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowmaestro.runtime.metrics import exported_names

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "flowmaestro-dashboard.json"
ALERTS = GRAFANA / "alerts.yaml"

PROMETHEUS_OWN = {"up"}
"""Series Prometheus makes itself for each scrape target."""

_KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan", "le",
}  # fmt: skip

EXPECTED_ALERTS = {
    "FlowMaestroApiErrorRate",
    "FlowMaestroApiSlow",
    "FlowMaestroCommandBacklogGrowing",
    "FlowMaestroExecutorRestarts",
    "FlowMaestroNatsUnreachable",
    "FlowMaestroPostgresUnreachable",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a Grafana query using `$variables`) reads:
    identifiers that are neither functions, keywords, label names nor durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\$\{?\w+\}?", "", text)  # dashboard variables
    names = set()
    for match in re.finditer(r"(?<![\w.$])([A-Za-z_:][\w:]*)\s*(\()?", text):
        name, call = match.group(1), match.group(2)
        if not call and name not in _KEYWORDS:
            names.add(name)
    return names


def test_the_name_scanner_reads_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{status=~"5.."}[5m])))'
        " / clamp_min(sum(rate(b_total[5m] offset 1h)), 1e-9) > bool 1 and on (x) c"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p.get("type") != "row"]


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_dashboard_names_only_exported_metrics_and_shows_them_all() -> None:
    exported = exported_names()
    dashboard = _dashboard()
    assert dashboard["uid"] == "flowmaestro" and dashboard["title"]
    panels = _panels(dashboard)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    shown: set[str] = set()
    for panel in panels:
        assert panel["title"] and panel["targets"], panel
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, target["expr"]
            assert names <= exported, f"{panel['title']}: {names - exported} not exported"
            shown |= names
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = re.fullmatch(r"label_values\((\w+), *(\w+)\)", variable["query"]["query"])
            assert query and query.group(1) in exported, variable
    families = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in exported}
    shown_families = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in shown}
    assert families - shown_families == set(), "every exported metric has a panel"


def test_alert_rules_have_prometheus_shape_and_name_exported_metrics() -> None:
    exported = exported_names() | PROMETHEUS_OWN
    document = yaml.safe_load(ALERTS.read_text())
    assert set(document) == {"groups"}
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["name"]
    rules = _rules()
    assert {rule["alert"] for rule in rules} >= EXPECTED_ALERTS
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
        assert re.fullmatch(r"[A-Z][A-Za-z]+", rule["alert"])
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        names = metric_names(rule["expr"])
        assert names and names <= exported, f"{rule['alert']}: {names - exported}"


def test_alert_thresholds_are_the_promised_ones() -> None:
    rules = {rule["alert"]: " ".join(rule["expr"].split()) for rule in _rules()}
    assert 'status=~"5.."' in rules["FlowMaestroApiErrorRate"]
    assert rules["FlowMaestroApiErrorRate"].endswith("> 0.01")
    assert rules["FlowMaestroApiSlow"].startswith("histogram_quantile(0.95,")
    assert rules["FlowMaestroApiSlow"].endswith("> 1")
    backlog = next(r for r in _rules() if r["alert"] == "FlowMaestroCommandBacklogGrowing")
    assert "deriv(flowmaestro_command_backlog[5m])" in backlog["expr"] and backlog["for"] == "5m"
    assert 'dependency="nats"' in rules["FlowMaestroNatsUnreachable"]
    assert 'dependency="postgres"' in rules["FlowMaestroPostgresUnreachable"]
    assert 'service="executors"' in rules["FlowMaestroExecutorRestarts"]


_PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(_PROMTOOL is None, reason="promtool is not installed")
@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", "alerts.yaml"],
        ["test", "rules", "alerts.test.yaml"],
        ["check", "config", "prometheus.yaml"],
    ],
)
def test_promtool_accepts_the_rules_their_tests_and_the_config(args: list[str]) -> None:
    assert _PROMTOOL is not None
    done = subprocess.run(
        [_PROMTOOL, *args], cwd=GRAFANA, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
