--[[
  claimDueRuns: claims pending runs whose dueAt has passed (by Redis time),
  oldest due first (ties: the order they became pending), and answers the
  next due time in the same call, so a poll is one round trip.

  KEYS[1]  {p}:pending           ZSET pending run -> dueAt (the due index)
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
           'delta' (apply adds and removes) | '' (use as stored). A large
           filter is sent beforehand by sync-filter.lua, in bounded chunks.
  ARGV[6]  number of adds (A), ARGV[7] number of removes (R)
  ARGV[8]  cursor: the member after which to start reading ('' = the front);
           the cursor a previous call answered
  ARGV[9 .. 8+A]        adds (job keys)
  ARGV[9+A .. 8+A+R]    removes (job keys)
  ARGV[9+A+R ..]        fresh attempt ids, one per run that may be claimed

  Output: -2 when the filter set is missing (expired, or Redis lost its data):
          the caller resends with 'reset'. Otherwise
          { nextDueAt (nil if nothing pending), cursor ('' or a member),
            then per claimed run: runId, id, key, kind, scheduledAt, attempt,
            params (nil = job's params), exclusive, fencingToken, claimedAt }
          In 'probe' mode: { nextDueAt, key, key, ... } (distinct keys of due runs).

  Cost: the runs claimed plus at most SKIP_MAX runs not claimed, whatever
  waits in the store.
  - A run of a job with a rate limit starts only when the window has room
    (common.lua `take_rate`); met while it is used up, it stays pending with
    its due time moved to when the window frees room, and the call goes on.
  - Runs no poll can claim are not in the due index (common.lua: parked
    while their job is paused, waiting while an exclusive run of their job
    is active). One that became unclaimable while in the index (its job was
    paused, an exclusive run started) is moved out when met: read once.
  - Runs of jobs outside the caller's filter are claimable by another
    instance, so they stay; the call passes over at most SKIP_MAX entries
    (parked or passed) and answers a cursor when it stopped for that reason.
    The next call starts after the cursor and wraps round to the front, so
    runs of the caller's jobs behind many others' are reached in a bounded
    number of calls, each bounded, and the oldest due first whenever the
    front is not clogged. nextDueAt is the first entry of the index, as
    before: a due run passed over keeps the caller's poll at its interval.
]]
--- @include "common"

local FILTER_SENTINEL = '#'        -- never a job key: marks the set as present
local FILTER_TTL_MS = 3600000      -- an abandoned filter set (dead instance) expires
local BATCH = 100
local SKIP_MAX = 500
local PROBE_MAX = 1000

local instance_id, lease_ms, mode, sync = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local adds, removes = tonumber(ARGV[6]), tonumber(ARGV[7])
local after = ARGV[8]
local first_add = 9
local first_id = first_add + adds + removes
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
  if adds > 0 then apply('SADD', first_add, adds) end
  if removes > 0 then apply('SREM', first_add + adds, removes) end
  redis.call('PEXPIRE', filter, FILTER_TTL_MS)
elseif mode == 'list' then
  allowed_list = {}
  for i = first_add, first_add + adds - 1 do allowed_list[ARGV[i]] = true end
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

local out = { false, '' }
local claimed = 0
local skips = 0
local last_passed = false

local function claim(member, key, id, r, job)
  leave_pending(key, id, member, r.exclusive, r.kind, r.attempt, job.triggerOnly)
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

--- Reads the index from position `from` until the due runs end, the entry
--- (`stop_score`, `stop_member`) is reached, the claims are done, or the
--- skip budget is spent ('skips'). Entries passed over stay in front of the
--- ones not read yet: the next batch is read after them.
local function walk(from, stop_score, stop_member)
  local pos = from
  while claimed < limit do
    local batch = redis.call('ZRANGE', KEYS[1], pos, pos + BATCH - 1, 'WITHSCORES')
    if #batch == 0 then return 'end' end
    for i = 1, #batch, 2 do
      local member, score = batch[i], tonumber(batch[i + 1])
      if score > now then return 'end' end
      if stop_score and (score > stop_score or (score == stop_score and member >= stop_member)) then return 'end' end
      if claimed >= limit then return 'done' end
      if skips >= SKIP_MAX then return 'skips' end
      local key, id = split_ref(string.sub(member, 17))
      local r = hmget(run_key(key, id), 'state', 'member', 'exclusive', 'kind', 'attempt', 'scheduledAt', 'params')
      local job = hmget(job_key(key), 'paused', 'activeExclusive', 'triggerOnly', 'rateKey', 'rateMax',
        'ratePer')
      if r.state ~= 'pending' or r.member ~= member or job.paused == false then
        -- Not a live pending run (cannot happen while scripts keep the
        -- invariants; dropped rather than retried forever).
        redis.call('ZREM', KEYS[1], member)
      elseif job.paused == '1' or (r.exclusive == '1' and tonumber(job.activeExclusive) > 0) then
        -- Became unclaimable while in the index: out of it until it can run.
        redis.call('ZREM', KEYS[1], member)
        redis.call('ZADD', r.exclusive == '1' and waiting_key(key) or parked_key(key), batch[i + 1], member)
        skips = skips + 1
      elseif not allowed(key) then
        pos = pos + 1
        skips = skips + 1
        last_passed = member
      elseif not job.rateKey then
        claim(member, key, id, r, job)
      else
        local wait = take_rate(job.rateKey, tonumber(job.rateMax), tonumber(job.ratePer), now, ARGV[first_id + claimed])
        if wait == 0 then
          claim(member, key, id, r, job)
        else
          -- Its rate limit is used up: it stays pending, due when the window
          -- frees room (same member, so ties keep their order), and this
          -- call reads it no more.
          local due = fmt(now + wait)
          redis.call('ZADD', KEYS[1], due, member)
          redis.call('HSET', run_key(key, id), 'dueAt', due)
        if job.triggerOnly == '1' then redis.call('ZADD', due_key(key), due, id) end
          skips = skips + 1
        end
      end
    end
  end
  return 'done'
end

local ended = 'end'
local start_rank = after ~= '' and redis.call('ZRANK', KEYS[1], after) or false
if start_rank then
  local stop_score = tonumber(redis.call('ZSCORE', KEYS[1], after))
  ended = walk(start_rank + 1, nil, nil)
  -- Then round to the front, up to where this call began.
  if ended == 'end' then ended = walk(0, stop_score, after) end
else
  ended = walk(0, nil, nil)
end
if ended == 'skips' and last_passed then out[2] = last_passed end
out[1] = next_due()
return out
