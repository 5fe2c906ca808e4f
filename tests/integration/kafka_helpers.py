"""Helpers for the Kafka integration tier: the broker (scripts/kafka/kafka.sh),
earshot-kafka-tool, daemons on free ports, metrics parsing and comparison
with `earshot replay`. Everything polls with a deadline; nothing sleeps
beyond polling."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from earshot_testing import Daemon, parse_metrics, wait_for  # noqa: E402,F401 - shared helpers

BIN = os.environ.get("EARSHOT_BIN", "build/cmd/earshot")
SRC = os.environ.get("EARSHOT_SOURCE_DIR", ".")
BUILD = os.environ.get("EARSHOT_BUILD_DIR", os.path.join(SRC, "build"))
KAFKA_SH = os.path.join(SRC, "scripts", "kafka", "kafka.sh")
TOOL = os.path.join(BUILD, "tests", "earshot-kafka-tool")
RULES = os.path.join(SRC, "deploy", "rules")


class Broker:
    """A single-node KRaft broker in `dir`; stop()/start() keep its ports and data."""

    def __init__(self, dir_):
        self.dir = str(dir_)
        self.bootstrap = None

    def _sh(self, *args, timeout=300):
        r = subprocess.run(["bash", KAFKA_SH, *args], capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"kafka.sh {' '.join(args)} failed ({r.returncode}):\n"
                               f"{r.stdout}\n{r.stderr}")
        return r.stdout.strip()

    def start(self):
        self.bootstrap = self._sh("start", self.dir).splitlines()[-1]
        self._sh("wait", self.dir, "120")
        return self

    def stop(self):
        self._sh("stop", self.dir)

    def kill(self):
        self._sh("kill", self.dir)


def tool(*args, input=None, timeout=120):
    if not os.path.exists(TOOL):
        raise RuntimeError(f"{TOOL} is missing: build the earshot-kafka-tool target")
    r = subprocess.run([TOOL, *map(str, args)], input=input, capture_output=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"earshot-kafka-tool {' '.join(map(str, args))} failed:\n"
                           f"{r.stderr.decode(errors='replace')}")
    return r.stdout.decode()


_seq = [0]


def new_topic(broker, partitions, prefix="posts"):
    _seq[0] += 1
    name = f"{prefix}-{os.getpid()}-{_seq[0]}"
    tool("create", broker.bootstrap, name, partitions)
    return name


def produce_file(broker, topic, path):
    tool("produce", broker.bootstrap, topic, path)


def consume(broker, topic, count, timeout_ms=30000):
    out = tool("consume", broker.bootstrap, topic, "--count", count, "--timeout-ms", timeout_ms)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def generate(path, count, seed):
    """`earshot generate` to a JSONL file (created_at = now)."""
    with open(path, "wb") as f:
        r = subprocess.run([BIN, "generate", "--count", str(count), "--seed", str(seed)],
                           stdout=f, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    assert len(lines) == count
    return lines


def select(metrics, prefix, drop_labels=()):
    """Series of one metric name (`prefix` ends with '{'), optionally with
    labels removed and the remaining equal series summed."""
    out = {}
    for k, v in metrics.items():
        if not k.startswith(prefix):
            continue
        for lab in drop_labels:
            k = re.sub(lab + r'="[^"]*",?', "", k).replace(",}", "}")
        out[k] = out.get(k, 0.0) + v
    return out


def summed(*metric_dicts):
    out = {}
    for m in metric_dicts:
        for k, v in m.items():
            out[k] = out.get(k, 0.0) + v
    return out


def nonzero(d):
    return {k: v for k, v in d.items() if v != 0}


def kafka_config(tmp_path, broker, topic, group, name="earshot", dead_letter="", extra="",
                 properties=None):
    """A Kafka daemon config; `properties` adds librdkafka properties."""
    more = "".join(f'\n      {k}: "{v}"' for k, v in (properties or {}).items())
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(f"""source:
  type: kafka
  kafka:
    brokers: "{broker.bootstrap}"
    topics: [{topic}]
    group_id: {group}
    properties:
      session.timeout.ms: "6000"
      heartbeat.interval.ms: "500"
      statistics.interval.ms: "1000"
      auto.commit.interval.ms: "1000"
      reconnect.backoff.max.ms: "1000"{more}
rules: {{paths: ["{RULES}"], reload: "off"}}
http: {{listen: "127.0.0.1:0"}}
dead_letter: {{topic: "{dead_letter}"}}
{extra}""")
    return str(cfg)


def replay(config_path, *files):
    r = subprocess.run([BIN, "replay", "--config", config_path, *map(str, files)],
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return parse_metrics(r.stdout.decode())


def assert_consumed_like_replay(daemon, config_path, events, count, timeout=60):
    """Waits until `daemon` has counted `count` events, then checks that its
    outcomes, result counters and windows equal `earshot replay` of the same
    events. Returns the daemon's metrics."""
    wait_for(lambda: events_total(daemon.metrics()) >= count, timeout=timeout,
             what=f"{count} events")
    m = daemon.metrics()
    want = replay(config_path, events)
    assert outcomes(m) == outcomes(want)
    assert counters(m) == counters(want)
    assert windows(m) == windows(want)
    return m


def events_total(m):
    """Sum of earshot_events_total over all outcomes."""
    return sum(v for k, v in m.items() if k.startswith("earshot_events_total{"))


def outcomes(m):
    return select(m, "earshot_events_total{", drop_labels=("source",))


def counters(m):
    """The result counters a replica contributes, for cross-process sums."""
    out = {}
    for name in ("earshot_mentions_total{", "earshot_reach_total{", "earshot_engagement_total{",
                 "earshot_views_total{", "earshot_topic_mentions_total{"):
        out.update(select(m, name))
    return nonzero(out)


def windows(m, window="1h"):
    out = {}
    for name in ("earshot_window_mentions{", "earshot_window_reach{",
                 "earshot_window_engagement{", "earshot_window_views{"):
        for k, v in select(m, name).items():
            if f'window="{window}"' in k:
                out[k] = v
    return nonzero(out)
