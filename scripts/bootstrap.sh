#!/usr/bin/env bash
# Installs what swift-rq needs on a Debian machine: redis-server, hiredis, zlib, OpenSSL and libcurl headers (apt) and, unless
# --no-python is given, what the interoperability tests run: Python RQ 2.12, rq-dashboard 0.9, rq-exporter 3.1 and
# opentelemetry-instrumentation-rq 0.1.4 with the OpenTelemetry SDK (pip), and Chromium and curl (apt, for the
# dashboards' headless screenshots and the Dashboard package's HTTP tests). Safe to run again.
set -euo pipefail

packages=(redis-server libhiredis-dev zlib1g-dev libssl-dev openssl pkg-config libcurl4-openssl-dev)
if [ "${1:-}" != "--no-python" ]; then packages+=(chromium curl); fi
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "bootstrap: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1:-}" != "--no-python" ]; then
    # The OpenTelemetry packages: the tracing interop tests (the instrumentation and its dependencies, pinned together).
    python_packages=(
        "rq==2.12.0" "rq-dashboard==0.9.0" "rq-exporter==3.1.0"
        "opentelemetry-instrumentation-rq==0.1.4" "opentelemetry-sdk==1.45.2" "opentelemetry-api==1.45.2"
        "opentelemetry-instrumentation==0.66b2" "opentelemetry-semantic-conventions==0.66b2"
    )
    if ! python3 -c '
import importlib.metadata as m, sys
sys.exit(any(m.version(name) != version for name, version in (a.split("==") for a in sys.argv[1:])))
' "${python_packages[@]}" 2>/dev/null; then
        echo "bootstrap: installing ${python_packages[*]}"
        python3 -m pip install -q --root-user-action=ignore "${python_packages[@]}"
    fi
fi
