--[[
  getRun: one run, pending, active or done and not yet swept.

  KEYS[1]  {p}:trigger-ids:<tenant>  HASH one-off run id -> job key, of the
           tenant the lookup names ('' = jobs without tenant)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key, or '' to find the one-off run by id among the tenant's jobs
  ARGV[3]  run id

  Output: the run as common.lua `run_reply` answers it (15 values), or nil.
]]
--- @include "common"

local key, id = ARGV[2], ARGV[3]
if key == '' then
  key = redis.call('HGET', KEYS[1], id)
  if not key then return false end
end
return read_run(key, id)
