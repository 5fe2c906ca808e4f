"""Signals on the Grafana dashboard (docs/signals.md): the panels of ids
200-209 form one block after the core panels (ids below 100; the shadow,
signals and audience sections each append their own block), the spike-score panel has an annotation at each raise,
and the annotation query parses and reads earshot's own series."""

import json
import subprocess

import yaml

from conftest import SIGNAL_METRICS, SOURCE_DIR, require_tool
from test_dashboard import VAR, SAMPLE_VALUES, metric_names

DASHBOARD = SOURCE_DIR / "deploy" / "grafana" / "earshot-dashboard.json"


def load():
    return json.loads(DASHBOARD.read_text())


def test_signals_panels_are_appended_with_their_ids():
    d = load()
    ids = [p["id"] for p in d["panels"]]
    mine = [i for i in ids if 200 <= i <= 209]
    assert mine, "no signals panels (ids 200-209)"
    start = ids.index(mine[0])
    assert ids[start:start + len(mine)] == mine, "signals panels (ids 200-209) form one block"
    core = [i for i in ids if i < 100]
    assert ids.index(core[-1]) < start, "signals panels come after the core panels"
    panels = {p["id"]: p for p in d["panels"]}
    assert panels[200]["type"] == "row" and panels[200]["title"] == "Signals"
    score = panels[201]
    assert "earshot_spike_score" in score["targets"][0]["expr"]
    # Below the panels before them.
    before = d["panels"][:start]
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in before)
    assert all(panels[i]["gridPos"]["y"] >= bottom for i in mine)
    used = set().union(*(metric_names(t["expr"]) for i in mine for t in panels[i].get("targets", [])))
    assert {"earshot_spike_score", "earshot_spike_active", "earshot_spikes_total"} <= used


def test_spike_raises_are_annotated_on_the_score_panel(tmp_path):
    d = load()
    spikes = [a for a in d["annotations"]["list"] if "earshot_spikes_total" in a.get("expr", "")]
    assert len(spikes) == 1
    a = spikes[0]
    assert a["enable"] and a["datasource"]["uid"] == "${datasource}"
    assert a["filter"] == {"exclude": False, "ids": [201]}
    assert metric_names(a["expr"]) <= SIGNAL_METRICS
    promtool = require_tool("promtool")
    concrete = VAR.sub(lambda m: SAMPLE_VALUES[m.group(1)], a["expr"])
    f = tmp_path / "annotation.yml"
    f.write_text(yaml.safe_dump({"groups": [{"name": "a", "rules": [
        {"record": "dashboard:annotation", "expr": concrete}]}]}))
    r = subprocess.run([promtool, "check", "rules", str(f)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
