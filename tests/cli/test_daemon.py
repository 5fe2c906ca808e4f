"""`earshot run`: endpoints, SIGTERM, and hot reload of rules (watched edit,
rename-style save, broken edit kept out, SIGHUP, reload under a stream)."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import event, wait_for

RULES_V1 = """category: sneakers
brands:
  - name: nike
    terms: [nike]
  - name: adidas
    terms: [adidas]
"""
RULES_V2 = """category: sneakers
brands:
  - name: nike
    terms: [nike]
  - name: puma
    terms: [puma]
"""


def config(tmp_path, reload="watch"):
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "sneakers.yaml").write_text(RULES_V1)
    (tmp_path / "events.jsonl").write_text("")
    return f"""source:
  type: file
  file: {{paths: [events.jsonl], follow: true}}
rules: {{paths: [rules/], reload: {reload}}}
http: {{listen: "127.0.0.1:0"}}
"""


def append(path, lines):
    with open(path, "a", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")


def window(d, brand, win="5m", platform="twitter"):
    return d.metric(f'earshot_window_mentions{{brand="{brand}",category="sneakers",platform="{platform}",window="{win}"}}', None)


def total_events(d):
    m = d.metrics()
    return sum(v for k, v in m.items() if k.startswith("earshot_events_total{"))


def test_endpoints_and_sigterm(tmp_path, daemon_factory):
    d = daemon_factory(config(tmp_path))
    assert d.get("/healthz")[0] == 200
    wait_for(lambda: d.get("/readyz")[0] == 200, what="/readyz")
    append(tmp_path / "events.jsonl", [event(1, "nike is great"), event(2, "adidas"), "nope"])
    wait_for(lambda: total_events(d) == 3, what="3 events")
    assert window(d, "nike") == 1
    status, body = d.get("/api/v1/share-of-voice?window=5m&platform=twitter")
    assert status == 200 and '"leader":"adidas"' in body or '"leader":"nike"' in body
    status, page = d.get("/")
    assert status == 200 and "<html" in page
    # The exposition is valid for Prometheus.
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required"
    check = subprocess.run([promtool, "check", "metrics"], input=d.get("/metrics")[1].encode(),
                           capture_output=True)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    t0 = time.monotonic()
    assert d.stop(signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 5


def test_sigint_exits_zero(tmp_path, daemon_factory):
    d = daemon_factory(config(tmp_path))
    assert d.stop(signal.SIGINT) == 0


def test_watched_edit_and_rename_save_reload(tmp_path, daemon_factory):
    d = daemon_factory(config(tmp_path))
    rules = tmp_path / "rules" / "sneakers.yaml"
    append(tmp_path / "events.jsonl", [event(1, "nike"), event(2, "adidas")])
    wait_for(lambda: window(d, "adidas") == 1, what="adidas counted")
    # In-place edit: adidas leaves the window gauges, nike keeps its state.
    rules.write_text(RULES_V2)
    wait_for(lambda: d.metric('earshot_rules_reload_total{result="success"}') == 2, what="reload")
    wait_for(lambda: window(d, "adidas") is None, what="adidas gone")
    assert window(d, "nike") == 1
    append(tmp_path / "events.jsonl", [event(3, "puma")])
    wait_for(lambda: window(d, "puma") == 1, what="puma counted")
    # Editor-style save: write a temp file, rename it over the original.
    tmp = tmp_path / "rules" / ".sneakers.yaml.swp"
    tmp.write_text(RULES_V1)
    os.rename(tmp, rules)
    wait_for(lambda: d.metric('earshot_rules_reload_total{result="success"}') >= 3, what="rename reload")
    wait_for(lambda: window(d, "puma") is None, what="puma gone")
    assert d.metric("earshot_rules_last_reload_successful") == 1


def test_broken_edit_keeps_the_old_rules(tmp_path, daemon_factory):
    d = daemon_factory(config(tmp_path))
    (tmp_path / "rules" / "sneakers.yaml").write_text(
        "category: sneakers\nbrands:\n  - name: nike\n    terms: [nike\n")
    wait_for(lambda: d.metric('earshot_rules_reload_total{result="failure"}') == 1, what="failed reload")
    assert d.metric("earshot_rules_last_reload_successful") == 0
    assert "sneakers.yaml:" in d.logs()
    append(tmp_path / "events.jsonl", [event(1, "adidas")])
    wait_for(lambda: window(d, "adidas") == 1, what="old rules still active")
    assert d.get("/readyz")[0] == 200


def test_sighup_reloads_in_signal_mode(tmp_path, daemon_factory):
    d = daemon_factory(config(tmp_path, reload="signal"))
    events = tmp_path / "events.jsonl"
    (tmp_path / "rules" / "sneakers.yaml").write_text(RULES_V2)
    edited = time.monotonic()
    # No watcher in signal mode: nothing may happen until SIGHUP. A watcher
    # (200 ms debounce) would have reloaded V2 well within a second of the
    # edit, so probe events are fed, one at a time and each waited for, until
    # one has been counted more than a second after the edit: every probe
    # names both adidas (V1) and puma (V2), and all must have counted adidas.
    probes = 0

    def probe_counted_a_second_after_the_edit():
        nonlocal probes
        probes += 1
        append(events, [event(f"probe{probes}", "adidas or puma?")])
        wait_for(lambda: total_events(d) == probes, what=f"probe {probes} counted")
        return time.monotonic() - edited > 1.0

    wait_for(probe_counted_a_second_after_the_edit, what="a probe counted 1 s after the edit")
    assert d.metric('earshot_rules_reload_total{result="success"}') == 1
    assert window(d, "adidas") == probes
    assert window(d, "puma") is None
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: d.metric('earshot_rules_reload_total{result="success"}') == 2, what="SIGHUP reload")
    append(events, [event("after", "adidas or puma?")])
    wait_for(lambda: window(d, "puma") == 1, what="puma counted")
    assert d.metric('earshot_rules_reload_total{result="success"}') == 2


def test_sighup_after_the_source_drained_takes_effect(tmp_path, daemon_factory):
    """A file source without follow ends; the daemon serves on, and a
    reload must still reach the windows and the API (it is applied at a
    batch boundary, and a drained source sends no more batches)."""
    config(tmp_path, reload="signal")
    (tmp_path / "events.jsonl").write_text(event(1, "nike adidas puma") + "\n")
    d = daemon_factory(f"""source:
  type: file
  file: {{paths: [events.jsonl], follow: false}}
rules: {{paths: [rules/], reload: signal}}
http: {{listen: "127.0.0.1:0"}}
""")
    wait_for(lambda: window(d, "adidas") == 1, what="the event counted")
    wait_for(lambda: "source drained" in d.logs(), what="the source drained")
    (tmp_path / "rules" / "sneakers.yaml").write_text(RULES_V2)
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: window(d, "puma") == 0, what="puma listed after the reload")
    assert window(d, "adidas") is None
    assert window(d, "nike") == 1
    assert d.metric('earshot_rules_reload_total{result="success"}') == 2
    status, body = d.get("/api/v1/share-of-voice?window=5m")
    assert status == 200
    sov = json.loads(body)
    assert sorted(b["brand"] for c in sov["categories"] for b in c["brands"]) == ["nike", "puma"]


def test_a_log_next_to_the_rules_is_no_change(tmp_path, daemon_factory):
    """`reload: watch` reloads on changes to the rule files only. Here the
    rule file and the daemon's log share a directory: each reload logs a
    line, which used to reload the rules again, for ever."""
    (tmp_path / "sneakers.yaml").write_text(RULES_V1)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "events.jsonl").write_text("")
    d = daemon_factory("""source:
  type: file
  file: {paths: [in/events.jsonl], follow: true}
rules: {paths: [sneakers.yaml], reload: watch}
http: {listen: "127.0.0.1:0"}
""")
    (tmp_path / "notes.txt").write_text("not rules\n")
    (tmp_path / "sneakers.yaml").write_text(RULES_V2)
    wait_for(lambda: d.metric('earshot_rules_reload_total{result="success"}') == 2, what="reload")
    # Each probe is a round trip through the pipeline (>= 100 ms, the file
    # source's poll), written outside the watched directory: three outlast
    # the watcher's 200 ms debounce after the reload's log line, so a loop
    # would have counted another reload by the end.
    for k in range(1, 4):
        append(tmp_path / "in" / "events.jsonl", [event(f"p{k}", "puma")])
        wait_for(lambda: window(d, "puma") == k, what=f"probe {k} counted")
    assert d.metric('earshot_rules_reload_total{result="success"}') == 2
    assert d.logs().count("rules: loaded") == 2


def test_other_files_in_a_rules_directory_are_no_change(tmp_path, daemon_factory):
    """With a directory in rules.paths, only its rule files count: notes and
    an editor's swap file written there reload nothing; a new rule file
    does."""
    d = daemon_factory(config(tmp_path))
    rules = tmp_path / "rules"
    (rules / "notes.txt").write_text("a note\n")
    (rules / ".sneakers.yaml.swp").write_text("swap\n")
    # Each probe is a round trip through the pipeline (>= 100 ms, the file
    # source's poll): three outlast the watcher's 200 ms debounce after the
    # writes, so a reload they caused would have been counted by the end.
    for k in range(1, 4):
        append(tmp_path / "events.jsonl", [event(f"p{k}", "adidas")])
        wait_for(lambda: window(d, "adidas") == k, what=f"probe {k} counted")
    assert d.metric('earshot_rules_reload_total{result="success"}') == 1
    (rules / "more.yml").write_text("category: cola\nbrands:\n  - name: coke\n    terms: [coke]\n")
    wait_for(lambda: d.metric('earshot_rules_reload_total{result="success"}') == 2,
             what="the new rule file loaded")


def test_reload_under_a_continuous_stream_loses_nothing(tmp_path, daemon_factory):
    d = daemon_factory(config(tmp_path))
    rules = tmp_path / "rules" / "sneakers.yaml"
    fed = 0
    stop = threading.Event()

    def feeder():
        nonlocal fed
        i = 0
        while not stop.is_set() and i < 20000:
            batch = [event(f"s{i + k}", "nike and adidas and puma") for k in range(200)]
            append(tmp_path / "events.jsonl", batch)
            i += 200
            fed = i
            stop.wait(0.01)

    t = threading.Thread(target=feeder)
    t.start()
    for k in range(6):
        rules.write_text(RULES_V2 if k % 2 == 0 else RULES_V1)
        wait_for(lambda: d.metric('earshot_rules_reload_total{result="success"}') >= k + 2,
                 what=f"reload {k}")
    stop.set()
    t.join()
    wait_for(lambda: total_events(d) == fed, timeout=30, what=f"{fed} events processed")
    m = d.metrics()
    assert m['earshot_events_total{outcome="matched",source="file"}'] == fed
    # nike is in every rule set: every event counted exactly once for it.
    assert m['earshot_mentions_total{brand="nike",category="sneakers",platform="twitter"}'] == fed
    # adidas and puma alternate: each event counted for exactly one of them.
    a = m.get('earshot_mentions_total{brand="adidas",category="sneakers",platform="twitter"}', 0)
    p = m.get('earshot_mentions_total{brand="puma",category="sneakers",platform="twitter"}', 0)
    assert a + p == fed


def test_kubernetes_configmap_symlink_swap_reloads(tmp_path, daemon_factory):
    """A ConfigMap volume: files are symlinks into ..data, which the kubelet
    swaps atomically (new timestamped dir, rename of a ..data_tmp symlink)."""
    cfgmap = tmp_path / "cm"
    cfgmap.mkdir()
    v1 = cfgmap / "..2026_11_28_v1"
    v1.mkdir()
    (v1 / "sneakers.yaml").write_text(RULES_V1)
    os.symlink("..2026_11_28_v1", cfgmap / "..data")
    os.symlink("..data/sneakers.yaml", cfgmap / "sneakers.yaml")
    (tmp_path / "events.jsonl").write_text("")
    d = daemon_factory(f"""source:
  type: file
  file: {{paths: [events.jsonl], follow: true}}
rules: {{paths: [cm/], reload: watch}}
http: {{listen: "127.0.0.1:0"}}
""")
    v2 = cfgmap / "..2026_11_28_v2"
    v2.mkdir()
    (v2 / "sneakers.yaml").write_text(RULES_V2)
    os.symlink("..2026_11_28_v2", cfgmap / "..data_tmp")
    os.rename(cfgmap / "..data_tmp", cfgmap / "..data")
    shutil.rmtree(v1)
    wait_for(lambda: d.metric('earshot_rules_reload_total{result="success"}') >= 2, what="configmap reload")
    append(tmp_path / "events.jsonl", [event(1, "puma")])
    wait_for(lambda: window(d, "puma") == 1, what="puma counted")
    assert d.metric('earshot_rules_reload_total{result="failure"}') == 0
