#!/usr/bin/env bash
# Install the build dependencies, build Starling and start a broker on port 1883.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
make -C build -j"$(nproc)" starling >/dev/null
./build/starling -c etc/starling.conf start
echo "Try: mosquitto_sub -t 'a/#' -v   and   mosquitto_pub -t a/b -m hi"
