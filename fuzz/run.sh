#!/usr/bin/env bash
# Builds the libFuzzer binary and runs fuzz targets for a bounded time each.
#
#   fuzz/run.sh [TARGET|all] [SECONDS]        default: all, 60 seconds per target
#   FUZZ_ARGS="-fork=2 -max_len=16384" fuzz/run.sh json 3600
#
# Seeds come from fuzz/corpus/TARGET (never written to); inputs the fuzzer finds interesting go to
# fuzz/out/corpus/TARGET and crash inputs to fuzz/out/crashes/TARGET/ (both git-ignored). Exits non-zero
# when any target crashed. Reproduce a crash without the fuzzer:
#   swift run streamtop-fuzz TARGET fuzz/out/crashes/TARGET/crash-…
# and keep it as a regression input by copying it into fuzz/corpus/TARGET/ (replayed by `swift test`).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:-all}"
seconds="${2:-60}"
targets=(combined compiled format-string json detect time filter pipeline keymap theme actions checkpoint)
if [[ "$target" != all ]]; then
    [[ " ${targets[*]} " == *" $target "* ]] || { echo "unknown target '$target' (${targets[*]} or all)" >&2; exit 2; }
    targets=("$target")
fi

# nice: a 2-core machine shared with other builds. --sanitize=fuzzer adds coverage instrumentation and
# libFuzzer's main; -D FUZZING swaps the replayer's @main for LLVMFuzzerTestOneInput.
# swiftc keeps only the last of several -sanitize= flags, and SwiftPM passes --sanitize=fuzzer
# --sanitize=address as two flags: Swift code then got ASan but no coverage (libFuzzer saw only the C++
# of TOMLKit). The combined -Xswiftc flag comes last and turns both on.
# SwiftPM 6.3 fails a second sanitizer build in the same scratch path with "unknown build description"
# until its cached description is removed; it is rebuilt in well under a second.
rm -f .build-fuzz/*/debug/description.json
mkdir -p fuzz/out
echo "building .build-fuzz/debug/streamtop-fuzz (log: fuzz/out/build.log)"
if ! nice -n 10 swift build --product streamtop-fuzz -c debug --sanitize=fuzzer --sanitize=address \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --scratch-path .build-fuzz >fuzz/out/build.log 2>&1; then
    grep -v "Cannot export local symbol" fuzz/out/build.log >&2
    exit 1
fi
bin=".build-fuzz/debug/streamtop-fuzz"

# Swift's backtracer would inspect the crashed process from a helper thread that ASan then reports as a
# heap-buffer-overflow/use-after-free inside CrashHandlerLinux.cpp (memserver_read); with it off, a
# Swift trap is reported once, by libFuzzer, as a deadly signal with the real stack.
export SWIFT_BACKTRACE=enable=no
# Swift runtime metadata and lazily initialised globals are never freed: not leaks of ours.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"

failed=()
for t in "${targets[@]}"; do
    mkdir -p "fuzz/out/corpus/$t" "fuzz/out/crashes/$t"
    echo "== $t: ${seconds}s"
    # shellcheck disable=SC2086
    if ! STREAMTOP_FUZZ_TARGET="$t" nice -n 10 "$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="fuzz/out/crashes/$t/" ${FUZZ_ARGS:-} \
        "fuzz/out/corpus/$t" "fuzz/corpus/$t" 2>"fuzz/out/$t.log"; then
        failed+=("$t")
        grep -E "ERROR|SUMMARY|Fatal error|runtime failure|Test unit written" "fuzz/out/$t.log" | head -5 >&2 || true
    fi
    grep "cov:" "fuzz/out/$t.log" | tail -1 || true
done

if ((${#failed[@]})); then
    echo "crashed: ${failed[*]} (inputs in fuzz/out/crashes/, logs in fuzz/out/*.log)" >&2
    exit 1
fi
echo "no crash in: ${targets[*]}"
