--[[
  heartbeat: extends the lease of active runs to now + leaseMs.

  KEYS[1]  {p}:active  ZSET active run ref -> leaseUntil
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  leaseMs
  ARGV[3..] per run, 3 values: job key, run id, fencing token

  Output: per run, 1 when it is still active with that fencing token (its
  lease was extended), 2 when it is and `cancelRun` asked for it to be
  aborted, 0 otherwise (reaped as stalled, finished, or removed).
]]
--- @include "common"

local now = now_ms()
local lease = fmt(now + tonumber(ARGV[2]))
local out = {}
for i = 3, #ARGV, 3 do
  local key, id, token = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local rk = run_key(key, id)
  local r = hmget(rk, 'state', 'fence', 'cancelRequested')
  if r.state == 'active' and tonumber(r.fence) == tonumber(token) then
    redis.call('HSET', rk, 'leaseUntil', lease)
    redis.call('ZADD', KEYS[1], lease, run_ref(key, id))
    out[#out + 1] = r.cancelRequested == 'abort' and 2 or 1
  else
    out[#out + 1] = 0
  end
end
return out
