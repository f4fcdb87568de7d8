--[[
  nextDueAt: when the earliest pending run is due.

  KEYS[1]  {p}:pending  ZSET pending run -> dueAt
  ARGV[1]  namespace prefix `{p}:`

  Output: the due time (epoch ms, decimal text), or nil with nothing pending.
]]
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return false end
return first[2]
