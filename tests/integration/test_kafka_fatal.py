"""A fatal Kafka error ends the daemon (docs/reliability.md, "Kafka").

The fault is a real broker's: two daemons with the same group.instance.id
(static membership) in one group. When the second joins, the broker gives
it the member's place and answers the first one's next heartbeat with
FENCED_INSTANCE_ID, which librdkafka makes a fatal error. The first daemon
must exit with status 3, its log naming the error, instead of spinning on.
(That /readyz is 503 between the error and the exit is shown at the Daemon
level: unit/source_fatal_test.cc.)"""
from kafka_helpers import kafka_config, new_topic, wait_for

STATIC = {"group.instance.id": "earshot-static-1"}


def assigned(daemon):
    return daemon.metric("earshot_kafka_assigned_partitions")


def test_a_fenced_static_member_exits_3_naming_the_error(broker, daemons, tmp_path):
    topic = new_topic(broker, 2)
    group = f"fatal-{topic}"
    cfg = kafka_config(tmp_path, broker, topic, group, properties=STATIC)
    first = daemons(cfg, name="first")
    wait_for(lambda: assigned(first) == 2 and first.get("/readyz")[0] == 200, timeout=60,
             what="the first daemon to own both partitions")

    second = daemons(cfg, name="second")
    wait_for(lambda: first.proc.poll() is not None, timeout=60, what="the fenced daemon to exit")
    assert first.proc.returncode == 3, first.logs()
    log = first.logs()
    assert "error kafka: fatal error: FENCED_INSTANCE_ID: " in log, log
    assert "; exiting" in log
    assert "SIGTERM" not in log

    # The instance that took the member's place runs on and owns the partitions.
    wait_for(lambda: assigned(second) == 2 and second.get("/readyz")[0] == 200, timeout=60,
             what="the second daemon to own both partitions")
    assert second.proc.poll() is None
    assert second.stop() == 0
