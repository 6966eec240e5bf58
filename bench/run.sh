#!/usr/bin/env bash
# Benchmark: a fake OpenAI upstream (nginx) measured DIRECT and THROUGH the gateway.
# See bench/README.md. Everything binds to 127.0.0.1, every step has a time limit, and
# the EXIT trap stops the nginx and gateway processes this script started.
#
# Environment (all optional):
#   DURATION=10s          measured time per run (wrk -d; integer with s/m suffix)
#   WARMUP=3s             discarded warm-up run before each measured run (0 = none)
#   CONCURRENCY="1 16 64" connection counts (wrk -c; always -t1)
#   MODES="nonstream stream"   TARGETS="direct gateway"
#   UPSTREAM_PORT=18080   GATEWAY_PORT=18081
#   PIN=1                 pin with taskset (needs >= 2 CPUs): GATEWAY_CPUS=0, LOADGEN_CPUS=1 (nginx + wrk)
#   GATEWAY_API_KEY=...   sent as "Authorization: Bearer ..." to the gateway only
#   BUILD=1               force `npm run build` (otherwise only when dist/.../main.js is missing)
#   HEALTH_TIMEOUT=60  BUILD_TIMEOUT=900 (seconds)
#   MAX_GW_RESTARTS=3     restart the gateway if something else kills it mid-run (run is repeated)
#   OUT=bench/results/latest.md   KEEP_TMP=1 keeps the scratch dir (configs, logs)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONCURRENCY=${CONCURRENCY:-"1 16 64"}
MODES=${MODES:-"nonstream stream"}
TARGETS=${TARGETS:-"direct gateway"}
UPSTREAM_PORT=${UPSTREAM_PORT:-18080}
GATEWAY_PORT=${GATEWAY_PORT:-18081}
PIN=${PIN:-1}
GATEWAY_CPUS=${GATEWAY_CPUS:-0}
LOADGEN_CPUS=${LOADGEN_CPUS:-1}
GATEWAY_API_KEY=${GATEWAY_API_KEY:-}
BUILD=${BUILD:-0}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-60}
MAX_GW_RESTARTS=${MAX_GW_RESTARTS:-3}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-900}
KEEP_TMP=${KEEP_TMP:-0}
OUT=${OUT:-$BENCH_DIR/results/latest.md}
GATEWAY_MAIN=dist/apps/gateway/src/main.js

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }
has() { case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# "10s" -> 10, "2m" -> 120, "7" -> 7
to_secs() {
  case "$1" in
    *[!0-9smh]* | "") die "unsupported duration '$1' (use e.g. 10s, 2m)" ;;
    *s) echo "${1%s}" ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *h) echo $(( ${1%h} * 3600 )) ;;
    *) echo "$1" ;;
  esac
}
DUR_S=$(to_secs "$DURATION")
WARM_S=$(to_secs "$WARMUP")

for m in $MODES; do case $m in nonstream | stream) ;; *) die "unknown mode '$m'" ;; esac; done
for t in $TARGETS; do case $t in direct | gateway) ;; *) die "unknown target '$t'" ;; esac; done
for tool in nginx wrk curl timeout; do
  command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y nginx-light wrk curl)"
done

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_busy "$UPSTREAM_PORT" && die "port $UPSTREAM_PORT is already in use (set UPSTREAM_PORT)"
if has gateway "$TARGETS"; then
  port_busy "$GATEWAY_PORT" && die "port $GATEWAY_PORT is already in use (set GATEWAY_PORT)"
fi

# ---- pinning --------------------------------------------------------------------------
NCPU=$(nproc)
PIN_GW=() PIN_LG=()
if [ "$PIN" = 1 ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
  PIN_GW=(taskset -c "$GATEWAY_CPUS")
  PIN_LG=(taskset -c "$LOADGEN_CPUS")
  PIN_DESC="gateway (node) on CPU $GATEWAY_CPUS; nginx upstream + wrk on CPU $LOADGEN_CPUS (taskset)"
else
  PIN_DESC="none (all processes share the $NCPU CPU(s))"
fi

# ---- scratch dir + cleanup --------------------------------------------------------------
TMP=$(mktemp -d /tmp/gateway-bench.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  local rc=$? pid i alive
  trap - EXIT INT TERM
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
trap 'exit 143' TERM

# ---- fake upstream (nginx) ---------------------------------------------------------------
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
sed -e "s|@PORT@|$UPSTREAM_PORT|g" -e "s|@BODIES@|$BENCH_DIR/upstream/bodies|g" \
    -e "s|@TMP@|$TMP|g" -e "s|@USER_LINE@|$USER_LINE|g" \
    "$BENCH_DIR/upstream/nginx.conf.template" >"$TMP/nginx.conf"
nginx -t -q -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" || die "nginx config test failed"
"${PIN_LG[@]}" nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" >"$TMP/nginx.out" 2>&1 &
PIDS+=($!)
NGINX_PID=$!

wait_http() { # url timeout_s pid
  local deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$3" 2>/dev/null || return 2
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}
# returns 0 = up, 1 = timed out, 2 = process exited
wait_http "http://127.0.0.1:$UPSTREAM_PORT/health" 10 "$NGINX_PID" ||
  { cat "$TMP/nginx.out" "$TMP/nginx-error.log" >&2 2>/dev/null || true; die "nginx did not start"; }
log "nginx upstream on 127.0.0.1:$UPSTREAM_PORT (pid $NGINX_PID)"

# ---- gateway ------------------------------------------------------------------------------
NODE_VERSION="-"
if has gateway "$TARGETS"; then
  # shellcheck source=/dev/null
  source "$ROOT/scripts/node-env.sh"
  NODE_VERSION=$(node --version)
  if [ "$BUILD" = 1 ] || [ ! -f "$ROOT/$GATEWAY_MAIN" ]; then
    log "building the gateway (npm run build, log: $TMP/build.log)"
    (cd "$ROOT" && timeout -k 10 "$BUILD_TIMEOUT" npm run build) >"$TMP/build.log" 2>&1 ||
      { tail -n 40 "$TMP/build.log" >&2; die "npm run build failed (TARGETS=direct benchmarks nginx only)"; }
  fi
  [ -f "$ROOT/$GATEWAY_MAIN" ] || die "$GATEWAY_MAIN missing after build"

  cat >"$TMP/gateway.yaml" <<EOF
# generated by bench/run.sh
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
        model: gpt-4o-mini
  - name: bench-model-stream
    deployments:
      - provider: upstream-stream
        model: gpt-4o-mini
EOF
fi

GATEWAY_PID="" GW_RESTARTS=0
start_gateway() {
  # stdout/stderr go to a file, so request logging stays on as in production.
  (cd "$ROOT" && exec env NODE_ENV=production PORT="$GATEWAY_PORT" HOST=127.0.0.1 \
      GATEWAY_CONFIG="$TMP/gateway.yaml" LOG_LEVEL=info \
      "${PIN_GW[@]}" node "$ROOT/$GATEWAY_MAIN") >>"$TMP/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  local hrc=0
  wait_http "http://127.0.0.1:$GATEWAY_PORT/health" "$HEALTH_TIMEOUT" "$GATEWAY_PID" || hrc=$?
  if [ "$hrc" != 0 ]; then
    log "gateway log tail:"; tail -n 40 "$TMP/gateway.log" >&2 || true
    [ "$hrc" = 2 ] && die "gateway exited before GET /health answered 200"
    die "gateway did not answer GET /health with 200 within ${HEALTH_TIMEOUT}s"
  fi
  log "gateway on 127.0.0.1:$GATEWAY_PORT (pid $GATEWAY_PID, node $NODE_VERSION)"
}
# The gateway died under us (e.g. someone's `pkill -f .../main.js` while developing):
# forget its pid, start a new one; the interrupted run is repeated with its warm-up.
restart_gateway() {
  local keep=() pid
  for pid in "${PIDS[@]}"; do [ "$pid" = "$GATEWAY_PID" ] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
  wait "$GATEWAY_PID" 2>/dev/null || true
  GW_RESTARTS=$((GW_RESTARTS + 1))
  [ "$GW_RESTARTS" -le "$MAX_GW_RESTARTS" ] || die "the gateway died $GW_RESTARTS times during the runs; giving up"
  log "the gateway exited during a run (signalled from outside?); restart $GW_RESTARTS of at most $MAX_GW_RESTARTS, repeating the run"
  port_busy "$GATEWAY_PORT" && die "port $GATEWAY_PORT taken by another process"
  start_gateway
}
has gateway "$TARGETS" && start_gateway

# ---- request definitions ----------------------------------------------------------------
url_for() { # target mode
  case "$1/$2" in
    direct/nonstream) echo "http://127.0.0.1:$UPSTREAM_PORT/v1/chat/completions" ;;
    direct/stream) echo "http://127.0.0.1:$UPSTREAM_PORT/stream/v1/chat/completions" ;;
    gateway/*) echo "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" ;;
  esac
}
body_for() { # target mode
  local model=gpt-4o-mini stream=""
  [ "$1" = gateway ] && model=bench-model
  if [ "$2" = stream ]; then
    [ "$1" = gateway ] && model=bench-model-stream
    stream=',"stream":true'
  fi
  printf '{"model":"%s","messages":[{"role":"user","content":"Hello"}]%s}' "$model" "$stream"
}
auth_for() { [ "$1" = gateway ] && [ -n "$GATEWAY_API_KEY" ] && echo "Bearer $GATEWAY_API_KEY" || true; }

# One request with curl first: the benchmark is meaningless if the answer is wrong.
sanity_check() { # target mode
  local url body auth out code
  url=$(url_for "$1" "$2"); body=$(body_for "$1" "$2"); auth=$(auth_for "$1")
  out="$TMP/check-$1-$2.out"
  code=$(curl -s -m 10 -o "$out" -w '%{http_code} %{content_type}' -X POST -H 'content-type: application/json' \
    ${auth:+-H "authorization: $auth"} --data-binary "$body" "$url" || true)
  local ok=0 ctype=${code#* }
  code=${code%% *}
  if [ "$code" = 200 ]; then
    if [ "$2" = stream ]; then
      case "$ctype" in text/event-stream*) ;; *) log "$1/$2: content-type is '$ctype', expected text/event-stream" ;; esac
      grep -q 'chat.completion.chunk' "$out" && grep -q 'data: \[DONE\]' "$out" && ok=1
    else
      grep -q '"chat.completion"' "$out" && grep -q '"choices"' "$out" && ok=1
    fi
  fi
  if [ "$ok" != 1 ]; then
    log "sanity check failed for $1/$2: POST $url -> HTTP $code; body:"
    head -c 2000 "$out" >&2 || true; echo >&2
    [ "$1" = gateway ] && { log "gateway log tail:"; tail -n 20 "$TMP/gateway.log" >&2 || true; }
    exit 1
  fi
}

declare -A R
# target mode conns secs -> BENCH_RESULT line on stdout; returns 3 if the gateway died.
# (Called in `|| rc=$?` context, where set -e is off: every failure is handled explicitly.)
run_wrk() {
  local url body auth out wrc=0
  url=$(url_for "$1" "$2"); body=$(body_for "$1" "$2"); auth=$(auth_for "$1")
  out="$TMP/wrk-$1-$2-$3.out"
  BENCH_BODY="$body" BENCH_AUTH="$auth" timeout -k 5 $(($4 + 30)) \
    "${PIN_LG[@]}" wrk -t1 -c"$3" -d"$4s" --timeout 10s -s "$BENCH_DIR/wrk/post.lua" "$url" >"$out" 2>&1 || wrc=$?
  kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited during the run ($1 $2 c=$3)"
  if [ "$1" = gateway ] && ! kill -0 "$GATEWAY_PID" 2>/dev/null; then
    tail -n 3 "$TMP/gateway.log" >&2 || true
    return 3
  fi
  [ "$wrc" = 0 ] || { cat "$out" >&2; die "wrk failed ($1 $2 c=$3), exit code $wrc"; }
  grep '^BENCH_RESULT ' "$out" || { cat "$out" >&2; die "no result from wrk ($1 $2 c=$3)"; }
}
measure() { # target mode conns -> sets $line
  local rc
  while :; do
    rc=0
    if [ "$WARM_S" -gt 0 ]; then run_wrk "$1" "$2" "$3" "$WARM_S" >/dev/null || rc=$?; fi
    if [ "$rc" = 0 ]; then line=$(run_wrk "$1" "$2" "$3" "$DUR_S") || rc=$?; fi
    [ "$rc" = 0 ] && return 0
    [ "$rc" = 3 ] || exit "$rc"
    restart_gateway
  done
}

for mode in $MODES; do for target in $TARGETS; do sanity_check "$target" "$mode"; done; done
log "sanity checks passed; pinning: $PIN_DESC"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

total_runs=0
for mode in $MODES; do for c in $CONCURRENCY; do for target in $TARGETS; do total_runs=$((total_runs + 1)); done; done; done
log "$total_runs runs x (${WARM_S}s warm-up + ${DUR_S}s) = ~$((total_runs * (WARM_S + DUR_S)))s"

# Interleave direct/gateway at each concurrency so slow drift affects both alike.
for mode in $MODES; do
  for c in $CONCURRENCY; do
    for target in $TARGETS; do
      measure "$target" "$mode" "$c"
      for kv in ${line#BENCH_RESULT }; do R["$mode|$c|$target|${kv%%=*}"]=${kv#*=}; done
      errs=$(( R["$mode|$c|$target|err_status"] + R["$mode|$c|$target|err_connect"] + R["$mode|$c|$target|err_read"] + R["$mode|$c|$target|err_write"] + R["$mode|$c|$target|err_timeout"] ))
      R["$mode|$c|$target|errors"]=$errs
      log "$(printf '%-9s c=%-3s %-7s %10s req/s  p50 %6s us  p90 %6s us  p99 %6s us  errors %s' \
        "$mode" "$c" "$target" "${R["$mode|$c|$target|rps"]}" "${R["$mode|$c|$target|p50_us"]}" \
        "${R["$mode|$c|$target|p90_us"]}" "${R["$mode|$c|$target|p99_us"]}" "$errs")"
      [ "$errs" = 0 ] || log "WARNING: $errs errors (non-2xx: ${R["$mode|$c|$target|err_status"]}) in $target $mode c=$c"
    done
  done
done

# ---- report ------------------------------------------------------------------------------
ms() { awk -v v="$1" 'BEGIN { printf "%.3f", v / 1000 }'; }
dms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", (a - b) / 1000 }'; }
int() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
mode_label() { [ "$1" = stream ] && echo "stream (SSE)" || echo "non-stream"; }

GW_EXTRA=""
if has gateway "$TARGETS"; then
  gw_rss=$(ps -o rss= -p "$GATEWAY_PID" 2>/dev/null | tr -d ' ' || true)
  gw_lines=$(wc -l <"$TMP/gateway.log" | tr -d ' ')
  gw_bytes=$(wc -c <"$TMP/gateway.log" | tr -d ' ')
  GW_EXTRA="- Gateway after the runs: RSS $(awk -v k="${gw_rss:-0}" 'BEGIN { printf "%.0f", k / 1024 }') MiB; log file $gw_lines lines / $(awk -v b="$gw_bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB"
fi
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1)" ] && commit="$commit (+ uncommitted changes)"
first_c=${CONCURRENCY%% *}; first_c=${first_c## }

{
  echo "# Gateway benchmark"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); git: $commit"
  echo "- Host: $NCPU x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r)"
  echo "- Upstream: nginx $(nginx -v 2>&1 | sed 's|.*nginx/||') (1 worker, static fixed OpenAI bodies, keep-alive); load: wrk $(wrk -v 2>&1 | awk 'NR==1 { print $2 }') -t1, keep-alive, POST JSON"
  if has gateway "$TARGETS"; then
    echo "- Gateway: node $NODE_VERSION $GATEWAY_MAIN, NODE_ENV=production LOG_LEVEL=info, stdout to a file (request logging on)"
  fi
  echo "- CPU pinning: $PIN_DESC"
  echo "- Load average before / after the runs: $LOADAVG_START / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews results)"
  echo "- Each run: ${WARM_S}s warm-up (discarded), then ${DUR_S}s measured. Latency = until the whole response is received (streaming: through \`data: [DONE]\`), in ms with us precision."
  [ -n "$GW_EXTRA" ] && echo "$GW_EXTRA"
  [ "$GW_RESTARTS" = 0 ] || echo "- NOTE: the gateway was killed from outside $GW_RESTARTS time(s) and restarted; the interrupted runs were repeated (with warm-up)"
  echo
  echo "| Mode | Conns | Target | Req/s | p50 ms | p90 ms | p99 ms | Errors |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|"
  for mode in $MODES; do
    for c in $CONCURRENCY; do
      for target in $TARGETS; do
        k="$mode|$c|$target"
        rps=$(int "${R["$k|rps"]}")
        if [ "$target" = gateway ] && has direct "$TARGETS"; then
          rps="$rps ($(awk -v g="${R["$k|rps"]}" -v d="${R["$mode|$c|direct|rps"]}" 'BEGIN { printf "%.0f", 100 * g / d }')% of direct)"
        fi
        echo "| $(mode_label "$mode") | $c | $target | $rps | $(ms "${R["$k|p50_us"]}") | $(ms "${R["$k|p90_us"]}") | $(ms "${R["$k|p99_us"]}") | ${R["$k|errors"]} |"
      done
    done
  done
  if has gateway "$TARGETS" && has direct "$TARGETS"; then
    echo
    echo "Added latency through the gateway (gateway minus direct), $first_c connection(s):"
    echo
    echo "| Mode | p50 ms | p90 ms | p99 ms |"
    echo "|---|---:|---:|---:|"
    for mode in $MODES; do
      g="$mode|$first_c|gateway" d="$mode|$first_c|direct"
      echo "| $(mode_label "$mode") | $(dms "${R["$g|p50_us"]}" "${R["$d|p50_us"]}") | $(dms "${R["$g|p90_us"]}" "${R["$d|p90_us"]}") | $(dms "${R["$g|p99_us"]}" "${R["$d|p99_us"]}") |"
    done
  fi
} >"$TMP/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$TMP/report.md" "$OUT"
cat "$TMP/report.md"
log "written to $OUT"
