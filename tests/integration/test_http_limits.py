"""http.max_connections, http.header_timeout and http.idle_timeout on a real
`earshot run` (no Kafka): refusal over the limit and its counter, the
connections already open unaffected; slow and silent clients closed after
the header timeout and counted, TLS ones included; config errors for bad
values. Waits poll with a deadline."""
import http.client
import os
import socket
import subprocess
import time

from http_fixtures import http_load, make_pki, metric, start_daemon, wait_for

def keep_alive_conn(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"ok\n"
    return conn


def test_over_max_connections_new_ones_are_refused_and_counted(tmp_path):
    d = start_daemon(tmp_path, "max_connections: 20, header_timeout: 60s, idle_timeout: 60s",
                     rate=100)
    try:
        held = [keep_alive_conn(d.port) for _ in range(19)]
        # The 20th slot: an idle socket; with it the listener is full.
        idle = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        refused = []
        for _ in range(5):
            t = time.monotonic()
            status, secs, body = http_load.timed_get("127.0.0.1", d.port, "/healthz", timeout=10)
            refused.append((status, secs))
            assert status in (503, None), (status, body)  # 503, or closed before it was read
            assert time.monotonic() - t < 1, "a refusal must be quick"
        # The connections already open keep working.
        for conn in held:
            conn.request("GET", "/metrics")
            r = conn.getresponse()
            assert r.status == 200
            body = r.read().decode()
        assert http_load.metric_sum(body, "earshot_http_connections_rejected_total") >= 5
        idle.close()
        wait_for(lambda: metric(d, "earshot_http_connections_rejected_total") >= 5, timeout=30,
                 what="a free slot and the rejected counter")
        for conn in held:
            conn.close()
    finally:
        d.stop()


def test_header_timeout_closes_slow_and_silent_clients(tmp_path):
    d = start_daemon(tmp_path, "header_timeout: 1s, idle_timeout: 60s", rate=100)
    try:
        before = metric(d, "earshot_http_header_timeouts_total")
        start = time.monotonic()
        silent = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        slow = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: a")  # never finished
        for s in (silent, slow):
            assert s.recv(1024) == b"", "closed without an answer"
            s.close()
        assert time.monotonic() - start >= 0.9
        wait_for(lambda: metric(d, "earshot_http_header_timeouts_total") >= before + 2,
                 timeout=30, what="the header timeouts counted")
    finally:
        d.stop()


def test_header_timeout_closes_clients_that_never_handshake(tmp_path):
    pki = make_pki(tmp_path / "pki")
    d = start_daemon(tmp_path / "run", "header_timeout: 1s", rate=100,
                     web_config=str(pki / "web.yml"))
    ctx = http_load.tls_client_context(str(pki / "ca.crt"))
    try:
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        assert s.recv(1024) == b""
        s.close()
        wait_for(lambda: metric(d, "earshot_http_header_timeouts_total", ctx) >= 1, timeout=30,
                 what="the handshake timeout counted")
    finally:
        d.stop()


def check(tmp_path, http_yaml):
    cfg = tmp_path / "earshot.yaml"
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.yaml").write_text(
        "category: c\nbrands:\n  - name: b\n    terms: [b]\n")
    cfg.write_text("rules: {paths: [rules/]}\nhttp:\n" + http_yaml)
    r = subprocess.run([os.environ.get("EARSHOT_BIN", "build/cmd/earshot"), "check", "--config",
                        str(cfg)], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr, cfg


def test_bad_http_limits_are_config_errors(tmp_path):
    rc, out, cfg = check(tmp_path, '  listen: ":0"\n  max_connections: 0\n  header_timeout: 5\n'
                                   '  idle_timeout: 0s\n')
    assert rc == 1, out
    assert f"{cfg}:4:20: http.max_connections: must be between 1 and 1000000" in out, out
    assert f"{cfg}:5:19: header_timeout: invalid duration \"5\"" in out, out
    assert f"{cfg}:6:17: http.idle_timeout: must be positive" in out, out
    rc, out, cfg = check(tmp_path, "  max_conections: 3\n")
    assert rc == 1 and f"{cfg}:3:3: unknown key \"max_conections\"" in out, out
    rc, out, _ = check(tmp_path, '  max_connections: 5000\n  header_timeout: 10s\n'
                                 '  idle_timeout: 2m\n')
    assert rc == 0, out
