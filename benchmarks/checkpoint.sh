#!/usr/bin/env bash
# What checkpoints cost. Usage: benchmarks/checkpoint.sh [LINES]   (default 5,000,000)
#  1. headless replay at --speed max (benchmarks/run.sh's replay) without --state, with --state (a checkpoint
#     every 10 s, the default: one before the first line and one at the end), and with one every second;
#     interleaved, 3 runs each; prints lines/s and each checkpoint's drain, pause (capture), write and size.
#  2. the same for the analytics pipeline of benchmarks/pipeline.toml.
#  3. a large state: 2 M lines with 1 M distinct clients and 100 k distinct paths; the final checkpoint's
#     pause and size, then a restart from it (read, checked, restored) and its time.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-5000000}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)/streamtop
tmp=${TMPDIR:-/tmp}
log=$tmp/streamtop-bench-$lines.log
[ -s "$log" ] || "$bin" generate --lines "$lines" --seed 42 > "$log"
echo "input: $log ($lines lines, $(du -h "$log" | cut -f1)), $(nproc) cores"
export STREAMTOP_HASH_SEED=42

summary() {  # stdin: the JSON report
  python3 -c "$(cat <<'PY'
import json, sys
r = json.load(sys.stdin)
cps = [d for d in r["decisions"] if d["kind"] == "checkpoint"]
line = f"{r['lines_per_second']:>12,.0f} lines/s  {r['elapsed_seconds']:>6} s  checkpoints {len(cps)}"
if cps:
    n = lambda k: [d["numbers"].get(k, 0) for d in cps]
    line += f"  drain <={max(n('drain_ms')):.1f} ms  pause <={max(n('pause_ms')):.1f} ms  write <={max(n('write_ms')):.1f} ms  size <={max(n('bytes'))/1e6:.2f} MB"
print(line)
PY
)"
}

compare() {  # $1: label; the rest: the command
  label=$1; shift
  echo "== $label =="
  for i in 1 2 3; do
    rm -rf "$tmp/streamtop-bench-state"
    printf '  no --state            '; "$@" 2>/dev/null | summary
    rm -rf "$tmp/streamtop-bench-state"
    printf '  --state (every 10s)   '; "$@" --state "$tmp/streamtop-bench-state" 2>/dev/null | summary
    rm -rf "$tmp/streamtop-bench-state"
    printf '  --checkpoint-every 1s '; "$@" --state "$tmp/streamtop-bench-state" --checkpoint-every 1s 2>/dev/null | summary
  done
  echo
}

compare "replay --speed max --headless --workers 2" "$bin" replay "$log" --speed max --headless --workers 2
plain=$tmp/streamtop-bench-pipeline.toml
sed "s|\"INPUT\"|\"$log\"|" benchmarks/pipeline.toml > "$plain"
compare "analytics pipeline (benchmarks/pipeline.toml)" "$bin" run "$plain" --headless

big=$tmp/streamtop-bench-bigstate.log
[ -s "$big" ] || python3 - "$big" <<'PY'
import sys, random
random.seed(7)
with open(sys.argv[1], "w") as f:
    for i in range(2_000_000):
        c = i if i < 1_000_000 else random.randrange(1_000_000)
        ip = f"10.{c >> 16 & 255}.{c >> 8 & 255}.{c & 255}"
        path = f"/item/{random.randrange(100_000)}"
        t = 1_732_492_800 + i // 20
        m, s = divmod(t % 86400, 60); h, m = divmod(m, 60)
        f.write(f'{ip} - - [25/Nov/2024:{h:02d}:{m:02d}:{s:02d} +0000] "GET {path} HTTP/1.1" 200 512 "-" "bench"\n')
PY
echo "== large state: 2 M lines, 1 M distinct clients, 100 k distinct paths (report aggregates) =="
rm -rf "$tmp/streamtop-bench-state"
printf '  first run, final checkpoint: '
"$bin" replay "$big" --speed max --headless --state "$tmp/streamtop-bench-state" 2>/dev/null | summary
du -sh "$tmp/streamtop-bench-state" | sed 's/^/  on disk: /'
start=$(date +%s.%N)
"$bin" replay "$big" --speed max --headless --state "$tmp/streamtop-bench-state" 2>&1 >/dev/null | grep restored | sed 's/^/  /'
echo "  the restarted run, end to end (restore, nothing left to read, finish, final checkpoint): $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s"
