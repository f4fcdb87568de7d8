--[[
  enqueueRun: enqueues a one-off run, idempotent by id.

  KEYS[1]  {p}:job:<key>       the job's state HASH
  KEYS[2]  {p}:run:<key>#<id>  the run HASH
  KEYS[3]  {p}:pending         ZSET pending run -> dueAt
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key
  ARGV[3]  run id
  ARGV[4]  dueAt (epoch ms; '' = Redis time now)
  ARGV[5]  '1' when params are given, '0' for the job's params
  ARGV[6]  params (JSON text)
  ARGV[7]  maxAttempts

  Output: -1 (job not found), or
          { created ('1'|'0'), id, kind, state, scheduledAt, dueAt, attempt, outcome (nil when none) }
  An id that exists for the job (pending, active, or done and not yet swept)
  returns that run unchanged. A new run publishes on {p}:runs-changed.
]]
--- @include "common"

local jk, rk = KEYS[1], KEYS[2]
local key, id, due = ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', jk) == 0 then return -1 end
if due == '' then due = fmt(now_ms()) end
local r = hmget(rk, 'state', 'kind', 'scheduledAt', 'dueAt', 'attempt', 'outcome')
if r.state then
  return { '0', id, r.kind, r.state, r.scheduledAt, r.dueAt, r.attempt, r.outcome }
end
redis.call('HSET', rk, 'kind', 'trigger', 'scheduledAt', due, 'dueAt', due, 'attempt', '1',
  'exclusive', '0', 'requeueOnStall', '1', 'maxAttempts', ARGV[7],
  'runId', id, 'instanceId', '', 'fence', '0', 'claimedAt', '0', 'leaseUntil', '0')
if ARGV[5] == '1' then redis.call('HSET', rk, 'params', ARGV[6]) end
redis.call('SADD', runs_key(key), id)
to_pending(key, id, due, '0', 'trigger', 1)
notify(key)
return { '1', id, 'trigger', 'pending', due, due, '1', false }
