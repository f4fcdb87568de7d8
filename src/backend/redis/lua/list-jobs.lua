--[[
  listJobs: one page of stored jobs in key order.

  KEYS[1]  {p}:jobs or {p}:tenant-jobs:<tenant>  ZSET of job keys (score 0)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  lexicographic start: '-' for the first page, '(<last key>' after
  ARGV[3]  page size

  Output: { key, HGETALL of the job, key, HGETALL, ... } (at most ARGV[3] jobs);
  a job without schedule with pending runs has 'nextRunAt' and the due time
  of the earliest appended to its HGETALL, as get-job.lua answers it.
]]
--- @include "common"

local out = {}
for _, key in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+', 'LIMIT', 0, tonumber(ARGV[3]))) do
  out[#out + 1] = key
  out[#out + 1] = with_earliest_due(key, redis.call('HGETALL', job_key(key)))
end
return out
