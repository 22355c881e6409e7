#!/usr/bin/env bash
# What a long-running instance costs. Usage: benchmarks/idle.sh [SECONDS]   (default 30 per scenario)
# Follows a log with `watch`, headless with --listen (GET /metrics every second) and with the dashboard
# open (in a private tmux), first idle, then while benchmarks/linewriter.c appends 20,000 lines/s.
# CPU is streamtop's own utime+stime from /proc/PID/stat over the window, after a 5 s warm-up; the
# writer and the scraper are separate processes, so their cost stays apart.
# Targets (issue 14): <= 0.3 % of a core idle, <= 1.5 % at 20 k lines/s.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)/streamtop
tmp=$(mktemp -d)
trap 'tmux -L streamtop-idle kill-server 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/linewriter" benchmarks/linewriter.c
hz=$(getconf CLK_TCK)
port=$((20000 + RANDOM % 20000))

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() {  # $1: label, $2: pid, $3: lines/s (0 = idle)
  local label=$1 pid=$2 rate=$3 log=$4
  sleep 5
  [ "$rate" -gt 0 ] && { "$tmp/linewriter" demo-data/demo-access.log "$log" "$rate" $((secs + 10)) >/dev/null & }
  sleep 2
  local t0 w0 t1 w1
  t0=$(ticks "$pid"); w0=$(date +%s.%N)
  sleep "$secs"
  t1=$(ticks "$pid"); w1=$(date +%s.%N)
  python3 -c "import sys; t=($t1-$t0)/$hz; w=$w1-$w0; print(f'  {sys.argv[1]:<44} {100*t/w:6.2f} % of a core  ({t:.2f} s CPU in {w:.1f} s)')" "$label"
  [ "$rate" -gt 0 ] && wait %?linewriter 2>/dev/null || true
}

scrape() { while sleep 1; do curl -s "http://127.0.0.1:$port/metrics" >/dev/null || true; done; }

echo "streamtop watch, $(nproc) cores, ${secs} s per scenario"
for rate in 0 20000; do
  log=$tmp/access-$rate.log; : > "$log"
  "$bin" watch "$log" --headless --listen "127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!
  scrape & scraper=$!
  measure "headless, /metrics every 1 s, $rate lines/s" "$pid" "$rate" "$log"
  kill "$scraper" "$pid"; wait "$pid" 2>/dev/null || true
  port=$((port + 1))

  log=$tmp/access-tui-$rate.log; : > "$log"
  tmux -L streamtop-idle new-session -d -x 160 -y 48 "exec $bin watch $log"
  sleep 1
  pid=$(tmux -L streamtop-idle list-panes -F '#{pane_pid}')
  measure "dashboard open, $rate lines/s" "$pid" "$rate" "$log"
  tmux -L streamtop-idle kill-server
done
