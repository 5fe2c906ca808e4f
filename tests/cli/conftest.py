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
from earshot_testing import Daemon, labels_of, parse_metrics, wait_for  # noqa: E402,F401 - shared helpers

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
