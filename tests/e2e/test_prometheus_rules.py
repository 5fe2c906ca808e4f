"""A real Prometheus scrapes the daemon every second with the shipped rule
files; the recording rules must give the shares that the event file implies
(per platform and platform="all"), the leaders, and the mention rate."""

import json
import re
import subprocess
import time
from collections import Counter

from conftest import (E2E_BRANDS, EARSHOT_METRICS, SOURCE_DIR, http_get, prom_query, require_tool,
                      wait_for)

WINDOW = "5m"
SEL = f'window="{WINDOW}",category="sneakers",basis="mentions"'


def counts_from_file(path):
    """{platform: Counter(brand)} for the posts in the JSONL file, classified
    the way the e2e rules do (each brand name as a word)."""
    counts = {}
    for line in path.read_text().splitlines():
        e = json.loads(line)
        for brand in E2E_BRANDS:
            if re.search(rf"\b{brand}\b", e["text"], re.I):
                counts.setdefault(e["platform"], Counter())[brand] += 1
    counts["all"] = sum(counts.values(), Counter())
    return counts


def expected_shares(counts):
    out = {}
    for platform, c in counts.items():
        total = sum(c.values())
        for brand, n in c.items():
            out[(platform, brand)] = n / total
    return out


def expected_leaders(counts):
    out = {}
    for platform, c in counts.items():
        top = max(c.values())
        for brand, n in c.items():
            if n == top:
                out[(platform, brand)] = n / sum(c.values())
    return out


def by_platform_brand(result):
    return {(dict(k)["platform"], dict(k)["brand"]): v for k, v in result.items()}


def matches(got, want):
    """Same nonzero series and values; a brand with no mentions on a platform
    where its category has some may appear with share 0 (zero gauges)."""
    for key, v in got.items():
        if key not in want and v != 0:
            return False
    return all(key in got and abs(got[key] - v) < 1e-9 for key, v in want.items())


def wait_series(prometheus, query, want, what):
    def check():
        got = by_platform_brand(prom_query(prometheus, query))
        return matches(got, want) and got
    return wait_for(check, timeout=60, interval=0.5, what=f"{what}: {query} == {want}")


def test_share_of_voice_and_leaders(daemon, prometheus):
    wait_for(lambda: prom_query(prometheus, 'up{job="earshot"} == 1'), timeout=30,
             what="prometheus to scrape earshot")
    counts = counts_from_file(daemon.workdir / "events.jsonl")
    assert counts["twitter"] == Counter(nike=6, adidas=3, puma=1)

    got = wait_series(prometheus, f"earshot:share_of_voice:ratio{{{SEL}}}",
                      expected_shares(counts), "share of voice")
    assert ("reddit", "nike") not in got, "a platform with no mentions has no share"
    wait_series(prometheus, f"earshot:platform_leader:ratio{{{SEL}}}",
                expected_leaders(counts), "platform leaders")

    # One replica: the cluster-wide rule equals the daemon's own gauge.
    own = by_platform_brand(prom_query(prometheus, f"earshot_share_of_voice_ratio{{{SEL}}}"))
    assert matches(own, expected_shares(counts)), own


def test_rules_follow_new_events(daemon, prometheus):
    """Events appended to the followed file move the shares, the leader and
    the 5m mention rate (counters need a scrape before and after to rate)."""
    wait_for(lambda: prom_query(prometheus, 'count_over_time(up{job="earshot"}[1m]) >= 2'),
             timeout=30, what="two scrapes of earshot")
    path = daemon.workdir / "events.jsonl"
    now_ms = int(time.time() * 1000)
    with open(path, "a") as f:
        for i in range(4):
            f.write(json.dumps({"id": f"e2e-more-{i}", "platform": "twitter",
                                "text": f"puma drop number {i}", "created_at": now_ms}) + "\n")
    counts = counts_from_file(path)
    assert counts["twitter"]["puma"] == 5

    wait_series(prometheus, f"earshot:share_of_voice:ratio{{{SEL}}}",
                expected_shares(counts), "share of voice after new events")
    # twitter: nike 6, puma 5, adidas 3; all: nike 7, adidas 6, puma 5.
    wait_series(prometheus, f"earshot:platform_leader:ratio{{{SEL}}}",
                expected_leaders(counts), "leaders after new events")
    wait_for(lambda: prom_query(prometheus,
                                'earshot:mentions:rate5m{category="sneakers",brand="puma",'
                                'platform="twitter"} > 0'),
             timeout=60, interval=0.5, what="earshot:mentions:rate5m for puma on twitter")


def test_exposition_passes_promtool_and_has_the_contract_metrics(daemon):
    """docs/metrics.md: `promtool check metrics` passes on /metrics, and the
    families the rules and dashboard use are there (Kafka ones need a Kafka
    source, topic ones a topic rule: neither is in this run)."""
    status, body = http_get(daemon.url + "/metrics")
    assert status == 200
    r = subprocess.run([require_tool("promtool"), "check", "metrics"], input=body,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    names = set(re.findall(rb"^# TYPE (\S+)", body, re.M))
    names = {n.decode() for n in names}
    histograms = {n[: -len("_bucket")] for n in EARSHOT_METRICS if n.endswith("_bucket")}
    expected = {n for n in EARSHOT_METRICS if not re.search(r"_(sum|count)$", n)}
    expected = {n[: -len("_bucket")] if n.endswith("_bucket") else n for n in expected}
    expected -= {"earshot_kafka_consumer_lag", "earshot_kafka_assigned_partitions",
                 "earshot_topic_mentions_total"}
    assert expected <= names, f"missing from /metrics: {sorted(expected - names)}"
    unknown = {n for n in names if n.startswith("earshot_")} - expected - histograms - {
        "earshot_kafka_consumer_lag", "earshot_kafka_assigned_partitions",
        "earshot_topic_mentions_total"}
    # Operational extras beyond docs/metrics.md must at least be documented.
    documented = set(re.findall(r"`(earshot_[a-z_]+)`", (SOURCE_DIR / "docs" / "metrics.md").read_text()))
    assert not unknown - documented, \
        f"metrics outside docs/metrics.md: {sorted(unknown - documented)}"
