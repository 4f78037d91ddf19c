#!/usr/bin/env bash
# Runs the demo: starts a throwaway redis-server, enqueues example jobs, runs them and prints the results.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh --no-python
swift run rq-demo
