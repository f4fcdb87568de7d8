--[[
  claimSlots: claims slots of recurring jobs, the atomic heart of "exactly
  once per slot". Every slot due in one wake of an instance goes in one call:
  one round trip and one TIME for the batch, and O(1) work per claim in the
  number of jobs.

  KEYS[1]  {p}:pending  ZSET pending run -> dueAt
  KEYS[2]  {p}:active   ZSET active run ref -> leaseUntil
  (each claim's job and run hashes are named from ARGV: they share the hash
  tag of KEYS, so the call stays in one Cluster slot)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  history limit
  then 12 per claim, from ARGV[3]:
    job key, slot (epoch ms), runId (also the run's id), instanceId, leaseMs,
    the claimer's definitionHash, overlap ('skip' | 'buffer-one' | 'allow' |
    'queue'), nextRunAt ('' = null), requeueOnStall ('1'|'0'), maxAttempts,
    skip ('' | 'excluded' | 'rate-limited': consume the slot without running
    it, recorded as skipped with that reason), previousSlots (comma-separated,
    newest first, '' for none: slots before this one other instances were to
    claim; each never claimed and not before the job's creation is recorded
    skipped with reason 'missed' and consumed)

  Output: one reply per claim, in order, by status (first element):
    { 'removed' } | { 'taken' } | { 'completed' } | { 'paused' } | { 'skipped' }
    { 'superseded', HGETALL of the job }
    { 'early', retryInMs } | { 'limited', retryInMs }
    { 'buffered', id, kind, state, scheduledAt, dueAt, attempt, outcome (nil) }
    { 'claimed', runId, id, kind, scheduledAt, attempt, params (nil), exclusive, fencingToken, claimedAt }

  The slot is compared with Redis server time, never the caller's clock.
  A job with a rate limit (rateKey, rateMax, ratePer in its hash) starts the
  run only when its window has room (common.lua `take_rate`); otherwise the
  claim answers 'limited' and changes nothing. A slot claimed with a skip
  reason (excluded, or rate-limited until its next slot) is consumed like a
  skip, without counting toward the limit.
]]
--- @include "common"

local history_limit = tonumber(ARGV[2])
local now = now_ms()
local now_s = fmt(now)

--- Records the claim of `slot_s` on the job: lastSeenAt, lastSlot, nextRunAt
--- (absent for null) and the extra field/value pairs, in one write.
local function update_job(jk, slot_s, next_run_at, ...)
  if next_run_at == '' then
    redis.call('HDEL', jk, 'nextRunAt')
    redis.call('HSET', jk, 'lastSeenAt', now_s, 'lastSlot', slot_s, ...)
  else
    redis.call('HSET', jk, 'lastSeenAt', now_s, 'lastSlot', slot_s, 'nextRunAt', next_run_at, ...)
  end
end

local function claim(key, slot_s, run_id, instance_id, lease_ms, definition_hash, overlap, next_run_at, requeue, max_attempts,
                     skip, previous_slots)
  local jk = job_key(key)
  local slot = tonumber(slot_s)
  -- Positional, not the hmget() table: this runs once per slot of every job.
  local v = redis.call('HMGET', jk, 'hash', 'completed', 'paused', 'lastSlot', 'activeExclusive', 'buffered', 'limit',
    'slotCount', 'fence', 'active', 'rateKey', 'rateMax', 'ratePer', 'createdAt')
  local hash, last_slot = v[1], v[4]
  if not hash then return { 'removed' } end
  if hash ~= definition_hash then return { 'superseded', redis.call('HGETALL', jk) } end
  if now < slot then return { 'early', fmt(slot - now) } end
  if last_slot and slot <= tonumber(last_slot) then return { 'taken' } end
  if v[2] == '1' then return { 'completed' } end
  if previous_slots ~= '' then
    -- Oldest first; each never claimed (and after the job's creation) is on
    -- the record as missed, once: this claim makes it taken for good.
    local created, newest = tonumber(v[14] or '0'), tonumber(last_slot or '-1e300')
    local list = {}
    for s in string.gmatch(previous_slots, '[^,]+') do list[#list + 1] = s end
    for i = #list, 1, -1 do
      local previous = tonumber(list[i])
      if previous >= created and previous > newest then
        newest = previous
        redis.call('HSET', jk, 'lastSlot', list[i])
        push_history(key, {
          runId = 'missed-' .. list[i], id = 'missed-' .. list[i], kind = 'slot', scheduledAt = list[i],
          outcome = 'skipped', reason = 'missed', instanceId = instance_id, attempt = '1',
        }, history_limit)
      end
    end
  end
  local paused, active_exclusive, buffered, limit, slot_count, fence, active, rate_key, rate_max, rate_per =
    v[3], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13]
  -- A job's last slot (no next one) ends it.
  local last = next_run_at == '' and '1' or '0'

  if paused == '1' then
    -- The slot is consumed without running; a paused job's last slot ends it.
    update_job(jk, slot_s, next_run_at, 'completed', last)
    return { 'paused' }
  end

  if skip == 'excluded' or skip == 'rate-limited' then
    -- Consumed without running and without counting toward `limit`.
    update_job(jk, slot_s, next_run_at, 'completed', last)
    redis.call('HINCRBY', jk, 'skippedCount', 1)
    push_history(key, {
      runId = run_id, id = run_id, kind = 'slot', scheduledAt = slot_s, outcome = 'skipped', reason = skip,
      instanceId = instance_id, attempt = '1',
    }, history_limit)
    return { 'skipped' }
  end

  -- Counts the slot toward `limit`; the job is completed at its end.
  local count = tonumber(slot_count or '0') + 1
  local ended = (last == '1' or (limit and count >= tonumber(limit))) and '1' or '0'

  if tonumber(active_exclusive or '0') > 0 and overlap ~= 'allow' then
    -- `queue` (misfire catch-up) waits like `buffer-one`, without the limit of one.
    if overlap == 'queue' or (overlap == 'buffer-one' and tonumber(buffered or '0') == 0) then
      update_job(jk, slot_s, next_run_at, 'slotCount', fmt(count), 'completed', ended)
      redis.call('HSET', run_key(key, run_id), 'kind', 'slot', 'scheduledAt', slot_s, 'dueAt', slot_s, 'attempt', '1',
        'exclusive', '1', 'requeueOnStall', requeue, 'maxAttempts', max_attempts,
        'runId', run_id, 'instanceId', '', 'fence', '0', 'claimedAt', '0', 'leaseUntil', '0')
      redis.call('ZADD', runs_key(key), 0, run_id)
      to_pending(key, run_id, slot_s, '1', 'slot', 1)
      -- The buffered slot counts toward the limit now, so no later slot can be
      -- claimed past it while this one waits. No notification: it is blocked
      -- until the active exclusive run ends.
      return { 'buffered', run_id, 'slot', 'pending', slot_s, slot_s, '1', false }
    end
    update_job(jk, slot_s, next_run_at, 'completed', last)
    redis.call('HINCRBY', jk, 'skippedCount', 1)
    push_history(key, {
      runId = run_id, id = run_id, kind = 'slot', scheduledAt = slot_s, outcome = 'skipped', reason = 'overlap',
      instanceId = instance_id, attempt = '1',
    }, history_limit)
    return { 'skipped' }
  end

  if rate_key then
    local wait = take_rate(rate_key, tonumber(rate_max), tonumber(rate_per), now, run_id)
    if wait > 0 then return { 'limited', fmt(wait) } end
  end

  -- The common path, fused: one write of the job's fields (what
  -- count_slot + activate would do in seven), one of the run, one ZADD.
  local exclusive = overlap ~= 'allow' and '1' or '0'
  local token = fmt(tonumber(fence or '0') + 1)
  local lease = fmt(now + lease_ms)
  update_job(jk, slot_s, next_run_at, 'slotCount', fmt(count), 'completed', ended, 'fence', token,
    'active', fmt(tonumber(active or '0') + 1),
    'activeExclusive', fmt(tonumber(active_exclusive or '0') + (exclusive == '1' and 1 or 0)))
  redis.call('HSET', run_key(key, run_id), 'kind', 'slot', 'scheduledAt', slot_s, 'dueAt', slot_s, 'attempt', '1',
    'exclusive', exclusive, 'requeueOnStall', requeue, 'maxAttempts', max_attempts,
    'state', 'active', 'runId', run_id, 'instanceId', instance_id, 'fence', token, 'claimedAt', now_s, 'leaseUntil', lease)
  redis.call('ZADD', runs_key(key), 0, run_id)
  redis.call('ZADD', ACTIVE, lease, run_ref(key, run_id))
  return { 'claimed', run_id, run_id, 'slot', slot_s, '1', false, exclusive, token, now_s }
end

local out = {}
for i = 3, #ARGV, 12 do
  out[#out + 1] = claim(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]), ARGV[i + 5], ARGV[i + 6],
    ARGV[i + 7], ARGV[i + 8], ARGV[i + 9], ARGV[i + 10], ARGV[i + 11])
end
return out
