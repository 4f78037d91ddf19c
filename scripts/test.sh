#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs, checks formatting, builds, runs the unit and integration
# tests (which start their own redis-server and call the real Python RQ 2.12), then the tools tests (rq-dashboard,
# rq-exporter, Chromium), and follows the README's "Getting started" in a new package.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
swift format lint --strict --recursive Package.swift Sources Tests Examples
swift build --build-tests
scripts/check-getting-started.sh
swift test --skip RQToolsTests --skip ChaosTests
# On their own afterwards, one after the other: rq-dashboard, rq-exporter and headless Chromium, and the chaos test's
# three workers and thousands of jobs would take the CPU from the parallel suite's worker tests, which wait for jobs
# with deadlines.
swift test --skip-build --filter RQToolsTests
swift test --skip-build --filter ChaosTests
