"""Shared by the HTTP listener's integration tests: a daemon on the embedded
generator with a rule set big enough for ~54,000 series in /metrics, and a
test PKI made with the openssl CLI. No Kafka; nothing is skipped."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("EARSHOT_SOURCE_DIR", HERE.parents[1]))
sys.path.insert(0, str(HERE.parent / "pylib"))
sys.path.insert(0, str(SOURCE_DIR / "bench"))

import http_load  # noqa: E402
from earshot_testing import Daemon, wait_for  # noqa: E402

def write_rules(d):
    http_load.write_rules(str(d), str(SOURCE_DIR))


def start_daemon(tmp, http_extra="", rate=2000, web_config=None):
    """`earshot run` on the generator; returns the Daemon (port read back)."""
    http_load.raise_nofile()  # the daemon inherits the raised limit's hard cap
    write_rules(tmp / "rules")
    wc = f", web_config: {web_config}" if web_config else ""
    (tmp / "earshot.yaml").write_text(f"""\
source: {{type: generator, generator: {{rate: {rate}, seed: 1}}}}
rules: {{paths: [rules/], reload: off}}
http: {{listen: "127.0.0.1:0"{wc}{', ' + http_extra if http_extra else ''}}}
""")
    if not os.path.exists(os.environ.get("EARSHOT_BIN", "build/cmd/earshot")):
        pytest.fail("earshot binary missing: build it first", pytrace=False)
    return Daemon(str(tmp / "earshot.yaml"), tmp)


def make_pki(d):
    """A CA and a server certificate for 127.0.0.1 (EC P-256)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl CLI not found (scripts/install-deps.sh installs it)", pytrace=False)
    d.mkdir(parents=True, exist_ok=True)

    def run(*args):
        subprocess.run([openssl, *args], cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=earshot test CA")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext")
    (d / "web.yml").write_text(
        f"tls_server_config:\n  cert_file: {d}/server.crt\n  key_file: {d}/server.key\n")
    return d


def series_count(daemon, ctx=None):
    status, _, body = http_load.timed_get("127.0.0.1", daemon.port, "/metrics", ctx=ctx,
                                          timeout=30)
    assert status == 200, body
    return sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))


def metric(daemon, name, ctx=None):
    return http_load.scrape_value("127.0.0.1", daemon.port, name, ctx)


def sanitized_build():
    """Whether the daemon under test is an AddressSanitizer build
    (scripts/sanitize.sh), read from its build directory's CMake cache."""
    build = os.environ.get("EARSHOT_BUILD_DIR")
    cache = Path(build) / "CMakeCache.txt" if build else None
    return bool(cache and cache.exists() and "EARSHOT_SANITIZE:BOOL=ON" in cache.read_text())


def assert_latency_bounds(summary, n):
    """Every request 200 in under 1 s: a listener that idle or slow clients
    starve answers in 5-10 s (civetweb did), or not at all. The p99 target
    (250 ms) is a speed figure, printed here and measured by
    scripts/bench-http.sh (docs/performance.md), not asserted: under a loaded
    machine one scrape of 5 MB can take ~0.5 s (seen in a 20-run loop beside
    other tiers). An AddressSanitizer build (-O1, every access checked)
    formats and copies the 5 MB exposition several times slower, so there the
    bound is 5x: still far below what a blocked listener shows."""
    scale = 5 if sanitized_build() else 1
    print({path: {k: s[k] for k in ("n", "ok", "p50_ms", "p99_ms", "max_ms")}
           for path, s in summary.items()}, f"(bound x{scale})")
    for path, s in summary.items():
        assert s["n"] == n and s["failed"] == 0, (path, s)
        assert s["max_ms"] < 1000 * scale, (path, s)


__all__ = ["http_load", "wait_for", "start_daemon", "make_pki", "series_count", "metric",
           "assert_latency_bounds"]
