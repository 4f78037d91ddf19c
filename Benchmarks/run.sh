#!/usr/bin/env bash
# Runs swift-rq's benchmark and the Python RQ 2.12 and Sidekiq baselines against one redis-server that this script
# starts, in the same run, and prints a table of each figure, its baseline and the ratio.
#
#   Benchmarks/run.sh [--quick]
#
# Needs: the apt/pip packages of scripts/bootstrap.sh, ruby-sidekiq (installed here if missing), and the baseline
# scripts in ../shared/bench (override with RQ_BASELINES=DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
baselines=${RQ_BASELINES:-$root/../shared/bench}
quick=${1:-}

scripts/bootstrap.sh
if ! command -v sidekiq >/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq ruby-sidekiq >/dev/null
fi
[ -f "$baselines/python_rq.py" ] || { echo "baseline scripts not found in $baselines (set RQ_BASELINES)" >&2; exit 1; }

echo "building the benchmark (release, tuned: static Swift stdlib, position-dependent)…" >&2
(cd Benchmarks && swift build -c release --static-swift-stdlib -Xswiftc -Xclang-linker -Xswiftc -no-pie >/dev/null)
bench=Benchmarks/.build/release/rq-bench
echo "building the runner the default way (swift build -c release)…" >&2
(cd Benchmarks && swift build -c release --product rq-bench-runner --scratch-path .build-default >/dev/null)
default_runner=$root/Benchmarks/.build-default/release/rq-bench-runner

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis_dir=$(mktemp -d)  # an empty working directory: no dump.rdb from elsewhere is loaded
redis-server --port "$port" --bind 127.0.0.1 --dir "$redis_dir" --save "" --appendonly no --daemonize no \
    --loglevel warning >/dev/null &
redis_pid=$!
# The same server build with TLS only, for enqueue over TLS beside plain (certificates made here).
tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tls_dir="$redis_dir/tls"
mkdir -p "$tls_dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tls_dir/ca.key" \
    -out "$tls_dir/ca.crt" -days 1 -subj "/CN=rq-bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tls_dir/server.key" \
    -out "$tls_dir/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$tls_dir/ext"
openssl x509 -req -in "$tls_dir/server.csr" -CA "$tls_dir/ca.crt" -CAkey "$tls_dir/ca.key" -CAcreateserial \
    -out "$tls_dir/server.crt" -days 1 -extfile "$tls_dir/ext" 2>/dev/null
redis-server --port 0 --tls-port "$tls_port" --tls-cert-file "$tls_dir/server.crt" --tls-key-file "$tls_dir/server.key" \
    --tls-ca-cert-file "$tls_dir/ca.crt" --tls-auth-clients no --bind 127.0.0.1 --dir "$tls_dir" --save "" \
    --appendonly no --daemonize no --loglevel warning >/dev/null &
tls_pid=$!
trap 'kill $redis_pid $tls_pid 2>/dev/null || true; rm -rf "$redis_dir"' EXIT
until [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ]; do sleep 0.05; done
until [ "$(redis-cli -p "$tls_port" --tls --cacert "$tls_dir/ca.crt" ping 2>/dev/null)" = "PONG" ]; do sleep 0.05; done

out=$(mktemp)
if [ "$quick" = "--quick" ]; then n_enq=2000; n_many=10000; n_fork=100; n_simple=1000; n_pool=300; n_sk=5000; repeats=1
else n_enq=20000; n_many=100000; n_fork=300; n_simple=3000; n_pool=1000; n_sk=20000; repeats=3; fi
# The CPU time the host takes from this virtual machine (steal), over the whole run: the table says how much.
steal_and_total() { awk '/^cpu /{ t=0; for (i=2; i<=NF; i++) t+=$i; print $9, t }' /proc/stat; }
steal_before=$(steal_and_total)

echo "running swift-rq…" >&2
"$bench" --url "redis://127.0.0.1:$port/13" --default-runner "$default_runner" \
    --tls-url "rediss://127.0.0.1:$tls_port/13?ssl_ca_certs=$tls_dir/ca.crt" $quick | tee -a "$out" >&2
echo "running Python RQ 2.12…" >&2
py() { python3 "$baselines/python_rq.py" --url "redis://127.0.0.1:$port/15" "$@" | tee -a "$out" >&2; }
py --mode enqueue --jobs "$n_enq"
py --mode enqueue-many --jobs "$n_many"
py --mode worker --jobs "$n_fork"
py --mode simple --jobs "$n_simple"
# The baselines of the worker targets run as often as swift-rq's sections do (rq-bench --repeats); the table takes
# the median of each.
for _ in $(seq "$repeats"); do py --mode pool --concurrency 2 --jobs "$n_pool"; done
echo "running Sidekiq…" >&2
for _ in $(seq "$repeats"); do
    REDIS_URL="redis://127.0.0.1:$port/14" bash "$baselines/sidekiq/run.sh" "$n_sk" 10 | tee -a "$out" >&2
    REDIS_URL="redis://127.0.0.1:$port/14" bash Benchmarks/baselines/sidekiq-steady.sh "$baselines/sidekiq/jobs.rb" \
        "$n_sk" 10 | tee -a "$out" >&2
done
steal_after=$(steal_and_total)
echo "host steal $steal_before $steal_after" >> "$out"

python3 - "$out" <<'PY'
import re, sys, platform, os, datetime
import statistics
samples, steal = {}, None
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) < 2: continue
    name, mode = parts[0], parts[1]
    if (name, mode) == ('host', 'steal') and len(parts) == 6:
        stolen, total = int(parts[4]) - int(parts[2]), int(parts[5]) - int(parts[3])
        steal = 100 * stolen / total if total > 0 else None
        continue
    fields = dict(p.split('=', 1) for p in parts[2:] if '=' in p)
    samples.setdefault((name, mode), []).append(fields)
# A figure measured several times (the worker targets' sections and baselines) is the median of its samples; the
# others, measured once, are their one sample.
def median(values):
    try: numbers = [float(v) for v in values if v not in (None, '?')]
    except ValueError: return values[-1]
    return statistics.median(numbers) if numbers else float('nan')
rates = {key: {field: (median([s.get(field) for s in lines]) if len(lines) > 1 else lines[-1][field])
               for field in lines[-1]} for key, lines in samples.items()}
def rate(name, mode, field='rate'): return float(rates.get((name, mode), {}).get(field, 'nan'))
def runs(name, mode): return len(samples.get((name, mode), []))
rows = [
    ("Enqueue, one task awaiting each (jobs/s)", rate('swift-rq', 'enqueue'), "Python RQ enqueue", rate('python-rq', 'enqueue'), "≥ 5×"),
    ("Enqueue, 64 tasks (jobs/s)", rate('swift-rq', 'enqueue-64-tasks'), "Python RQ enqueue", rate('python-rq', 'enqueue'), "≥ 50,000/s"),
    ("enqueueMany (jobs/s)", rate('swift-rq', 'enqueue-many'), "Sidekiq push_bulk", rate('sidekiq', 'bulk-enqueue'), "≥ 1×"),
    ("enqueueMany (jobs/s)", rate('swift-rq', 'enqueue-many'), "Python RQ enqueue_many", rate('python-rq', 'enqueue-many'), ""),
    ("Enqueue over TLS, one task awaiting each (jobs/s)", rate('swift-rq', 'enqueue-tls'), "swift-rq, plain", rate('swift-rq', 'enqueue'), ""),
    ("Enqueue over TLS, 64 tasks (jobs/s)", rate('swift-rq', 'enqueue-64-tasks-tls'), "swift-rq, plain", rate('swift-rq', 'enqueue-64-tasks'), ""),
    ("Horse per job, concurrency 1, steady (jobs/s)", rate('swift-rq', 'horse-c1'), "Python RQ worker (fork), steady", rate('python-rq', 'worker'), ""),
    ("Horse per job, concurrency 2, steady (jobs/s)", rate('swift-rq', 'horse-c2'), "Python RQ worker-pool -n 2, steady", rate('python-rq', 'pool'), "≥ 5×"),
    ("Horse per job, concurrency 2, default release build, steady (jobs/s)", rate('swift-rq', 'horse-c2-default-build'), "Python RQ worker-pool -n 2, steady", rate('python-rq', 'pool'), ""),
    ("Horse per job, concurrency 2, whole burst run (jobs/s)", rate('swift-rq', 'horse-c2', 'wall_rate'), "Python RQ worker-pool -n 2, whole command", rate('python-rq', 'pool', 'wall_rate'), ""),
    ("Horse per job, concurrency 2, steady (jobs/s)", rate('swift-rq', 'horse-c2'), "bare spawn of the runner, 2 at once", rate('swift-rq', 'bare-spawn-2'), "≥ 60%"),
    ("Horse per job, concurrency 4, steady (jobs/s)", rate('swift-rq', 'horse-c4'), "Python RQ worker-pool -n 2, steady", rate('python-rq', 'pool'), ""),
    ("Reused horses (100 jobs each), concurrency 2, steady (jobs/s)", rate('swift-rq', 'reused-horse-c2'), "Python RQ worker-pool -n 2, steady", rate('python-rq', 'pool'), "≥ 15×"),
    ("Reused horses (100 jobs each), concurrency 2, steady (jobs/s)", rate('swift-rq', 'reused-horse-c2'), "swift-rq in-process, concurrency 10", rate('swift-rq', 'in-process-c10'), "≥ 40%"),
    ("Reused horses (100 jobs each), concurrency 2, steady (jobs/s)", rate('swift-rq', 'reused-horse-c2'), "swift-rq in-process, concurrency 2", rate('swift-rq', 'in-process-c2'), ""),
    ("In-process, concurrency 10, steady (jobs/s)", rate('swift-rq', 'in-process-c10'), "Sidekiq, concurrency 10", rate('sidekiq', 'process'), "≥ 2.5×"),
    ("In-process, concurrency 10, steady (jobs/s)", rate('swift-rq', 'in-process-c10'), "Sidekiq, concurrency 10, steady (first dequeue to empty queue)", rate('sidekiq', 'process-steady'), ""),
    ("In-process, concurrency 10, steady (jobs/s)", rate('swift-rq', 'in-process-c10'), "Python RQ SimpleWorker, steady", rate('python-rq', 'simple'), ""),
    ("redis-server CPU per job, worker side, horse c1 (µs)", rate('swift-rq', 'horse-c1', 'server_us_per_job'), "Python RQ worker (fork)", rate('python-rq', 'worker', 'server_us_per_job'), ""),
    ("redis-server CPU per job, worker side, horse c2 (µs)", rate('swift-rq', 'horse-c2', 'server_us_per_job'), "Python RQ worker-pool -n 2", rate('python-rq', 'pool', 'server_us_per_job'), ""),
    ("redis-server CPU per job, worker side, in-process c10 (µs)", rate('swift-rq', 'in-process-c10', 'server_us_per_job'), "Python RQ SimpleWorker", rate('python-rq', 'simple', 'server_us_per_job'), ""),
]
stolen = f" — CPU taken by the host (steal) during the run: {steal:.1f}%" if steal is not None else ""
print(f"swift-rq benchmark — {datetime.date.today()} — {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}{stolen}")
print()
print("| Figure | swift-rq | Baseline | Baseline value | Ratio | Target |")
print("|---|---:|---|---:|---:|---|")
for figure, ours, base_name, base, target in rows:
    ratio = ours / base if base and base == base and base > 0 else float('nan')
    print(f"| {figure} | {ours:,.0f} | {base_name} | {base:,.0f} | {ratio:.2f}× | {target} |")
for mode in ('horse-c1', 'horse-c2', 'in-process-c10'):
    f = rates.get(('swift-rq', mode), {})
    print(f"| Worker-side Redis round trips per job, {mode} | {f.get('round_trips_per_job', '?')} | Python RQ: ~60 commands per job | | | ≤ 4 |")
    print(f"| Redis commands per job, {mode} | {f.get('commands_per_job', '?')} | | | | |")
for mode in ('horse', 'in-process'):
    f = rates.get(('swift-rq', f'latency-{mode}'), {})
    target = "≤ 2 ms" if mode == 'horse' else "≤ 1 ms"
    print(f"| Enqueue-to-start latency, {mode}, p50 / p99 (ms) | {f.get('p50_ms', '?')} / {f.get('p99_ms', '?')} | | | | p50 {target} |")
f = rates.get(('swift-rq', 'latency-idle-round-trip'), {})
print(f"| Floor: one idle Redis round trip (PING after 5 ms idle), p50 / p99 (ms) | {f.get('p50_ms', '?')} / {f.get('p99_ms', '?')} | | | | |")
f = rates.get(('swift-rq', 'enqueue-many'), {})
print(f"| redis-server CPU per job in enqueueMany (µs) | {f.get('server_us_per_job', '?')} | | | | |")
w = rates.get(('swift-rq', 'result-waiters-1000'), {})
print(f"| 1,000 concurrent `job.result()` waits: wake-up after the result is stored, p50 / p99 (ms) | {w.get('p50_ms', '?')} / {w.get('p99_ms', '?')} | | | | |")
print(f"| 1,000 concurrent `job.result()` waits: heap / threads added while they wait, Redis connections | {int(w.get('heap_kb_added', 0))/1024:.1f} MiB / {w.get('threads_added', '?')} / {w.get('redis_connections', '?')} | | | | ≤ 4 connections |")
m = rates.get(('swift-rq', 'memory'), {})
print(f"| Memory: idle worker RSS / warm horse RSS (MiB) | {int(m.get('idle_worker_rss_kb', 0))/1024:.1f} / {int(m.get('warm_horse_rss_kb', 0))/1024:.1f} | | | | |")
for mode, label in (('soak-horse-c2', 'horses, concurrency 2'), ('soak-in-process-c10', 'in-process, concurrency 10')):
    f = rates.get(('swift-rq', mode), {})
    rss = f"{int(f.get('rss_kb_10pct', 0))/1024:.1f} / {int(f.get('rss_kb_end', 0))/1024:.1f} ({f.get('rss_growth_pct', '?')}%)"
    print(f"| Soak, {label}, {int(f.get('jobs', 0)):,} jobs: worker RSS at 10% / end (MiB) | {rss} | | | | ≤ +10% |")
    print(f"| Soak, {label}: worker open fds at 10% / end | {f.get('fds_10pct', '?')} / {f.get('fds_end', '?')} | | | | no growth |")
repeated = sorted(f"{name} {mode} ({runs(name, mode)})" for (name, mode) in samples if runs(name, mode) > 1)
if repeated:
    print()
    print("Medians of interleaved runs: " + ", ".join(repeated) + ".")
PY
