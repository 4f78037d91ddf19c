#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs, checks formatting, builds, runs the unit and integration
# tests (which start their own redis-server and call the real Python RQ 2.12), then the tools tests (rq-dashboard,
# rq-exporter, Chromium), follows the README's "Getting started" in a new package, builds and tests the Dashboard
# package (Hummingbird), and last fuzzes every decoder of outside input for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
swift format lint --strict --recursive Package.swift Sources Tests Examples \
    Dashboard/Package.swift Dashboard/Sources Dashboard/Tests
swift build --build-tests
scripts/check-getting-started.sh
swift test --skip RQToolsTests --skip ChaosTests
# On their own afterwards, one after the other: rq-dashboard, rq-exporter and headless Chromium, and the chaos test's
# three workers and thousands of jobs would take the CPU from the parallel suite's worker tests, which wait for jobs
# with deadlines.
swift test --skip-build --filter RQToolsTests
swift test --skip-build --filter ChaosTests
# The dashboard and Hummingbird example (Dashboard/, a package of its own, so Hummingbird stays out of the core's
# build): built in a step of its own, then its tests, which run the example app with its worker pool and headless
# Chromium one at a time. Measured from scratch here: the build 511 s (its own copies of swift-rq, SwiftNIO and
# Hummingbird; the 2 cores shared with other builds, load average 7 to 12), the tests 30 to 45 s.
started=$SECONDS
swift build --package-path Dashboard --build-tests
echo "test.sh: Dashboard built in $((SECONDS - started)) s"
swift test --package-path Dashboard --skip-build
echo "test.sh: Dashboard built and tested in $((SECONDS - started)) s"
# Last, libFuzzer over every decoder of outside input (Fuzz/, a package of its own; CONTRIBUTING.md, Fuzzing): 20 s
# a target; measured from scratch here, 5 min 14 s (build 166 s on the shared 2 cores, then 7 × 21 s).
scripts/fuzz.sh 20
