"""Bounded memory (docs/reliability.md): millions of unique ids over days of
event time keep peak memory flat, because dedupe and window state expire with
the longest window (24h) and are capped by configuration."""
import os
import subprocess
import threading
import time

from conftest import BIN, SRC

DAY_MS = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PER_DAY = 400_000
DAYS = 7
PLATFORMS = ["twitter", "instagram", "reddit", "facebook", "youtube", "tiktok"]
TEXTS = ["nike air max", "adidas three stripes", "iphone vs galaxy s24", "just a post",
         "coca-cola or pepsi", "netflix tonight", "نايكي جميل", "ナイキの新作"]


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_peak_memory_is_flat_over_days_of_unique_ids(tmp_path):
    p = subprocess.Popen([BIN, "replay", "--rules", os.path.join(SRC, "deploy", "rules"), "-"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = {}
    reader = threading.Thread(target=lambda: out.setdefault("text", p.stdout.read()))
    reader.start()
    peaks = []
    step = DAY_MS // PER_DAY
    i = 0
    for day in range(DAYS):
        chunk = []
        for k in range(PER_DAY):
            t = T0 + i * step
            chunk.append('{"id":"u%d","platform":"%s","text":"%s","created_at":%d,'
                         '"author":{"followers":%d}}\n'
                         % (i, PLATFORMS[i % len(PLATFORMS)], TEXTS[i % len(TEXTS)], t, i % 977))
            i += 1
            if len(chunk) == 20000:
                p.stdin.write("".join(chunk).encode())
                chunk = []
        p.stdin.write("".join(chunk).encode())
        p.stdin.flush()
        # The pipe holds at most 64 KiB: by now the daemon has seen ~all of this day.
        peaks.append(vm_hwm_kib(p.pid))
    p.stdin.close()
    p.wait(timeout=300)
    reader.join()
    assert p.returncode == 0
    text = out["text"].decode()
    total = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith("earshot_events_total{"))
    assert total == PER_DAY * DAYS
    assert 'outcome="duplicate",source="file"} 0' in text
    # The first days fill the 24h horizon (and let the dedupe table reach its
    # working size); from then on each day replaces the last without growth.
    print("peak RSS per day (KiB):", peaks)
    assert peaks[-1] <= peaks[2] * 1.05 + 2048, f"peak RSS per day (KiB): {peaks}"
