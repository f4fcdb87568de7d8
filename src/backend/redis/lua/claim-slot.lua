--[[
  claimSlot: claims one slot of a recurring job, the atomic heart of
  "exactly once per slot". The fire path: O(1) in the number of jobs.

  KEYS[1]  {p}:job:<key>          the job's state HASH
  KEYS[2]  {p}:run:<key>#<runId>  the run HASH this claim would create
  KEYS[3]  {p}:pending            ZSET pending run -> dueAt
  KEYS[4]  {p}:active             ZSET active run ref -> leaseUntil
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key
  ARGV[3]  slot (epoch ms)
  ARGV[4]  runId (also the run's id)
  ARGV[5]  instanceId
  ARGV[6]  leaseMs
  ARGV[7]  the claimer's definitionHash
  ARGV[8]  overlap: 'skip' | 'buffer-one' | 'allow' | 'queue'
  ARGV[9]  nextRunAt ('' = null)
  ARGV[10] requeueOnStall ('1'|'0')
  ARGV[11] maxAttempts
  ARGV[12] history limit

  Output, by status (first element):
    { 'removed' } | { 'taken' } | { 'completed' } | { 'paused' } | { 'skipped' }
    { 'superseded', HGETALL of the job }
    { 'early', retryInMs }
    { 'buffered', id, kind, state, scheduledAt, dueAt, attempt, outcome (nil) }
    { 'claimed', runId, id, kind, scheduledAt, attempt, params (nil), exclusive, fencingToken, claimedAt }

  The slot is compared with Redis server time, never the caller's clock.
]]
--- @include "common"

local jk, rk = KEYS[1], KEYS[2]
local key, slot_s, run_id, instance_id = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local lease_ms, overlap, next_run_at = tonumber(ARGV[6]), ARGV[8], ARGV[9]
local slot = tonumber(slot_s)

local job = hmget(jk, 'hash', 'completed', 'paused', 'lastSlot', 'activeExclusive', 'buffered', 'limit', 'slotCount')
if not job.hash then return { 'removed' } end
if job.hash ~= ARGV[7] then return { 'superseded', redis.call('HGETALL', jk) } end
local now = now_ms()
if now < slot then return { 'early', fmt(slot - now) } end
if job.lastSlot and slot <= tonumber(job.lastSlot) then return { 'taken' } end
if job.completed == '1' then return { 'completed' } end

redis.call('HSET', jk, 'lastSeenAt', fmt(now), 'lastSlot', slot_s)
hset_nullable(jk, 'nextRunAt', next_run_at)

if job.paused == '1' then
  -- The slot is consumed without running; a paused job's last slot ends it.
  if next_run_at == '' then redis.call('HSET', jk, 'completed', '1') end
  return { 'paused' }
end

--- Counts the slot toward `limit` and marks the job completed at its end.
local function count_slot()
  local count = redis.call('HINCRBY', jk, 'slotCount', 1)
  local ended = next_run_at == '' or (job.limit and count >= tonumber(job.limit))
  redis.call('HSET', jk, 'completed', ended and '1' or '0')
end

--- Writes the run record of this slot (state set by to_pending / activate).
local function new_run(exclusive)
  redis.call('HSET', rk, 'kind', 'slot', 'scheduledAt', slot_s, 'dueAt', slot_s, 'attempt', '1',
    'exclusive', exclusive, 'requeueOnStall', ARGV[10], 'maxAttempts', ARGV[11],
    'runId', run_id, 'instanceId', '', 'fence', '0', 'claimedAt', '0', 'leaseUntil', '0')
  redis.call('SADD', runs_key(key), run_id)
end

if tonumber(job.activeExclusive) > 0 and overlap ~= 'allow' then
  -- `queue` (misfire catch-up) waits like `buffer-one`, without the limit of one.
  if overlap == 'queue' or (overlap == 'buffer-one' and tonumber(job.buffered) == 0) then
    new_run('1')
    to_pending(key, run_id, slot_s, '1', 'slot', 1)
    -- The buffered slot counts toward the limit now, so no later slot can be
    -- claimed past it while this one waits.
    count_slot()
    -- No notification: it is blocked until the active exclusive run ends.
    return { 'buffered', run_id, 'slot', 'pending', slot_s, slot_s, '1', false }
  end
  redis.call('HINCRBY', jk, 'skippedCount', 1)
  if next_run_at == '' then redis.call('HSET', jk, 'completed', '1') end
  push_history(key, {
    runId = run_id, id = run_id, kind = 'slot', scheduledAt = slot_s, outcome = 'skipped',
    instanceId = instance_id, attempt = '1',
  }, tonumber(ARGV[12]))
  return { 'skipped' }
end

local exclusive = overlap ~= 'allow' and '1' or '0'
count_slot()
new_run(exclusive)
local fence = activate(key, run_id, run_id, instance_id, lease_ms, now, exclusive)
return { 'claimed', run_id, run_id, 'slot', slot_s, '1', false, exclusive, fence, fmt(now) }
