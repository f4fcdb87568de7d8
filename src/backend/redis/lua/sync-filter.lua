--[[
  syncFilter: one chunk of a `claimDueRuns` key filter, sent ahead of the
  claim when the change is too large for the claim's own arguments (the
  first copy of a filter of 100,000 jobs, or again after Redis lost it).

  KEYS[1]  {p}:filter:<filterId>  SET of the job keys the caller has registered
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  'reset' (replace the set by the keys) | 'add' | 'remove'
  ARGV[3..] job keys (a bounded chunk)

  Output: 1, or -2 for 'add'/'remove' when the set is missing (the claim
  that follows answers -2 too, and the caller sends the filter again).
  The chunks of one copy and the claim after them are sent in order on one
  connection, so no other call of that caller reads a half-sent filter.
]]
local FILTER_SENTINEL = '#'        -- as in claim-due-runs.lua
local FILTER_TTL_MS = 3600000

local filter, op = KEYS[1], ARGV[2]
if op == 'reset' then
  redis.call('DEL', filter)
  redis.call('SADD', filter, FILTER_SENTINEL)
elseif redis.call('SISMEMBER', filter, FILTER_SENTINEL) == 0 then
  return -2
end
local command = op == 'remove' and 'SREM' or 'SADD'
for i = 3, #ARGV, 1000 do
  redis.call(command, filter, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', filter, FILTER_TTL_MS)
return 1
