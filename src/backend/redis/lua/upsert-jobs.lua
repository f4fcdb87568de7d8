--[[
  upsertJobs: records that the caller has these jobs registered.

  KEYS[1]  {p}:jobs     ZSET of every job key (score 0: lexicographic order)
  KEYS[2]  {p}:seen     ZSET job key -> lastSeenAt (lower bound; see sweep.lua)
  KEYS[3]  {p}:removed  ZSET job key -> removal time (tombstones)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2..] per job, 13 values: key, name, hasTenant ('1'|'0'), tenant,
           schedule (JSON text), definitionHash, definedAt ('' = never stored:
           stamped with Redis time now), nextRunAt ('' = null), limit ('' = null),
           rate limit key ('' = none), max, perMs, runOnStart maxAttempts ('' = none)

  Output: per job, in input order, { created ('1'|'0'), definitionChanged ('1'|'0'), HGETALL of the job,
          definedAt of the definition sent (the stored one's when the hash is the same) }

  A new job is created with zeroed counters (clearing a tombstone); a known
  one gets lastSeenAt = now; a different definition replaces the stored one
  only when its definedAt is not older (newest wins), keeping the dedup mark
  (lastSlot), fence and counters. The rate limit is the latest upsert's
  (stored as rateKey, rateMax, ratePer). The upsert that creates a job with
  runOnStart also enqueues its one-off run `on-start`, due now (as
  enqueue-run.lua would): once per fleet, as only one upsert creates the job.
  Its id goes into {p}:trigger-ids:<tenant> unless another job of the tenant
  holds `on-start` there (each job has its own `on-start` run; getRun finds
  the other ones with their job key).
]]
--- @include "common"

local now = fmt(now_ms())
local out = {}
--- Enqueues the `on-start` run of a job just created (see above).
local function enqueue_on_start(key, tenant, max_attempts)
  local id = 'on-start'
  redis.call('HSET', run_key(key, id), 'kind', 'trigger', 'scheduledAt', now, 'dueAt', now, 'attempt', '1',
    'exclusive', '0', 'requeueOnStall', '1', 'maxAttempts', max_attempts,
    'runId', id, 'instanceId', '', 'fence', '0', 'claimedAt', '0', 'leaseUntil', '0')
  redis.call('ZADD', runs_key(key), 0, id)
  if not trigger_id_owner(tenant, id) then redis.call('HSET', trigger_ids_key(tenant), id, key) end
  to_pending(key, id, now, '0', 'trigger', 1)
  notify(key)
end

for i = 2, #ARGV, 13 do
  local key, name, has_tenant, tenant = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local schedule, hash, defined_at = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local next_run_at, limit = ARGV[i + 7], ARGV[i + 8]
  local rate_name, rate_max, rate_per, on_start = ARGV[i + 9], ARGV[i + 10], ARGV[i + 11], ARGV[i + 12]
  if defined_at == '' then defined_at = now end
  local jk = job_key(key)
  local stored = hmget(jk, 'hash', 'definedAt', 'nextRunAt', 'rateKey')
  local created, changed = '0', '0'
  if not stored.hash then
    redis.call('ZREM', KEYS[3], key)
    redis.call('HSET', jk,
      'name', name, 'schedule', schedule, 'hash', hash, 'definedAt', defined_at,
      'paused', '0', 'completed', '0', 'slotCount', '0', 'fence', '0',
      'runCount', '0', 'failCount', '0', 'skippedCount', '0',
      'active', '0', 'activeExclusive', '0', 'pending', '0', 'pendingExclusive', '0', 'buffered', '0',
      'createdAt', now, 'lastSeenAt', now)
    if has_tenant == '1' then redis.call('HSET', jk, 'tenant', tenant) end
    hset_nullable(jk, 'limit', limit)
    hset_nullable(jk, 'nextRunAt', next_run_at)
    if schedule == 'null' then redis.call('HSET', jk, 'triggerOnly', '1') end
    redis.call('ZADD', KEYS[1], 0, key)
    redis.call('ZADD', tenant_key(has_tenant == '1' and tenant or ''), 0, key)
    redis.call('ZADD', KEYS[2], now, key)
    created = '1'
    if on_start ~= '' then enqueue_on_start(key, has_tenant == '1' and tenant or '', on_start) end
  else
    redis.call('HSET', jk, 'lastSeenAt', now)
    redis.call('ZADD', KEYS[2], now, key)
    if stored.hash == hash then
      if not stored.nextRunAt then hset_nullable(jk, 'nextRunAt', next_run_at) end
      defined_at = stored.definedAt
    elseif tonumber(defined_at) >= tonumber(stored.definedAt) then
      redis.call('HSET', jk, 'schedule', schedule, 'hash', hash, 'definedAt', defined_at, 'completed', '0')
      hset_nullable(jk, 'limit', limit)
      hset_nullable(jk, 'nextRunAt', next_run_at)
      hset_nullable(jk, 'triggerOnly', schedule == 'null' and '1' or '')
      changed = '1'
    end
  end
  if rate_name ~= '' then
    redis.call('HSET', jk, 'rateKey', rate_name, 'rateMax', rate_max, 'ratePer', rate_per)
  elseif stored.rateKey then
    redis.call('HDEL', jk, 'rateKey', 'rateMax', 'ratePer')
  end
  out[#out + 1] = { created, changed, redis.call('HGETALL', jk), defined_at }
end
return out
