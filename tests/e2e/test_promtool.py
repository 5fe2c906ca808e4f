"""The shipped Prometheus files pass promtool: `check rules`, `check config`,
and the `test rules` unit tests, which must cover every recording rule and
every alert (each alert with at least one case that fires)."""

import subprocess

import yaml

from conftest import DEPLOY_PROM, require_tool

RULE_FILES = [DEPLOY_PROM / "earshot.rules.yml", DEPLOY_PROM / "earshot.alerts.yml"]
TEST_FILES = sorted((DEPLOY_PROM / "tests").glob("*.yml"))

CONTRACT_RECORDS = {
    "earshot:share_of_voice:ratio",
    "earshot:platform_leader:ratio",
    "earshot:mentions:rate5m",
}


def run(args):
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{' '.join(map(str, args))} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def rules_of(kind):
    out = []
    for f in RULE_FILES:
        for group in yaml.safe_load(f.read_text())["groups"]:
            out += [r[kind] for r in group["rules"] if kind in r]
    return out


def test_check_rules():
    promtool = require_tool("promtool")
    out = run([promtool, "check", "rules", *RULE_FILES])
    assert out.count("SUCCESS") == len(RULE_FILES)


def test_check_example_config():
    promtool = require_tool("promtool")
    run([promtool, "check", "config", DEPLOY_PROM / "prometheus.yml"])


def test_rule_unit_tests_pass():
    promtool = require_tool("promtool")
    assert TEST_FILES, "no promtool unit tests in deploy/prometheus/tests/"
    out = run([promtool, "test", "rules", *TEST_FILES])
    assert "FAILED" not in out


def test_contract_recording_rules_exist():
    assert CONTRACT_RECORDS <= set(rules_of("record"))


def test_every_rule_is_unit_tested():
    tests = [yaml.safe_load(f.read_text()) for f in TEST_FILES]
    exprs, fired, checked = [], set(), set()
    for doc in tests:
        for case in doc["tests"]:
            exprs += [t["expr"] for t in case.get("promql_expr_test", [])]
            for t in case.get("alert_rule_test", []):
                checked.add(t["alertname"])
                if t.get("exp_alerts"):
                    fired.add(t["alertname"])
    for record in set(rules_of("record")):
        assert any(record in e for e in exprs), f"recording rule {record} has no promql_expr_test"
    alerts = set(rules_of("alert"))
    assert alerts - fired == set(), f"alerts never tested firing: {sorted(alerts - fired)}"
    assert checked - alerts == set(), f"tests name unknown alerts: {sorted(checked - alerts)}"
