"""Shadow rules in the daemon (docs/shadow.md): the shadow series and
/api/v1/shadow, a broken candidate reported and kept out, SIGHUP, and the
candidate edited while events flow without any live series changing."""
import json
import shutil
import signal
import subprocess
import threading

from conftest import BIN, event, parse_metrics, wait_for

LIVE = """category: sneakers
brands:
  - name: nike
    terms: [nike, "air max"]
  - name: adidas
    terms: [adidas]
  - name: puma
    terms: [puma]
"""
CAND_V1 = """category: sneakers
brands:
  - name: nike
    terms: [nike]
    exclude: [missile]
  - name: adidas
    terms: [adidas, "three stripes"]
  - name: reebok
    terms: [reebok]
"""
CAND_V2 = """category: sneakers
brands:
  - name: nike
    terms: [nike, "air max", airmax]
  - name: adidas
    terms: [adidas]
  - name: puma
    terms: [puma, "#puma"]
"""
BROKEN = "category: sneakers\nbrands:\n  - name: nike\n    terms: [nike\n"


def setup(tmp_path, reload="watch", live_reload="watch"):
    for d, text in (("rules", LIVE), ("candidate", CAND_V1)):
        (tmp_path / d).mkdir(exist_ok=True)
        (tmp_path / d / "sneakers.yaml").write_text(text)
    (tmp_path / "events.jsonl").write_text("")
    return f"""source:
  type: file
  file: {{paths: [events.jsonl], follow: true}}
rules: {{paths: [rules/], reload: {live_reload}}}
shadow: {{paths: [candidate/], reload: {reload}}}
platforms: [twitter, instagram]
http: {{listen: "127.0.0.1:0"}}
"""


def append(path, lines):
    with open(path, "a", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")


def key(name, **labels):
    """A series key as parse_metrics writes it (labels sorted)."""
    labels.setdefault("category", "sneakers")
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def total_events(m):
    return sum(v for k, v in m.items() if k.startswith("earshot_events_total{"))


def live_series(m):
    """Every series but the shadow's and the reload bookkeeping's."""
    return {k: v for k, v in m.items()
            if not k.startswith("earshot_shadow_")
            and not k.startswith("earshot_event_processing_seconds")
            and k.split("{")[0] in LIVE_RESULTS}


LIVE_RESULTS = {
    "earshot_mentions_total", "earshot_reach_total", "earshot_engagement_total",
    "earshot_views_total", "earshot_window_mentions", "earshot_window_reach",
    "earshot_window_engagement", "earshot_window_views", "earshot_share_of_voice_ratio",
    "earshot_topic_mentions_total", "earshot_sentiment_mentions_total", "earshot_events_total",
    "earshot_invalid_events_total", "earshot_series_overflow_total",
}


def test_shadow_series_and_api(tmp_path, daemon_factory):
    d = daemon_factory(setup(tmp_path))
    assert d.metric("earshot_shadow_last_reload_successful") == 1
    assert d.metric('earshot_shadow_rules_loaded{kind="brand"}') == 3
    long_text = "air max " + "é" * 300
    append(tmp_path / "events.jsonl", [
        event(1, "nike air max"), event(2, "air max only"), event(3, "three stripes", "instagram"),
        event(4, "the nike missile"), event(5, "puma and reebok"), event(6, long_text)])
    wait_for(lambda: total_events(d.metrics()) == 6, what="6 events")
    m = d.metrics()
    tw = {"platform": "twitter"}
    assert m[key("earshot_shadow_mentions_total", brand="nike", **tw)] == 1
    assert m[key("earshot_shadow_mentions_total", brand="reebok", **tw)] == 1
    assert m[key("earshot_shadow_mentions_total", brand="adidas", platform="instagram")] == 1
    assert m[key("earshot_shadow_changed_total", brand="nike", change="removed", **tw)] == 3  # 2, 4, 6
    assert m[key("earshot_shadow_changed_total", brand="puma", change="removed", **tw)] == 1
    assert m[key("earshot_shadow_changed_total", brand="reebok", change="added", **tw)] == 1
    assert m[key("earshot_shadow_changed_total", brand="adidas", change="added",
                 platform="instagram")] == 1
    assert m[key("earshot_shadow_window_mentions", brand="reebok", window="5m", **tw)] == 1
    # Window gauges and ratios list the candidate's brands only.
    assert key("earshot_shadow_window_mentions", brand="puma", window="5m", **tw) not in m
    ratio = "earshot_shadow_share_of_voice_ratio"
    assert m[key(ratio, basis="mentions", brand="nike", window="1h", **tw)] == 0.5
    assert m[key(ratio, basis="mentions", brand="adidas", window="1h", platform="all")] == 1 / 3
    # Live is what it is without a candidate: nike 1, 2, 4, 6.
    assert m[key("earshot_mentions_total", brand="nike", **tw)] == 4
    assert not any('brand="reebok"' in k for k in m if k.startswith("earshot_mentions_total{"))

    status, body = d.get("/api/v1/shadow?window=1h")
    assert status == 200, body
    doc = json.loads(body)
    brands = {b["brand"]: b for c in doc["categories"] for b in c["brands"]}
    assert set(brands) == {"nike", "adidas", "puma", "reebok"}
    nike = brands["nike"]
    assert (nike["live"], nike["candidate"], nike["added"], nike["removed"]) == (4, 1, 0, 3)
    assert nike["live_share"] == 4 / 5 and nike["candidate_share"] == 1 / 3
    removed = nike["samples"]["removed"]
    assert [x["id"] for x in removed] == ["6", "4", "2"]  # newest first
    assert removed[0]["text"] == ("air max " + "é" * 300)[:280]  # characters, not bytes
    assert removed[0]["fired"] == 'term "air max"' and removed[0]["platform"] == "twitter"
    assert brands["reebok"]["in_live"] is False and brands["reebok"]["live_share"] is None
    assert brands["puma"]["in_candidate"] is False and brands["puma"]["removed"] == 1
    assert d.get("/api/v1/shadow?window=2h")[0] == 400
    # The exposition with the shadow families is valid for Prometheus.
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required"
    check = subprocess.run([promtool, "check", "metrics"], input=d.get("/metrics")[1].encode(),
                           capture_output=True)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def test_without_shadow_config_the_api_is_404(tmp_path, daemon_factory):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "s.yaml").write_text(LIVE)
    (tmp_path / "events.jsonl").write_text("")
    d = daemon_factory("""source: {type: file, file: {paths: [events.jsonl], follow: true}}
rules: {paths: [rules/]}
http: {listen: "127.0.0.1:0"}
""")
    status, body = d.get("/api/v1/shadow")
    assert status == 404 and "shadow" in json.loads(body)["error"]
    assert not any(k.startswith("earshot_shadow_") for k in d.metrics())


def test_broken_candidate_is_reported_and_the_previous_one_stays(tmp_path, daemon_factory):
    d = daemon_factory(setup(tmp_path))
    cand = tmp_path / "candidate" / "sneakers.yaml"
    cand.write_text(BROKEN)
    wait_for(lambda: d.metric('earshot_shadow_reload_total{result="failure"}') == 1,
             what="failed candidate reload")
    assert d.metric("earshot_shadow_last_reload_successful") == 0
    assert d.metric("earshot_rules_last_reload_successful") == 1
    assert f"{cand}:5:1: YAML syntax error" in d.logs(), d.logs()
    assert "shadow rules: reload failed" in d.logs()
    # The previous candidate still counts (reebok is only in it), live too.
    append(tmp_path / "events.jsonl", [event(1, "reebok"), event(2, "adidas")])
    wait_for(lambda: d.metric(key("earshot_shadow_mentions_total", brand="reebok",
                                  platform="twitter")) == 1,
             what="previous candidate still active")
    assert d.metric(key("earshot_mentions_total", brand="adidas", platform="twitter")) == 1
    assert d.get("/readyz")[0] == 200
    # Fixed: loaded again.
    cand.write_text(CAND_V2)
    wait_for(lambda: d.metric("earshot_shadow_last_reload_successful") == 1, what="fixed candidate")


def test_a_candidate_that_never_loaded_does_not_stop_the_daemon(tmp_path, daemon_factory):
    cfg = setup(tmp_path)
    (tmp_path / "candidate" / "sneakers.yaml").write_text(BROKEN)
    d = daemon_factory(cfg)
    assert d.metric("earshot_shadow_last_reload_successful") == 0
    # Its size is 0 of each kind, and its HELP texts say whose it is.
    for kind in ("category", "brand", "topic", "term", "regex", "query"):
        assert d.metric(f'earshot_shadow_rules_loaded{{kind="{kind}"}}', None) == 0
    text = d.get("/metrics")[1]
    assert "# HELP earshot_shadow_reload_total Candidate (shadow) rule loads" in text
    assert "# HELP earshot_rules_reload_total Rule loads (start-up and reloads) by result." in text
    append(tmp_path / "events.jsonl", [event(1, "nike")])
    wait_for(lambda: d.metric(key("earshot_mentions_total", brand="nike", platform="twitter")) == 1,
             what="live counts without a candidate")
    doc = json.loads(d.get("/api/v1/shadow")[1])
    assert doc["loaded"] is False


def test_replay_stops_on_a_candidate_that_does_not_load(tmp_path):
    """Unlike `run`, `replay` exits 1 with the candidate's errors: its
    output is the comparison, and without the candidate it would be none."""
    setup(tmp_path)
    (tmp_path / "candidate" / "sneakers.yaml").write_text(BROKEN)
    (tmp_path / "events.jsonl").write_text(event(1, "nike") + "\n")
    cfg = tmp_path / "replay.yaml"
    cfg.write_text("rules: {paths: [rules/]}\nshadow: {paths: [candidate/]}\n")
    r = subprocess.run([BIN, "replay", "--config", str(cfg), "events.jsonl"], cwd=tmp_path,
                       capture_output=True, timeout=60)
    assert r.returncode == 1, r.stderr.decode()
    assert r.stdout == b""
    assert "candidate/sneakers.yaml:5:1: " in r.stderr.decode(), r.stderr.decode()
    # With the candidate fixed, the same replay prints both sets' series.
    (tmp_path / "candidate" / "sneakers.yaml").write_text(CAND_V1)
    r = subprocess.run([BIN, "replay", "--config", str(cfg), "events.jsonl"], cwd=tmp_path,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert "earshot_shadow_mentions_total{" in r.stdout.decode()


def test_sighup_reloads_the_candidate_even_with_live_reload_off(tmp_path, daemon_factory):
    d = daemon_factory(setup(tmp_path, reload="signal", live_reload="off"))
    (tmp_path / "candidate" / "sneakers.yaml").write_text(CAND_V2)
    (tmp_path / "rules" / "sneakers.yaml").write_text(CAND_V2)
    assert d.metric('earshot_shadow_reload_total{result="success"}') == 1  # no watcher
    assert d.metric('earshot_shadow_rules_loaded{kind="term"}') == 5  # CAND_V1's
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: d.metric('earshot_shadow_reload_total{result="success"}') == 2, what="SIGHUP reload")
    assert d.metric('earshot_rules_reload_total{result="success"}') == 1  # live reload is off
    assert d.metric('earshot_shadow_rules_loaded{kind="term"}') == 6  # CAND_V2's


def test_editing_the_candidate_while_events_flow_never_changes_live_series(tmp_path, daemon_factory):
    """Events stream in while the candidate file is rewritten (valid and
    broken versions in turn); every live series ends up exactly what a
    replay of the same events without any candidate gives."""
    d = daemon_factory(setup(tmp_path))
    cand = tmp_path / "candidate" / "sneakers.yaml"
    texts = ["nike air max", "adidas three stripes", "puma #puma", "reebok", "the nike missile",
             "airmax and adidas", "nothing here", "nike adidas puma"]
    fed = 0
    stop = threading.Event()

    def feeder():
        nonlocal fed
        i = 0
        while not stop.is_set() and i < 12000:
            batch = [event(f"f{i + k}", texts[(i + k) % len(texts)],
                           "instagram" if (i + k) % 3 == 0 else "twitter") for k in range(100)]
            append(tmp_path / "events.jsonl", batch)
            i += 100
            fed = i
            stop.wait(0.01)

    t = threading.Thread(target=feeder)
    t.start()
    snapshots = []
    try:
        versions = [CAND_V2, BROKEN, CAND_V1, CAND_V2, BROKEN, CAND_V1]
        for k, text in enumerate(versions):
            cand.write_text(text)
            wait_for(lambda: sum(d.metric(f'earshot_shadow_reload_total{{result="{r}"}}')
                                 for r in ("success", "failure")) >= k + 2,
                     what=f"candidate edit {k}")
            snapshots.append(d.metrics())
    finally:
        stop.set()
        t.join()
    wait_for(lambda: total_events(d.metrics()) == fed, timeout=60, what=f"{fed} events")
    m = d.metrics()
    assert m['earshot_shadow_reload_total{result="failure"}'] == 2
    # Live counters only ever grow during the edits.
    for before, after in zip(snapshots, snapshots[1:] + [m]):
        for k, v in before.items():
            if k.startswith("earshot_mentions_total{"):
                assert after.get(k, 0) >= v, k
    # The live series equal a replay without any candidate.
    cfg = tmp_path / "replay.yaml"
    cfg.write_text(f"rules: {{paths: [{tmp_path / 'rules'}]}}\nplatforms: [twitter, instagram]\n")
    r = subprocess.run([BIN, "replay", "--config", str(cfg), str(tmp_path / "events.jsonl")],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    want = parse_metrics(r.stdout.decode())
    got, exp = live_series(m), live_series(want)
    counters = lambda x: {k: v for k, v in x.items() if "_total{" in k}
    assert counters(got) == counters(exp)
    windowed = lambda x: {k: v for k, v in x.items() if 'window="1h"' in k}
    assert windowed(got) == windowed(exp)
    # And the shadow did run beside it.
    assert sum(v for k, v in m.items() if k.startswith("earshot_shadow_changed_total{")) > 0
