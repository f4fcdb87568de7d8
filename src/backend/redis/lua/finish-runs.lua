--[[
  finishRuns: ends active runs — every run that finished in one turn of an
  instance's event loop, in one call. The fire path: O(1) per run in the
  number of jobs.

  KEYS[1]  {p}:pending  ZSET pending run -> dueAt
  KEYS[2]  {p}:active   ZSET active run ref -> leaseUntil
  KEYS[3]  {p}:done     ZSET finished one-off run ref -> finishedAt
  (each run's job and run hashes are named from ARGV: they share the hash
  tag of KEYS, so the call stays in one Cluster slot)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  history limit
  then 11 per run, from ARGV[3]:
    job key, run id, fencing token of the caller's claim, instanceId,
    outcome ('success' | 'failed' | 'timeout' | 'lock-lost' | 'interrupted'),
    '1' when an error text is given ('0' for null), error text,
    durationMs (how long the attempt ran), endedMsAgo (how long before this
    call it ended: an outcome kept through an outage comes late),
    retryInMs ('' = none: else back to pending as attempt + 1, due that long from now),
    requeueInMs ('' = none: else back to pending, same attempt, due that long from now)
  The history's finishedAt is Redis time minus endedMsAgo, startedAt that
  minus durationMs: every instant is Redis's, never the caller's clock.

  A run `cancelRun` was called on (cancelRequested) is finished with the
  outcome sent, never put back to pending, and kept as done until the sweep.

  Output: per run, in order, 1 when recorded, 0 (nothing changed) when the
  run is not active with that fencing token.

  Publishes on {p}:runs-changed only when something may have become
  claimable: the run went back to pending, or an exclusive run ended and let
  a waiting exclusive run of its job into the due index (common.lua). An
  ordinary finish publishes nothing.
]]
--- @include "common"

local history_limit = tonumber(ARGV[2])
local now -- Redis time, read once per call and only when a run is recorded

local function finished_now()
  now = now or now_ms()
  return now
end

local function finish(key, id, fencing_token, instance_id, outcome, has_error, error_text, duration_ms, ended_ms_ago,
                      retry_in_ms, requeue_in_ms)
  local jk, rk = job_key(key), run_key(key, id)
  -- Positional, not the hmget() table: this runs once per run.
  local v = redis.call('HMGET', rk, 'state', 'fence', 'runId', 'kind', 'scheduledAt', 'attempt', 'exclusive',
    'cancelRequested')
  if v[1] ~= 'active' or tonumber(v[2]) ~= tonumber(fencing_token) then return 0 end
  local r = { runId = v[3], kind = v[4], scheduledAt = v[5], attempt = v[6], exclusive = v[7], cancelRequested = v[8] }
  local finished = finished_now() - math.max(0, tonumber(ended_ms_ago))
  local duration = math.max(0, tonumber(duration_ms))
  local finished_at, started_at = fmt(finished), fmt(finished - duration)

  local err = false
  if has_error == '1' then err = error_text end
  push_history(key, {
    runId = r.runId, id = id, kind = r.kind, scheduledAt = r.scheduledAt,
    startedAt = started_at, finishedAt = finished_at, outcome = outcome, error = err,
    instanceId = instance_id, attempt = r.attempt,
  }, history_limit)

  -- The job's counters and last-run fields in one write (the common path
  -- would otherwise take six commands).
  local j = redis.call('HMGET', jk, 'runCount', 'failCount', 'active', 'activeExclusive', 'pendingExclusive', 'lastError')
  local run_count, fail_count, active, active_exclusive, pending_exclusive, last_error = j[1], j[2], j[3], j[4], j[5], j[6]
  local active_left = fmt(tonumber(active or '0') - 1)
  if outcome == 'success' and r.exclusive == '1' then
    -- The common path: one write, no table.
    redis.call('HSET', jk, 'active', active_left, 'activeExclusive', fmt(tonumber(active_exclusive or '0') - 1),
      'runCount', fmt(tonumber(run_count or '0') + 1), 'lastRunAt', started_at, 'lastDurationMs', fmt(duration),
      'lastOutcome', outcome)
    if last_error then redis.call('HDEL', jk, 'lastError') end
  else
    local fields = { 'active', active_left }
    local function set(field, value)
      fields[#fields + 1] = field
      fields[#fields + 1] = value
    end
    if r.exclusive == '1' then set('activeExclusive', fmt(tonumber(active_exclusive or '0') - 1)) end
    if outcome ~= 'interrupted' then
      set('runCount', fmt(tonumber(run_count or '0') + 1))
      if outcome ~= 'success' then set('failCount', fmt(tonumber(fail_count or '0') + 1)) end
      set('lastRunAt', started_at)
      set('lastDurationMs', fmt(duration))
      set('lastOutcome', outcome)
      if outcome ~= 'success' and err then
        set('lastError', err)
      elseif last_error then
        redis.call('HDEL', jk, 'lastError')
      end
    end
    redis.call('HSET', jk, unpack(fields))
  end
  redis.call('ZREM', ACTIVE, run_ref(key, id))

  -- The end of an exclusive run lets the earliest waiting one of its job into
  -- the due index (promote reads nothing when none waits).
  local wake = r.exclusive == '1' and tonumber(pending_exclusive or '0') > 0 and promote(key)
  if r.cancelRequested then
    -- cancelRun asked for it: it ends here, whatever the caller would retry.
    retire(key, id, r.kind, outcome, finished_now(), true)
  elseif retry_in_ms ~= '' then
    local attempt = tonumber(r.attempt) + 1
    redis.call('HSET', rk, 'attempt', fmt(attempt))
    to_pending(key, id, fmt(now + tonumber(retry_in_ms)), r.exclusive, r.kind, attempt)
    wake = true
  elseif requeue_in_ms ~= '' then
    to_pending(key, id, fmt(now + tonumber(requeue_in_ms)), r.exclusive, r.kind, r.attempt)
    wake = true
  else
    retire(key, id, r.kind, outcome, finished_now())
  end
  if wake then notify(key) end
  return 1
end

local out = {}
for i = 3, #ARGV, 11 do
  out[#out + 1] = finish(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6],
    ARGV[i + 7], ARGV[i + 8], ARGV[i + 9], ARGV[i + 10])
end
return out
