--[[
  Shared helpers, pasted in place of `--- @include "common"` by scripts.ts.

  Convention: ARGV[1] of every script is the namespace prefix `{<prefix>}:`.
  Key names below mirror src/backend/redis/keys.ts (keep the two in sync);
  they all start with that prefix, so they share its hash tag and live in one
  Cluster slot. A job key (`tenant/name`) never contains '#', so
  `<key>#<id>` (a "run ref") names one run unambiguously.

  Stored nulls are absent hash fields; numbers are stored as the decimal text
  the caller sent (or that `fmt` wrote), so they round-trip exactly.
]]
local NS = ARGV[1]
local PENDING = NS .. 'pending'
local ACTIVE = NS .. 'active'
local DONE = NS .. 'done'
local JOBS = NS .. 'jobs'
local SEEN = NS .. 'seen'
local REMOVED = NS .. 'removed'
local SEQ = NS .. 'seq'
local CHANNEL = NS .. 'runs-changed'
local CANCEL_CHANNEL = NS .. 'run-cancelled'

local function job_key(key) return NS .. 'job:' .. key end
local function runs_key(key) return NS .. 'runs:' .. key end
local function history_key(key) return NS .. 'history:' .. key end
local function tenant_key(tenant) return NS .. 'tenant-jobs:' .. tenant end
local function parked_key(key) return NS .. 'parked:' .. key end
local function waiting_key(key) return NS .. 'waiting:' .. key end
local function due_key(key) return NS .. 'due:' .. key end
local function trigger_ids_key(tenant) return NS .. 'trigger-ids:' .. tenant end
local function rate_key(name) return NS .. 'rate:' .. name end
local function run_ref(key, id) return key .. '#' .. id end
local function run_key_of(ref) return NS .. 'run:' .. ref end
local function run_key(key, id) return run_key_of(run_ref(key, id)) end

--- Splits a run ref into (job key, run id).
local function split_ref(ref)
  local at = string.find(ref, '#', 1, true)
  return string.sub(ref, 1, at - 1), string.sub(ref, at + 1)
end

--- Redis server time in ms: the only clock any decision uses.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

--- Decimal text of a number: integers without exponent, others exact (%.17g).
local function fmt(n)
  if n == math.floor(n) and n > -1e15 and n < 1e15 then return string.format('%d', n) end
  return string.format('%.17g', n)
end

--- HMGET into a table keyed by field name (false for absent fields).
local function hmget(key, ...)
  local fields = { ... }
  local values = redis.call('HMGET', key, unpack(fields))
  local out = {}
  for i, f in ipairs(fields) do out[f] = values[i] end
  return out
end

--- Stores `value` in `field`, or deletes the field for a null ('' or false).
local function hset_nullable(key, field, value)
  if value == nil or value == false or value == '' then
    redis.call('HDEL', key, field)
  else
    redis.call('HSET', key, field, value)
  end
end

local function json_string(s)
  if s == nil or s == false then return 'null' end
  return cjson.encode(s)
end

local function json_number(s)
  if s == nil or s == false or s == '' then return 'null' end
  return s
end

--- Prepends one history entry (a JSON object) and caps the list at `limit`.
local function push_history(key, e, limit)
  local json = '{"runId":' .. json_string(e.runId)
    .. ',"id":' .. json_string(e.id)
    .. ',"kind":' .. json_string(e.kind)
    .. ',"scheduledAt":' .. json_number(e.scheduledAt)
    .. ',"startedAt":' .. json_number(e.startedAt)
    .. ',"finishedAt":' .. json_number(e.finishedAt)
    .. ',"outcome":' .. json_string(e.outcome)
    .. ',"reason":' .. json_string(e.reason)
    .. ',"error":' .. json_string(e.error)
    .. ',"instanceId":' .. json_string(e.instanceId)
    .. ',"attempt":' .. json_number(e.attempt) .. '}'
  local hk = history_key(key)
  -- Trimmed once the list is an eighth (at least 8) past the limit, not at
  -- every push: one LTRIM per many entries. Readers stop at the limit.
  if redis.call('LPUSH', hk, json) > limit + math.max(8, math.ceil(limit / 8)) then
    redis.call('LTRIM', hk, 0, limit - 1)
  end
end

--- The buffered slot of `buffer-one`: a pending, exclusive, first-attempt slot run.
local function is_buffer_slot(exclusive, kind, attempt)
  return exclusive == '1' and kind == 'slot' and tonumber(attempt) == 1
end

--[[
  Where a pending run waits. Only runs a poll may claim sit in the due index
  ({p}:pending), so a poll never reads runs it cannot claim:
  - a paused job's runs are parked in {p}:parked:<key> (exclusive ones in
    {p}:waiting:<key>) and moved back when it is resumed (set-paused.lua);
  - exclusive runs of a job with an active exclusive run wait in
    {p}:waiting:<key>; when its exclusive runs end, the earliest waiting one
    goes back to the index (`promote`): one per end, so a backlog of
    catch-ups is handed over one at a time, never walked again.
  A run keeps its member (and score) wherever it waits, so the due order
  (dueAt, then the order runs became pending) survives the moves. A poll that
  meets a run which became unclaimable while in the index (its job was
  paused, an exclusive run started) moves it out (claim-due-runs.lua).
]]

--[[
  A job without schedule (triggerOnly = '1' in its hash) also keeps its
  pending runs in {p}:due:<key> (run id -> dueAt), so getJob and listJobs
  answer its next pending run without reading its runs. Jobs with a
  schedule never touch it.
]]

--- The set a pending run of `key` waits in, or false for the due index,
--- from the job's `paused` and `activeExclusive` fields.
local function wait_set_of(job, key, exclusive)
  if job.paused == '1' then return exclusive == '1' and waiting_key(key) or parked_key(key) end
  if exclusive == '1' and tonumber(job.activeExclusive or '0') > 0 then return waiting_key(key) end
  return false
end

--- The set a pending run of `key` waits in, or false for the due index.
local function wait_set(key, exclusive)
  return wait_set_of(hmget(job_key(key), 'paused', 'activeExclusive'), key, exclusive)
end

--- Moves the earliest waiting exclusive run of `key` into the due index when
--- nothing holds it back any more; true when one was moved.
local function promote(key)
  local job = hmget(job_key(key), 'paused', 'activeExclusive')
  if job.paused ~= '0' or tonumber(job.activeExclusive or '0') > 0 then return false end
  local wk = waiting_key(key)
  local first = redis.call('ZRANGE', wk, 0, 0, 'WITHSCORES')
  if #first == 0 then return false end
  redis.call('ZREM', wk, first[1])
  redis.call('ZADD', PENDING, first[2], first[1])
  return true
end

--- Puts a run (its hash already written) in the pending state, due at `due`
--- (text): in the due index, or where it waits (see above). The member starts
--- with a global sequence number so equal due times keep the order in which
--- runs became pending.
local function to_pending(key, id, due, exclusive, kind, attempt)
  local seq = redis.call('INCR', SEQ)
  local member = string.format('%016d', seq) .. run_ref(key, id)
  local jk = job_key(key)
  local job = hmget(jk, 'paused', 'activeExclusive', 'triggerOnly')
  redis.call('ZADD', wait_set_of(job, key, exclusive) or PENDING, due, member)
  if job.triggerOnly == '1' then redis.call('ZADD', due_key(key), due, id) end
  redis.call('HSET', run_key(key, id), 'state', 'pending', 'dueAt', due, 'member', member)
  redis.call('HINCRBY', jk, 'pending', 1)
  if exclusive == '1' then
    redis.call('HINCRBY', jk, 'pendingExclusive', 1)
    if is_buffer_slot(exclusive, kind, attempt) then redis.call('HINCRBY', jk, 'buffered', 1) end
  end
end

--- Makes a pending (or new) run active under a fresh fencing token; returns the token (text).
local function activate(key, id, run_id, instance_id, lease_ms, now, exclusive)
  local jk = job_key(key)
  local fence = redis.call('HINCRBY', jk, 'fence', 1)
  local lease = fmt(now + lease_ms)
  redis.call('HSET', run_key(key, id), 'state', 'active', 'runId', run_id, 'instanceId', instance_id,
    'fence', fmt(fence), 'claimedAt', fmt(now), 'leaseUntil', lease)
  redis.call('HDEL', run_key(key, id), 'member')
  redis.call('ZADD', ACTIVE, lease, run_ref(key, id))
  redis.call('HINCRBY', jk, 'active', 1)
  if exclusive == '1' then redis.call('HINCRBY', jk, 'activeExclusive', 1) end
  return fmt(fence)
end

--- Takes a pending run out of the pending set (before activating it);
--- `trigger_only`: the job's triggerOnly field.
local function leave_pending(key, id, member, exclusive, kind, attempt, trigger_only)
  redis.call('ZREM', PENDING, member)
  if trigger_only == '1' then redis.call('ZREM', due_key(key), id) end
  local jk = job_key(key)
  redis.call('HINCRBY', jk, 'pending', -1)
  if exclusive == '1' then
    redis.call('HINCRBY', jk, 'pendingExclusive', -1)
    if is_buffer_slot(exclusive, kind, attempt) then redis.call('HINCRBY', jk, 'buffered', -1) end
  end
end

--- Takes an active run out of the active set and the job's counters; true
--- when that let a waiting exclusive run into the due index.
local function deactivate(key, id, exclusive)
  redis.call('ZREM', ACTIVE, run_ref(key, id))
  local jk = job_key(key)
  redis.call('HINCRBY', jk, 'active', -1)
  if exclusive ~= '1' then return false end
  redis.call('HINCRBY', jk, 'activeExclusive', -1)
  return promote(key)
end

--- A finished run: one-off runs (and runs `cancelRun` touched, `kept`) stay
--- as `done` (id idempotency, a repeated cancel) until the retention sweep;
--- other slot runs are deleted.
local function retire(key, id, kind, outcome, now, kept)
  local rk = run_key(key, id)
  if kind == 'trigger' or kept then
    redis.call('HSET', rk, 'state', 'done', 'outcome', outcome, 'finishedAt', fmt(now))
    redis.call('ZADD', DONE, fmt(now), run_ref(key, id))
  else
    redis.call('DEL', rk)
    redis.call('ZREM', runs_key(key), id)
  end
end

--- Forgets that `id` names a one-off run of `key` among its tenant's runs
--- (the run record is being deleted); another job's claim on the id stays.
local function forget_trigger_id(tenant, key, id)
  local tk = trigger_ids_key(tenant)
  if redis.call('HGET', tk, id) == key then redis.call('HDEL', tk, id) end
end

--- The job that the one-off run `id` of `tenant` belongs to, or false; an
--- entry whose run is gone (swept without it) is dropped.
local function trigger_id_owner(tenant, id)
  local owner = redis.call('HGET', trigger_ids_key(tenant), id)
  if not owner then return false end
  if redis.call('EXISTS', run_key(owner, id)) == 0 then
    redis.call('HDEL', trigger_ids_key(tenant), id)
    return false
  end
  return owner
end

--- Deletes a job with its runs (pending, active, done) and history, at most
--- `budget` runs per call: answers false (the job still stored, with fewer
--- runs) when runs remain, so the caller calls again; true once it is gone.
local function delete_job(key, budget)
  local jk = job_key(key)
  local rs = runs_key(key)
  local tenant = redis.call('HGET', jk, 'tenant') or ''
  local popped = redis.call('ZPOPMIN', rs, budget)
  for i = 1, #popped, 2 do
    local id = popped[i]
    local ref = run_ref(key, id)
    local rk = run_key_of(ref)
    local r = hmget(rk, 'state', 'member', 'kind')
    if r.state == 'pending' and r.member then
      redis.call('ZREM', PENDING, r.member)
    elseif r.state == 'active' then
      redis.call('ZREM', ACTIVE, ref)
    elseif r.state == 'done' then
      redis.call('ZREM', DONE, ref)
    end
    if r.kind == 'trigger' then forget_trigger_id(tenant, key, id) end
    redis.call('DEL', rk)
  end
  if #popped >= 2 * budget and redis.call('EXISTS', rs) == 1 then return false end
  -- Every member of these sets named a run deleted above.
  redis.call('UNLINK', rs, history_key(key), jk, parked_key(key), waiting_key(key), due_key(key))
  redis.call('ZREM', JOBS, key)
  redis.call('ZREM', tenant_key(tenant), key)
  redis.call('ZREM', SEEN, key)
  return true
end

--- Wakes every instance's due-runs poller (pub/sub, best effort).
local function notify(key)
  redis.call('PUBLISH', CHANNEL, key)
end

--[[
  Rate limits: a sliding-window log per rate key, {p}:rate:<name>, a ZSET of
  the start times of the runs started under it (member: the attempt's runId,
  unique per attempt). Only jobs with a rate limit (job hash fields
  rateKey, rateMax, ratePer) touch it; it expires when idle for a window.
]]

--- 0 when a run may start under the limit now (and takes the room), else
--- how many ms until the window frees room (nothing changed).
local function take_rate(rate_name, max, per_ms, now, run_id)
  local rk = rate_key(rate_name)
  redis.call('ZREMRANGEBYSCORE', rk, '-inf', fmt(now - per_ms))
  if redis.call('ZCARD', rk) >= max then
    local oldest = redis.call('ZRANGE', rk, 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + per_ms - now)
  end
  redis.call('ZADD', rk, fmt(now), run_id)
  redis.call('PEXPIRE', rk, per_ms)
  return 0
end

--- Takes a pending run out of whichever set it waits in (the due index, the
--- parked or the waiting set of its job) and out of the job's pending counters.
local function unqueue(key, id, member, exclusive, kind, attempt)
  if member then
    redis.call('ZREM', parked_key(key), member)
    redis.call('ZREM', waiting_key(key), member)
  end
  leave_pending(key, id, member or '', exclusive, kind, attempt, redis.call('HGET', job_key(key), 'triggerOnly'))
end

--- Appends 'nextRunAt' and the due time of the earliest pending run to a
--- job's HGETALL `fields` when it is a job without schedule (triggerOnly)
--- that has one (the later pair wins when decoded).
local function with_earliest_due(key, fields)
  for i = 1, #fields, 2 do
    if fields[i] == 'triggerOnly' and fields[i + 1] == '1' then
      local first = redis.call('ZRANGE', due_key(key), 0, 0, 'WITHSCORES')
      if first[2] then
        fields[#fields + 1] = 'nextRunAt'
        fields[#fields + 1] = first[2]
      end
      break
    end
  end
  return fields
end

--- The fields of a run record `run_reply` reads, in its order.
local RUN_FIELDS = { 'state', 'kind', 'scheduledAt', 'dueAt', 'attempt', 'outcome', 'instanceId', 'params',
  'cancelRequested' }

--- The name and tenant of job `key`, as `run_reply` takes them.
local function job_names(key)
  return hmget(job_key(key), 'name', 'tenant')
end

--- A run as getRun and listRuns answer it, 15 values: id, key, name,
--- hasTenant ('1'|'0'), tenant, kind, state (stored), scheduledAt, dueAt,
--- attempt, outcome ('' = none), instanceId ('' = none), hasParams ('1'|'0'),
--- params, cancelRequested ('' | 'cancel' | 'abort'); from the run's fields
--- as HMGET of RUN_FIELDS read them and its job's `job_names`.
local function run_reply(key, id, values, names)
  return { id, key, names.name or '', names.tenant and '1' or '0', names.tenant or '', values[2], values[1], values[3],
    values[4], values[5], values[6] or '', values[7] or '', values[8] and '1' or '0', values[8] or '',
    values[9] or '' }
end

--- One run as `run_reply` answers it, or false when it is not stored.
local function read_run(key, id)
  local values = redis.call('HMGET', run_key(key, id), unpack(RUN_FIELDS))
  if not values[1] then return false end
  return run_reply(key, id, values, job_names(key))
end
