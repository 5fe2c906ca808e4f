"""Shared by the Python test tiers (tests/cli, tests/integration): polling
with a deadline and Prometheus text-format parsing."""
import re
import time


def wait_for(predicate, timeout=30.0, interval=0.1, what="condition"):
    """Polls `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def parse_metrics(text):
    """name{labels} -> float, labels sorted: 'earshot_x{a="1",b="2"}'."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        name, _, labels, value = m.groups()
        pairs = sorted(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', labels or ""))
        key = name + ("{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}" if pairs else "")
        out[key] = float(value)
    return out
