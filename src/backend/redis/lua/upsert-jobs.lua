--[[
  upsertJobs: records that the caller has these jobs registered.

  KEYS[1]  {p}:jobs     ZSET of every job key (score 0: lexicographic order)
  KEYS[2]  {p}:seen     ZSET job key -> lastSeenAt (lower bound; see sweep.lua)
  KEYS[3]  {p}:removed  ZSET job key -> removal time (tombstones)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2..] per job, 9 values: key, name, hasTenant ('1'|'0'), tenant,
           schedule (JSON text), definitionHash, definedAt ('' = never stored:
           stamped with Redis time now), nextRunAt ('' = null), limit ('' = null)

  Output: per job, in input order, { created ('1'|'0'), definitionChanged ('1'|'0'), HGETALL of the job,
          definedAt of the definition sent (the stored one's when the hash is the same) }

  A new job is created with zeroed counters (clearing a tombstone); a known
  one gets lastSeenAt = now; a different definition replaces the stored one
  only when its definedAt is not older (newest wins), keeping the dedup mark
  (lastSlot), fence and counters.
]]
--- @include "common"

local now = fmt(now_ms())
local out = {}
for i = 2, #ARGV, 9 do
  local key, name, has_tenant, tenant = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local schedule, hash, defined_at = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local next_run_at, limit = ARGV[i + 7], ARGV[i + 8]
  if defined_at == '' then defined_at = now end
  local jk = job_key(key)
  local stored = hmget(jk, 'hash', 'definedAt', 'nextRunAt')
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
    redis.call('ZADD', KEYS[1], 0, key)
    redis.call('ZADD', tenant_key(has_tenant == '1' and tenant or ''), 0, key)
    redis.call('ZADD', KEYS[2], now, key)
    created = '1'
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
      changed = '1'
    end
  end
  out[#out + 1] = { created, changed, redis.call('HGETALL', jk), defined_at }
end
return out
