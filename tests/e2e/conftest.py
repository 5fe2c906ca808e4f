"""End-to-end fixtures: the real daemon fed a JSONL file, a real Prometheus
(Debian's binary) scraping it with the shipped rules, headless Chromium.

Nothing here is skipped when a tool is missing: the tier fails loudly
(README.md). Servers listen on port 0 and report the port they bound; waits
poll with a deadline, never a fixed sleep. The daemon, wait_for and the HTTP
helper are the shared ones of tests/pylib/earshot_testing.py.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from earshot_testing import Daemon, http_get, port_from_log, tail, wait_for  # noqa: E402,F401

SOURCE_DIR = Path(os.environ.get("EARSHOT_SOURCE_DIR", Path(__file__).resolve().parents[2]))
DEPLOY_PROM = SOURCE_DIR / "deploy" / "prometheus"
ARTIFACTS = SOURCE_DIR / "tests" / "artifacts"

# The events the e2e tests feed: (platform, brand) per post, all created now.
# sneakers on twitter: nike 6, adidas 3, puma 1 -> 0.6 / 0.3 / 0.1;
# on instagram: nike 1, adidas 3; across platforms: nike 7, adidas 6, puma 1.
E2E_POSTS = (
    [("twitter", "nike")] * 6
    + [("twitter", "adidas")] * 3
    + [("twitter", "puma")] * 1
    + [("instagram", "nike")] * 1
    + [("instagram", "adidas")] * 3
)
E2E_BRANDS = ("nike", "adidas", "puma")
E2E_PLATFORMS = ("twitter", "instagram", "reddit")

# docs/metrics.md (histograms add their _bucket/_sum/_count series).
EARSHOT_METRICS = {
    "earshot_mentions_total", "earshot_reach_total", "earshot_engagement_total",
    "earshot_views_total", "earshot_window_mentions", "earshot_window_reach",
    "earshot_window_engagement", "earshot_window_views", "earshot_share_of_voice_ratio",
    "earshot_topic_mentions_total", "earshot_sentiment_mentions_total", "earshot_events_total",
    "earshot_invalid_events_total", "earshot_rules_reload_total",
    "earshot_rules_last_reload_successful", "earshot_rules_last_reload_success_timestamp_seconds",
    "earshot_rules_loaded", "earshot_kafka_consumer_lag", "earshot_kafka_assigned_partitions",
    "earshot_event_processing_seconds_bucket", "earshot_event_processing_seconds_sum",
    "earshot_event_processing_seconds_count", "earshot_build_info",
    "earshot_window_unique_authors",  # audience, docs/audience.md
}
# docs/shadow.md: only with shadow rules configured (docs/shadow.md).
EARSHOT_SHADOW_METRICS = {
    "earshot_shadow_mentions_total", "earshot_shadow_window_mentions",
    "earshot_shadow_share_of_voice_ratio", "earshot_shadow_changed_total",
    "earshot_shadow_rules_loaded", "earshot_shadow_last_reload_successful",
}
# docs/signals.md (docs/signals.md): present once a signals pane has closed
# (5 minutes and more into a run), so not expected on a fresh daemon.
SIGNAL_METRICS = {"earshot_spike_score", "earshot_spike_baseline", "earshot_spike_active",
                  "earshot_spikes_total"}
RULES_YAML = """\
category: sneakers
brands:
  - name: nike
    terms: [nike, "#nike"]
  - name: adidas
    terms: [adidas]
  - name: puma
    terms: [puma]
"""


def require_tool(name, path=None):
    """Absolute path of a required executable, or a loud failure."""
    found = path if path and os.access(path, os.X_OK) else shutil.which(name)
    if not found:
        pytest.fail(
            f"{name} is required by the e2e tier and was not found on PATH; "
            "install it with scripts/install-deps.sh", pytrace=False)
    return found


def earshot_bin():
    path = os.environ.get("EARSHOT_BIN")
    if not path:
        build = Path(os.environ.get("EARSHOT_BUILD_DIR", SOURCE_DIR / "build"))
        path = str(build / "cmd" / "earshot")
    if not os.access(path, os.X_OK):
        pytest.fail(f"earshot binary not found at {path} (set EARSHOT_BIN)", pytrace=False)
    return path


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_events(path, posts=E2E_POSTS):
    """Writes one canonical event per post, created now, and returns them."""
    now_ms = int(time.time() * 1000)
    events = []
    for i, (platform, brand) in enumerate(posts):
        events.append({
            "id": f"e2e-{i}",
            "platform": platform,
            "text": f"Loving my new {brand.capitalize()} shoes, post {i}",
            "created_at": now_ms - 1000,
            "author": {"id": f"u{i}", "handle": f"user{i}", "followers": 100 * (i + 1)},
            "engagement": {"likes": i, "shares": 0, "comments": 1, "views": 10 * i},
        })
    with open(path, "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    return events


def start_daemon(config_path, cwd, name="earshot"):
    """The shared Daemon on the binary under test (earshot_bin)."""
    return Daemon(config_path, cwd, name, binary=earshot_bin())


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="earshot-e2e-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def daemon(workdir):
    """`earshot run` on a followed JSONL file (clock: wall), listening on
    port 0, with the sneakers rules; returns once the events are counted.
    Besides the shared Daemon's fields: `events` (what was written) and
    `workdir` (its directory)."""
    d = workdir / "daemon"
    (d / "rules").mkdir(parents=True)
    (d / "rules" / "sneakers.yaml").write_text(RULES_YAML)
    events = write_events(d / "events.jsonl")
    (d / "earshot.yaml").write_text(f"""\
source:
  type: file
  file: {{paths: [events.jsonl], follow: true}}
rules: {{paths: [rules/], reload: watch}}
windows:
  - {{name: 5m, size: 5m, step: 10s}}
  - {{name: 1h, size: 1h, step: 1m}}
clock: wall
platforms: [{", ".join(E2E_PLATFORMS)}]
http: {{listen: "127.0.0.1:0"}}
""")
    daemon = start_daemon(d / "earshot.yaml", d)
    daemon.events, daemon.workdir = events, d
    try:
        wait_for(lambda: daemon.get("/readyz")[0] == 200, what="earshot /readyz",
                 proc=daemon.proc, log=daemon.log_path)

        def counted():
            status, body = daemon.get("/api/v1/share-of-voice?window=5m&platform=all&basis=mentions")
            return status == 200 and sum(
                c["total"] for c in json.loads(body)["categories"]) == len(events)

        wait_for(counted, what="the daemon to count every event", proc=daemon.proc,
                 log=daemon.log_path)
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def prometheus(workdir, daemon):
    """Debian's Prometheus with the shipped rule files, scraping the daemon
    every second; yields its base URL."""
    binary = require_tool("prometheus")
    d = workdir / "prometheus"
    (d / "data").mkdir(parents=True)
    config = d / "prometheus.yml"
    config.write_text(f"""\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {DEPLOY_PROM / "earshot.rules.yml"}
  - {DEPLOY_PROM / "earshot.alerts.yml"}
scrape_configs:
  - job_name: earshot
    static_configs:
      - targets: ["127.0.0.1:{daemon.port}"]
""")
    log = d / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={d / 'data'}",
             "--web.listen-address=127.0.0.1:0", "--storage.tsdb.retention.time=1h"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        # Port 0: Prometheus logs the address it bound (level info).
        port = port_from_log(proc, log, r'msg="Listening on" address=127\.0\.0\.1:(\d+)',
                             "prometheus start-up line")
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_get(url + "/-/ready")[0] == 200, timeout=60,
                 what="prometheus /-/ready", proc=proc, log=log)
        yield url
    finally:
        stop(proc)


def prom_query(base_url, query):
    """Instant query; returns {frozenset(labels.items()): value}."""
    status, body = http_get(base_url + "/api/v1/query?" + urllib.parse.urlencode({"query": query}))
    data = json.loads(body)
    if status != 200 or data.get("status") != "success":
        raise ValueError(f"query {query!r} failed: {status} {body[:300]!r}")
    return {frozenset(r["metric"].items()): float(r["value"][1]) for r in data["data"]["result"]}


@pytest.fixture(scope="session")
def chromium():
    return require_tool("chromium", "/usr/bin/chromium")


def chromium_args(binary, user_data_dir):
    return [binary, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={user_data_dir}"]
