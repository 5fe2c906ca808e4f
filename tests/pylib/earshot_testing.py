"""Shared by the Python test tiers (tests/cli, tests/integration, tests/e2e):
polling with a deadline, Prometheus text-format parsing, HTTP GET, and a
running daemon on port 0 that reports the port it bound."""
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

BIN = os.environ.get("EARSHOT_BIN", "build/cmd/earshot")


def wait_for(predicate, timeout=30.0, interval=0.1, what="condition", proc=None, log=None):
    """Polls `predicate` until it returns a truthy value or the deadline passes.
    With `proc`, fails as soon as that process has exited; the failure shows
    the tail of the file `log`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}\n{tail(log)}")
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}\n{tail(log)}")


def tail(path, n=40):
    """The last n lines of a log file, headed by its name ("" without one)."""
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
    return f"--- {path} ---\n" + "\n".join(lines[-n:])


def port_from_log(proc, log, pattern, what):
    """Waits until the log file of `proc` has a line matching `pattern` (one
    group: the port a server bound, when it was given port 0); returns it."""
    def find():
        with open(log, "rb") as f:
            m = re.search(pattern, f.read().decode("utf-8", "replace"))
        return int(m.group(1)) if m else None
    return wait_for(find, what=what, proc=proc, log=log)


def http_get(url, timeout=5):
    """(status, body bytes) for a GET; HTTP errors return their status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


_LABEL = re.compile(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"')  # name="value" in a metric's {...}


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
        pairs = sorted(_LABEL.findall(labels or ""))
        key = name + ("{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}" if pairs else "")
        out[key] = float(value)
    return out


def labels_of(key):
    """The labels of a parse_metrics key: 'x{a="1",b="2"}' -> {"a": "1", "b": "2"}."""
    return dict(_LABEL.findall(key))


def small_asan_quarantine_env(quarantine_mb, thread_local_kb=None):
    """os.environ with ASan's quarantine of freed memory cut to
    `quarantine_mb` when running under scripts/sanitize.sh (ASAN_OPTIONS
    set). The quarantine, 256 MiB by default, makes RSS climb with every
    byte freed until it is full, which a memory check would read as growth;
    a small one fills during warm-up. Unchanged without ASan."""
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        opts = [o for o in env["ASAN_OPTIONS"].split(":") if o]
        opts.append(f"quarantine_size_mb={quarantine_mb}")
        if thread_local_kb is not None:
            opts.append(f"thread_local_quarantine_size_kb={thread_local_kb}")
        env["ASAN_OPTIONS"] = ":".join(opts)
    return env


class Daemon:
    """`earshot run --config FILE` in `cwd`, with its log in `<name>.log`; the
    config listens on port 0 and `port` is the one the daemon reports."""

    def __init__(self, config_path, cwd, name="earshot", binary=None, env=None):
        self.name = name
        self.cwd = str(cwd)
        self.log_path = os.path.join(self.cwd, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary or BIN, "run", "--config", str(config_path)],
                                     cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        self.port = port_from_log(self.proc, self.log_path, r"listening on :(\d+)",
                                  f"{name} start-up line")
        self.url = f"http://127.0.0.1:{self.port}"

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def get(self, path):
        status, body = http_get(self.url + path)
        return status, body.decode()

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
