"""Shared by the Python test tiers (tests/cli, tests/integration): polling
with a deadline, Prometheus text-format parsing, and a running daemon."""
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

BIN = os.environ.get("EARSHOT_BIN", "build/cmd/earshot")


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


class Daemon:
    """`earshot run --config FILE` with its log in `<name>.log`."""

    def __init__(self, config_path, cwd, name="earshot"):
        self.name = name
        self.log_path = os.path.join(str(cwd), f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([BIN, "run", "--config", config_path], cwd=str(cwd),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = wait_for(self._port, what=f"{name} start-up line")

    def _port(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited early:\n" + self.logs())
        m = re.search(r"listening on :(\d+)", self.logs())
        return int(m.group(1)) if m else None

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        status, body = self.get("/metrics")
        assert status == 200
        return parse_metrics(body)

    def metric(self, key, default=0.0):
        return self.metrics().get(key, default)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        self.log.close()
        return self.proc.returncode

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()
