-- wrk script for bench/overload.sh: the request shape of token.lua (BENCH_METHOD,
-- BENCH_AUTHORIZATION, BENCH_BODY from the environment), plus a count of every status and of
-- the 429/503 answers that carry Retry-After. The response() hook costs wrk some CPU; under
-- overload that is fine.
--
-- done() prints one line starting with "OVERLOAD_RESULT" that overload.sh parses.
local method = os.getenv("BENCH_METHOD") or "POST"
local authorization = os.getenv("BENCH_AUTHORIZATION")
local body = os.getenv("BENCH_BODY")

wrk.method = method
if method == "POST" then
   wrk.body = body or "grant_type=client_credentials&scope=read"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if authorization ~= nil and authorization ~= "" then
   wrk.headers["Authorization"] = authorization
end

local threads = {}
function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
   retry_after = 0
   shed = 0
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status == 429 or status == 503 then
      shed = shed + 1
      if headers["retry-after"] ~= nil or headers["Retry-After"] ~= nil then
         retry_after = retry_after + 1
      end
   end
end

function done(summary, latency, requests)
   local all, ra, sh = {}, 0, 0
   for _, t in ipairs(threads) do
      local s = t:get("statuses")
      for k, v in pairs(s) do
         all[k] = (all[k] or 0) + v
      end
      ra = ra + t:get("retry_after")
      sh = sh + t:get("shed")
   end
   local keys = {}
   for k, _ in pairs(all) do table.insert(keys, k) end
   table.sort(keys)
   local parts = {}
   for _, k in ipairs(keys) do table.insert(parts, string.format("%d:%d", k, all[k])) end
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "OVERLOAD_RESULT requests=%d rps=%.1f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f statuses=%s shed=%d shed_with_retry_after=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.requests / seconds, latency:percentile(50) / 1000,
      latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      table.concat(parts, ","), sh, ra, e.connect, e.read, e.write, e.timeout))
end
