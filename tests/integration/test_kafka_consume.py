"""One daemon against a real broker: exact counts against `earshot replay`,
poison messages to the dead-letter topic, SIGTERM before the first
partition assignment (librdkafka issue 4312)."""
import json
import signal

from kafka_helpers import (assert_consumed_like_replay, events_total, generate, kafka_config,
                           new_topic, produce_file, replay, tool, consume, wait_for)

N = 2000


def test_consumes_and_counts_exactly_like_replay(tmp_path, broker, daemons):
    topic = new_topic(broker, 3)
    events = tmp_path / "events.jsonl"
    generate(events, N, seed=11)
    produce_file(broker, topic, events)
    cfg = kafka_config(tmp_path, broker, topic, "g-exact")
    d = daemons(cfg)
    m = assert_consumed_like_replay(d, cfg, events, N)
    assert m["earshot_kafka_assigned_partitions"] == 3
    assert m["earshot_kafka_connected"] == 1
    assert d.get("/readyz")[0] == 200
    # Lag reaches 0 once the stored offsets are committed.
    wait_for(lambda: sum(v for k, v in d.metrics().items()
                         if k.startswith("earshot_kafka_consumer_lag{")) == 0
             and len([k for k in d.metrics() if k.startswith("earshot_kafka_consumer_lag{")]) == 3,
             timeout=30, what="consumer lag 0 on 3 partitions")
    assert d.stop() == 0
    committed = json.loads(tool("committed", broker.bootstrap, "g-exact", topic))
    assert sum(committed.values()) == N


def test_poison_messages_go_to_the_dead_letter_topic(tmp_path, broker, daemons):
    topic = new_topic(broker, 1)
    dlq = new_topic(broker, 1, prefix="dlq")
    good = tmp_path / "good.jsonl"
    generate(good, 50, seed=5)
    poison = {
        "bad_utf8": b'{"id":"p1","platform":"twitter","text":"\xff\xfe"}',
        "json_syntax": b"this is not json",
        "missing_field": b'{"id":"p3","platform":"twitter"}',
    }
    for reason, raw in poison.items():
        p = tmp_path / f"{reason}.bin"
        p.write_bytes(raw)
        tool("produce", broker.bootstrap, topic, p, "--raw")
    produce_file(broker, topic, good)  # after the poison: the partition must not block
    cfg = kafka_config(tmp_path, broker, topic, "g-poison", dead_letter=dlq)
    d = daemons(cfg)
    wait_for(lambda: events_total(d.metrics()) >= 53, timeout=60, what="53 events")
    m = d.metrics()
    assert m['earshot_events_total{outcome="invalid",source="kafka"}'] == 3
    for reason in poison:
        assert m[f'earshot_invalid_events_total{{reason="{reason}"}}'] == 1
    wait_for(lambda: d.metric('earshot_dead_letter_total{result="produced"}') == 3,
             timeout=30, what="3 dead letters produced")
    got = consume(broker, dlq, 3)
    by_reason = {msg["headers"]["earshot-reason"]: msg for msg in got}
    assert set(by_reason) == set(poison)
    for offset, (reason, raw) in enumerate(poison.items()):
        msg = by_reason[reason]
        assert bytes.fromhex(msg["value_hex"]) == raw
        assert msg["headers"]["earshot-source-topic"] == topic
        assert msg["headers"]["earshot-source-partition"] == "0"
        assert msg["headers"]["earshot-source-offset"] == str(offset)
    assert d.stop() == 0


def test_sigterm_before_the_first_assignment_exits_zero(tmp_path, broker, daemons):
    topic = new_topic(broker, 2)
    for i in range(3):
        cfg = kafka_config(tmp_path, broker, topic, f"g-early-{i}", name=f"early{i}")
        d = daemons(cfg, name=f"early{i}")
        d.proc.send_signal(signal.SIGTERM)  # right after start-up, before any assignment
        assert d.stop(timeout=30) == 0, d.logs()


def test_sigterm_with_an_unreachable_cluster_exits_zero(tmp_path, broker, daemons):
    class Down:
        bootstrap = "127.0.0.1:1"
    cfg = kafka_config(tmp_path, Down, "posts", "g-down")
    d = daemons(cfg)
    wait_for(lambda: d.get("/readyz")[0] == 503, timeout=20, what="/readyz 503")
    assert d.metric("earshot_kafka_connected") == 0
    assert d.stop() == 0, d.logs()
