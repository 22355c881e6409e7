#!/usr/bin/env bash
# Kafka benchmarks on a local broker (Tansu, as in CI): streamtop produce, a consumer that does no work
# (benchmarks/kafka-drain.c) and streamtop's Kafka source with parse + report, over the same 4-partition
# topic. Usage: benchmarks/kafka.sh [LINES] (default 1,000,000). Uses STREAMTOP_TEST_KAFKA, STREAMTOP_TANSU
# and STREAMTOP_LIBRDKAFKA when set, else starts a broker with .ci/kafka.sh; skips, saying why, if it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
if [ -z "${STREAMTOP_TEST_KAFKA:-}" ]; then
  mkdir -p .build-kafka
  if ! source .ci/kafka.sh; then echo "Kafka benchmarks skipped: no broker could be started (.ci/kafka.sh failed)"; exit 0; fi
fi
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)/streamtop
log=${TMPDIR:-/tmp}/streamtop-bench-$lines.log
[ -s "$log" ] || "$bin" generate --lines "$lines" --seed 42 > "$log"
drain=.build-kafka/kafka-drain
cc -O2 -I Sources/CKafka/include -o "$drain" benchmarks/kafka-drain.c Sources/CKafka/shim.c -ldl -lpthread
topic=bench-$lines-$$
"$STREAMTOP_TANSU" topic create "$topic" --partitions 4 --broker "tcp://$STREAMTOP_TEST_KAFKA" >/dev/null
echo "input: $log ($lines lines, $(du -h "$log" | cut -f1)); broker $STREAMTOP_TEST_KAFKA, topic $topic (4 partitions)"
echo
echo "== a producer that does no work (C, librdkafka, same settings, unkeyed), then streamtop produce, 2 rounds =="
for i in 1 2; do
  "$STREAMTOP_TANSU" topic create "$topic-c$i" --partitions 4 --broker "tcp://$STREAMTOP_TEST_KAFKA" >/dev/null
  "$drain" "$STREAMTOP_LIBRDKAFKA" "$STREAMTOP_TEST_KAFKA" "$topic-c$i" "$log"
  "$STREAMTOP_TANSU" topic create "$topic-u$i" --partitions 4 --broker "tcp://$STREAMTOP_TEST_KAFKA" >/dev/null
  echo -n "unkeyed: "; "$bin" produce "$log" --to "kafka://$STREAMTOP_TEST_KAFKA/$topic-u$i" --key none 2>&1
done
echo -n "keyed by client: "; "$bin" produce "$log" --to "kafka://$STREAMTOP_TEST_KAFKA/$topic" 2>&1
echo
echo "== a consumer that does no work (C, librdkafka), best of 3 =="
for i in 1 2 3; do "$drain" "$STREAMTOP_LIBRDKAFKA" "$STREAMTOP_TEST_KAFKA" "$topic"; done
echo
echo "== streamtop replay kafka://… --speed max --headless (parse + report), best of 3 =="
for i in 1 2 3; do
  "$bin" replay "kafka://$STREAMTOP_TEST_KAFKA/$topic" --speed max --headless 2>/dev/null \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print("{:,} lines in {:.2f} s: {:,.0f} lines/s".format(r["lines"], r["elapsed_seconds"], r["lines_per_second"]))'
done
