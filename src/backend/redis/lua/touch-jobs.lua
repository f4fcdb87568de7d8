--[[
  touchJobs: refreshes lastSeenAt of jobs that exist (never creates or revives one).

  KEYS[1]  {p}:seen  ZSET job key -> lastSeenAt
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2..] job keys

  Output: the number of jobs touched.
]]
--- @include "common"

local now = fmt(now_ms())
local touched = 0
for i = 2, #ARGV do
  local jk = job_key(ARGV[i])
  if redis.call('EXISTS', jk) == 1 then
    redis.call('HSET', jk, 'lastSeenAt', now)
    redis.call('ZADD', KEYS[1], now, ARGV[i])
    touched = touched + 1
  end
end
return touched
