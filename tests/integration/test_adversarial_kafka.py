"""The hostile inputs of test_adversarial.py, this time as Kafka messages to a
running daemon: every message is processed or counted as invalid with its
reason, exactly once in earshot_events_total{source="kafka"}, the partition
is never blocked (the valid events after each hostile one are counted), and
the daemon stays up."""
import re

from kafka_helpers import Daemon, kafka_config, new_topic, tool, wait_for
from test_adversarial import CASES, RULES


def test_hostile_messages_through_kafka(broker, tmp_path):
    topic = new_topic(broker, 1, prefix="hostile")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    expect_outcomes, expect_reasons = {}, {}
    for i, name in enumerate(sorted(CASES)):
        line, outcome, reason = CASES[name]
        msg = tmp_path / f"m{i}.bin"
        msg.write_bytes(line.replace(b'"id":"1"', b'"id":"h%d"' % i))
        tool("produce", broker.bootstrap, topic, msg, "--raw")
        ok = tmp_path / f"ok{i}.bin"
        ok.write_bytes(b'{"id":"ok%d","platform":"reddit","text":"fine"}' % i)
        tool("produce", broker.bootstrap, topic, ok, "--raw")
        expect_outcomes[outcome] = expect_outcomes.get(outcome, 0) + 1
        expect_outcomes["unmatched"] = expect_outcomes.get("unmatched", 0) + 1
        if reason:
            expect_reasons[reason] = expect_reasons.get(reason, 0) + 1
    total = 2 * len(CASES)

    cfg = kafka_config(tmp_path, broker, topic, group=f"g-{topic}")
    with open(cfg) as f:
        text = re.sub(r"rules: \{paths: \[[^]]*\]", f'rules: {{paths: ["{tmp_path / "rules"}"]', f.read())
    with open(cfg, "w") as f:
        f.write(text)
    d = Daemon(cfg, tmp_path)
    try:
        def done():
            m = d.metrics()
            n = sum(v for k, v in m.items()
                    if k.startswith("earshot_events_total{") and 'source="kafka"' in k)
            return m if n == total else None
        m = wait_for(done, timeout=120, what=f"{total} messages counted")
        outcomes = {re.search(r'outcome="(\w+)"', k).group(1): int(v) for k, v in m.items()
                    if k.startswith("earshot_events_total{") and 'source="kafka"' in k and v}
        reasons = {re.search(r'reason="(\w+)"', k).group(1): int(v) for k, v in m.items()
                   if k.startswith("earshot_invalid_events_total{") and v}
        assert outcomes == expect_outcomes
        assert reasons == expect_reasons
        assert d.proc.poll() is None, "the daemon must survive hostile messages"
    finally:
        assert d.stop() == 0
