"""http.web_config end to end: a real `earshot run` serving TLS and basic
auth from a Prometheus web-config file (docs/security.md).

Certificates come from the openssl CLI (a CA, a server certificate for
127.0.0.1, a client certificate signed by the CA and a self-signed one);
bcrypt hashes from libxcrypt through Python's crypt module (cost 4, so the
test stays fast). Nothing is skipped: a missing tool fails the test.
"""

import base64
import http.client
import socket
import ssl
import subprocess
import warnings
from pathlib import Path

import pytest

from conftest import earshot_bin, require_tool, start_daemon, stop, tail, wait_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # bcrypt via libxcrypt; deprecated in 3.11, present in Debian 12's 3.11

USER, PASSWORD = "prometheus", "s3cret pass:word"
RULES = "category: sneakers\nbrands:\n  - name: nike\n    terms: [nike]\n"


def bcrypt_hash(password):
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    assert h and h.startswith("$2b$04$"), f"libxcrypt produced no bcrypt hash: {h!r}"
    return h


def openssl(*args, cwd):
    subprocess.run([require_tool("openssl"), *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=earshot test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
            cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext", cwd=d)
    (d / "client.ext").write_text("subjectAltName=DNS:scraper.example\n"
                                  "extendedKeyUsage=clientAuth\n")
    openssl("req", *ec, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=scraper",
            cwd=d)
    openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "client.crt", "-days", "2", "-extfile", "client.ext", cwd=d)
    openssl("req", "-x509", *ec, "-keyout", "rogue.key", "-out", "rogue.crt", "-days", "2",
            "-subj", "/CN=rogue", cwd=d)
    return d


def start(tmp, web_config_text, expect_fail=False):
    """Starts `earshot run` with the given web config on port 0; returns the
    running Daemon, or with expect_fail (exit status, log text)."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "rules").mkdir(exist_ok=True)
    (tmp / "rules" / "sneakers.yaml").write_text(RULES)
    (tmp / "web.yml").write_text(web_config_text)
    (tmp / "earshot.yaml").write_text("""\
source: {type: generator, generator: {rate: 20, seed: 1}}
rules: {paths: [rules/], reload: off}
http: {listen: "127.0.0.1:0", web_config: web.yml}
""")
    if not expect_fail:
        return start_daemon(tmp / "earshot.yaml", tmp)
    log = tmp / "earshot.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([earshot_bin(), "run", "--config", str(tmp / "earshot.yaml")],
                                cwd=tmp, stdout=out, stderr=subprocess.STDOUT)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stop(proc)
        pytest.fail("earshot kept running with a bad web config\n" + tail(log))
    return rc, log.read_text(errors="replace")


def tls_context(pki, version=None, cert=None, seclevel0=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki / "ca.crt")
    if seclevel0:  # let the client offer old protocols, so the server is what refuses
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    if cert is not None:
        ctx.load_cert_chain(pki / f"{cert}.crt", pki / f"{cert}.key")
    return ctx


def get(port, path, ctx, auth=None, timeout=10):
    """(status, headers, body) over HTTPS."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    headers = {}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(
            f"{auth[0]}:{auth[1]}".encode()).decode()
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def wait_ready(d, ctx):
    wait_for(lambda: get(d.port, "/healthz", ctx)[0] == 200, timeout=30,
             what="earshot /healthz over TLS", proc=d.proc, log=d.log_path)


@pytest.fixture(scope="module")
def tls_auth_daemon(pki, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tls-auth")
    d = start(tmp, f"""\
tls_server_config:
  cert_file: {pki}/server.crt
  key_file: {pki}/server.key
  min_version: TLS12
http_server_config:
  headers:
    Strict-Transport-Security: max-age=31536000
    X-Content-Type-Options: nosniff
basic_auth_users:
  {USER}: {bcrypt_hash(PASSWORD)}
  other: {bcrypt_hash("another")}
""")
    try:
        wait_ready(d, tls_context(pki))
        yield d.port
    finally:
        d.stop()


def test_tls12_and_tls13_with_the_right_password(pki, tls_auth_daemon):
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        status, headers, body = get(tls_auth_daemon, "/metrics", tls_context(pki, version),
                                    auth=(USER, PASSWORD))
        assert status == 200, (version, status, body[:200])
        assert b"earshot_build_info" in body
        assert headers.get("Strict-Transport-Security") == "max-age=31536000"
        assert headers.get("X-Content-Type-Options") == "nosniff"
    # The API and the page are protected too, and served with the password.
    assert get(tls_auth_daemon, "/api/v1/share-of-voice?window=5m", tls_context(pki),
               auth=(USER, PASSWORD))[0] == 200
    assert get(tls_auth_daemon, "/", tls_context(pki), auth=(USER, PASSWORD))[0] == 200
    # Cached or not, the second user works as well.
    for _ in range(2):
        assert get(tls_auth_daemon, "/metrics", tls_context(pki), auth=("other", "another"))[0] == 200


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_tls_below_1_2_is_refused(pki, tls_auth_daemon, version):
    # The client offers the old protocol (security level 0); the server refuses.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        get(tls_auth_daemon, "/healthz",
            tls_context(pki, getattr(ssl.TLSVersion, version), seclevel0=True))


def test_plain_http_is_not_served(tls_auth_daemon):
    conn = http.client.HTTPConnection("127.0.0.1", tls_auth_daemon, timeout=10)
    try:
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
    except (http.client.HTTPException, ConnectionError):
        status = None
    finally:
        conn.close()
    assert status != 200


@pytest.mark.parametrize("path", ["/metrics", "/api/v1/share-of-voice", "/", "/nope"])
@pytest.mark.parametrize("auth", [None, (USER, "wrong"), (USER, PASSWORD + "x"),
                                  ("nobody", PASSWORD), (USER.upper(), PASSWORD)])
def test_wrong_or_missing_credentials_get_401(pki, tls_auth_daemon, path, auth):
    status, headers, body = get(tls_auth_daemon, path, tls_context(pki), auth=auth)
    assert status == 401, (path, auth, status, body[:200])
    assert headers.get("WWW-Authenticate") == 'Basic realm="earshot"'
    assert b"earshot_" not in body


def test_malformed_authorization_headers_get_401(pki, tls_auth_daemon):
    for value in ["Basic", "Basic !!!!", "Bearer abc", "Basic " + base64.b64encode(
            USER.encode()).decode(), "Basic " + "A" * 10000]:
        conn = http.client.HTTPSConnection("127.0.0.1", tls_auth_daemon,
                                           context=tls_context(pki), timeout=10)
        try:
            conn.request("GET", "/metrics", headers={"Authorization": value})
            r = conn.getresponse()
            r.read()
            assert r.status in (401, 431, 400), (value[:20], r.status)
            assert r.status != 200
        finally:
            conn.close()


def test_probes_stay_open(pki, tls_auth_daemon):
    assert get(tls_auth_daemon, "/healthz", tls_context(pki))[0] == 200
    assert get(tls_auth_daemon, "/readyz", tls_context(pki))[0] in (200, 503)


@pytest.fixture(scope="module")
def mtls_daemon(pki, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mtls")
    d = start(tmp, """\
tls_server_config:
  cert_file: ../pki/server.crt
  key_file: PKI/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: PKI/ca.crt
  client_allowed_sans: [scraper.example]
  min_version: TLS13
""".replace("../pki", str(pki)).replace("PKI", str(pki)))
    try:
        wait_ready(d, tls_context(pki, cert="client"))
        yield d.port
    finally:
        d.stop()


def test_client_certificate_required(pki, mtls_daemon):
    assert get(mtls_daemon, "/metrics", tls_context(pki, cert="client"))[0] == 200
    for cert in (None, "rogue"):
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            get(mtls_daemon, "/metrics", tls_context(pki, cert=cert))
    # min_version: TLS13 refuses TLS 1.2 even with a good certificate.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        get(mtls_daemon, "/healthz", tls_context(pki, ssl.TLSVersion.TLSv1_2, cert="client"))


def test_client_san_not_allowed(pki, tmp_path):
    d = start(tmp_path, f"""\
tls_server_config:
  cert_file: {pki}/server.crt
  key_file: {pki}/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {pki}/ca.crt
  client_allowed_sans: [someone-else.example]
""")
    try:
        def listening():
            with socket.create_connection(("127.0.0.1", d.port), timeout=2):
                return True
        wait_for(listening, timeout=30, what="the TLS listener", proc=d.proc, log=d.log_path)
        # /healthz is open for auth, but TLS itself still needs an allowed client.
        with pytest.raises((ssl.SSLError, ConnectionResetError, http.client.HTTPException)):
            get(d.port, "/healthz", tls_context(pki, cert="client"))
        assert d.proc.poll() is None
    finally:
        d.stop()


def test_basic_auth_without_tls(tmp_path):
    d = start(tmp_path, f"basic_auth_users:\n  {USER}: {bcrypt_hash(PASSWORD)}\n")
    try:
        def plain(path, auth=None):
            conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
            h = {}
            if auth:
                h["Authorization"] = "Basic " + base64.b64encode(
                    f"{auth[0]}:{auth[1]}".encode()).decode()
            try:
                conn.request("GET", path, headers=h)
                r = conn.getresponse()
                return r.status
            finally:
                conn.close()
        wait_for(lambda: plain("/healthz") == 200, timeout=30, what="/healthz", proc=d.proc,
                 log=d.log_path)
        assert plain("/metrics") == 401
        assert plain("/metrics", (USER, PASSWORD)) == 200
    finally:
        d.stop()


@pytest.mark.parametrize("text,expected", [
    ("tls_server_config:\n  cert_file: /nonexistent/server.crt\n  key_file: /nonexistent/k\n",
     "web.yml:2:14: cert_file: cannot read \"/nonexistent/server.crt\""),
    ("basic_auth_users:\n  prometheus: plaintext\n",
     "web.yml:2:15: basic_auth_users: the password of \"prometheus\" is not a bcrypt hash"),
    ("tls_server_config:\n  cert_fle: x\n",
     "web.yml:2:3: unknown key \"cert_fle\" (did you mean \"cert_file\"?)"),
    ("basic_auth_user:\n  a: b\n",
     "web.yml:1:1: unknown key \"basic_auth_user\" (did you mean \"basic_auth_users\"?)"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  min_version: TLS11\n",
     "web.yml:4:16: min_version: TLS11 is not allowed"),
])
def test_bad_web_config_fails_start(pki, tmp_path, text, expected):
    text = text.replace("CERT", str(pki / "server.crt")).replace("KEY", str(pki / "server.key"))
    rc, log = start(tmp_path, text, expect_fail=True)
    assert rc != 0
    assert expected in log, log


def test_mismatched_key_fails_start(pki, tmp_path):
    rc, log = start(tmp_path, f"""\
tls_server_config:
  cert_file: {pki}/server.crt
  key_file: {pki}/client.key
""", expect_fail=True)
    assert rc != 0
    assert "key_file" in log and "key values mismatch" in log, log


def test_shipped_example_parses(tmp_path):
    """deploy/web-config.example.yml only fails on its certificate paths."""
    example = Path(__file__).resolve().parents[2] / "deploy" / "web-config.example.yml"
    rc, log = start(tmp_path, example.read_text(), expect_fail=True)
    assert rc != 0
    assert "cert_file: cannot read \"/etc/earshot/tls/tls.crt\"" in log, log
    assert "bcrypt" not in log and "unknown key" not in log, log
