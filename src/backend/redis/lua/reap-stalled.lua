--[[
  reapStalledRuns: finds active runs whose lease expired (by Redis time),
  records each as `stalled`, and puts it back to pending (attempt + 1, due
  now) when it asked for that at claim time and has attempts left;
  otherwise finishes it (always when `cancelRun` was called on it).

  KEYS[1]  {p}:active   ZSET active run ref -> leaseUntil
  KEYS[2]  {p}:pending  ZSET pending run -> dueAt
  KEYS[3]  {p}:done     ZSET finished one-off run ref -> finishedAt
  KEYS[4]  {p}:heard    HASH at, ttl, reapAfter (heartbeat-instance.lua)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  history limit
  ARGV[3], ARGV[4], ARGV[5]  the stall error text around the instance id and
           the overdue ms: ARGV[3] .. instanceId .. ARGV[4] .. overdueMs .. ARGV[5]
           (the text itself lives in src/errors/messages.ts)
  ARGV[6]  most runs reaped by this call

  Output: { more ('1' when the limit was hit: call again), then per stalled
  run 7 values: key, id, kind, scheduledAt, attempt, instanceId, requeued
  ('1'|'0') }. Every expired lease read leaves the active set, so the next
  call starts at the front again.
  Publishes on {p}:runs-changed when a run was requeued, or an exclusive run
  ended and let a waiting one of its job into the due index.

  Reaps nothing while no instance has been heard from for more than half a
  lease, nor before `reapAfter`: leases that ran out while Redis was out of
  reach are the outage's doing, and their holders get one lease to speak.
]]
--- @include "common"

local limit = tonumber(ARGV[2])
local batch_max = tonumber(ARGV[6])
local now = now_ms()
local heard = hmget(KEYS[4], 'at', 'ttl', 'reapAfter')
if heard.at then
  if now - tonumber(heard.at) > tonumber(heard.ttl) / 2 or now < tonumber(heard.reapAfter or '0') then return { '0' } end
end
local now_s = fmt(now)
local batch = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now_s, 'LIMIT', 0, batch_max)
local out = { #batch >= batch_max and '1' or '0' }
local wake = false
for _, ref in ipairs(batch) do
  local key, id = split_ref(ref)
  local rk = run_key_of(ref)
  local r = hmget(rk, 'state', 'kind', 'scheduledAt', 'attempt', 'exclusive', 'requeueOnStall', 'maxAttempts',
    'runId', 'instanceId', 'claimedAt', 'leaseUntil', 'cancelRequested')
  if r.state ~= 'active' then
    redis.call('ZREM', KEYS[1], ref)
  else
    local jk = job_key(key)
    local err = ARGV[3] .. r.instanceId .. ARGV[4] .. fmt(now - tonumber(r.leaseUntil)) .. ARGV[5]
    push_history(key, {
      runId = r.runId, id = id, kind = r.kind, scheduledAt = r.scheduledAt,
      startedAt = r.claimedAt, finishedAt = now_s, outcome = 'stalled', error = err,
      instanceId = r.instanceId, attempt = r.attempt,
    }, limit)
    redis.call('HINCRBY', jk, 'runCount', 1)
    redis.call('HINCRBY', jk, 'failCount', 1)
    redis.call('HSET', jk, 'lastOutcome', 'stalled', 'lastError', err)
    if deactivate(key, id, r.exclusive) then wake = true end
    local attempt = tonumber(r.attempt)
    local requeued = r.requeueOnStall == '1' and attempt < tonumber(r.maxAttempts) and not r.cancelRequested
    if requeued then
      redis.call('HSET', rk, 'attempt', fmt(attempt + 1))
      to_pending(key, id, now_s, r.exclusive, r.kind, attempt + 1)
      wake = true
    else
      retire(key, id, r.kind, 'stalled', now, r.cancelRequested)
    end
    local n = #out
    out[n + 1] = key
    out[n + 2] = id
    out[n + 3] = r.kind
    out[n + 4] = r.scheduledAt
    out[n + 5] = r.attempt
    out[n + 6] = r.instanceId
    out[n + 7] = requeued and '1' or '0'
  end
end
if wake then notify('') end
return out
