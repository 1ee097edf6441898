-- wrk script: the authorization-code flow, authorize then token (used by bench/run.sh).
--
-- A signed-in browser (BENCH_COOKIE, an SSO session) of a skip-consent client asks
-- BENCH_AUTHORIZE_PATH (GET /authorize with a PKCE S256 challenge) and gets a 302 with a code;
-- the client then redeems the code at POST /token with HTTP Basic (BENCH_AUTHORIZATION), the
-- redirect URI (BENCH_REDIRECT_URI, form-encoded) and the PKCE verifier (BENCH_VERIFIER).
-- Each wrk thread keeps the codes it received in a queue: a connection's next request redeems
-- one when there is one, else asks for a new one, so every code is redeemed once, within
-- milliseconds, and authorize and token requests alternate. A flow is one 200 from /token.
--
-- done() reports flows/s as the run's rate (BENCH_RESULT rps), the latency of all requests
-- (both kinds), and counts as non-2xx a /authorize answer that is not a 302 with a code and a
-- /token answer that is not 200, beside what wrk counts itself.
dofile(os.getenv("BENCH_COMMON_LUA"))

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local authorize_path = os.getenv("BENCH_AUTHORIZE_PATH")
local authorize_headers = { ["Cookie"] = os.getenv("BENCH_COOKIE") }
local token_headers = {
   ["Content-Type"] = "application/x-www-form-urlencoded",
   ["Authorization"] = os.getenv("BENCH_AUTHORIZATION"),
}
local token_tail = "&redirect_uri=" .. os.getenv("BENCH_REDIRECT_URI")
   .. "&code_verifier=" .. os.getenv("BENCH_VERIFIER")

local codes = {}
flows = 0
bad = 0

request = function()
   local code = table.remove(codes, 1)
   if code then
      return wrk.format("POST", "/token", token_headers,
         "grant_type=authorization_code&code=" .. code .. token_tail)
   end
   return wrk.format("GET", authorize_path, authorize_headers)
end

response = function(status, headers, body)
   if status == 302 then
      local location = headers["location"] or headers["Location"] or ""
      local code = string.match(location, "[?&]code=([^&]+)")
      if code then
         table.insert(codes, code)
      else
         bad = bad + 1
      end
   elseif status == 200 and string.find(body, '"access_token"', 1, true) then
      flows = flows + 1
   elseif status < 400 then
      -- wrk counts only statuses >= 400 itself
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   local seconds = summary.duration / 1e6
   local total_flows, total_bad = 0, 0
   for _, thread in ipairs(threads) do
      total_flows = total_flows + (thread:get("flows") or 0)
      total_bad = total_bad + (thread:get("bad") or 0)
   end
   local rps = 0
   if seconds > 0 then
      rps = total_flows / seconds
   end
   local p50 = latency:percentile(50) / 1000
   local p90 = latency:percentile(90) / 1000
   local p99 = latency:percentile(99) / 1000
   local max = latency.max / 1000
   local non2xx = e.status + total_bad
   io.write("------------------------------------------------------------\n")
   io.write(string.format("  %d flows (authorize + token) in %.2f s: %.1f flows/s; %d requests\n",
      total_flows, seconds, rps, summary.requests))
   io.write(string.format("  latency (both kinds) p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
      p50, p90, p99, max))
   io.write(string.format("  failed %d (wrk status %d, unexpected %d); socket errors %d\n",
      non2xx, e.status, total_bad, socket_errors))
   io.write(string.format(
      "BENCH_RESULT requests=%d responses=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d statuses=-\n",
      summary.requests, summary.requests, seconds, rps, p50, p90, p99, max, non2xx, socket_errors))
end
