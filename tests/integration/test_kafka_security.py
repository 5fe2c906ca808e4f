"""Kafka security through passthrough properties, against a real broker
started by `kafka.sh start-secure`: a SASL_SSL listener with SCRAM-SHA-256,
SCRAM-SHA-512 (user alice, created at format time) and PLAIN, and an SSL
listener that requires a client certificate, all signed by a throwaway CA.
Topics are created and filled through the broker's PLAINTEXT listener; only
the daemon under test speaks TLS.

- SASL_SSL with the right password (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512):
  the daemon consumes and counts exactly like `earshot replay`; the SCRAM
  passwords come from ${file:...} and ${env:...} references, the PLAIN one is
  inline and draws the warning that points to them;
- a wrong password (both SCRAM mechanisms): the daemon stays up and unready
  (/readyz 503) with one clear log line naming the authentication failure,
  and SIGTERM exits 0;
- a SASL mechanism librdkafka does not know: start-up fails with
  librdkafka's own message;
- mTLS: with the client certificate the daemon consumes exactly; without one
  the broker refuses the handshake and the daemon stays unready.

SCRAM needs librdkafka >= 2.6.1 (Kafka 4.x checks the client nonce that
older versions repeat); the tests fail, never skip, when `earshot version`
reports an older one.
"""
import base64
import hashlib
import hmac
import socket
import ssl
import struct
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from kafka_helpers import (BIN, TOOL, Broker, assert_consumed_like_replay, generate,
                           kafka_config, new_topic, produce_file, replay, tool, wait_for)

N = 2000
USER, PASSWORD = "alice", "alice-secret"  # kafka.sh start-secure's SCRAM credentials
UNREADY_SECONDS = 8  # how long a misconfigured daemon must stay up and unready


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory):
    for exe in ("java", "mvn", "openssl", "keytool"):
        if shutil.which(exe) is None:
            pytest.fail(f"{exe} not found: the Kafka security tests need it (scripts/install-deps.sh "
                        "installs openjdk-17-jre-headless, maven and openssl)", pytrace=False)
    for path in (BIN, TOOL):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: build earshot and earshot-kafka-tool first",
                        pytrace=False)
    b = Broker(tmp_path_factory.mktemp("kafka-secure"))
    try:
        b.bootstrap = b._sh("start-secure", b.dir).splitlines()[-1]
        b._sh("wait", b.dir, "120")
    except Exception as e:  # noqa: BLE001 - any start-up failure fails loudly
        b.kill()
        pytest.fail(f"cannot start the secure Kafka broker: {e}", pytrace=False)
    b.sasl_ssl = open(os.path.join(b.dir, "bootstrap.sasl_ssl")).read().strip()
    b.ssl = open(os.path.join(b.dir, "bootstrap.ssl")).read().strip()
    b.tls = os.path.join(b.dir, "tls")
    yield b
    b.kill()


def secure_config(tmp_path, broker, bootstrap, topic, group, properties, name):
    """kafka_helpers.kafka_config pointed at a TLS listener, plus `properties`."""
    class Listener:
        pass
    listener = Listener()
    listener.bootstrap = bootstrap
    path = kafka_config(tmp_path, listener, topic, group, name=name)
    text = open(path).read()
    lines = "".join(f'      {k}: "{v}"\n' for k, v in properties.items())
    assert "    properties:\n" in text
    text = text.replace("    properties:\n", "    properties:\n" + lines, 1)
    with open(path, "w") as f:
        f.write(text)
    return path


def librdkafka_version():
    """The librdkafka the daemon runs with, from `earshot version`."""
    out = subprocess.run([BIN, "version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^librdkafka (\d+)\.(\d+)\.(\d+)", out, re.M)
    assert m, out
    return tuple(int(x) for x in m.groups())


LIBRDKAFKA_SCRAM_FIXED = (2, 6, 1)  # confluentinc/librdkafka PR 4895
SCRAM = {"SCRAM-SHA-256": hashlib.sha256, "SCRAM-SHA-512": hashlib.sha512}


def reference_scram_login(broker, user, password, mechanism="SCRAM-SHA-512"):
    """An RFC 5802 SCRAM login over the SASL_SSL listener (Kafka SaslHandshake
    v1 + SaslAuthenticate v0), independent of librdkafka. Returns the
    broker's error code (0 = authenticated)."""
    digest = SCRAM[mechanism]
    host, port = broker.sasl_ssl.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=os.path.join(broker.tls, "ca.pem"))
    with ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10),
                         server_hostname="localhost") as s:
        def recv(n):
            data = b""
            while len(data) < n:
                chunk = s.recv(n - len(data))
                assert chunk, "connection closed"
                data += chunk
            return data

        def request(key, version, body, cid=[0]):
            cid[0] += 1
            msg = struct.pack(">hhih", key, version, cid[0], 4) + b"test" + body
            s.sendall(struct.pack(">i", len(msg)) + msg)
            return recv(struct.unpack(">i", recv(4))[0])[4:]  # drop the correlation id

        def authenticate(payload):
            r = request(36, 0, struct.pack(">i", len(payload)) + payload)
            err, n = struct.unpack(">hh", r[:4])
            off = 4 + max(n, 0)
            size = struct.unpack(">i", r[off:off + 4])[0]
            return err, r[off + 4:off + 4 + size]

        mech = mechanism.encode()
        assert struct.unpack(">h", request(17, 1, struct.pack(">h", len(mech)) + mech)[:2])[0] == 0
        bare = f"n={user},r={base64.b64encode(os.urandom(18)).decode()}"
        err, first = authenticate(("n,," + bare).encode())
        if err:
            return err
        attrs = dict(kv.split("=", 1) for kv in first.decode().split(","))
        salted = hashlib.pbkdf2_hmac(digest().name, password.encode(),
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", digest).digest()
        final = f"c=biws,r={attrs['r']}"
        signature = hmac.new(digest(client_key).digest(),
                             f"{bare},{first.decode()},{final}".encode(), digest).digest()
        proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
        return authenticate(f"{final},p={proof}".encode())[0]


def sasl_properties(broker, password, mechanism="SCRAM-SHA-512"):
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": mechanism,
        "sasl.username": USER,
        "sasl.password": password,
        "ssl.ca.location": os.path.join(broker.tls, "ca.pem"),
    }


def mtls_properties(broker, with_certificate=True):
    props = {
        "security.protocol": "SSL",
        "ssl.ca.location": os.path.join(broker.tls, "ca.pem"),
    }
    if with_certificate:
        props["ssl.certificate.location"] = os.path.join(broker.tls, "client.pem")
        props["ssl.key.location"] = os.path.join(broker.tls, "client.key")
    return props


def consume_exactly(tmp_path, broker, daemons, bootstrap, properties, group, seed):
    topic = new_topic(broker, 2)
    events = tmp_path / f"{group}.jsonl"
    generate(events, N, seed=seed)
    produce_file(broker, topic, events)  # through the PLAINTEXT listener
    cfg = secure_config(tmp_path, broker, bootstrap, topic, group, properties, name=group)
    d = daemons(cfg, name=group)
    m = assert_consumed_like_replay(d, cfg, events, N)
    assert m["earshot_kafka_connected"] == 1
    assert m.get('earshot_kafka_errors_total{kind="auth"}', 0) == 0
    assert d.get("/readyz")[0] == 200
    assert d.stop() == 0, d.logs()
    committed = json.loads(tool("committed", broker.bootstrap, group, topic))
    assert sum(committed.values()) == N
    return d


def stays_up_and_unready(d, seconds=UNREADY_SECONDS):
    """Polls for `seconds`: the process must stay alive and /readyz 503."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert d.proc.poll() is None, f"{d.name} exited ({d.proc.returncode}):\n{d.logs()}"
        status, body = d.get("/readyz")
        assert status == 503, (status, body)
        time.sleep(0.25)


def test_sasl_ssl_plain_consumes_and_counts_exactly(tmp_path, secure_broker, daemons):
    d = consume_exactly(tmp_path, secure_broker, daemons, secure_broker.sasl_ssl,
                        sasl_properties(secure_broker, PASSWORD, "PLAIN"), "g-plain", seed=20)
    logs = d.logs()
    assert "authentication failed" not in logs
    # The password is inline in this config: one warning points to a reference.
    assert logs.count("warn kafka: property sasl.password is written inline") == 1, logs
    assert "${file:" in logs and "${env:" in logs
    assert PASSWORD not in logs, "the password must never be logged"


def require_scram_capable_librdkafka():
    v = librdkafka_version()
    if v < LIBRDKAFKA_SCRAM_FIXED:
        pytest.fail(f"earshot runs librdkafka {'.'.join(map(str, v))}: SCRAM against Kafka 4.x "
                    "needs >= 2.6.1 (scripts/install-deps.sh builds 2.8.0 on Debian 12)",
                    pytrace=False)


@pytest.mark.parametrize("mechanism,source", [("SCRAM-SHA-256", "env"),
                                              ("SCRAM-SHA-512", "file")])
def test_sasl_ssl_scram_with_the_right_password_consumes_and_counts_exactly(
        tmp_path, secure_broker, daemons, monkeypatch, mechanism, source):
    require_scram_capable_librdkafka()
    # The broker's SCRAM credentials work: an independent RFC 5802 client logs in.
    assert reference_scram_login(secure_broker, USER, PASSWORD, mechanism) == 0
    assert reference_scram_login(secure_broker, USER, "not-" + PASSWORD, mechanism) != 0
    # The password reaches librdkafka through a reference, not inline.
    if source == "file":
        secret = tmp_path / "kafka-password"
        secret.write_text(PASSWORD + "\n")
        reference = f"${{file:{secret}}}"
    else:
        monkeypatch.setenv("EARSHOT_TEST_KAFKA_PASSWORD", PASSWORD)
        reference = "${env:EARSHOT_TEST_KAFKA_PASSWORD}"
    group = "g-" + mechanism.lower()
    d = consume_exactly(tmp_path, secure_broker, daemons, secure_broker.sasl_ssl,
                        sasl_properties(secure_broker, reference, mechanism), group,
                        seed=21 if source == "file" else 23)
    logs = d.logs()
    assert "authentication failed" not in logs
    assert "written inline" not in logs and "predates the SCRAM fix" not in logs, logs


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_wrong_scram_password_stays_up_unready_with_one_clear_log_line(
        tmp_path, secure_broker, daemons, mechanism):
    topic = new_topic(secure_broker, 1)
    name = "badpw-" + mechanism.lower()
    cfg = secure_config(tmp_path, secure_broker, secure_broker.sasl_ssl, topic, "g-" + name,
                        sasl_properties(secure_broker, "not-" + PASSWORD, mechanism), name=name)
    d = daemons(cfg, name=name)
    needle = f"error kafka: authentication failed for SASL user {USER}:"
    wait_for(lambda: needle in d.logs(), timeout=30, what="the authentication failure log line")
    stays_up_and_unready(d)
    m = d.metrics()
    assert m["earshot_kafka_connected"] == 0
    assert m['earshot_kafka_errors_total{kind="auth"}'] >= 1
    assert m["earshot_kafka_assigned_partitions"] == 0
    logs = d.logs()
    # Retries keep failing; the log names the failure once, not once a retry.
    assert logs.count("authentication failed") == 1, logs
    # ... and names the broker's reason, which says SCRAM and the user.
    line = next(x for x in logs.splitlines() if needle in x)
    assert "SCRAM" in line and "Authentication failed" in line, line
    assert "not-" + PASSWORD not in logs, "the password must never be logged"
    assert d.stop() == 0, d.logs()


@pytest.mark.parametrize("mechanism,message", [
    ("SCRAM-SHA-384", "Unsupported hash function: SCRAM-SHA-384"),
    ("scram-sha-512", "Unsupported SASL mechanism: scram-sha-512"),
])
def test_unknown_sasl_mechanism_fails_start_up_with_librdkafkas_message(
        tmp_path, secure_broker, mechanism, message):
    topic = new_topic(secure_broker, 1)
    cfg = secure_config(tmp_path, secure_broker, secure_broker.sasl_ssl, topic, "g-badmech",
                        sasl_properties(secure_broker, PASSWORD, mechanism), name="badmech")
    r = subprocess.run([BIN, "run", "--config", cfg], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert f"error source: kafka: cannot create consumer: {message}" in out, out


def test_mtls_consumes_and_counts_exactly(tmp_path, secure_broker, daemons):
    consume_exactly(tmp_path, secure_broker, daemons, secure_broker.ssl,
                    mtls_properties(secure_broker), "g-mtls", seed=22)


def test_mtls_without_a_client_certificate_stays_unready(tmp_path, secure_broker, daemons):
    topic = new_topic(secure_broker, 1)
    cfg = secure_config(tmp_path, secure_broker, secure_broker.ssl, topic, "g-nocert",
                        mtls_properties(secure_broker, with_certificate=False), name="nocert")
    d = daemons(cfg, name="nocert")
    needle = f"kafka: cannot connect to {secure_broker.ssl} yet:"
    wait_for(lambda: needle in d.logs(), timeout=30, what="the connection failure log line")
    stays_up_and_unready(d, seconds=4)
    m = d.metrics()
    assert m["earshot_kafka_connected"] == 0
    assert (m.get('earshot_kafka_errors_total{kind="transport"}', 0) +
            m.get('earshot_kafka_errors_total{kind="auth"}', 0)) >= 1
    assert d.logs().count("cannot connect to") == 1, d.logs()
    assert d.stop() == 0, d.logs()
