-- wrk script used by bench/run.sh: POSTs a fixed JSON body and prints one
-- machine-readable result line from done() (latencies in microseconds).
--   BENCH_BODY  request body (required)
--   BENCH_AUTH  optional value for the Authorization header
--   BENCH_HEADERS  optional extra headers, "name: value" pairs separated by "|"
local body = os.getenv("BENCH_BODY")
if body == nil or body == "" then
  error("BENCH_BODY is not set")
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local extra = os.getenv("BENCH_HEADERS")
if extra ~= nil then
  for name, value in string.gmatch(extra, "([^:|]+):%s*([^|]+)") do
    wrk.headers[name] = value
  end
end

-- No response() callback on purpose: defining one makes wrk hand every response
-- body to Lua, which would slow the load generator down. Non-2xx/3xx answers are
-- still counted in summary.errors.status.

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d rps=%.2f p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f max_us=%d bytes=%d err_status=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, summary.bytes,
    e.status, e.connect, e.read, e.write, e.timeout))
end
