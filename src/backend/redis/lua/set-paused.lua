--[[
  setPaused: sets or clears a job's pause flag.

  KEYS[1]  {p}:job:<key>  the job's state HASH
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key
  ARGV[3]  '1' to pause, '0' to resume

  Output: 1 when the job exists, 0 otherwise.
  Resuming a job that has pending runs publishes on {p}:runs-changed: they
  may be claimable now. Nothing else could have become claimable.
]]
--- @include "common"

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'paused', ARGV[3])
if ARGV[3] == '0' and tonumber(redis.call('HGET', KEYS[1], 'pending') or '0') > 0 then notify(ARGV[2]) end
return 1
