-- wrk script: refresh_token rotation, one chain per connection (used by bench/run.sh).
--
-- BENCH_REFRESH_TOKENS holds one refresh token per chain, comma-separated (each from its own
-- password login, so its own session); BENCH_THREADS the wrk thread count (-t). Each wrk thread
-- takes its share of the chains. A request takes a chain's current token out of the thread's
-- pool and the response puts the rotated one back, so no token is ever in two requests at once
-- and each chain is used strictly in order: as many chains as connections means every
-- connection always has one (wrk asks for a connection's next request only after that
-- connection's response). A chain whose response was not a new token is dropped and counted;
-- once a thread has none left it sends an unknown token, which answers 400 (counted by wrk).
--
-- BENCH_AUTHORIZATION is the client's HTTP Basic header. Summary (done) from token.lua.
dofile(os.getenv("BENCH_COMMON_LUA"))

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local pool = {}
lost = 0
-- wrk calls request() once on the first thread's state before any connection, only to look at
-- the request it builds (script_verify_request): that call must not take a chain.
local verifying = false

function init(args)
   verifying = id == 0
   local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
   local k = 0
   for token in string.gmatch(os.getenv("BENCH_REFRESH_TOKENS") or "", "[^,]+") do
      if k % nthreads == id then
         table.insert(pool, token)
      end
      k = k + 1
   end
end

local headers = {
   ["Content-Type"] = "application/x-www-form-urlencoded",
   ["Authorization"] = os.getenv("BENCH_AUTHORIZATION"),
}

request = function()
   if verifying then
      verifying = false
      return wrk.format("POST", "/token", headers, "grant_type=refresh_token&refresh_token=verify")
   end
   local token = table.remove(pool) or "exhausted"
   return wrk.format("POST", "/token", headers, "grant_type=refresh_token&refresh_token=" .. token)
end

response = function(status, hdrs, body)
   local token = status == 200 and string.match(body, '"refresh_token":"([^"]+)"')
   if token then
      table.insert(pool, token)
   else
      lost = lost + 1
   end
end

local base_done = done
function done(summary, latency, requests)
   local dropped = 0
   for _, thread in ipairs(threads) do
      dropped = dropped + (thread:get("lost") or 0)
   end
   io.write(string.format("  chains dropped (a response without a new refresh token): %d\n", dropped))
   base_done(summary, latency, requests)
end
