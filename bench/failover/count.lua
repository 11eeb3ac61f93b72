-- wrk script for bench/failover_bench.sh: counts the responses per data center (by body) and
-- per status class, and prints them with wrk's own error counters and latency. wrk counts a
-- response slower than its --timeout as a "timeout" error (and leaves it out of the latency
-- figures) although the response arrives: the script runs wrk with a long --timeout.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

dallas, ashburn, other, non2xx = 0, 0, 0, 0

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  if body:find("in dallas", 1, true) then
    dallas = dallas + 1
  elseif body:find("in ashburn", 1, true) then
    ashburn = ashburn + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local d, a, o, n = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    d = d + t:get("dallas")
    a = a + t:get("ashburn")
    o = o + t:get("other")
    n = n + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    "failover-counts: requests=%d dallas=%d ashburn=%d other=%d non2xx=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d duration_us=%d " ..
    "latency_p50_us=%d latency_p99_us=%d latency_max_us=%d\n",
    summary.requests, d, a, o, n, e.connect, e.read, e.write, e.status, e.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
end
