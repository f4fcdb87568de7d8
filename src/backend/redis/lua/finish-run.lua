--[[
  finishRun: ends an active run. The fire path: O(1) in the number of jobs.

  KEYS[1]  {p}:job:<key>       the job's state HASH
  KEYS[2]  {p}:run:<key>#<id>  the run HASH
  KEYS[3]  {p}:pending         ZSET pending run -> dueAt
  KEYS[4]  {p}:active          ZSET active run ref -> leaseUntil
  KEYS[5]  {p}:done            ZSET finished one-off run ref -> finishedAt
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key
  ARGV[3]  run id
  ARGV[4]  fencing token of the caller's claim
  ARGV[5]  instanceId
  ARGV[6]  outcome: 'success' | 'failed' | 'timeout' | 'lock-lost' | 'interrupted'
  ARGV[7]  '1' when an error text is given, '0' for null
  ARGV[8]  error text
  ARGV[9]  startedAt, ARGV[10] finishedAt, ARGV[11] finishedAt - startedAt
  ARGV[12] retryAt ('' = none): back to pending as attempt + 1, due then
  ARGV[13] requeueAt ('' = none): back to pending, same attempt, due then
  ARGV[14] history limit

  Output: 1 when recorded, 0 (nothing changed) when the run is not active
  with that fencing token.

  Publishes on {p}:runs-changed only when something may have become
  claimable: the run went back to pending, or an exclusive run ended while
  exclusive runs of its job wait. An ordinary finish publishes nothing.
]]
--- @include "common"

local jk, rk = KEYS[1], KEYS[2]
local key, id, outcome = ARGV[2], ARGV[3], ARGV[6]
local r = hmget(rk, 'state', 'fence', 'runId', 'kind', 'scheduledAt', 'attempt', 'exclusive')
if r.state ~= 'active' or tonumber(r.fence) ~= tonumber(ARGV[4]) then return 0 end

local err = false
if ARGV[7] == '1' then err = ARGV[8] end
push_history(key, {
  runId = r.runId, id = id, kind = r.kind, scheduledAt = r.scheduledAt,
  startedAt = ARGV[9], finishedAt = ARGV[10], outcome = outcome, error = err,
  instanceId = ARGV[5], attempt = r.attempt,
}, tonumber(ARGV[14]))

-- The job's counters and last-run fields in one write (the common path
-- would otherwise take six commands).
local job = hmget(jk, 'runCount', 'failCount', 'active', 'activeExclusive', 'pendingExclusive', 'lastError')
local fields = { 'active', fmt(tonumber(job.active or '0') - 1) }
local function set(field, value)
  fields[#fields + 1] = field
  fields[#fields + 1] = value
end
if r.exclusive == '1' then set('activeExclusive', fmt(tonumber(job.activeExclusive or '0') - 1)) end
if outcome ~= 'interrupted' then
  set('runCount', fmt(tonumber(job.runCount or '0') + 1))
  if outcome ~= 'success' then set('failCount', fmt(tonumber(job.failCount or '0') + 1)) end
  set('lastRunAt', ARGV[9])
  set('lastDurationMs', ARGV[11])
  set('lastOutcome', outcome)
  if outcome ~= 'success' and err then
    set('lastError', err)
  elseif job.lastError then
    redis.call('HDEL', jk, 'lastError')
  end
end
redis.call('HSET', jk, unpack(fields))
redis.call('ZREM', ACTIVE, run_ref(key, id))

local wake = false
if ARGV[12] ~= '' then
  local attempt = tonumber(r.attempt) + 1
  redis.call('HSET', rk, 'attempt', fmt(attempt))
  to_pending(key, id, ARGV[12], r.exclusive, r.kind, attempt)
  wake = true
elseif ARGV[13] ~= '' then
  to_pending(key, id, ARGV[13], r.exclusive, r.kind, r.attempt)
  wake = true
else
  retire(key, id, r.kind, outcome, now_ms())
  wake = r.exclusive == '1' and tonumber(job.pendingExclusive or '0') > 0
end
if wake then notify(key) end
return 1
