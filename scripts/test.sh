#!/usr/bin/env bash
# The project's one test command (`npm test`): installs what the tests need
# (Node 24, npm packages, redis-server), starts a throwaway Redis on 127.0.0.1,
# builds, and runs unit and end-to-end tests with Node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test: installing redis-server with apt-get" >&2
    (apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq redis-server; }) >&2
  else
    echo "test: redis-server is required (Debian/Ubuntu: sudo apt-get install redis-server)" >&2
    exit 1
  fi
fi

work="$(mktemp -d)"
redis_port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

# Redis with the search module for the Redis Stack tests: REDIS_STACK_URL (scripts/redis-stack.sh).
source scripts/redis-stack.sh
trap 'kill "$redis_pid" "$redis_stack_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

export TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
# The path of the redis-server binary lets tests stop and restart a Redis of their own.
export TEST_REDIS_SERVER="$(command -v redis-server)"

# Redis Cluster (3 masters on 127.0.0.1) for test/e2e/redis-cluster.e2e.test.ts; its nodes stop
# when this script exits (scripts/redis-cluster.sh watches this PID).
TEST_REDIS_CLUSTER_URL="$(bash scripts/redis-cluster.sh "$work/cluster" $$)"
export TEST_REDIS_CLUSTER_URL
# The same of Redis 8.2 nodes with the search module (scripts/redis-stack.sh's) for test/e2e/redis-cluster-search.e2e.test.ts.
TEST_REDIS_STACK_CLUSTER_URL="$(bash scripts/redis-cluster.sh "$work/stack-cluster" $$ "$REDIS_STACK_SERVER" --loadmodule "$REDIS_STACK_MODULE")"
export TEST_REDIS_STACK_CLUSTER_URL

bash scripts/audit.sh
# Python clients for end-to-end tests (TEST_PYTHON): the openai package in .tools/venv.
source scripts/python-env.sh
# all-MiniLM-L6-v2 for the semantic cache's second offline embedder (test/unit/minilm-embedder.test.ts).
source scripts/minilm-model.sh
# Chart tests: pinned helm and tools/kube-strict (see the script).
source scripts/chart-tools.sh

npm run --silent build:test

# Soak and chaos, short mode (~2 minutes, see RELIABILITY.md): two gateways, one Redis of its own,
# faults on a schedule; fails on any lost request, crash or failed check.
node dist/bench/soak.js --duration 90 --ci
# The 429 storm and half-open probes that end in a 400 or a client abort (~2 minutes, RELIABILITY.md):
# fails on any lost request, a primary left unused after its cool-down, or a 429/503 while upstreams are healthy.
node dist/bench/soak.js --scenario storm --rate 30 --ci

# Last, so the test runner's summary (tests, pass, fail) closes the output. Not --test-force-exit: on a busy
# host it ended the run with test files not yet started, 82 tests fewer and no failure said.
node --test --test-concurrency=2 --test-timeout=120000 "dist/test/**/*.test.js"
