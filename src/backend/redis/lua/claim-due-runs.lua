--[[
  claimDueRuns: claims pending runs whose dueAt has passed (by Redis time),
  oldest due first (ties: the order they became pending), and answers the
  next due time in the same call, so a poll is one round trip.

  KEYS[1]  {p}:pending           ZSET pending run -> dueAt
  KEYS[2]  {p}:active            ZSET active run ref -> leaseUntil
  KEYS[3]  {p}:filter:<filterId> SET of the job keys the caller has registered
                                 (mode 'set'; any namespace key otherwise)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  instanceId
  ARGV[3]  leaseMs
  ARGV[4]  filter mode: 'all' (every job) | 'set' (keys in KEYS[3]) |
           'list' (keys in the adds below) | 'probe' (claim nothing; list the
           keys of due runs)
  ARGV[5]  filter sync ('set' mode): 'reset' (replace KEYS[3] by the adds) |
           'delta' (apply adds and removes) | '' (use as stored)
  ARGV[6]  number of adds (A), ARGV[7] number of removes (R)
  ARGV[8 .. 7+A]        adds (job keys)
  ARGV[8+A .. 7+A+R]    removes (job keys)
  ARGV[8+A+R ..]        fresh attempt ids, one per run that may be claimed

  Output: -2 when the filter set is missing (expired, or Redis lost its data):
          the caller resends with 'reset'. Otherwise
          { nextDueAt (nil if nothing pending),
            then per claimed run: runId, id, key, kind, scheduledAt, attempt,
            params (nil = job's params), exclusive, fencingToken, claimedAt }
          In 'probe' mode: { nextDueAt, key, key, ... } (distinct keys of due runs).

  Runs of paused jobs, of jobs outside the filter, and exclusive runs of jobs
  with an active exclusive run are passed over and stay where they are.
]]
--- @include "common"

local FILTER_SENTINEL = '#'        -- never a job key: marks the set as present
local FILTER_TTL_MS = 3600000      -- an abandoned filter set (dead instance) expires
local SCAN_BATCH = 100
local PROBE_MAX = 1000

local instance_id, lease_ms, mode, sync = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local adds, removes = tonumber(ARGV[6]), tonumber(ARGV[7])
local first_id = 8 + adds + removes
local limit = #ARGV - first_id + 1
local filter = KEYS[3]

local function apply(command, from, count)
  for i = from, from + count - 1, 1000 do
    redis.call(command, filter, unpack(ARGV, i, math.min(i + 999, from + count - 1)))
  end
end

local allowed_list = nil
if mode == 'set' then
  if sync == 'reset' then
    redis.call('DEL', filter)
    redis.call('SADD', filter, FILTER_SENTINEL)
  elseif redis.call('SISMEMBER', filter, FILTER_SENTINEL) == 0 then
    return -2
  end
  if adds > 0 then apply('SADD', 8, adds) end
  if removes > 0 then apply('SREM', 8 + adds, removes) end
  redis.call('PEXPIRE', filter, FILTER_TTL_MS)
elseif mode == 'list' then
  allowed_list = {}
  for i = 8, 7 + adds do allowed_list[ARGV[i]] = true end
end

local allowed_cache = {}
local function allowed(key)
  if mode == 'all' then return true end
  if allowed_list then return allowed_list[key] == true end
  local known = allowed_cache[key]
  if known == nil then
    known = redis.call('SISMEMBER', filter, key) == 1
    allowed_cache[key] = known
  end
  return known
end

local function next_due()
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #first == 0 then return false end
  return first[2]
end

local now = now_ms()
local now_s = fmt(now)

if mode == 'probe' then
  local out, seen = { next_due() }, {}
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_s, 'LIMIT', 0, PROBE_MAX)) do
    local key = split_ref(string.sub(member, 17))
    if not seen[key] then
      seen[key] = true
      out[#out + 1] = key
    end
  end
  return out
end

local out = { false }
local claimed = 0
-- Entries passed over stay in front of the ones not read yet: read the next
-- batch after them.
local passed = 0
while claimed < limit do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_s, 'LIMIT', passed, SCAN_BATCH)
  if #batch == 0 then break end
  for _, member in ipairs(batch) do
    if claimed >= limit then break end
    local key, id = split_ref(string.sub(member, 17))
    local rk = run_key(key, id)
    local r = hmget(rk, 'state', 'member', 'exclusive', 'kind', 'attempt', 'scheduledAt', 'params')
    local job = hmget(job_key(key), 'paused', 'activeExclusive')
    if r.state ~= 'pending' or r.member ~= member or job.paused == false then
      -- Not a live pending run (cannot happen while scripts keep the
      -- invariants; dropped rather than retried forever).
      redis.call('ZREM', KEYS[1], member)
    elseif job.paused == '1' or not allowed(key)
      or (r.exclusive == '1' and tonumber(job.activeExclusive) > 0) then
      passed = passed + 1
    else
      leave_pending(key, member, r.exclusive, r.kind, r.attempt)
      claimed = claimed + 1
      local run_id = ARGV[first_id + claimed - 1]
      local fence = activate(key, id, run_id, instance_id, lease_ms, now, r.exclusive)
      local n = #out
      out[n + 1] = run_id
      out[n + 2] = id
      out[n + 3] = key
      out[n + 4] = r.kind
      out[n + 5] = r.scheduledAt
      out[n + 6] = r.attempt
      out[n + 7] = r.params
      out[n + 8] = r.exclusive
      out[n + 9] = fence
      out[n + 10] = now_s
    end
  end
end
out[1] = next_due()
return out
