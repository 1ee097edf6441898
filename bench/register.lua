-- wrk script: a sign-up flood from one address (POST /api/auth/register, a new email each
-- request). Reuses token.lua's summary (done) through BENCH_COMMON_LUA.
dofile(os.getenv("BENCH_COMMON_LUA"))

local n = 0
-- Each wrk thread has its own Lua state: the table's address tells them apart.
local seed = string.gsub(tostring({}), "%W", "")

request = function()
   n = n + 1
   local body = '{"email":"flood-' .. seed .. '-' .. n .. '@example.com","password":"Flood-Passw0rd"}'
   return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
