#!/usr/bin/env bash
# Installs what swift-rq needs on a Debian machine: redis-server, hiredis, zlib, OpenSSL and libcurl headers (apt) and, unless
# --no-python is given, Python RQ 2.12 for the interoperability tests (pip). Safe to run again.
set -euo pipefail

packages=(redis-server libhiredis-dev zlib1g-dev libssl-dev openssl pkg-config libcurl4-openssl-dev)
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
    if ! python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("rq") != "2.12.0")' 2>/dev/null; then
        echo "bootstrap: installing rq==2.12.0"
        python3 -m pip install -q --root-user-action=ignore "rq==2.12.0"
    fi
fi
