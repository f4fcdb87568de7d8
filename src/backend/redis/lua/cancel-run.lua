--[[
  cancelRun: cancels a run.

  KEYS[1]  {p}:job:<key>       the job's state HASH
  KEYS[2]  {p}:run:<key>#<id>  the run HASH
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key
  ARGV[3]  run id
  ARGV[4]  instanceId of the canceller (recorded in history)
  ARGV[5]  '1' to abort a running run, '0' not to
  ARGV[6]  history limit

  Output: { status, then the run as common.lua `run_reply` answers it (none
  for 'not-found') }, status one of:
    'cancelled'  the run was pending: it is finished as `cancelled` (kept as
                 done until the sweep, slot runs too), one history entry
                 (reason 'cancel'); or it was cancelled before (nothing changes)
    'cancelling' the run is active: cancelRequested ('cancel' | 'abort') is
                 stored, so finish-runs.lua and reap-stalled.lua never put it
                 back; the first request appends one history entry (reason
                 'cancel' or 'abort'); with abort, the run ref is published on
                 {p}:run-cancelled and heartbeat.lua answers 2 for it
    'finished'   it ended before with another outcome: nothing changes
    'not-found'
]]
--- @include "common"

local rk = KEYS[2]
local key, id, instance_id, abort, limit = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1', tonumber(ARGV[6])
local r = hmget(rk, 'state', 'kind', 'scheduledAt', 'attempt', 'exclusive', 'member', 'outcome', 'cancelRequested', 'runId')
if not r.state then return { 'not-found' } end

local status
if r.state == 'pending' then
  local now = now_ms()
  unqueue(key, id, r.member, r.exclusive, r.kind, r.attempt)
  redis.call('HDEL', rk, 'member')
  retire(key, id, r.kind, 'cancelled', now, true)
  push_history(key, {
    runId = r.runId, id = id, kind = r.kind, scheduledAt = r.scheduledAt, finishedAt = fmt(now),
    outcome = 'cancelled', reason = 'cancel', instanceId = instance_id, attempt = r.attempt,
  }, limit)
  status = 'cancelled'
elseif r.state == 'active' then
  local wanted = abort and 'abort' or 'cancel'
  if not r.cancelRequested then
    redis.call('HSET', rk, 'cancelRequested', wanted)
    push_history(key, {
      runId = r.runId, id = id, kind = r.kind, scheduledAt = r.scheduledAt, finishedAt = fmt(now_ms()),
      outcome = 'cancelled', reason = wanted, instanceId = instance_id, attempt = r.attempt,
    }, limit)
  elseif abort and r.cancelRequested ~= 'abort' then
    redis.call('HSET', rk, 'cancelRequested', 'abort')
  end
  if abort then redis.call('PUBLISH', CANCEL_CHANNEL, run_ref(key, id)) end
  status = 'cancelling'
else
  status = r.outcome == 'cancelled' and 'cancelled' or 'finished'
end
local out = read_run(key, id)
table.insert(out, 1, status)
return out
