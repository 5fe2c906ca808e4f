"""The Kafka integration tier's fixtures. The broker is real (KRaft, jars
from Maven Central via scripts/kafka/kafka.sh, cached); when Java, Maven or
the jars cannot be had the fixture errors out: this tier fails loudly, it is
never skipped."""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from kafka_helpers import BIN, TOOL, Broker, Daemon  # noqa: E402


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    for exe in ("java", "mvn"):
        if shutil.which(exe) is None:
            pytest.fail(f"{exe} not found: the Kafka integration tier needs it "
                        "(scripts/install-deps.sh installs openjdk-17-jre-headless and maven)",
                        pytrace=False)
    for path in (BIN, TOOL):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: build earshot and earshot-kafka-tool first",
                        pytrace=False)
    b = Broker(tmp_path_factory.mktemp("kafka"))
    try:
        b.start()
    except Exception as e:  # noqa: BLE001 - turn any start-up failure into a loud failure
        pytest.fail(f"cannot start the Kafka broker: {e}", pytrace=False)
    yield b
    b.kill()


@pytest.fixture
def daemons(tmp_path):
    started = []

    def make(config_path, name="earshot", env=None):
        d = Daemon(config_path, tmp_path, name, env=env)
        started.append(d)
        return d

    yield make
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
