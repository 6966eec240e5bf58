#!/usr/bin/env bash
# A throwaway Redis Cluster for the tests: 3 masters (no replicas) on 127.0.0.1, from the
# machine's redis-server and redis-cli (Debian's redis-server package), or from REDIS_SERVER
# given with ARGS for each node (the search module's: --loadmodule PATH).
#
#   scripts/redis-cluster.sh DIR OWNER_PID [REDIS_SERVER ARGS...]
#
# Prints the URL of one node (redis://:PASSWORD@127.0.0.1:PORT) once `cluster_state:ok`;
# ioredis discovers the others from it. The nodes require a password (AUTH on every node, as
# on a managed cluster), the same on all of them. They live in DIR and stop by themselves when
# the process OWNER_PID exits (npm test passes its own PID), so nothing outlives the run.
set -euo pipefail
dir="$1"
owner="$2"
server="${3:-redis-server}"
shift $(($# < 3 ? $# : 3))
mkdir -p "$dir"
password="cluster-$(node -p 'require("crypto").randomBytes(12).toString("hex")')"

# Three ports P whose cluster-bus port P + 10000 is free too (both below 65536).
read -r -a ports <<<"$(node -e '
const net = require("net");
const free = (port) => new Promise((ok) => { const s = net.createServer().once("error", () => ok(false)).listen(port, "127.0.0.1", () => s.close(() => ok(true))); });
(async () => {
  const found = [];
  while (found.length < 3) {
    const port = 20000 + Math.floor(Math.random() * 25000);
    const clash = found.some((other) => [0, 10000, -10000].includes(port - other));
    if (!clash && (await free(port)) && (await free(port + 10000))) found.push(port);
  }
  console.log(found.join(" "));
})();')"

# The nodes run as children of this watchdog, which stops them when the owner exits.
(
  pids=()
  for port in "${ports[@]}"; do
    mkdir -p "$dir/$port"
    "$server" --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
      --cluster-node-timeout 2000 --requirepass "$password" --masterauth "$password" \
      --save '' --appendonly no --dir "$dir/$port" --daemonize no "$@" >"$dir/$port/redis.log" 2>&1 &
    pids+=($!)
  done
  while kill -0 "$owner" 2>/dev/null; do sleep 1; done
  kill "${pids[@]}" 2>/dev/null || true
) >/dev/null 2>&1 &

export REDISCLI_AUTH="$password"
for port in "${ports[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping 2>/dev/null | grep -qx PONG && break; sleep 0.1; done
done
redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 || {
  cat "$dir/create.log" >&2
  exit 1
}
for port in "${ports[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' && break; sleep 0.1; done
done
echo "redis://:$password@127.0.0.1:${ports[0]}"
