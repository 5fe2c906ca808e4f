"""The Grafana dashboard: valid JSON, every panel query is valid PromQL (as
promtool parses it) over earshot's own metrics and recording rules only, and
every variable a query uses is defined."""

import json
import re
import subprocess

import pytest
import yaml

from conftest import (DEPLOY_PROM, EARSHOT_METRICS, EARSHOT_SHADOW_METRICS, SIGNAL_METRICS,
                      SOURCE_DIR, require_tool)

DASHBOARD = SOURCE_DIR / "deploy" / "grafana" / "earshot-dashboard.json"

GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__range_s", "__interval_ms"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
            "and", "or", "unless", "inf", "nan"}
# Stand-ins for the variables when handing a query to promtool.
SAMPLE_VALUES = {"window": "5m", "category": "sneakers", "basis": "mentions",
                 "__rate_interval": "1m", "__interval": "15s", "__range": "1h"}


def recorded_names():
    names = set()
    for f in ("earshot.rules.yml",):
        for g in yaml.safe_load((DEPLOY_PROM / f).read_text())["groups"]:
            names |= {r["record"] for r in g["rules"] if "record" in r}
    return names


@pytest.fixture(scope="module")
def dashboard():
    return json.loads(DASHBOARD.read_text())


def all_panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def queries(dash):
    out = []
    for p in all_panels(dash):
        for t in p.get("targets", []):
            out.append((p["title"], t["expr"]))
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            out.append((f"variable {v['name']}", v["definition"]))
    return out


VAR = re.compile(r"\$\{?(\w+)\}?")


def metric_names(expr):
    """The series names an expression selects (label_values(...) included)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)           # string literals
    e = re.sub(r"\{[^}]*\}", "", e)                          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                         # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\blabel_values\s*\(\s*([\w:]+)\s*,\s*\w+\s*\)", r" \1 ", e)
    e = VAR.sub(" ", e)
    e = re.sub(r"\b\d+(\.\d+)?(ms|[smhdwy])?\b", " ", e)          # numbers, durations
    names = set()
    for m in re.finditer(r"[A-Za-z_:][\w:]*", e):
        word, rest = m.group(0), e[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS:
            continue  # function call or keyword
        names.add(word)
    return names


def test_dashboard_shape(dashboard):
    assert dashboard["uid"] and dashboard["title"]
    panels = [p for p in all_panels(dashboard) if p["type"] != "row"]
    assert len(panels) >= 15
    ids = [p["id"] for p in all_panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in panels:
        assert p.get("targets"), f"panel {p['title']!r} has no query"
        assert p["datasource"]["uid"] == "${datasource}"
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in ("share of voice", "leader", "reach", "engagement", "mentions per minute",
                  "net sentiment", "topics", "throughput", "invalid", "lag", "reload"):
        assert topic in titles, f"no panel about {topic}"


def test_variables(dashboard):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    for name in ("window", "category", "basis"):
        assert name in variables
        assert variables[name]["definition"].startswith("label_values(earshot:share_of_voice:ratio")
        assert variables[name]["definition"].rstrip().endswith(f", {name})")
    used = set()
    for _, expr in queries(dashboard):
        used |= set(VAR.findall(expr))
    for p in all_panels(dashboard):
        used |= set(VAR.findall(p["title"]))
    undefined = used - set(variables) - GRAFANA_BUILTINS
    assert not undefined, f"queries use undefined variables: {undefined}"


def test_queries_use_only_earshot_series(dashboard):
    allowed = EARSHOT_METRICS | EARSHOT_SHADOW_METRICS | SIGNAL_METRICS | recorded_names()
    for where, expr in queries(dashboard):
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        assert names <= allowed, f"{where}: {expr!r} uses {sorted(names - allowed)}"
    # Every contract recording rule is on the dashboard.
    used = set().union(*(metric_names(e) for _, e in queries(dashboard)))
    assert {"earshot:share_of_voice:ratio", "earshot:platform_leader:ratio",
            "earshot:mentions:rate5m"} <= used


def test_queries_parse(dashboard, tmp_path):
    """promtool check rules parses each panel query as a recording rule."""
    promtool = require_tool("promtool")
    rules = []
    for i, (where, expr) in enumerate(queries(dashboard)):
        if where.startswith("variable "):
            continue  # label_values() is Grafana's, not PromQL
        concrete = VAR.sub(lambda m: SAMPLE_VALUES[m.group(1)], expr)
        rules.append({"record": f"dashboard:query_{i}", "expr": concrete})
    f = tmp_path / "dashboard_queries.yml"
    f.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    r = subprocess.run([promtool, "check", "rules", str(f)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
