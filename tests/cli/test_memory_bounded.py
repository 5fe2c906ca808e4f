"""Bounded memory (docs/reliability.md): millions of unique ids over days of
event time keep peak memory flat, because dedupe and window state expire with
the longest window (24h) and are capped by configuration."""
import os
import subprocess

from conftest import BIN, SRC
from earshot_testing import small_asan_quarantine_env

DAY_MS = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PER_DAY = 400_000
PLATFORMS = ["twitter", "instagram", "reddit", "facebook", "youtube", "tiktok"]
TEXTS = ["nike air max", "adidas three stripes", "iphone vs galaxy s24", "just a post",
         "coca-cola or pepsi", "netflix tonight", "نايكي جميل", "ナイキの新作"]


def write_days(path, days):
    step = DAY_MS // PER_DAY
    with open(path, "w", encoding="utf-8") as f:
        chunk = []
        for i in range(PER_DAY * days):
            chunk.append('{"id":"u%d","platform":"%s","text":"%s","created_at":%d,'
                         '"author":{"followers":%d}}\n'
                         % (i, PLATFORMS[i % len(PLATFORMS)], TEXTS[i % len(TEXTS)],
                            T0 + i * step, i % 977))
            if len(chunk) == 50_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


def replay_peak_kib(path):
    """(peak RSS in KiB, exposition) of `earshot replay` over `path`."""
    env = small_asan_quarantine_env(8, thread_local_kb=64)
    p = subprocess.Popen([BIN, "replay", "--rules", os.path.join(SRC, "deploy", "rules"),
                          str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    out = p.stdout.read().decode()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    assert p.returncode == 0
    return usage.ru_maxrss, out


def events_total(text):
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("earshot_events_total{"))


def test_peak_memory_is_flat_over_days_of_unique_ids(tmp_path):
    short, long_ = tmp_path / "2days.jsonl", tmp_path / "7days.jsonl"
    write_days(short, 2)
    write_days(long_, 7)
    peak_short, out_short = replay_peak_kib(short)
    peak_long, out_long = replay_peak_kib(long_)
    assert events_total(out_short) == 2 * PER_DAY
    assert events_total(out_long) == 7 * PER_DAY
    for out in (out_short, out_long):
        assert 'outcome="duplicate",source="file"} 0' in out
        # The 24h horizon holds one day of ids, whatever the length of the stream.
        assert f"earshot_dedupe_entries {PER_DAY}" in out
    print(f"peak RSS: 2 days {peak_short} KiB, 7 days {peak_long} KiB")
    # 3.5x the ids and days, the same peak memory (ASan's shadow and
    # quarantine add some noise under scripts/sanitize.sh).
    tolerance = 1.25 if "ASAN_OPTIONS" in os.environ else 1.10
    assert peak_long <= peak_short * tolerance + 4096, (peak_short, peak_long)
