-- wrk script for the Portcullis benchmarks (used by bench/run.sh).
--
-- Request shape comes from the environment, so no secret is ever written to disk:
--   BENCH_METHOD         POST (default) or GET
--   BENCH_AUTHORIZATION  full Authorization header value, e.g. "Basic <base64(id:secret)>"
--   BENCH_BODY           form body for POST
--                        (default "grant_type=client_credentials&scope=read")
--   BENCH_COOKIE         a Cookie header (the browser SSO run)
--
-- Every response is checked by wrk itself: anything outside 2xx/3xx counts as non-2xx
-- (summary.errors.status). No per-response Lua hook, so the load generator stays cheap.
--
-- done() prints a human-readable summary and one machine-readable line starting with
-- "BENCH_RESULT" that bench/run.sh parses.

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
local cookie = os.getenv("BENCH_COOKIE")
if cookie ~= nil and cookie ~= "" then
   wrk.headers["Cookie"] = cookie
end

function done(summary, latency, requests)
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   local seconds = summary.duration / 1e6
   local rps = 0
   if seconds > 0 then
      rps = summary.requests / seconds
   end
   local p50 = latency:percentile(50) / 1000
   local p90 = latency:percentile(90) / 1000
   local p99 = latency:percentile(99) / 1000
   local max = latency.max / 1000

   -- wrk counts responses outside 2xx/3xx itself (summary.errors.status); a Lua response()
   -- hook would do the same at a CPU cost the server, on the same cores, would pay for.
   local total_non2xx = e.status
   local total_responses = summary.requests
   local statuses_text = "-"

   io.write("------------------------------------------------------------\n")
   io.write(string.format("  %s %d requests in %.2f s: %.1f req/s\n",
      method, summary.requests, seconds, rps))
   io.write(string.format("  latency p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
      p50, p90, p99, max))
   io.write(string.format("  non-2xx %d (%s); socket errors %d (connect %d, read %d, write %d, timeout %d)\n",
      total_non2xx, statuses_text, socket_errors, e.connect, e.read, e.write, e.timeout))
   io.write(string.format(
      "BENCH_RESULT requests=%d responses=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d statuses=%s\n",
      summary.requests, total_responses, seconds, rps, p50, p90, p99, max, total_non2xx,
      socket_errors, statuses_text))
end
