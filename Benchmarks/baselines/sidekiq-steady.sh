#!/usr/bin/env bash
# Sidekiq's steady drain rate, measured from the queue's length: the shared baseline (../shared/bench/sidekiq/run.sh)
# waits for `stat:processed`, which Sidekiq 6.4 writes only at its heartbeat, every 5 s — so its figure is Ruby's
# start-up plus the drain rounded up to the next heartbeat (about 3,700 or 1,900 jobs/s here for 20,000 jobs, never
# in between). This times the same process from its first dequeue (the queue shorter than N) to the empty queue
# (at most CONCURRENCY jobs still running), as swift-rq's and Python RQ's steady rates leave start-up out.
# Usage: REDIS_URL=redis://127.0.0.1:PORT/14 sidekiq-steady.sh JOBS_RB [N] [CONCURRENCY]
# Prints: sidekiq process-steady jobs=N seconds=S rate=R concurrency=C
set -euo pipefail
jobs_rb=$1; n=${2:-20000}; c=${3:-10}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/14}
ruby -W0 -r "$jobs_rb" -e '
  n = Integer(ARGV[0])
  Sidekiq.redis { |r| r.flushdb }
  n.times.each_slice(1000) { |s| Sidekiq::Client.push_bulk("class" => NoopJob, "args" => s.map { [1] }) }
' "$n" 2>/dev/null
sidekiq -r "$jobs_rb" -c "$c" -q default >/dev/null 2>&1 &
pid=$!
# One connection polls every 5 ms (a redis-cli per poll would take CPU from Sidekiq on a small machine).
ruby -W0 -r "$jobs_rb" -e '
  n = Integer(ARGV[0]); c = Integer(ARGV[1])
  now = -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }
  Sidekiq.redis do |r|
    sleep 0.005 until r.llen("queue:default") < n
    first = now.call
    sleep 0.005 until r.llen("queue:default").zero?
    dt = now.call - first
    puts format("sidekiq process-steady jobs=%d seconds=%.3f rate=%d concurrency=%d", n, dt, n / dt, c)
  end
' "$n" "$c" 2>/dev/null
kill -TERM "$pid"; wait "$pid" || true
