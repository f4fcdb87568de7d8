--[[
  removeJob: deletes a job's state, history and runs, and leaves a tombstone.

  KEYS[1]  {p}:job:<key>  the job's state HASH
  KEYS[2]  {p}:removed    ZSET job key -> removal time (tombstones)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key
  ARGV[3]  most runs deleted by this call

  Output: 1 when the job existed and is gone, 0 when it did not exist, -1
  when runs remain (a job keeps up to 7 days of one-off runs): the caller
  calls again until it answers 1 or 0. Until then the job is still stored,
  with fewer runs.
  Active runs lose their run records: their heartbeats answer false and
  their finishes are not recorded.
]]
--- @include "common"

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if not delete_job(ARGV[2], tonumber(ARGV[3])) then return -1 end
redis.call('ZADD', KEYS[2], fmt(now_ms()), ARGV[2])
return 1
