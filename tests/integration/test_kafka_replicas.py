"""Replicas in one consumer group: summed counters and window gauges equal a
single-process replay; kill -9 of one replica and takeover with windows
rebuilt from Kafka; clean restart and rejoin without double counting."""
import json

from kafka_helpers import (tool, counters, events_total, generate, kafka_config, new_topic,
                           outcomes, produce_file, replay, summed, wait_for, windows)

P = 4


def committed_total(broker, group, topic):
    return sum(json.loads(tool("committed", broker.bootstrap, group, topic)).values())


def assigned(*ds):
    return [d.metric("earshot_kafka_assigned_partitions") for d in ds]


def balanced(*ds):
    a = assigned(*ds)
    return sum(a) == P and all(x >= 1 for x in a)


def settled(d):
    m = d.metrics()
    return m.get("earshot_kafka_rebuild_partitions_pending", 1) == 0


def test_two_replicas_sum_to_a_single_replay(tmp_path, broker, daemons):
    topic = new_topic(broker, P)
    a = daemons(kafka_config(tmp_path, broker, topic, "g-two", name="a"), name="a")
    b = daemons(kafka_config(tmp_path, broker, topic, "g-two", name="b"), name="b")
    wait_for(lambda: balanced(a, b), timeout=60, what="both replicas assigned")
    events = tmp_path / "events.jsonl"
    generate(events, 3000, seed=21)
    produce_file(broker, topic, events)
    wait_for(lambda: events_total(a.metrics()) + events_total(b.metrics()) >= 3000, timeout=60,
             what="3000 events over both replicas")
    ma, mb = a.metrics(), b.metrics()
    want = replay(str(tmp_path / "a.yaml"), events)
    assert events_total(ma) > 0 and events_total(mb) > 0
    assert summed(outcomes(ma), outcomes(mb)) == outcomes(want)
    assert summed(counters(ma), counters(mb)) == counters(want)
    assert summed(windows(ma), windows(mb)) == windows(want)
    assert summed(windows(ma, "5m"), windows(mb, "5m")) == windows(want, "5m")
    assert a.stop() == 0
    assert b.stop() == 0


def test_kill9_takeover_rebuilds_windows(tmp_path, broker, daemons):
    topic = new_topic(broker, P)
    a = daemons(kafka_config(tmp_path, broker, topic, "g-kill", name="a"), name="a")
    b = daemons(kafka_config(tmp_path, broker, topic, "g-kill", name="b"), name="b")
    wait_for(lambda: balanced(a, b), timeout=60, what="both replicas assigned")
    first = tmp_path / "first.jsonl"
    generate(first, 1500, seed=31)
    produce_file(broker, topic, first)
    wait_for(lambda: events_total(a.metrics()) + events_total(b.metrics()) >= 1500, timeout=60,
             what="first 1500 events")
    # Let the periodic commit land, so that the takeover has something to
    # rebuild (what b applied but had not committed is simply redone live).
    wait_for(lambda: committed_total(broker, "g-kill", topic) == 1500, timeout=30,
             what="offsets committed")
    b.kill9()
    second = tmp_path / "second.jsonl"
    generate(second, 500, seed=32)
    produce_file(broker, topic, second)
    # The group notices after session.timeout.ms; a rebuilds b's partitions.
    wait_for(lambda: assigned(a) == [P] and settled(a), timeout=60,
             what="a owns all partitions, rebuilt")
    both = tmp_path / "both.jsonl"
    both.write_bytes(first.read_bytes() + second.read_bytes())
    want = replay(str(tmp_path / "a.yaml"), both)
    wait_for(lambda: windows(a.metrics()) == windows(want), timeout=30,
             what="a's windows equal the replay of everything")
    assert windows(a.metrics(), "5m") == windows(want, "5m")
    assert a.metric("earshot_kafka_rebuild_records_total") > 0
    assert a.stop() == 0


def test_restart_and_rejoin_without_double_counting(tmp_path, broker, daemons):
    topic = new_topic(broker, P)
    cfg_a = kafka_config(tmp_path, broker, topic, "g-rejoin", name="a")
    cfg_b = kafka_config(tmp_path, broker, topic, "g-rejoin", name="b")
    a = daemons(cfg_a, name="a")
    b = daemons(cfg_b, name="b")
    wait_for(lambda: balanced(a, b), timeout=60, what="both replicas assigned")
    first = tmp_path / "first.jsonl"
    generate(first, 1000, seed=41)
    produce_file(broker, topic, first)
    wait_for(lambda: events_total(a.metrics()) + events_total(b.metrics()) >= 1000, timeout=60,
             what="first 1000 events")
    b_before = b.metrics()
    assert b.stop() == 0  # clean: commits what it applied
    b2 = daemons(cfg_b, name="b2")
    wait_for(lambda: balanced(a, b2) and settled(a) and settled(b2), timeout=60,
             what="b2 rejoined and rebuilt")
    second = tmp_path / "second.jsonl"
    generate(second, 1000, seed=42)
    produce_file(broker, topic, second)
    both = tmp_path / "both.jsonl"
    both.write_bytes(first.read_bytes() + second.read_bytes())
    want = replay(cfg_a, both)
    wait_for(lambda: events_total(a.metrics()) + events_total(b_before) +
             events_total(b2.metrics()) >= 2000, timeout=60, what="2000 events in total")
    ma, mb2 = a.metrics(), b2.metrics()
    # Counters: every event counted exactly once over the three processes.
    assert summed(outcomes(ma), outcomes(b_before), outcomes(mb2)) == outcomes(want)
    assert summed(counters(ma), counters(b_before), counters(mb2)) == counters(want)
    # Windows: the live replicas hold everything, rebuilt where needed.
    assert summed(windows(ma), windows(mb2)) == windows(want)
    assert a.stop() == 0
    assert b2.stop() == 0
