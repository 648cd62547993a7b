#!/usr/bin/env bash
# Install the build dependencies, build Starling and start a broker on port 1883.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
make -C build -j"$(nproc)" starling >/dev/null
./build/starling -c etc/starling.conf start
echo "Add a user: ./build/starling ctl users add demo demo-secret"
echo "Then try:   mosquitto_sub -u demo -P demo-secret -t 'a/#' -v   and   mosquitto_pub -u demo -P demo-secret -t a/b -m hi"
