#!/usr/bin/env bash
# Installs the Debian packages Starling needs to build, test and benchmark.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    ca-certificates cmake make gcc clang clang-format libclang-rt-14-dev git pkg-config libuv1-dev libssl-dev libraft-dev \
    libcurl4-openssl-dev \
    python3 python3-pytest python3-paho-mqtt mosquitto mosquitto-clients procps valgrind iptables \
    dnsmasq-base etcd-server haproxy >/dev/null
