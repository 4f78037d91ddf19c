#!/usr/bin/env bash
# Follows the README's "Getting started" as a new user would: writes its files into a new package that depends on
# this checkout, runs its shell lines (build, a worker, the producer, info) against a throwaway redis-server, and
# checks that the first job's result comes back. The README's text is the only input.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

work=$(mktemp -d)
redis_dir="$work/redis"
mkdir -p "$redis_dir" "$work/my-app"
ln -s "$repo" "$work/swift-rq"   # the Package.swift of the README depends on ../swift-rq
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="redis://127.0.0.1:$port/0"
cleanup() {
    if [ -f "$work/run.pid" ]; then kill "$(cat "$work/run.pid")" 2>/dev/null || true; fi
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# The files: a **`path`** line, then a ```swift block. The shell lines: the section's ```sh block.
python3 - "$repo/README.md" "$work/my-app" "$work/steps.sh" <<'PY'
import os, re, sys
readme, package, steps = sys.argv[1:4]
text = open(readme, encoding="utf-8").read()
start = text.index("\n## Getting started")
section = text[start:text.index("\n## ", start + 1)]
files = re.findall(r"\*\*`([^`]+)`\*\*[^\n]*\n\n```swift\n(.*?)```", section, re.S)
assert [path for path, _ in files] == ["Package.swift", "Sources/my-jobs/main.swift", "Sources/my-app/main.swift"], files
for path, code in files:
    os.makedirs(os.path.dirname(os.path.join(package, path)) or package, exist_ok=True)
    open(os.path.join(package, path), "w", encoding="utf-8").write(code)
shell = re.findall(r"```sh\n(.*?)```", section, re.S)
assert len(shell) == 1, shell
open(steps, "w", encoding="utf-8").write(shell[0])
PY

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" --daemonize yes \
    --pidfile "$redis_dir/redis.pid" >/dev/null
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

# The README's lines, on this server instead of the default port; the backgrounded worker is stopped (warm) at the
# end and waited for, so that its output is complete.
sed -i "s#redis://127.0.0.1:6379/0#$url#g" "$work/steps.sh"
printf '%s\n' 'echo $! > ../run.pid; kill -TERM $!; wait $!' >> "$work/steps.sh"
echo "check-getting-started: running the README's steps in a new package"
(cd "$work/my-app" && bash -euo pipefail "$work/steps.sh") 2>&1 | tee "$work/output.txt"

grep -q "^2 + 3 = 5$" "$work/output.txt" || { echo "check-getting-started: the first job's result did not come back"; exit 1; }
grep -q "1 workers, " "$work/output.txt" || { echo "check-getting-started: info did not list the worker"; exit 1; }
echo "check-getting-started: 1 passed, 0 failed"
