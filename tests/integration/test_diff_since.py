"""`earshot diff --since` against a real broker (docs/shadow.md): it reads
the configured topics from the offsets for now - 24h to their end, agrees
with `earshot diff` over the same events as files, and leaves the
production consumer group's committed offsets exactly as they were."""
import json
import re
import shutil
import subprocess
import time

from kafka_helpers import (BIN, RULES, events_total, generate, kafka_config, new_topic,
                           produce_file, tool, wait_for)


def candidate_rules(tmp_path):
    """deploy/rules with nike's "just do it" dropped and new_balance removed."""
    cand = tmp_path / "candidate"
    shutil.copytree(RULES, cand)
    sneakers = cand / "sneakers.yaml"
    text = sneakers.read_text()
    text = text.replace('"just do it", ', "")
    text = re.sub(r"  - name: new_balance\n    terms: \[[^\]]*\]\n", "", text)
    assert "new_balance" not in text.split("tests:")[0]
    sneakers.write_text(text)
    return cand


def diff(*args):
    r = subprocess.run([BIN, "diff", *map(str, args)], capture_output=True, timeout=300)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_since_reads_recent_history_without_touching_the_group(tmp_path, broker, daemons):
    topic = new_topic(broker, 2)
    old, recent, later = tmp_path / "old.jsonl", tmp_path / "recent.jsonl", tmp_path / "later.jsonl"
    generate(old, 400, seed=31)
    generate(recent, 600, seed=32)
    generate(later, 300, seed=33)
    # Messages stamped two days ago: before now - 24h, so not read.
    tool("produce", broker.bootstrap, topic, old, "--timestamp-ms",
         int(time.time() * 1000) - 48 * 3600 * 1000)
    produce_file(broker, topic, recent)

    # The production group consumes what is there, commits, and stops; more
    # arrives after it, so it has lag the diff must not consume for it.
    cfg = kafka_config(tmp_path, broker, topic, "g-prod")
    d = daemons(cfg)
    wait_for(lambda: events_total(d.metrics()) >= 1000, timeout=60, what="1000 events")
    assert d.stop() == 0
    produce_file(broker, topic, later)
    committed = json.loads(tool("committed", broker.bootstrap, "g-prod", topic))
    assert sum(committed.values()) == 1000, committed
    ends = json.loads(tool("end-offsets", broker.bootstrap, topic))
    assert sum(ends.values()) == 1300

    cand = candidate_rules(tmp_path)
    rc, out, err = diff("--config", cfg, "--candidate", cand, "--since", "24h", "--json")
    assert rc == 1, err
    got = json.loads(out)
    # The same events as files: the recent ones and the later ones, not the old.
    both = tmp_path / "since.jsonl"
    both.write_bytes(recent.read_bytes() + later.read_bytes())
    rc2, out2, err2 = diff("--config", cfg, "--candidate", cand, "--json", both)
    assert rc2 == 1, err2
    want = json.loads(out2)
    assert got["brands"] == want["brands"]
    nb = [b for b in got["brands"] if b["brand"] == "new_balance"]
    assert nb and nb[0]["candidate"] == 0 and nb[0]["removed"] == nb[0]["live"] > 0, nb
    # Counted: every recent and later event, none of the old ones.
    m = re.search(r"reading (\d+) partition\(s\) by assign\(\).*group id (earshot-history-\d+)",
                  err)
    assert m and m.group(1) == "2", err

    # Nothing moved: the production group's offsets, and nothing committed
    # under the throwaway group id either.
    assert json.loads(tool("committed", broker.bootstrap, "g-prod", topic)) == committed
    assert set(json.loads(tool("committed", broker.bootstrap, m.group(2), topic)).values()) == {-1}


def test_since_needs_a_reachable_kafka_source(tmp_path, broker):
    topic = new_topic(broker, 1)
    cfg = kafka_config(tmp_path, broker, topic, "g-none")
    # An empty topic: nothing since, no difference.
    rc, out, err = diff("--config", cfg, "--candidate", RULES, "--since", "1h", "--json")
    assert rc == 0, err
    assert all(b["live"] == 0 for b in json.loads(out)["brands"])
    # A topic that does not exist is an error, exit 2.
    bad = kafka_config(tmp_path, broker, "no-such-topic-" + topic, "g-none", name="bad")
    rc, _, err = diff("--config", bad, "--candidate", RULES, "--since", "1h")
    assert rc == 2, err
