#!/usr/bin/env bash
# Benchmark, all in one run: a fake OpenAI upstream (nginx) called DIRECTLY, through this gateway
# LEAN (no auth, no Redis) and FULL (the production shape: a gateway key with RPM/TPM limits and a
# budget, Redis of its own for limits and spend, prices, metrics, the access log), and through
# PORTKEY (the peer, @portkey-ai/gateway from npm, installed by this script into bench/.peer), and
# two floors on the gateways' core: NGINX-PROXY (nginx as a reverse proxy: what the host charges any
# proxy) and NODE-FLOOR (a bare Fastify + undici forwarder, bench/floor.cjs: what Node charges).
# See bench/README.md. Everything binds to 127.0.0.1; every step has a time limit, the whole run
# too (MAX_SECONDS); the EXIT trap stops every process this script started.
#
# Environment (all optional):
#   DURATION=5s WARMUP=2s   measured / discarded warm-up time per run (integer with s/m suffix)
#   REPEATS=3               runs per row; the table shows medians and the min–max spread
#   CONCURRENCY="1 16 64"   MODES="nonstream stream"
#   TARGETS="direct nginx-proxy node-floor lean full portkey"
#   UPSTREAM_PORT=18080 LEAN_PORT=18081 FULL_PORT=18083 PEER_PORT=18084 REDIS_PORT=18082
#   PROXY_PORT=18085 FLOOR_PORT=18086
#   PIN=1                   taskset: gateways and floors on GATEWAY_CPUS=0; the fake upstream, wrk and
#                           Redis on LOADGEN_CPUS=1
#   BUILD=1                 force `npm run build` (otherwise only when dist/gateway.js is missing)
#   PEER_VERSION=1.15.2     @portkey-ai/gateway version, run on its own Node 20 (npm package `node@20`):
#                           its streaming fails on Node 24's fetch and with @hono/node-server > 1.14.1
#                           (Portkey-AI/gateway#1389), pinned by an npm override (nested copies too).
#                           No registry access: the peer is skipped with a note.
#   GATEWAY_NODE_FLAGS="--max-semi-space-size=4 --heap-growing-percent=50"   node flags for lean and full (the Dockerfile's CMD)
#   GATEWAY_ENV="MALLOC_ARENA_MAX=2"   extra environment for lean and full (the Dockerfile's ENV)
#   SEQ=1                   also time the c=1 rows with bench/seq-client.py (python3), a second client
#   MAX_SECONDS=2400        the whole run is stopped after this long
#   OUT=bench/results/latest.md   UPDATE_DOC=1 also replaces the generated block in BENCHMARKS.md
#   KEEP_TMP=1              keeps the scratch dir (configs, logs, probe samples)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-2s}
REPEATS=${REPEATS:-3}
CONCURRENCY=${CONCURRENCY:-"1 16 64"}
MODES=${MODES:-"nonstream stream"}
TARGETS=${TARGETS:-"direct nginx-proxy node-floor lean full portkey"}
UPSTREAM_PORT=${UPSTREAM_PORT:-18080}
LEAN_PORT=${LEAN_PORT:-18081}
REDIS_PORT=${REDIS_PORT:-18082}
FULL_PORT=${FULL_PORT:-18083}
PEER_PORT=${PEER_PORT:-18084}
PROXY_PORT=${PROXY_PORT:-18085}
FLOOR_PORT=${FLOOR_PORT:-18086}
PIN=${PIN:-1}
GATEWAY_CPUS=${GATEWAY_CPUS:-0}
LOADGEN_CPUS=${LOADGEN_CPUS:-1}
BUILD=${BUILD:-0}
PEER_VERSION=${PEER_VERSION:-1.15.2}
PEER_DIR=${PEER_DIR:-$BENCH_DIR/.peer}
MAX_SECONDS=${MAX_SECONDS:-2400}
GATEWAY_NODE_FLAGS=${GATEWAY_NODE_FLAGS---max-semi-space-size=4 --heap-growing-percent=50}
GATEWAY_ENV=${GATEWAY_ENV-MALLOC_ARENA_MAX=2}
KEEP_TMP=${KEEP_TMP:-0}
SEQ=${SEQ:-1}
OUT=${OUT:-$BENCH_DIR/results/latest.md}
UPDATE_DOC=${UPDATE_DOC:-1}
GATEWAY_MAIN=dist/gateway.js # what npm run start:prod and the image run
BENCH_KEY=sk-bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }
has() { case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
to_secs() { # "10s" -> 10, "2m" -> 120
  case "$1" in
    *[!0-9sm]* | "") die "unsupported duration '$1' (use e.g. 10s, 2m)" ;;
    *s) echo "${1%s}" ;;
    *m) echo $((${1%m} * 60)) ;;
    *) echo "$1" ;;
  esac
}
DUR_S=$(to_secs "$DURATION")
WARM_S=$(to_secs "$WARMUP")
for m in $MODES; do case $m in nonstream | stream) ;; *) die "unknown mode '$m'" ;; esac; done
for t in $TARGETS; do case $t in direct | nginx-proxy | node-floor | lean | full | portkey) ;; *) die "unknown target '$t'" ;; esac; done
for tool in nginx wrk curl timeout; do
  command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y nginx-light wrk curl redis-server)"
done
[ "$SEQ" = 1 ] && ! command -v python3 >/dev/null && { printf '[bench] no python3: the second c=1 client is skipped\n' >&2; SEQ=0; }
has full "$TARGETS" && { command -v redis-server >/dev/null || die "'redis-server' not found (apt-get install -y redis-server)"; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$UPSTREAM_PORT" "$LEAN_PORT" "$FULL_PORT" "$PEER_PORT" "$REDIS_PORT" "$PROXY_PORT" "$FLOOR_PORT"; do
  port_busy "$p" && die "port $p is already in use (see the *_PORT variables)"
done

# ---- pinning --------------------------------------------------------------------------------
NCPU=$(nproc)
PIN_GW=() PIN_LG=()
if [ "$PIN" = 1 ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
  PIN_GW=(taskset -c "$GATEWAY_CPUS")
  PIN_LG=(taskset -c "$LOADGEN_CPUS")
  PIN_DESC="gateways (node) and floors on CPU $GATEWAY_CPUS; the fake upstream (nginx), wrk and Redis on CPU $LOADGEN_CPUS (taskset)"
else
  PIN_DESC="none (all processes share the $NCPU CPU(s))"
fi

# ---- scratch dir, cleanup, overall time limit ----------------------------------------------
TMP=$(mktemp -d /tmp/gateway-bench.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  local rc=$? pid i alive
  trap - EXIT INT TERM
  pkill -P "$WATCHDOG" 2>/dev/null || true # its sleep, so it never fires after we are gone
  kill "$WATCHDOG" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 50); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ "$KEEP_TMP" = 1 ]; then log "scratch dir kept: $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'log "stopped: over MAX_SECONDS=$MAX_SECONDS"; exit 143' TERM
(sleep "$MAX_SECONDS" && kill -TERM $$) >/dev/null 2>&1 &
WATCHDOG=$!

wait_http() { # url timeout_s pid [header] -> 0 up, 1 timed out, 2 process exited
  local deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$3" 2>/dev/null || return 2
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

# ---- fake upstream (nginx) -------------------------------------------------------------------
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
sed -e "s|@PORT@|$UPSTREAM_PORT|g" -e "s|@BODIES@|$BENCH_DIR/upstream/bodies|g" \
  -e "s|@TMP@|$TMP|g" -e "s|@USER_LINE@|$USER_LINE|g" \
  "$BENCH_DIR/upstream/nginx.conf.template" >"$TMP/nginx.conf"
nginx -t -q -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" || die "nginx config test failed"
"${PIN_LG[@]}" nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" >"$TMP/nginx.out" 2>&1 &
PIDS+=($!)
NGINX_PID=$!
wait_http "http://127.0.0.1:$UPSTREAM_PORT/health" 10 "$NGINX_PID" ||
  { cat "$TMP/nginx.out" "$TMP/nginx-error.log" >&2 2>/dev/null || true; die "nginx did not start"; }
if has nginx-proxy "$TARGETS"; then
  sed -e "s|@PORT@|$PROXY_PORT|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" -e "s|@TMP@|$TMP|g" \
    -e "s|@USER_LINE@|$USER_LINE|g" "$BENCH_DIR/upstream/nginx-proxy.conf.template" >"$TMP/nginx-proxy.conf"
  "${PIN_GW[@]}" nginx -p "$TMP" -c "$TMP/nginx-proxy.conf" -e "$TMP/nginx-proxy-error.log" >"$TMP/nginx-proxy.out" 2>&1 &
  PIDS+=($!)
  PROXY_PID=$!
  wait_http "http://127.0.0.1:$PROXY_PORT/health" 10 "$PROXY_PID" ||
    { cat "$TMP/nginx-proxy.out" "$TMP/nginx-proxy-error.log" >&2 2>/dev/null || true; die "the nginx proxy did not start"; }
fi

# ---- Node, the gateway build, the peer -------------------------------------------------------
NODE_VERSION="-"
if has lean "$TARGETS" || has full "$TARGETS" || has node-floor "$TARGETS" || has portkey "$TARGETS"; then
  # shellcheck source=/dev/null
  source "$ROOT/scripts/node-env.sh"
  NODE_VERSION=$(node --version)
fi
if has lean "$TARGETS" || has full "$TARGETS"; then
  if [ "$BUILD" = 1 ] || [ ! -f "$ROOT/$GATEWAY_MAIN" ]; then
    log "building the gateway (npm run build)"
    (cd "$ROOT" && timeout -k 10 900 npm run build) >"$TMP/build.log" 2>&1 ||
      { tail -n 40 "$TMP/build.log" >&2; die "npm run build failed"; }
  fi
fi
PEER_NOTE=""
if has portkey "$TARGETS"; then
  peer_main="$PEER_DIR/node_modules/@portkey-ai/gateway/build/start-server.js"
  peer_node="$PEER_DIR/node_modules/.bin/node"
  # Portkey's own dependency range would install a newer @hono/node-server inside its folder, whose
  # Response breaks Portkey's streaming: the override pins every copy, nested ones included.
  peer_pkg='{ "private": true, "overrides": { "@hono/node-server": "1.14.1" } }'
  if ! grep -qs "\"version\": \"$PEER_VERSION\"" "$PEER_DIR/node_modules/@portkey-ai/gateway/package.json" ||
    [ ! -x "$peer_node" ] || [ "$(cat "$PEER_DIR/package.json" 2>/dev/null)" != "$peer_pkg" ]; then
    log "installing @portkey-ai/gateway@$PEER_VERSION into $PEER_DIR (benchmark only, git-ignored)"
    rm -rf "$PEER_DIR" && mkdir -p "$PEER_DIR"
    echo "$peer_pkg" >"$PEER_DIR/package.json"
    (cd "$PEER_DIR" && timeout -k 10 300 npm install --no-audit --no-fund --loglevel=error --no-save \
      "@portkey-ai/gateway@$PEER_VERSION" "@hono/node-server@1.14.1" node@20) >"$TMP/peer-install.log" 2>&1 || true
  fi
  if [ ! -f "$peer_main" ] || [ ! -x "$peer_node" ]; then
    tail -n 5 "$TMP/peer-install.log" >&2 2>/dev/null || true
    PEER_NOTE="- Portkey: could not be installed (no registry access?); its rows are missing."
    log "WARNING: the peer could not be installed; skipping it"
    TARGETS=$(echo " $TARGETS " | sed 's/ portkey / /')
  fi
fi

# ---- the gateway configs ---------------------------------------------------------------------
upstream_models() { # price? -> models block
  local price=""
  [ "$1" = price ] && price="
        price: { input: 0.15, cachedInput: 0.075, output: 0.6 }"
  cat <<EOF
providers:
  - name: upstream
    type: openai-compatible
    baseUrl: http://127.0.0.1:$UPSTREAM_PORT/v1
  - name: upstream-stream
    type: openai-compatible
    baseUrl: http://127.0.0.1:$UPSTREAM_PORT/stream/v1
models:
  - name: bench-model
    deployments:
      - provider: upstream
        model: gpt-4o-mini$price
  - name: bench-model-stream
    deployments:
      - provider: upstream-stream
        model: gpt-4o-mini$price
EOF
}
{ echo "cache: { enabled: false }"; upstream_models none; } >"$TMP/lean.yaml"
{
  echo "cache: { enabled: false }"
  echo "security:"
  echo "  keys:"
  echo "    - { id: bench, keyEnv: BENCH_GATEWAY_KEY, rpm: 100000000, tpm: 1000000000000, budget: { usd: 1000000000, period: monthly } }"
  upstream_models price
} >"$TMP/full.yaml"

# ---- processes ------------------------------------------------------------------------------
declare -A PID_OF PORT_OF
PORT_OF[direct]=$UPSTREAM_PORT PORT_OF[lean]=$LEAN_PORT PORT_OF[full]=$FULL_PORT PORT_OF[portkey]=$PEER_PORT
PORT_OF[nginx-proxy]=$PROXY_PORT PORT_OF[node-floor]=$FLOOR_PORT
PID_OF[direct]=$NGINX_PID
has nginx-proxy "$TARGETS" && PID_OF[nginx-proxy]=$PROXY_PID

if has full "$TARGETS"; then
  "${PIN_LG[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
    --daemonize no >"$TMP/redis.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do port_busy "$REDIS_PORT" && break; sleep 0.1; done
fi

start_node() { # target -> starts it, waits for it
  local target=$1 port=${PORT_OF[$1]} args=() node=node envs=(BENCH_PROBE_OUT="$TMP/probe-$1.jsonl")
  case $target in
    lean) envs+=(GATEWAY_CONFIG="$TMP/lean.yaml") ;;
    full) envs+=(GATEWAY_CONFIG="$TMP/full.yaml" REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
      GATEWAY_MASTER_KEY="master-$BENCH_KEY" BENCH_GATEWAY_KEY="$BENCH_KEY") ;;
  esac
  case $target in
    portkey)
      args=("$peer_main" "--port=$port" --headless)
      node=$peer_node
      envs+=(BENCH_FORCE_LOOPBACK=1 NODE_ENV=production) ;;
    node-floor) # the gateways' node flags and environment, so only the work per request differs
      # shellcheck disable=SC2206 # flags and NAME=value pairs are words
      args=($GATEWAY_NODE_FLAGS "$BENCH_DIR/floor.cjs")
      # shellcheck disable=SC2206
      envs+=(NODE_ENV=production PORT="$port" HOST=127.0.0.1 UPSTREAM="http://127.0.0.1:$UPSTREAM_PORT" $GATEWAY_ENV) ;;
    *)
      # shellcheck disable=SC2206 # flags are words
      args=($GATEWAY_NODE_FLAGS "$ROOT/$GATEWAY_MAIN")
      # shellcheck disable=SC2206 # NAME=value words
      envs+=(NODE_ENV=production PORT="$port" HOST=127.0.0.1 METRICS_PORT=0 LOG_LEVEL=info $GATEWAY_ENV) ;;
  esac
  # stdout goes to a file, so the access log stays on as in production.
  (cd "$ROOT" && exec env "${envs[@]}" "${PIN_GW[@]}" "$node" -r "$BENCH_DIR/probe.cjs" "${args[@]}") >>"$TMP/$target.log" 2>&1 &
  PID_OF[$target]=$!
  PIDS+=($!)
  local hrc=0 health=/health
  [ "$target" = portkey ] && health=/
  wait_http "http://127.0.0.1:$port$health" 60 "${PID_OF[$target]}" || hrc=$?
  if [ "$hrc" != 0 ]; then
    tail -n 30 "$TMP/$target.log" >&2 || true
    die "$target did not answer GET $health with 200 (code $hrc)"
  fi
  log "$target on 127.0.0.1:$port (pid ${PID_OF[$target]})"
}
for t in node-floor lean full portkey; do has "$t" "$TARGETS" && start_node "$t"; done

# ---- requests --------------------------------------------------------------------------------
url_for() { # target mode (nginx serves SSE on its own path; the Node targets pick by model and body)
  local path=/v1/chat/completions
  case $1/$2 in direct/stream | nginx-proxy/stream) path=/stream/v1/chat/completions ;; esac
  echo "http://127.0.0.1:${PORT_OF[$1]}$path"
}
body_for() { # target mode
  local model=gpt-4o-mini stream=""
  case $1 in lean | full) model=bench-model ;; esac
  if [ "$2" = stream ]; then
    case $1 in lean | full) model=bench-model-stream ;; esac
    stream=',"stream":true'
  fi
  printf '{"model":"%s","messages":[{"role":"user","content":"Hello"}]%s}' "$model" "$stream"
}
auth_for() {
  case $1 in full) echo "Bearer $BENCH_KEY" ;; portkey) echo "Bearer sk-upstream-not-checked" ;; esac
}
headers_for() { # target mode -> "name: value|..." (the peer is told its upstream per request)
  local path=/v1
  [ "$2" = stream ] && path=/stream/v1
  [ "$1" = portkey ] && echo "x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:$UPSTREAM_PORT$path"
  true
}

# One request with curl first: the benchmark is meaningless if the answer is wrong.
sanity_check() { # target mode
  local url body auth out code ok=0 h hdrs=()
  url=$(url_for "$1" "$2"); body=$(body_for "$1" "$2"); auth=$(auth_for "$1")
  IFS='|' read -r -a h <<<"$(headers_for "$1" "$2")"
  for x in "${h[@]}"; do [ -n "$x" ] && hdrs+=(-H "$x"); done
  out="$TMP/check-$1-$2.out"
  code=$(curl -s -m 10 -o "$out" -w '%{http_code}' -X POST -H 'content-type: application/json' \
    ${auth:+-H "authorization: $auth"} "${hdrs[@]}" --data-binary "$body" "$url" || true)
  if [ "$code" = 200 ]; then
    if [ "$2" = stream ]; then
      grep -q 'chat.completion.chunk' "$out" && grep -q 'data: \[DONE\]' "$out" && ok=1
    else
      grep -q '"chat.completion"' "$out" && grep -q '"choices"' "$out" && ok=1
    fi
  fi
  if [ "$ok" != 1 ] && [ "$1" = portkey ] && grep -qs 'TypeError: immutable' "$TMP/portkey.log"; then
    log "WARNING: Portkey answers $2 requests with HTTP $code (TypeError: immutable, Portkey-AI/gateway#1389); its $2 rows are skipped"
    SKIP["portkey|$2"]=1
    PEER_NOTE="${PEER_NOTE}- Portkey $2: HTTP $code, 'TypeError: immutable' in its log (Portkey-AI/gateway#1389): no rows."$'\n'
    return 0
  fi
  if [ "$ok" != 1 ]; then
    log "sanity check failed for $1/$2: POST $url -> HTTP $code; body:"
    head -c 2000 "$out" >&2 || true; echo >&2
    [ -f "$TMP/$1.log" ] && { tail -n 20 "$TMP/$1.log" >&2 || true; }
    exit 1
  fi
}

lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
no_probe() { case $1 in direct | nginx-proxy) return 0 ;; *) return 1 ;; esac; } # nginx: no Node probe
probe() { # target -> signal the in-process probe, print its JSON line ("" for nginx)
  no_probe "$1" && return 0
  local f="$TMP/probe-$1.jsonl" n
  n=$(lines "$f")
  kill -USR2 "${PID_OF[$1]}"
  # A loaded process can take a while to get to the signal; without its line the run has no sample.
  for _ in $(seq 1500); do [ "$(lines "$f")" -gt "$n" ] && break; sleep 0.02; done
  [ "$(lines "$f")" -gt "$n" ] || { log "WARNING: no probe sample from $1 within 30 s"; return 0; }
  tail -n 1 "$f"
}
json_field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }

declare -A R SKIP
run_wrk() { # target mode conns secs -> BENCH_RESULT line
  local out="$TMP/wrk-$1-$2-$3.out" wrc=0
  BENCH_BODY=$(body_for "$1" "$2") BENCH_AUTH=$(auth_for "$1") BENCH_HEADERS=$(headers_for "$1" "$2") \
    timeout -k 5 $(($4 + 30)) "${PIN_LG[@]}" wrk -t1 -c"$3" -d"$4s" --timeout 10s -s "$BENCH_DIR/wrk/post.lua" \
    "$(url_for "$1" "$2")" >"$out" 2>&1 || wrc=$?
  kill -0 "${PID_OF[$1]}" 2>/dev/null || { tail -n 5 "$TMP/$1.log" >&2 2>/dev/null; die "$1 exited during a run"; }
  [ "$wrc" = 0 ] || { cat "$out" >&2; die "wrk failed ($1 $2 c=$3), exit code $wrc"; }
  grep '^BENCH_RESULT ' "$out" || { cat "$out" >&2; die "no result from wrk ($1 $2 c=$3)"; }
}
run_seq() { # target mode secs -> BENCH_SEQ line: the same row timed by the second client, one request at a time
  BENCH_BODY=$(body_for "$1" "$2") BENCH_AUTH=$(auth_for "$1") BENCH_HEADERS=$(headers_for "$1" "$2") \
    timeout -k 5 $(($3 + 30)) "${PIN_LG[@]}" python3 "$BENCH_DIR/seq-client.py" "$(url_for "$1" "$2")" "$3" ||
    die "the second client failed ($1 $2)"
}
STEAL_CPUS=("cpu$GATEWAY_CPUS" "cpu$LOADGEN_CPUS") STEAL_LABEL="CPU $GATEWAY_CPUS / $LOADGEN_CPUS" # /proc/stat lines read around each run
[ ${#PIN_GW[@]} = 0 ] && STEAL_CPUS=(cpu) STEAL_LABEL="all CPUs"
cpu_ticks() { # -> "steal total" for each of STEAL_CPUS, from /proc/stat (user .. steal; guest time is inside user)
  local c
  for c in "${STEAL_CPUS[@]}"; do awk -v c="$c" '$1 == c { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; done
}
steal_pct() { # "before" "after" (cpu_ticks outputs) -> the hypervisor's steal as % of each CPU's time, one a line
  paste -d' ' <(echo "$1") <(echo "$2") | awk '{ t = $4 - $2; printf "%.1f\n", (t > 0 ? 100 * ($3 - $1) / t : 0) }'
}
steal_of() { # getter args... -> "a / b": the getter's figure (args, then the field steal<i>) for each of STEAL_CPUS
  local i out=""
  for i in "${!STEAL_CPUS[@]}"; do out="$out${out:+ / }$("$@" "steal$i")"; done
  echo "$out"
}
run_field() { echo "${R["$1|$2"]}"; } # "mode|c|target|rep" field -> that run's figure
rss_peak() { # pid -> samples VmRSS every 0.25 s until killed, keeps the peak (KiB) in $TMP/rss
  local peak=0 v
  while :; do
    v=$(awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
    # Written whole, then renamed: the sampler killed mid-write left an empty file, and the run stopped (an empty operand).
    [ "${v:-0}" -gt "$peak" ] && peak=$v && echo "$peak" >"$TMP/rss.new" && mv -f "$TMP/rss.new" "$TMP/rss"
    sleep 0.25
  done
}
measure() { # target mode conns rep
  local k="$2|$3|$1|$4" line s sampler ticks i v
  [ "$WARM_S" -gt 0 ] && run_wrk "$1" "$2" "$3" "$WARM_S" >/dev/null
  probe "$1" >/dev/null
  echo 0 >"$TMP/rss"
  rss_peak "${PID_OF[$1]}" &
  sampler=$!
  ticks=$(cpu_ticks)
  line=$(run_wrk "$1" "$2" "$3" "$DUR_S")
  i=0
  while read -r v; do R["$k|steal$i"]=$v i=$((i + 1)); done < <(steal_pct "$ticks" "$(cpu_ticks)")
  s=$(probe "$1")
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  for kv in ${line#BENCH_RESULT }; do R["$k|${kv%%=*}"]=${kv#*=}; done
  R["$k|errors"]=$((R["$k|err_status"] + R["$k|err_connect"] + R["$k|err_read"] + R["$k|err_write"] + R["$k|err_timeout"]))
  R["$k|rss"]=$(($(cat "$TMP/rss") / 1024))
  R["$k|eld"]=$(json_field "$s" eldP99)
  R["$k|eldmax"]=$(json_field "$s" eldMax)
  if [ "$SEQ" = 1 ] && [ "$3" = 1 ]; then # after the probe's sample, so its window holds wrk's run only
    line=$(run_seq "$1" "$2" "$DUR_S")
    R["$k|seq50"]=$(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$line") R["$k|seq99"]=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$line")
  fi
  R["$k|cpu"]=$(awk -v c="$(json_field "$s" cpuUs)" -v n="${R["$k|requests"]}" 'BEGIN { if (c == "" || n == 0) print ""; else printf "%.0f", c / n }')
  log "$(printf '%-9s c=%-3s %-7s #%s %9.0f req/s  p50 %6s us  p99 %7s us  eld p99 %5s ms  cpu %4s us/req  rss %4s MiB  steal %s %%  errors %s' \
    "$2" "$3" "$1" "$4" "${R["$k|rps"]}" "${R["$k|p50_us"]}" "${R["$k|p99_us"]}" "${R["$k|eld"]:--}" "${R["$k|cpu"]:--}" "${R["$k|rss"]}" "$(steal_of run_field "$k")" "${R["$k|errors"]}")"
  [ "${R["$k|errors"]}" = 0 ] || log "WARNING: ${R["$k|errors"]} errors (non-2xx: ${R["$k|err_status"]}) in $1 $2 c=$3"
}

for mode in $MODES; do for t in $TARGETS; do sanity_check "$t" "$mode"; done; done
log "sanity checks passed; pinning: $PIN_DESC"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
n_targets=$(wc -w <<<"$TARGETS") n_modes=$(wc -w <<<"$MODES") n_c=$(wc -w <<<"$CONCURRENCY")
runs=$((n_targets * n_modes * n_c * REPEATS))
log "$runs runs x (${WARM_S}s warm-up + ${DUR_S}s) = ~$((runs * (WARM_S + DUR_S + 1)))s"

# Repeats outermost, targets innermost: slow drift on the shared machine hits every target alike.
for rep in $(seq "$REPEATS"); do
  for mode in $MODES; do for c in $CONCURRENCY; do for t in $TARGETS; do
    [ -n "${SKIP["$t|$mode"]:-}" ] || measure "$t" "$mode" "$c" "$rep"
  done; done; done
done

# ---- report ---------------------------------------------------------------------------------
agg() { # mode c target field -> "median min max" over the repeats
  local vals=() r
  for r in $(seq "$REPEATS"); do vals+=("${R["$1|$2|$3|$r|$4"]:-}"); done
  printf '%s\n' "${vals[@]}" | { grep -v '^$' || true; } | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- - -"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}
med() { agg "$@" | cut -d' ' -f1; }
med_pct() { awk -v v="$(med "$@")" 'BEGIN { printf "%.1f", v }'; }
fmt_rps() { awk -v m="$1" -v lo="$2" -v hi="$3" 'BEGIN { printf "%.0f (%.0f–%.0f)", m, lo, hi }'; }
ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.2f", v / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "-" || a == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
cpu_over() { # mode c target base -> the target's median CPU µs a request minus base
  awk -v a="$(med "$1" "$2" "$3" cpu)" -v b="$4" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.0f", a - b }'
}
added() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.2f", (a - b) / 1000 }'; } # µs, µs -> ms
mode_label() { [ "$1" = stream ] && echo "SSE" || echo "JSON"; }
added_table() { # c p50-field p99-field -> each target's medians minus direct's, per mode, and direct's own
  local mode t d50 d99
  echo
  echo "| Mode | Target | p50 ms | p99 ms | direct p50 / p99 ms |"
  echo "|---|---|---:|---:|---:|"
  for mode in $MODES; do for t in $TARGETS; do
    [ "$t" = direct ] || [ -n "${SKIP["$t|$mode"]:-}" ] && continue
    d50=$(med "$mode" "$1" direct "$2") d99=$(med "$mode" "$1" direct "$3")
    echo "| $(mode_label "$mode") | $t | $(added "$(med "$mode" "$1" "$t" "$2")" "$d50") | $(added "$(med "$mode" "$1" "$t" "$3")" "$d99") | $(ms "$d50") / $(ms "$d99") |"
  done; done
}
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1)" ] && commit="$commit (+ uncommitted changes)"
peer_ver=""
has portkey "$TARGETS" && peer_ver="; Portkey $PEER_VERSION on node $("$peer_node" --version), @hono/node-server 1.14.1"

{
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); git: $commit; node $NODE_VERSION$peer_ver"
  echo "- Host: $NCPU x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); load average before / after: $LOADAVG_START / $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- CPU pinning: $PIN_DESC${GATEWAY_NODE_FLAGS:+; gateway node flags: $GATEWAY_NODE_FLAGS}${GATEWAY_ENV:+; gateway environment: $GATEWAY_ENV}"
  echo "- $REPEATS repeats of ${WARM_S}s warm-up + ${DUR_S}s per row, interleaved; req/s: median (min–max); p50/p99: medians; latency until the whole response (SSE: through \`[DONE]\`)."
  echo "- CPU µs/req: the process's CPU time (user + system) during the run over the requests served (median): the figure least moved by other work on the machine."
  echo "- ELD p99: event-loop delay p99 inside the process during the run (perf_hooks, 5 ms resolution); RSS: peak during the run (highest of the repeats)."
  echo "- Steal % ($STEAL_LABEL): the share of the CPU's time during the run that the hypervisor gave to other guests (\`/proc/stat\`), median: time this machine could not run at all, whatever ran on it."
  [ -n "$PEER_NOTE" ] && printf '%s\n' "${PEER_NOTE%$'\n'}"
  echo
  echo "| Mode | c | Target | req/s | p50 ms | p99 ms | p99/p50 | CPU µs/req | ELD p99 ms | RSS MiB | Steal % $STEAL_LABEL | Errors |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for mode in $MODES; do for c in $CONCURRENCY; do for t in $TARGETS; do
    [ -n "${SKIP["$t|$mode"]:-}" ] && continue
    read -r m lo hi <<<"$(agg "$mode" "$c" "$t" rps)"
    p50=$(med "$mode" "$c" "$t" p50_us) p99=$(med "$mode" "$c" "$t" p99_us)
    eld=$(med "$mode" "$c" "$t" eld) rss=$(agg "$mode" "$c" "$t" rss | cut -d' ' -f3) cpu=$(med "$mode" "$c" "$t" cpu)
    errs=0
    for r in $(seq "$REPEATS"); do errs=$((errs + ${R["$mode|$c|$t|$r|errors"]:-0})); done
    no_probe "$t" && eld=- rss=- cpu=-
    steal=$(steal_of med_pct "$mode" "$c" "$t")
    echo "| $(mode_label "$mode") | $c | $t | $(fmt_rps "$m" "$lo" "$hi") | $(ms "$p50") | $(ms "$p99") | $(ratio "$p99" "$p50") | $cpu | ${eld:--} | $rss | $steal | $errs |"
  done; done; done
  echo
  echo "Ratios of req/s medians in this run (targets: full ≥ 8× Portkey JSON c=16, ≥ 5× SSE c=16; full ≥ 0.8× lean):"
  echo
  echo "| Mode | c | lean / Portkey | full / Portkey | full / lean |"
  echo "|---|---:|---:|---:|---:|"
  for mode in $MODES; do for c in $CONCURRENCY; do
    l=$(med "$mode" "$c" lean rps) f=$(med "$mode" "$c" full rps) p=$(med "$mode" "$c" portkey rps)
    echo "| $(mode_label "$mode") | $c | $(ratio "$l" "$p") | $(ratio "$f" "$p") | $(ratio "$f" "$l") |"
  done; done
  if has node-floor "$TARGETS"; then
    echo
    echo "Against the floors on the same core (nginx-proxy: what the host charges any proxy; node-floor: a bare Fastify + undici forwarder, what Node charges): p99/p50 of each, and the gateways' CPU a request over node-floor's:"
    echo
    echo "| Mode | c | p99/p50 nginx-proxy | node-floor | lean | full | CPU µs/req node-floor | lean − node-floor | full − node-floor |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for mode in $MODES; do for c in $CONCURRENCY; do
      tails=""
      for t in nginx-proxy node-floor lean full; do
        tails="$tails | $(ratio "$(med "$mode" "$c" "$t" p99_us)" "$(med "$mode" "$c" "$t" p50_us)")"
      done
      fc=$(med "$mode" "$c" node-floor cpu)
      echo "| $(mode_label "$mode") | $c$tails | $fc | $(cpu_over "$mode" "$c" lean "$fc") | $(cpu_over "$mode" "$c" full "$fc") |"
    done; done
  fi
  first_c=${CONCURRENCY%% *}
  if has direct "$TARGETS"; then
    echo
    echo "Added latency at c=$first_c (target minus direct, medians; targets: p50 ≤ 0.3 ms, p99 ≤ 2 ms):"
    added_table "$first_c" p50_us p99_us
  fi
  if [ "$SEQ" = 1 ] && has direct "$TARGETS" && has 1 "$CONCURRENCY"; then
    echo
    echo "The c=1 rows timed again by a second client (\`bench/seq-client.py\`: blocking sockets, one request after another, run right after wrk's), target minus direct, medians:"
    added_table 1 seq50 seq99
  fi
} >"$TMP/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$TMP/report.md" "$OUT"
cat "$TMP/report.md"
log "written to $OUT"
# BENCHMARKS.md keeps the latest full table between two markers; everything else there is prose.
DOC="$ROOT/BENCHMARKS.md"
if [ "$UPDATE_DOC" = 1 ] && grep -q '<!-- bench/run.sh:begin -->' "$DOC"; then
  awk -v report="$TMP/report.md" '
    /<!-- bench\/run.sh:begin -->/ { print; while ((getline l < report) > 0) print l; skip = 1; next }
    /<!-- bench\/run.sh:end -->/ { skip = 0 }
    !skip' "$DOC" >"$TMP/doc.md" && cp "$TMP/doc.md" "$DOC"
  log "BENCHMARKS.md updated (between the bench/run.sh markers)"
fi
