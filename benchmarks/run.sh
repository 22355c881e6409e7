#!/usr/bin/env bash
# End-to-end and per-stage benchmarks. Usage: benchmarks/run.sh [LINES]   (default 1,000,000)
# Builds release, generates seeded combined-log traffic, then:
#  - per-stage speeds on one core (streamtop bench),
#  - headless replay at --speed max with 1 and 2 workers, best of 5, with the per-task time split,
#  - the analytics pipeline of benchmarks/pipeline.toml,
#  - Kafka produce and consume on a local broker (benchmarks/kafka.sh; skipped when none can be started).
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)/streamtop
log=${TMPDIR:-/tmp}/streamtop-bench-$lines.log
[ -s "$log" ] || "$bin" generate --lines "$lines" --seed 42 > "$log"
echo "input: $log ($lines lines, $(du -h "$log" | cut -f1)), $(nproc) cores"
echo
echo "== stages, one core =="
"$bin" bench "$log" --runs 5
echo
for w in 1 2; do
  echo "== replay --speed max --headless --workers $w (best of 5) =="
  best=""
  for i in 1 2 3 4 5; do
    out=$(/usr/bin/time -f "%M" -o /tmp/streamtop-bench-rss "$bin" replay "$log" --speed max --headless --workers "$w" 2>/dev/null)
    rate=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["lines_per_second"])' <<<"$out")
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $rate > $best else 1)"; then best=$rate; bestout=$out; rss=$(cat /tmp/streamtop-bench-rss); fi
  done
  python3 - "$best" "$rss" <<PY
import json, sys
r = json.loads('''$bestout''')
print(f"lines/s: {float(sys.argv[1]):,.0f}   elapsed: {r['elapsed_seconds']} s   peak RSS: {int(sys.argv[2])//1024} MiB")
for t in r['tasks']:
    print(f"  {t['name']:<10} {t['ns_per_record']:>7.1f} ns/record  batches {t['quanta']:>5}  p50 {t['batch_latency_ns']['p50']/1e6:.2f} ms/batch")
PY
  echo
done

analytics() {  # $1: label, $2: pipeline file. Five runs: this machine's speed drifts by a third between
  # minutes (other tenants), so the median is the number to quote; the per-task split is the median run's.
  echo "== analytics pipeline, $1 (median of 5) =="
  runs=${TMPDIR:-/tmp}/streamtop-bench-runs.ndjson
  : > "$runs"
  for i in 1 2 3 4 5; do
    out=$(/usr/bin/time -f "%M" -o /tmp/streamtop-bench-rss "$bin" run "$2" --headless 2>/dev/null)
    python3 -c 'import json, sys; print(json.dumps({"r": json.load(sys.stdin), "rss": int(sys.argv[1])}))' "$(cat /tmp/streamtop-bench-rss)" <<<"$out" >> "$runs"
  done
  python3 - "$runs" <<'PY'
import json, sys
runs = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda x: x["r"]["lines_per_second"])
r = runs[len(runs) // 2]["r"]
every = ", ".join(f"{x['r']['lines_per_second'] / 1e6:.2f}" for x in runs)
rss = max(x["rss"] for x in runs) // 1024
print(f"lines/s: {r['lines_per_second']:,.0f} median (runs: {every} M)   elapsed: {r['elapsed_seconds']} s   peak RSS: {rss} MiB")
for t in r["tasks"]:
    print(f"  {t['name']:<10} {t['ns_per_record']:>7.1f} ns/record")
PY
  echo
}
plain=${TMPDIR:-/tmp}/streamtop-bench-pipeline.toml
split=${TMPDIR:-/tmp}/streamtop-bench-pipeline-partitioned.toml
sed "s|\"INPUT\"|\"$log\"|" benchmarks/pipeline.toml > "$plain"
# The same pipeline with every stateful task split into 2 partitions (run by up to 2 workers each).
sed -E 's/^(operator = "(window|topk|sessions|group|distinct)")$/\1\npartitions = 2\nworkers = 2/' "$plain" > "$split"
analytics "benchmarks/pipeline.toml: map, window, sliding top-K, bot filter, sessions, group" "$plain"
analytics "same with partitions = 2 on the stateful tasks" "$split"
benchmarks/kafka.sh "$lines"
