--[[
  removeJob: deletes a job's state, history and runs, and leaves a tombstone.

  KEYS[1]  {p}:job:<key>  the job's state HASH
  KEYS[2]  {p}:removed    ZSET job key -> removal time (tombstones)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key

  Output: 1 when the job existed, 0 otherwise.
  Active runs lose their run records: their heartbeats answer false and
  their finishes are not recorded.
]]
--- @include "common"

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
delete_job(ARGV[2])
redis.call('ZADD', KEYS[2], fmt(now_ms()), ARGV[2])
return 1
