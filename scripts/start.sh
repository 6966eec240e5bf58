#!/usr/bin/env bash
# Quick start (`npm start`): puts Node 24 on PATH (installing it from the npm registry
# when the machine's Node is older), installs dependencies and builds on first run,
# then runs the gateway. With no configuration it serves the offline mock model on
# 127.0.0.1:3000; provider keys in the environment switch real providers on.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f dist/gateway.js ] || [ -n "$(find apps libs -name '*.ts' -newer dist/gateway.js -print -quit)" ]; then
  npm run --silent build
fi
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} # as the Dockerfile's ENV
exec node --max-semi-space-size=4 --heap-growing-percent=50 dist/gateway.js # as the Dockerfile's CMD
