-- wrk.lua: the one wrk script of bench/run. The mode comes from the environment:
--   BENCH_MODE=get    plain GETs of the URL given to wrk (wrk's own latency histogram)
--   BENCH_MODE=post   POSTs of a BENCH_BODY_BYTES body (default 10 MiB) to that URL
--   BENCH_MODE=mixed  each request is slow ("?slow", the program sleeps 100 ms) with
--                     probability BENCH_SLOW_FRACTION (default 0.1), fast ("?fast") otherwise
--   BENCH_MODE=think  the unloaded baseline of "mixed": every request is fast, but before
--                     a request, with the same probability, the connection idles 100 ms
--                     (wrk's delay()), so fast requests are in flight as often as in "mixed"
--                     while no slow request occupies a worker
-- In mixed/think the request carries "X-Bench: <f|s><send time in us>", which mixed.cgi
-- echoes back, and response() times each request by kind with a monotonic clock.
-- done() prints one line "BENCH_RESULT {json}" that bench/run parses (latencies in us).

local mode = os.getenv("BENCH_MODE") or "get"
local slow_fraction = tonumber(os.getenv("BENCH_SLOW_FRACTION") or "0.1")
local threads = {}

if mode == "post" then
  local size = tonumber(os.getenv("BENCH_BODY_BYTES") or tostring(10 * 1024 * 1024))
  wrk.method = "POST"
  wrk.body = string.rep("x", size)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

local timed = (mode == "mixed" or mode == "think")
local now_us
if timed then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec *ts);
  ]]
  local ts = ffi.new("bench_timespec")
  now_us = function()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
  end
end

function setup(thread)
  table.insert(threads, thread)
end

if timed then
  local base_path

  function init(args)
    math.randomseed(os.time() + math.floor(now_us() % 1000003))
    fast_lat, slow_lat, bad = {}, {}, 0
    base_path = wrk.path:gsub("%?.*$", "")
  end

  function request()
    local kind = "f"
    if mode == "mixed" and math.random() < slow_fraction then kind = "s" end
    local query = (kind == "s") and "?slow" or "?fast"
    return wrk.format("GET", base_path .. query, { ["X-Bench"] = kind .. now_us() })
  end

  if mode == "think" then
    function delay()
      if math.random() < slow_fraction then return 100 end
      return 0
    end
  end

  function response(status, headers, body)
    local tag = headers["X-Bench"] or headers["x-bench"]
    if status ~= 200 or tag == nil then
      bad = bad + 1
      return
    end
    local elapsed = now_us() - tonumber(tag:sub(2))
    if tag:sub(1, 1) == "s" then
      slow_lat[#slow_lat + 1] = elapsed
    else
      fast_lat[#fast_lat + 1] = elapsed
    end
  end
end

local function percentile(sorted, p)
  if #sorted == 0 then return -1 end
  local i = math.ceil(#sorted * p / 100)
  if i < 1 then i = 1 end
  return sorted[i]
end

local function gather(name)
  local all = {}
  for _, t in ipairs(threads) do
    local part = t:get(name)
    if type(part) == "table" then
      for _, v in ipairs(part) do all[#all + 1] = v end
    end
  end
  table.sort(all)
  return all
end

function done(summary, latency, requests)
  local e = summary.errors
  local fields = {
    string.format('"mode":"%s"', mode),
    string.format('"duration_us":%d', summary.duration),
    string.format('"requests":%d', summary.requests),
    string.format('"bytes":%d', summary.bytes),
    string.format('"err_connect":%d', e.connect),
    string.format('"err_read":%d', e.read),
    string.format('"err_write":%d', e.write),
    string.format('"err_status":%d', e.status),
    string.format('"err_timeout":%d', e.timeout),
    string.format('"p50_us":%d', latency:percentile(50)),
    string.format('"p90_us":%d', latency:percentile(90)),
    string.format('"p99_us":%d', latency:percentile(99)),
    string.format('"max_us":%d', latency.max),
  }
  if timed then
    local fast, slow = gather("fast_lat"), gather("slow_lat")
    local bad = 0
    for _, t in ipairs(threads) do bad = bad + (tonumber(t:get("bad")) or 0) end
    fields[#fields + 1] = string.format('"fast_count":%d', #fast)
    fields[#fields + 1] = string.format('"fast_p50_us":%d', percentile(fast, 50))
    fields[#fields + 1] = string.format('"fast_p99_us":%d', percentile(fast, 99))
    fields[#fields + 1] = string.format('"slow_count":%d', #slow)
    fields[#fields + 1] = string.format('"slow_p50_us":%d', percentile(slow, 50))
    fields[#fields + 1] = string.format('"slow_p99_us":%d', percentile(slow, 99))
    fields[#fields + 1] = string.format('"untimed":%d', bad)
  end
  io.write("BENCH_RESULT {" .. table.concat(fields, ",") .. "}\n")
end
