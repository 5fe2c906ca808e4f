"""scripts/kafka/kafka.sh itself: the broker every other integration test
starts. A cluster id that starts with "-" (1 in 64 random draws) once failed
the storage format; a broker that cannot start must say which command failed
and show the tail of its own log."""
import os
import socket
import subprocess

from kafka_helpers import KAFKA_SH, Broker


def run_sh(*args, env=None, timeout=300):
    return subprocess.run(["bash", KAFKA_SH, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_cluster_id_starting_with_dash_formats_and_starts(tmp_path):
    cid = "-Xyz_k3vQ2uWbTn0m1pLsAA"  # a valid 22-character base64url UUID
    env = {"EARSHOT_KAFKA_CLUSTER_ID": cid}
    r = run_sh("start", tmp_path, env=env)
    try:
        assert r.returncode == 0, r.stderr
        r = run_sh("wait", tmp_path, 120)
        assert r.returncode == 0, r.stderr
        meta = (tmp_path / "data" / "meta.properties").read_text()
        assert f"cluster.id={cid}" in meta.splitlines(), meta
    finally:
        run_sh("kill", tmp_path)


def test_format_failure_prints_the_command_and_its_log(tmp_path):
    # The log directory is a plain file: the storage tool cannot format it.
    (tmp_path / "data").write_text("")
    try:
        r = run_sh("start", tmp_path, env={"EARSHOT_KAFKA_CLUSTER_ID": "-abcdefghijklmnopqrstu"})
        assert r.returncode != 0
        assert "formatting KRaft storage failed" in r.stderr
        assert "command: " in r.stderr and "StorageTool format" in r.stderr
        assert "--cluster-id=-abcdefghijklmnopqrstu" in r.stderr
        assert "last 40 lines of" in r.stderr and "format.log" in r.stderr
        assert "log director" in r.stderr  # the tool's own words, from its log
    finally:
        run_sh("kill", tmp_path)


def test_start_failure_prints_the_command_and_the_broker_log(tmp_path):
    # The broker's port is taken: it exits at start-up, and `wait` says why.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            controller = s.getsockname()[1]
        (tmp_path / "ports").write_text(f"{taken.getsockname()[1]} {controller}\n")
        r = run_sh("start", tmp_path)
        assert r.returncode == 0, r.stderr
        r = run_sh("wait", tmp_path, 120)
        assert r.returncode != 0
        assert "exited during start-up" in r.stderr or "not ready after" in r.stderr
        assert "command: exec " in r.stderr and "kafka.Kafka" in r.stderr
        assert "server.log" in r.stderr or "server.out" in r.stderr
    finally:
        run_sh("kill", tmp_path)
        taken.close()


def test_broker_helper_still_starts(tmp_path):
    # The path every other test takes (a random id).
    b = Broker(tmp_path)
    try:
        b.start()
        assert b.bootstrap.startswith("127.0.0.1:")
    finally:
        b.kill()
