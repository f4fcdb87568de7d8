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
  ARGV[8]  scheduledAt (epoch ms; '' = the due time)

  Output: -1 (job not found), -3 (the id names a stored one-off run of another
          job of the tenant), or
          { created ('1'|'0'), id, kind, state, scheduledAt, dueAt, attempt, outcome (nil when none) }
  An id that exists for the job (pending, active, or done and not yet swept)
  returns that run unchanged. A one-off run's id names one run among the jobs
  of its tenant: {p}:trigger-ids:<tenant> maps it to its job. A new run
  publishes on {p}:runs-changed.
]]
--- @include "common"

local jk, rk = KEYS[1], KEYS[2]
local key, id, due, scheduled = ARGV[2], ARGV[3], ARGV[4], ARGV[8]
local tenant = redis.call('HMGET', jk, 'hash', 'tenant')
if not tenant[1] then return -1 end
tenant = tenant[2] or ''
if due == '' then due = fmt(now_ms()) end
if scheduled == '' then scheduled = due end
local r = hmget(rk, 'state', 'kind', 'scheduledAt', 'dueAt', 'attempt', 'outcome')
if r.state then
  return { '0', id, r.kind, r.state, r.scheduledAt, r.dueAt, r.attempt, r.outcome }
end
local owner = trigger_id_owner(tenant, id)
if owner and owner ~= key then return -3 end
redis.call('HSET', rk, 'kind', 'trigger', 'scheduledAt', scheduled, 'dueAt', due, 'attempt', '1',
  'exclusive', '0', 'requeueOnStall', '1', 'maxAttempts', ARGV[7],
  'runId', id, 'instanceId', '', 'fence', '0', 'claimedAt', '0', 'leaseUntil', '0')
if ARGV[5] == '1' then redis.call('HSET', rk, 'params', ARGV[6]) end
redis.call('ZADD', runs_key(key), 0, id)
redis.call('HSET', trigger_ids_key(tenant), id, key)
to_pending(key, id, due, '0', 'trigger', 1)
notify(key)
return { '1', id, 'trigger', 'pending', scheduled, due, '1', false }
