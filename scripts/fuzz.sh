#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (a package of their own, with -sanitize=fuzzer,address, which instruments the
# library too) and runs each for SECONDS (default 30) over its committed seeds in Fuzz/Corpus/<target>/, one after
# the other; fails on the first crash, leak, timeout or out-of-memory. What libFuzzer finds is kept between runs in
# Fuzz/.build/corpus/<target>/ (not committed); a crashing input is written to Fuzz/.build/crashes/.
#
#   scripts/fuzz.sh            # every target, 30 s each (scripts/test.sh runs `scripts/fuzz.sh 20`)
#   scripts/fuzz.sh 600        # longer
#   scripts/fuzz.sh 600 fuzz-pickle fuzz-json   # some targets only
#   Fuzz/.build/release/fuzz-pickle Fuzz/.build/crashes/fuzz-pickle-crash-…   # replay one input
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"

seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(fuzz-job-hash fuzz-json fuzz-resp fuzz-cron fuzz-redis-url fuzz-settings fuzz-pickle)
fi

# Swift's own crash backtracer reads memory ASan guards and crashes in turn; libFuzzer and ASan report instead.
export SWIFT_BACKTRACE=enable=no
started=$SECONDS
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
echo "fuzz.sh: built in $((SECONDS - started)) s"

mkdir -p .build/crashes
for target in "${targets[@]}"; do
    mkdir -p ".build/corpus/$target"
    echo "fuzz.sh: $target for $seconds s"
    # The first directory takes new inputs; the committed seeds are only read. -print_final_stats gives the
    # executions per target for the record.
    if ! ".build/release/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix=".build/crashes/$target-" \
        ".build/corpus/$target" "Corpus/$target" > ".build/$target.log" 2>&1
    then
        tail -n 60 ".build/$target.log"
        echo "fuzz.sh: $target failed; the input is in Fuzz/.build/crashes/ (replay: Fuzz/.build/release/$target FILE)"
        exit 1
    fi
    grep -E '^stat::number_of_executed_units|^Done' ".build/$target.log" | tr '\n' ' '
    echo
done
echo "fuzz.sh: done in $((SECONDS - started)) s"
