--[[
  rescheduleRun: moves a pending run to a new time.

  KEYS[1]  {p}:job:<key>       the job's state HASH
  KEYS[2]  {p}:run:<key>#<id>  the run HASH
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key
  ARGV[3]  run id
  ARGV[4]  instanceId (recorded in history)
  ARGV[5]  the new time (epoch ms): scheduledAt and dueAt
  ARGV[6]  history limit

  Output: { status, then the run as common.lua `run_reply` answers it (none
  for 'not-found') }, status one of 'rescheduled' (pending at the new time;
  one history entry, reason the previous scheduledAt, unless it was at that
  time already: nothing changes), 'running', 'finished', 'not-found'.
  The run keeps its member, so it waits where it would (due index, parked,
  waiting) with its new due time; publishes on {p}:runs-changed.
]]
--- @include "common"

local rk = KEYS[2]
local key, id, instance_id, at, limit = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local r = hmget(rk, 'state', 'kind', 'scheduledAt', 'dueAt', 'attempt', 'exclusive', 'member', 'runId')
if not r.state then return { 'not-found' } end

local status = 'rescheduled'
if r.state == 'active' then
  status = 'running'
elseif r.state ~= 'pending' then
  status = 'finished'
elseif tonumber(r.scheduledAt) ~= tonumber(at) or tonumber(r.dueAt) ~= tonumber(at) then
  if r.member then
    redis.call('ZREM', PENDING, r.member)
    redis.call('ZREM', parked_key(key), r.member)
    redis.call('ZREM', waiting_key(key), r.member)
    redis.call('ZADD', wait_set(key, r.exclusive) or PENDING, at, r.member)
  end
  redis.call('HSET', rk, 'scheduledAt', at, 'dueAt', at)
  if redis.call('HGET', KEYS[1], 'triggerOnly') == '1' then redis.call('ZADD', due_key(key), at, id) end
  push_history(key, {
    runId = r.runId, id = id, kind = r.kind, scheduledAt = at, finishedAt = fmt(now_ms()),
    outcome = 'rescheduled', reason = r.scheduledAt, instanceId = instance_id, attempt = r.attempt,
  }, limit)
  notify(key)
end
local out = read_run(key, id)
table.insert(out, 1, status)
return out
