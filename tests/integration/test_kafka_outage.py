"""The broker stops and restarts mid-stream: the daemon turns unready, keeps
running, reconnects, and loses nothing."""
import json

from kafka_helpers import (tool, counters, generate, kafka_config, new_topic, outcomes, produce_file,
                           replay, wait_for, windows, events_total)


def test_broker_restart_mid_stream_loses_nothing(tmp_path, broker, daemons):
    topic = new_topic(broker, 2)
    cfg = kafka_config(tmp_path, broker, topic, "g-outage")
    d = daemons(cfg)
    first = tmp_path / "first.jsonl"
    generate(first, 1000, seed=51)
    produce_file(broker, topic, first)
    wait_for(lambda: events_total(d.metrics()) >= 1000, timeout=60, what="first 1000 events")
    wait_for(lambda: d.get("/readyz")[0] == 200, timeout=20, what="ready")
    # Offsets applied but not yet committed when the broker dies would be
    # redone (at-least-once duplicates); wait for the commit to make the
    # expected counts exact.
    wait_for(lambda: sum(json.loads(tool("committed", broker.bootstrap, "g-outage",
                                         topic)).values()) == 1000,
             timeout=30, what="offsets committed")

    broker.stop()
    wait_for(lambda: d.get("/readyz")[0] == 503, timeout=60, what="/readyz 503 during outage")
    assert d.metric("earshot_kafka_connected") == 0
    assert d.proc.poll() is None, "the daemon must survive an outage"
    broker.start()
    wait_for(lambda: d.get("/readyz")[0] == 200, timeout=90, what="/readyz 200 after restart")

    second = tmp_path / "second.jsonl"
    generate(second, 1000, seed=52)
    produce_file(broker, topic, second)
    both = tmp_path / "both.jsonl"
    both.write_bytes(first.read_bytes() + second.read_bytes())
    want = replay(cfg, both)
    wait_for(lambda: counters(d.metrics()) == counters(want), timeout=90,
             what="counters equal the replay of both halves")
    m = d.metrics()
    got, exp = outcomes(m), outcomes(want)
    # At-least-once: a redelivered event may show up as a duplicate, never lost.
    for k in ("matched", "unmatched", "invalid"):
        key = f'earshot_events_total{{outcome="{k}"}}'
        assert got.get(key, 0) == exp.get(key, 0), (k, got, exp)
    assert windows(m) == windows(want)
    assert m["earshot_kafka_errors_total{kind=\"broker_down\"}"] >= 1
    assert d.stop() == 0
