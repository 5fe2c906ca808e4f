"""The broker stops and restarts mid-stream: the daemon turns unready, keeps
running, reconnects, and loses nothing."""
import json
import signal
import time

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


def test_sigterm_after_the_cluster_went_away_exits_in_bounded_time(tmp_path, broker, daemons):
    """Partitions assigned, then the cluster goes away: SIGTERM still exits 0
    within the shutdown bounds (a 5 s final commit, a 5 s group leave), not
    after the session timeout or never: librdkafka's close waits for the
    group coordinator without end (docs/kafka.md, "Shutdown")."""
    topic = new_topic(broker, 2)
    # The broker's default session timeout, as in production.
    cfg = kafka_config(tmp_path, broker, topic, "g-gone")
    text = open(cfg).read().replace('session.timeout.ms: "6000"', 'session.timeout.ms: "45000"')
    open(cfg, "w").write(text)
    d = daemons(cfg)
    events = tmp_path / "events.jsonl"
    generate(events, 200, seed=61)
    produce_file(broker, topic, events)
    wait_for(lambda: events_total(d.metrics()) >= 200, timeout=60, what="200 events")
    broker.stop()
    try:
        wait_for(lambda: d.get("/readyz")[0] == 503, timeout=60, what="/readyz 503")
        started = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        assert d.stop(timeout=40) == 0, d.logs()
        took = time.monotonic() - started
        assert took < 20, f"SIGTERM took {took:.1f} s\n{d.logs()}"
        log = d.logs()
        assert ("final commit: no answer within 5 s" in log or
                "close: the group coordinator did not answer within 5 s" in log), log
    finally:
        broker.start()
