"""Fixtures for CLI and daemon tests: the earshot binary, temp dirs, and a
running daemon on a free port (parsed from its start-up log line)."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from earshot_testing import parse_metrics, wait_for  # noqa: E402,F401 - shared helpers

import pytest

BIN = os.environ.get("EARSHOT_BIN", "build/cmd/earshot")
SRC = os.environ.get("EARSHOT_SOURCE_DIR", ".")


def run(*args, input=None, timeout=60):
    return subprocess.run([BIN, *args], input=input, capture_output=True, timeout=timeout)


def now_rfc3339(offset_s=0.0):
    t = time.time() + offset_s
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def event(id_, text, platform="twitter", **extra):
    e = {"id": str(id_), "platform": platform, "text": text, "created_at": now_rfc3339()}
    e.update(extra)
    return json.dumps(e, ensure_ascii=False)


class Daemon:
    def __init__(self, config_path, cwd):
        self.log_path = os.path.join(cwd, "daemon.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([BIN, "run", "--config", config_path], cwd=cwd,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = wait_for(self._port, what="daemon start-up line")

    def _port(self):
        if self.proc.poll() is not None:
            raise AssertionError("daemon exited early:\n" + self.logs())
        m = re.search(r"listening on :(\d+)", self.logs())
        return int(m.group(1)) if m else None

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return r.status, r.read().decode()

    def metrics(self):
        return parse_metrics(self.get("/metrics")[1])

    def metric(self, key, default=0.0):
        return self.metrics().get(key, default)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def daemon_factory(tmp_path):
    started = []

    def make(config_text):
        cfg = tmp_path / "earshot.yaml"
        cfg.write_text(config_text)
        d = Daemon(str(cfg), str(tmp_path))
        started.append(d)
        return d

    yield make
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
