#!/usr/bin/env bash
# Installs the Debian packages Starling needs to build, test and benchmark.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
# mosquitto, etcd, haproxy and prometheus are here for tests and benchmarks, which start their own: on a
# machine with systemd their packages would start services (mosquitto on :1883, the port the
# quickstart broker takes). Keep them from starting now (policy-rc.d) and at boot (disable).
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    ca-certificates cmake make gcc clang clang-format libclang-rt-14-dev git pkg-config libuv1-dev libssl-dev libraft-dev \
    liblmdb-dev \
    libcurl4-openssl-dev \
    python3 python3-pytest python3-paho-mqtt python3-jwt mosquitto mosquitto-clients procps valgrind iptables \
    dnsmasq-base etcd-server haproxy chromium prometheus >/dev/null
# node and npm for the JavaScript clients of the tests (MQTT.js, playwright-core driving
# chromium); a machine that has node from elsewhere (nodesource) keeps it: Debian's npm
# conflicts with that package.
if ! command -v npm >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now mosquitto etcd haproxy prometheus >/dev/null 2>&1 || true
fi
