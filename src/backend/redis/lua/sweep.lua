--[[
  sweep: deletes finished runs kept (one-off runs, cancelled runs) older
  than retentionMs (and their trigger-id entries), jobs (with
  their runs and history) not seen registered for orphanTimeoutMs unless a
  run of theirs is active, and tombstones older than orphanTimeoutMs.

  KEYS[1]  {p}:done     ZSET finished one-off run ref -> finishedAt
  KEYS[2]  {p}:seen     ZSET job key -> lastSeenAt
  KEYS[3]  {p}:removed  ZSET job key -> removal time (tombstones)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  retentionMs
  ARGV[3]  orphanTimeoutMs
  ARGV[4]  most runs, most jobs, and most runs of orphaned jobs deleted by
           one call (a job with more runs is deleted over several calls)

  Output: { runsDeleted, jobsDeleted, more ('1' when a limit was hit: call again) }

  {p}:seen scores are a lower bound of each job's lastSeenAt (claims update
  only the job hash, to keep the fire path O(1)): a candidate found there is
  checked against its hash, and its score repaired when it was seen since.
]]
--- @include "common"

local max = tonumber(ARGV[4])
local now = now_ms()
local run_cutoff = '(' .. fmt(now - tonumber(ARGV[2]))
local job_cutoff_n = now - tonumber(ARGV[3])
local job_cutoff = '(' .. fmt(job_cutoff_n)

local runs_deleted = 0
for _, ref in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', run_cutoff, 'LIMIT', 0, max)) do
  local key, id = split_ref(ref)
  if redis.call('HGET', run_key_of(ref), 'kind') == 'trigger' then
    forget_trigger_id(redis.call('HGET', job_key(key), 'tenant') or '', key, id)
  end
  redis.call('DEL', run_key_of(ref))
  redis.call('ZREM', runs_key(key), id)
  redis.call('ZREM', KEYS[1], ref)
  runs_deleted = runs_deleted + 1
end

local jobs_deleted = 0
local spared = 0
local run_budget_spent = false
local orphan_runs_left = max
while jobs_deleted < max do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', job_cutoff, 'LIMIT', spared, 100)
  if #batch == 0 then break end
  for _, key in ipairs(batch) do
    if jobs_deleted >= max then break end
    local job = hmget(job_key(key), 'lastSeenAt', 'active')
    if not job.lastSeenAt then
      redis.call('ZREM', KEYS[2], key)
    elseif tonumber(job.lastSeenAt) >= job_cutoff_n then
      redis.call('ZADD', KEYS[2], job.lastSeenAt, key)
    elseif tonumber(job.active) > 0 then
      spared = spared + 1
    else
      -- The runs of orphaned jobs have a budget of their own per call.
      local before = redis.call('ZCARD', runs_key(key))
      if delete_job(key, orphan_runs_left) then
        jobs_deleted = jobs_deleted + 1
        orphan_runs_left = orphan_runs_left - before
      else
        orphan_runs_left = 0
      end
      if orphan_runs_left <= 0 then
        run_budget_spent = true
        break
      end
    end
  end
  if run_budget_spent then break end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', job_cutoff)

local more = (runs_deleted >= max or jobs_deleted >= max or run_budget_spent) and '1' or '0'
return { fmt(runs_deleted), fmt(jobs_deleted), more }
