--[[
  releaseClaims: gives back runs an instance claimed under one of the given
  attempt ids but never heard of: its claiming call failed on its side, yet
  ran here (a command that timed out while Redis was frozen runs when it
  thaws). Each goes back to pending, due now, same attempt, with no history
  entry: it never started.

  KEYS[1]  {p}:active   ZSET active run ref -> leaseUntil
  KEYS[2]  {p}:pending  ZSET pending run -> dueAt
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  instanceId
  ARGV[3..] attempt ids (runId)

  Output: how many runs were given back. Publishes on {p}:runs-changed when
  any was. Reads every active run: O(active runs), on the rare path after an
  outage only.
]]
--- @include "common"

local instance_id = ARGV[2]
local wanted = {}
for i = 3, #ARGV do wanted[ARGV[i]] = true end
local now_s = fmt(now_ms())
local released = 0
for _, ref in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local r = hmget(run_key_of(ref), 'state', 'runId', 'instanceId', 'exclusive', 'kind', 'attempt')
  if r.state == 'active' and r.instanceId == instance_id and wanted[r.runId] then
    local key, id = split_ref(ref)
    deactivate(key, id, r.exclusive)
    to_pending(key, id, now_s, r.exclusive, r.kind, r.attempt)
    released = released + 1
  end
end
if released > 0 then notify('') end
return released
