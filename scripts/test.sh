#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs, checks formatting, builds the code and the DocC catalog, runs
# the unit and integration tests (which start their own redis-server and call the real Python RQ 2.12), then the
# tools tests (rq-dashboard, rq-exporter, Chromium), follows the README's "Getting started" in a new package, builds
# and tests the Vapor example and the Dashboard package (Hummingbird), and last fuzzes every decoder of outside input
# for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
swift format lint --strict --recursive Package.swift Sources Tests Examples \
    Dashboard/Package.swift Dashboard/Sources Dashboard/Tests
swift build --build-tests
# The DocC catalog (Sources/RQ/RQ.docc) with the API reference: a broken symbol link, an unresolved topic or any
# other DocC warning fails the run (DocumentationTests checks that the articles' Swift blocks are compiled).
swift package generate-documentation --target RQ --warnings-as-errors
# Every public declaration of the library has a doc comment, with its parameters and what it throws.
swift package dump-symbol-graph --minimum-access-level public >/dev/null
python3 scripts/check-doc-comments.py >/dev/null || python3 scripts/check-doc-comments.py
scripts/check-getting-started.sh
swift test --skip RQToolsTests --skip ChaosTests
# On their own afterwards, one after the other: rq-dashboard, rq-exporter and headless Chromium, and the chaos test's
# three workers and thousands of jobs would take the CPU from the parallel suite's worker tests, which wait for jobs
# with deadlines.
swift test --skip-build --filter RQToolsTests
swift test --skip-build --filter ChaosTests
# The Vapor example (Examples/VaporExample, a package of its own): built in a step of its own so the core build never
# builds Vapor, and tested after the core suites so its build does not take the CPU from their deadlines. Measured from
# scratch here twice (debug; Vapor and its dependencies, BoringSSL the largest): 961 and 1,145 s of CPU, 19 min 37 s and
# 38 min 40 s wall on the 2 cores shared with other builds (load 2-17 and 11-15); on 2 idle cores, at least the CPU time
# halved, 8-10 min (an estimate, not measured idle). Then its tests take 7 s.
swift build --package-path Examples/VaporExample --build-tests
swift test --package-path Examples/VaporExample --skip-build
# The dashboard and Hummingbird example (Dashboard/, a package of its own, so Hummingbird stays out of the core's
# build): built in a step of its own, then its tests, which run the example app with its worker pool and headless
# Chromium one at a time. Measured from scratch here (dependencies checked out, nothing built), with swift-otel's
# OTLP/HTTP exporter in the example app: the build 498 s wall, 684 s of CPU (its own copies of swift-rq, SwiftNIO and
# Hummingbird, and swift-otel with AsyncHTTPClient and SwiftProtobuf; the 2 cores shared, load average 1.3 to 4.3;
# before swift-otel it took 511 s at a load of 7 to 12), the tests 25 to 45 s.
started=$SECONDS
swift build --package-path Dashboard --build-tests
echo "test.sh: Dashboard built in $((SECONDS - started)) s"
swift test --package-path Dashboard --skip-build
echo "test.sh: Dashboard built and tested in $((SECONDS - started)) s"
# Last, libFuzzer over every decoder of outside input (Fuzz/, a package of its own; CONTRIBUTING.md, Fuzzing): 20 s
# a target; measured from scratch here, 5 min 14 s (build 166 s on the shared 2 cores, then 7 × 21 s).
scripts/fuzz.sh 20
