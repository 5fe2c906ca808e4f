#!/usr/bin/env bash
# A throwaway single-node Apache Kafka (KRaft, combined broker+controller) for
# the integration tests and local experiments.
#
#   kafka.sh fetch              download the jars (cached), print the libs dir
#   kafka.sh start DIR          format DIR (once) and start a broker on free
#                               loopback ports; prints the bootstrap address.
#                               A restart on the same DIR reuses its ports and data.
#   kafka.sh wait DIR [SECS]    wait until the broker serves requests (default 90 s)
#   kafka.sh stop DIR           SIGTERM (controlled shutdown), SIGKILL after 30 s
#   kafka.sh kill DIR           SIGKILL at once
#   kafka.sh bootstrap DIR      print the bootstrap address
#   kafka.sh start-secure DIR   like start, plus two TLS listeners: SASL_SSL with
#                               SCRAM-SHA-256 and SCRAM-SHA-512 (user alice,
#                               password alice-secret, created at format time)
#                               and PLAIN (the same user), and SSL requiring a client
#                               certificate. Writes DIR/tls/{ca.pem,client.pem,
#                               client.key}, DIR/bootstrap.sasl_ssl and
#                               DIR/bootstrap.ssl. A later `start DIR` keeps them.
#                               Needs openssl and keytool (JDK).
#
# The jars come from Maven Central through scripts/kafka/pom.xml and are cached
# under ${EARSHOT_CACHE:-$HOME/.cache/earshot}/kafka-<version>/libs. The broker
# runs on the machine's Java 17 (JAVA, else java on PATH). Every failure exits
# non-zero with a message: the test tier must fail loudly, never skip.
set -euo pipefail

KAFKA_VERSION="${EARSHOT_KAFKA_VERSION:-4.1.1}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${EARSHOT_CACHE:-$HOME/.cache/earshot}/kafka-${KAFKA_VERSION}"
LIBS="$CACHE/libs"
JAVA="${JAVA:-java}"

die() { echo "kafka.sh: $*" >&2; exit 1; }

# A failed step explains itself: what failed, the command line that failed,
# and the tail of each log it wrote.
fail_with() {
  local what="$1" cmdline="$2"
  shift 2
  {
    echo "kafka.sh: $what"
    echo "kafka.sh: command: $cmdline"
    local log
    for log in "$@"; do
      [ -s "$log" ] || continue
      echo "kafka.sh: last 40 lines of $log:"
      tail -n 40 "$log" | sed 's/^/  | /'
    done
  } >&2
  exit 1
}

need_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (install openjdk-17-jre-headless: scripts/install-deps.sh)"
  local v
  v="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  [ -n "$v" ] && [ "$v" -ge 17 ] || die "Kafka ${KAFKA_VERSION} needs Java 17 or newer, found: $("$JAVA" -version 2>&1 | head -1)"
}

fetch() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (install maven: scripts/install-deps.sh)"
  mkdir -p "$CACHE"
  # Several test processes may start at once: one downloads, the others wait.
  exec 9>"$CACHE/.lock"
  flock 9
  if [ ! -f "$LIBS/.complete" ]; then
    local work
    work="$(mktemp -d "$CACHE/fetch.XXXXXX")"
    cp "$HERE/pom.xml" "$work/pom.xml"
    echo "kafka.sh: fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central" >&2
    if ! (cd "$work" && mvn -B -q -Dkafka.version="$KAFKA_VERSION" \
            dependency:copy-dependencies -DoutputDirectory="$work/libs" >"$work/mvn.log" 2>&1); then
      cat "$work/mvn.log" >&2
      die "mvn could not fetch Kafka ${KAFKA_VERSION} (log above)"
    fi
    ls "$work/libs"/kafka_2.13-*.jar >/dev/null 2>&1 || die "kafka_2.13 jar missing after fetch"
    rm -rf "$LIBS"
    mv "$work/libs" "$LIBS"
    touch "$LIBS/.complete"
    rm -rf "$work"
  fi
  flock -u 9
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

write_config() {
  local dir="$1" bport="$2" cport="$3"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${cport}
listeners=PLAINTEXT://127.0.0.1:${bport},CONTROLLER://127.0.0.1:${cport}
advertised.listeners=PLAINTEXT://127.0.0.1:${bport}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dir}/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Room for the hostile-input tests' multi-megabyte messages.
message.max.bytes=8388608
log.flush.interval.messages=1
EOF
  cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = warn
EOF
}

# --- start-secure: TLS material and listeners --------------------------------
SCRAM_USER="${EARSHOT_KAFKA_SCRAM_USER:-alice}"
SCRAM_PASSWORD="${EARSHOT_KAFKA_SCRAM_PASSWORD:-alice-secret}"
STORE_PASSWORD="broker-secret"  # throwaway: these stores guard test certificates only

need_tls_tools() {
  command -v openssl >/dev/null 2>&1 || die "openssl not found (scripts/install-deps.sh installs it)"
  command -v keytool >/dev/null 2>&1 || die "keytool not found (it comes with the JDK: openjdk-17-jre-headless)"
}

# A CA, the broker's key pair (PKCS12 keystore, SAN 127.0.0.1 and localhost),
# a PKCS12 truststore with the CA (it verifies client certificates), and a
# client certificate and key in PEM for librdkafka. Made once per DIR.
make_tls() {
  local tls="$1/tls"
  [ -f "$tls/.complete" ] && return 0
  need_tls_tools
  rm -rf "$tls"
  mkdir -p "$tls"
  (
    set -e
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=earshot-test-ca" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile broker.ext -out broker.pem
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
      -passout "pass:$STORE_PASSWORD" -out broker.p12
    keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.p12 \
      -storetype PKCS12 -storepass "$STORE_PASSWORD"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=earshot-client" -keyout client.key -out client.csr
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile client.ext -out client.pem
  ) >"$1/tls.log" 2>&1 || { cat "$1/tls.log" >&2; die "generating TLS material in $tls failed"; }
  touch "$tls/.complete"
}

# Appended to server.properties: java.util.Properties keeps the last value of
# a repeated key, so these listener settings replace write_config's. The
# PLAINTEXT listener stays for inter-broker traffic and the test tooling.
write_secure_config() {
  local dir="$1" bport="$2" cport="$3" sport="$4" tport="$5" tls="$1/tls"
  cat >>"$dir/server.properties" <<EOT
# --- start-secure ---
listeners=PLAINTEXT://127.0.0.1:${bport},CONTROLLER://127.0.0.1:${cport},SASL_SSL://127.0.0.1:${sport},SSL://127.0.0.1:${tport}
advertised.listeners=PLAINTEXT://127.0.0.1:${bport},SASL_SSL://127.0.0.1:${sport},SSL://127.0.0.1:${tport}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${SCRAM_USER}="${SCRAM_PASSWORD}";
ssl.keystore.type=PKCS12
ssl.keystore.location=${tls}/broker.p12
ssl.keystore.password=${STORE_PASSWORD}
ssl.key.password=${STORE_PASSWORD}
ssl.truststore.type=PKCS12
ssl.truststore.location=${tls}/truststore.p12
ssl.truststore.password=${STORE_PASSWORD}
listener.name.ssl.ssl.client.auth=required
EOT
}

alive() { [ -f "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null; }

start() {
  local dir="${1:?usage: kafka.sh start DIR}" secure="${2:-}"
  need_java
  fetch
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if alive "$dir"; then die "a broker already runs in $dir (pid $(cat "$dir/pid"))"; fi
  if [ ! -f "$dir/ports" ]; then
    echo "$(free_port) $(free_port)" >"$dir/ports"
  fi
  local bport cport
  read -r bport cport <"$dir/ports"
  [ "$bport" != "$cport" ] || { bport="$(free_port)"; echo "$bport $cport" >"$dir/ports"; }
  write_config "$dir" "$bport" "$cport"
  # start-secure marks DIR (DIR/secure holds the TLS ports); a plain restart keeps it.
  local scram=()
  if [ -n "$secure" ] && [ ! -f "$dir/secure" ]; then
    [ ! -f "$dir/data/meta.properties" ] ||
      die "$dir was formatted without SCRAM credentials: start-secure needs a fresh DIR"
    local p1 p2
    read -r p1 p2 <<<"$(free_port) $(free_port)"
    while [ "$p1" = "$p2" ] || grep -qw -e "$p1" -e "$p2" "$dir/ports"; do
      read -r p1 p2 <<<"$(free_port) $(free_port)"
    done
    echo "$p1 $p2" >"$dir/secure"
  fi
  if [ -f "$dir/secure" ]; then
    make_tls "$dir"
    local sport tport
    read -r sport tport <"$dir/secure"
    write_secure_config "$dir" "$bport" "$cport" "$sport" "$tport"
    echo "127.0.0.1:${sport}" >"$dir/bootstrap.sasl_ssl"
    echo "127.0.0.1:${tport}" >"$dir/bootstrap.ssl"
    scram=(--add-scram "SCRAM-SHA-256=[name=${SCRAM_USER},password=${SCRAM_PASSWORD}]"
           --add-scram "SCRAM-SHA-512=[name=${SCRAM_USER},password=${SCRAM_PASSWORD}]")
  fi
  if [ ! -f "$dir/data/meta.properties" ]; then
    # URL-safe base64 of a random UUID, as Kafka's Uuid.randomUuid() makes
    # it; it starts with "-" in 1 of 64 draws, so it is passed as
    # --cluster-id=ID, never as a separate argument (the storage tool's
    # parser would read "-Xyz..." as an option). EARSHOT_KAFKA_CLUSTER_ID
    # fixes it (tests/integration/test_kafka_script.py).
    local cid="${EARSHOT_KAFKA_CLUSTER_ID:-}"
    [ -n "$cid" ] || cid="$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
    local format=("$JAVA" -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
                  -Djava.awt.headless=true -Dlog4j2.configurationFile="$dir/log4j2.properties"
                  -Dkafka.logs.dir="$dir" -cp "$LIBS/*" kafka.tools.StorageTool format
                  --cluster-id="$cid" -c "$dir/server.properties" --ignore-formatted
                  ${scram[@]+"${scram[@]}"})
    "${format[@]}" >"$dir/format.log" 2>&1 ||
      fail_with "formatting KRaft storage failed" "$(printf '%q ' "${format[@]}")" "$dir/format.log"
  fi
  : >"$dir/server.log"
  local cmd
  cmd="exec $(printf '%q ' "$JAVA") -Xms128m -Xmx512m -XX:+UseSerialGC \
      -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
      -Dlog4j2.configurationFile=$(printf '%q' "$dir/log4j2.properties") \
      -Dkafka.logs.dir=$(printf '%q' "$dir") -cp $(printf '%q' "$LIBS/*") kafka.Kafka \
      $(printf '%q' "$dir/server.properties")"
  echo "$cmd" >"$dir/cmdline"  # for the failure messages of `wait`
  # setsid: the broker survives the shell and can be signalled on its own.
  setsid bash -c "$cmd" </dev/null >"$dir/server.out" 2>&1 &
  echo $! >"$dir/pid"
  echo "127.0.0.1:${bport}" >"$dir/bootstrap"
  cat "$dir/bootstrap"
}

wait_ready() {
  local dir="${1:?usage: kafka.sh wait DIR [SECS]}" secs="${2:-90}"
  local deadline=$((SECONDS + secs))
  local bport
  read -r bport _ <"$dir/ports"
  local cmdline
  cmdline="$(cat "$dir/cmdline" 2>/dev/null || echo "(unknown: $dir/cmdline is missing)")"
  while [ $SECONDS -lt $deadline ]; do
    alive "$dir" || fail_with "broker in $dir exited during start-up" "$cmdline" \
      "$dir/server.out" "$dir/server.log"
    if grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null &&
       (exec 3<>"/dev/tcp/127.0.0.1/$bport") 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  fail_with "broker in $dir not ready after ${secs}s" "$cmdline" "$dir/server.out" "$dir/server.log"
}

stop() {
  local dir="${1:?usage: kafka.sh stop DIR}" sig="${2:-TERM}"
  alive "$dir" || return 0
  local pid
  pid="$(cat "$dir/pid")"
  kill -"$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$dir/pid"
}

case "${1:-}" in
  fetch) need_java; fetch; echo "$LIBS" ;;
  start) start "${2:-}" ;;
  start-secure) start "${2:-}" secure ;;
  wait) wait_ready "${2:-}" "${3:-90}" ;;
  stop) stop "${2:-}" ;;
  kill) stop "${2:-}" KILL ;;
  bootstrap) cat "${2:?usage: kafka.sh bootstrap DIR}/bootstrap" ;;
  *) sed -n '2,25p' "$0" >&2; exit 2 ;;
esac
