#!/usr/bin/env python3
"""HTTP load tool for earshot's listener (docs/performance.md, "HTTP listener").

Hostile and busy clients, and the timing of requests among them:
  - Crowd: idle TCP clients (connect, send nothing), slowloris clients (send a
    request head one byte every `drip` seconds, never finishing it), and idle
    TLS clients (connect to a TLS port, never start the handshake), held open
    from one background thread; whatever the server closes is reopened, so
    the crowd keeps its size for as long as it runs.
  - timed_requests: GET requests on fresh connections, one at a time, each
    timed from connect to the last byte of the body.
  - burst: N connections opened at once, each sending one request.
  - ingest_rate: events/s from earshot_events_total between two scrapes.

Used by tests/integration/test_http_*.py and, as a command, by
scripts/bench-http.sh:

  bench/http_load.py --port 9464 --idle 1000 --slow 100 --requests 100
  bench/http_load.py --port 9464 --tls-ca ca.crt --idle-tls 300 --requests 100
  bench/http_load.py --port 9464 --burst 1000
  bench/http_load.py --write-rules DIR     (the ~54,000-series rule set)
"""

import argparse
import errno
import http.client
import re
import resource
import selectors
import socket
import ssl
import sys
import threading
import time

# A request head that never ends: the header value grows one byte at a time.
SLOW_HEAD = b"GET /metrics HTTP/1.1\r\nHost: earshot\r\nX-Slow: " + b"a" * 100000


def write_rules(directory, source_dir, filler_brands=200):
    """The rule set of the HTTP figures: deploy/rules/sneakers.yaml plus a
    category with one brand the generator names (nike) and `filler_brands`
    it never names. A category's window gauges list every brand on every
    platform where the category has data, so 200 make ~54,000 series."""
    import os
    import shutil
    os.makedirs(directory, exist_ok=True)
    shutil.copy(os.path.join(source_dir, "deploy", "rules", "sneakers.yaml"),
                os.path.join(directory, "sneakers.yaml"))
    lines = ["category: load", "brands:", "  - name: nike", "    terms: [nike]"]
    for i in range(filler_brands):
        lines += [f"  - name: b{i:05d}", f"    terms: [zzb{i:05d}]"]
    with open(os.path.join(directory, "load.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def raise_nofile():
    """Raises this process's soft open-file limit to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Crowd:
    """Idle, slowloris and idle-TLS clients kept open by a background thread.

    Not thread-safe apart from stats(), which any thread may call."""

    def __init__(self, host, port, idle=0, slow=0, drip=1.0, reconnect=True):
        self.host, self.port = host, port
        self.want = {"idle": idle, "slow": slow}
        self.drip = drip
        self.reconnect = reconnect
        self._sel = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._socks = {}  # sock -> [kind, bytes of SLOW_HEAD sent]
        self._pending = []  # kinds to (re)open
        self.counts = {"opened": 0, "closed_by_server": 0, "connect_failed": 0}

    def _open(self, kind):
        try:
            s = socket.create_connection((self.host, self.port), timeout=2)
        except OSError:
            self.counts["connect_failed"] += 1
            return False
        s.setblocking(False)
        self._socks[s] = [kind, 0]
        self._sel.register(s, selectors.EVENT_READ)
        self.counts["opened"] += 1
        return True

    def _close(self, s):
        self._sel.unregister(s)
        kind = self._socks.pop(s)[0]
        s.close()
        return kind

    def open_count(self):
        with self._lock:
            return len(self._socks)

    def stats(self):
        with self._lock:
            out = dict(self.counts)
            out["open"] = len(self._socks)
            return out

    def start(self, timeout=60):
        """Opens every client; returns once all are connected."""
        raise_nofile()
        with self._lock:
            for kind, n in self.want.items():
                for _ in range(n):
                    if not self._open(kind):
                        self._pending.append(kind)  # the thread tries again
        self._thread = threading.Thread(target=self._run, name="crowd", daemon=True)
        self._thread.start()
        total = sum(self.want.values())
        deadline = time.monotonic() + timeout
        while self.open_count() < total:
            if time.monotonic() > deadline:
                raise AssertionError(f"crowd: only {self.stats()} of {total} connected")
            time.sleep(0.05)
        return self

    def _run(self):
        next_drip = time.monotonic() + self.drip
        while not self._stop.is_set():
            events = self._sel.select(timeout=0.05)
            with self._lock:
                for key, _ in events:
                    s = key.fileobj
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b""
                    if not data:  # closed by the server (timeout, refusal)
                        self.counts["closed_by_server"] += 1
                        kind = self._close(s)
                        if self.reconnect:
                            self._pending.append(kind)
                now = time.monotonic()
                if now >= next_drip:
                    next_drip += self.drip
                    for s, state in list(self._socks.items()):
                        if state[0] == "slow" and state[1] < len(SLOW_HEAD):
                            try:
                                s.send(SLOW_HEAD[state[1]:state[1] + 1])
                                state[1] += 1
                            except OSError:
                                pass  # the read side sees the close
                pending, self._pending = self._pending, []
                for kind in pending:
                    if not self._open(kind):
                        self._pending.append(kind)  # try again next round
            if self._pending:
                time.sleep(0.01)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            for s in list(self._socks):
                self._close(s)


def tls_client_context(ca_file=None):
    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    ctx.check_hostname = False
    if not ca_file:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def timed_get(host, port, path, ctx=None, timeout=10, headers=None):
    """(status, seconds, body bytes) of one GET on a fresh connection; status
    is None (and the error the body) when the request failed."""
    start = time.monotonic()
    if ctx is None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        return r.status, time.monotonic() - start, body
    except (OSError, http.client.HTTPException) as e:
        return None, time.monotonic() - start, repr(e)
    finally:
        conn.close()


def percentile(values, p):
    """The p-th percentile (nearest rank) of `values`."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def timed_requests(host, port, paths, n, ctx=None, timeout=10):
    """n GETs of each path, interleaved; {path: [(status, seconds, bytes)]}."""
    out = {p: [] for p in paths}
    for _ in range(n):
        for p in paths:
            status, secs, body = timed_get(host, port, p, ctx=ctx, timeout=timeout)
            out[p].append((status, secs, len(body) if status is not None else body))
    return out


def summarize(results):
    """{path: {n, ok, failed, p50_ms, p99_ms, max_ms, bytes}}."""
    out = {}
    for path, rs in results.items():
        secs = [s for _, s, _ in rs]
        ok = [r for r in rs if r[0] == 200]
        out[path] = {
            "n": len(rs), "ok": len(ok), "failed": len(rs) - len(ok),
            "p50_ms": 1000 * percentile(secs, 50), "p99_ms": 1000 * percentile(secs, 99),
            "max_ms": 1000 * max(secs) if secs else float("nan"),
            "bytes": ok[-1][2] if ok else 0,
            "errors": sorted({str(r[2])[:120] for r in rs if r[0] != 200})[:3],
        }
    return out


def burst(host, port, n, path="/healthz", timeout=30):
    """Opens n connections at once, sends one request on each, reads until
    the server closes or answers. Returns counts by outcome: 'status 200',
    'status 503', 'closed' (no answer), 'refused' (connect failed), 'timeout'."""
    raise_nofile()
    sel = selectors.DefaultSelector()
    req = f"GET {path} HTTP/1.1\r\nHost: earshot\r\nConnection: close\r\n\r\n".encode()
    outcomes = {}
    socks = {}

    def done(s, what):
        outcomes[what] = outcomes.get(what, 0) + 1
        sel.unregister(s)
        socks.pop(s)
        s.close()

    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((host, port))
        if rc not in (0, errno.EINPROGRESS):
            outcomes["refused"] = outcomes.get("refused", 0) + 1
            s.close()
            continue
        socks[s] = [False, b""]  # request sent, bytes read
        sel.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + timeout
    while socks and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=0.1):
            s = key.fileobj
            state = socks[s]
            if not state[0]:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    done(s, "refused")
                    continue
                try:
                    s.send(req)
                except OSError:
                    done(s, "closed")
                    continue
                state[0] = True
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if data:
                state[1] += data
                continue
            m = re.match(rb"HTTP/1\.[01] (\d+)", state[1])
            done(s, f"status {int(m.group(1))}" if m else "closed")
    for s in list(socks):
        done(s, "timeout")
    return outcomes


def metric_sum(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def scrape_value(host, port, name, ctx=None):
    status, _, body = timed_get(host, port, "/metrics", ctx=ctx, timeout=30)
    if status != 200:
        raise AssertionError(f"/metrics answered {status}: {body!r}")
    return metric_sum(body.decode(), name)


def thread_cpu(pid):
    """CPU seconds of process `pid`: (its main thread, all other threads).
    In `earshot run` the main thread is the pipeline; the others are the
    listener's (and an idle signal thread)."""
    import os
    tick = os.sysconf("SC_CLK_TCK")
    main = other = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        secs = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        if int(tid) == pid:
            main += secs
        else:
            other += secs
    return main, other


def ingest_rate(host, port, seconds, ctx=None, pid=None, cpu=None):
    """Events per second counted in earshot_events_total over `seconds`.
    With `pid`, stores in cpu["listener"] the CPU seconds a second that the
    daemon's threads other than the pipeline's used meanwhile."""
    t0 = time.monotonic()
    e0 = scrape_value(host, port, "earshot_events_total", ctx)
    c0 = thread_cpu(pid) if pid else None
    time.sleep(seconds)  # a measurement interval, not a synchronization
    c1 = thread_cpu(pid) if pid else None
    t1 = time.monotonic()
    e1 = scrape_value(host, port, "earshot_events_total", ctx)
    if pid and cpu is not None:
        cpu["listener"] = (c1[1] - c0[1]) / (t1 - t0)
        cpu["pipeline"] = (c1[0] - c0[0]) / (t1 - t0)
    return (e1 - e0) / (t1 - t0)


def print_summary(title, summary):
    print(f"{title}")
    print("| path | requests | 200 | failed | p50 ms | p99 ms | max ms | body bytes |")
    print("|---|---|---|---|---|---|---|---|")
    for path, s in summary.items():
        print(f"| {path} | {s['n']} | {s['ok']} | {s['failed']} | {s['p50_ms']:.1f} | "
              f"{s['p99_ms']:.1f} | {s['max_ms']:.1f} | {s['bytes']} |")
        for e in s["errors"]:
            print(f"  error: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--idle", type=int, default=0, help="idle TCP clients")
    ap.add_argument("--slow", type=int, default=0, help="slowloris clients")
    ap.add_argument("--idle-tls", type=int, default=0,
                    help="clients that connect and never start the TLS handshake")
    ap.add_argument("--drip", type=float, default=1.0, help="seconds between slowloris bytes")
    ap.add_argument("--requests", type=int, default=0, help="timed GETs of each path")
    ap.add_argument("--paths", default="/metrics,/healthz")
    ap.add_argument("--tls-ca", help="CA file: time the requests over TLS")
    ap.add_argument("--burst", type=int, default=0, help="connections opened at once")
    ap.add_argument("--write-rules", metavar="DIR",
                    help="write the ~54,000-series rule set into DIR and exit")
    ap.add_argument("--source-dir", default=".", help="earshot's source tree (--write-rules)")
    ap.add_argument("--ingest-rounds", type=int, default=3)
    ap.add_argument("--pid", type=int, help="the daemon's pid: report its threads' CPU use")
    ap.add_argument("--timeout", type=float, default=10, help="seconds a request may take")
    ap.add_argument("--ingest-seconds", type=float, default=0,
                    help="measure events/s before and under the crowd")
    a = ap.parse_args()
    if a.write_rules:
        write_rules(a.write_rules, a.source_dir)
        return
    if a.port is None:
        ap.error("--port is required")
    sys.stdout.reconfigure(line_buffering=True)
    ctx = tls_client_context(a.tls_ca) if a.tls_ca else None
    paths = a.paths.split(",")
    print(f"open-file limit: {raise_nofile()}")
    kinds = dict(idle=a.idle + a.idle_tls, slow=a.slow, drip=a.drip)
    any_crowd = a.idle or a.slow or a.idle_tls
    if a.ingest_seconds and any_crowd:
        # Alternating rounds: this machine's speed drifts, so each loaded
        # figure is compared with the unloaded one just before it.
        ratios, cpu_ratios = [], []
        for r in range(a.ingest_rounds):
            cpu0, cpu1 = {}, {}
            base = ingest_rate(a.host, a.port, a.ingest_seconds, ctx, a.pid, cpu0)
            c = Crowd(a.host, a.port, **kinds).start()
            try:
                loaded = ingest_rate(a.host, a.port, a.ingest_seconds, ctx, a.pid, cpu1)
            finally:
                c.stop()
            ratios.append(loaded / base)
            cpu_note = ""
            if a.pid and cpu0["pipeline"] > 0 and cpu1["pipeline"] > 0:
                per_cpu = (loaded / cpu1["pipeline"]) / (base / cpu0["pipeline"])
                cpu_ratios.append(per_cpu)
                cpu_note = (f"; per pipeline CPU second {base / cpu0['pipeline']:,.0f} -> "
                            f"{loaded / cpu1['pipeline']:,.0f} ({100 * (per_cpu - 1):+.1f}%)")
            if a.pid:
                cpu_note = (f"; listener threads {cpu0['listener']:.3f} -> {cpu1['listener']:.3f} "
                            f"CPU s/s, pipeline thread {cpu0['pipeline']:.2f} -> "
                            f"{cpu1['pipeline']:.2f}")
            print(f"ingestion round {r + 1}: {base:,.0f} events/s unloaded, {loaded:,.0f} under "
                  f"the crowd ({100 * (loaded / base - 1):+.1f}%){cpu_note}")
        ratios.sort()
        print(f"ingestion under the crowd vs unloaded, median of {len(ratios)} rounds: "
              f"{100 * (ratios[len(ratios) // 2] - 1):+.1f}% in events/s", end="")
        cpu_ratios.sort()
        print(f", {100 * (cpu_ratios[len(cpu_ratios) // 2] - 1):+.1f}% in events per pipeline "
              "CPU second" if cpu_ratios else "")
    crowd = None
    if any_crowd:
        t = time.monotonic()
        crowd = Crowd(a.host, a.port, **kinds).start()
        print(f"crowd: {a.idle + a.idle_tls} idle{' (TLS port)' if a.idle_tls else ''}, "
              f"{a.slow} slowloris, all connected in {time.monotonic() - t:.2f} s")
    try:
        if a.requests:
            summary = summarize(timed_requests(a.host, a.port, paths, a.requests, ctx=ctx,
                                               timeout=a.timeout))
            print_summary(f"{a.requests} requests of each path, one at a time, new connection each"
                          + (" (TLS)" if ctx else ""), summary)
        if crowd is not None:
            print(f"crowd at the end: {crowd.stats()}")
        if a.burst:
            t = time.monotonic()
            out = burst(a.host, a.port, a.burst)
            print(f"burst of {a.burst} connections: {dict(sorted(out.items()))} "
                  f"in {time.monotonic() - t:.2f} s")
            status, secs, _ = timed_get(a.host, a.port, "/healthz", ctx=ctx)
            print(f"after the burst: /healthz {status} in {1000 * secs:.1f} ms")
            if a.ingest_seconds:
                rate = ingest_rate(a.host, a.port, a.ingest_seconds, ctx)
                print(f"ingestion after the burst: {rate:,.0f} events/s")
    finally:
        if crowd is not None:
            crowd.stop()


if __name__ == "__main__":
    main()
