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
  ARGV[3]  where to read from: a leaseUntil bound ('-inf' to start, then the
           cursor the previous call answered)
  ARGV[4]  most active runs read by this call (plus the runs sharing the
           last lease read, so a cursor always moves on)
  ARGV[5..] attempt ids (runId)

  Output: { released (how many runs were given back), cursor ('' when every
  active run was read, else pass it as ARGV[3] of the next call) }.
  Publishes on {p}:runs-changed when any was given back.

  The active set is read in leaseUntil order, a chunk per call. The runs
  looked for are never heartbeated (their instance never heard of them), so
  their leases stay put and no chunking of the others' moving leases can
  skip them.
]]
--- @include "common"

local instance_id, from, chunk = ARGV[2], ARGV[3], tonumber(ARGV[4])
local wanted = {}
for i = 5, #ARGV do wanted[ARGV[i]] = true end
local now_s = fmt(now_ms())
local released = 0

local function consider(ref)
  local r = hmget(run_key_of(ref), 'state', 'runId', 'instanceId', 'exclusive', 'kind', 'attempt')
  if r.state == 'active' and r.instanceId == instance_id and wanted[r.runId] then
    local key, id = split_ref(ref)
    deactivate(key, id, r.exclusive)
    to_pending(key, id, now_s, r.exclusive, r.kind, r.attempt)
    released = released + 1
  end
end

local batch = redis.call('ZRANGEBYSCORE', KEYS[1], from, '+inf', 'WITHSCORES', 'LIMIT', 0, chunk)
for i = 1, #batch, 2 do consider(batch[i]) end
local cursor = ''
if #batch >= 2 * chunk then
  -- Runs claimed in one call share a lease: read the rest of that lease here,
  -- so the next call can start after it.
  local last = batch[#batch]
  for _, ref in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], last, last)) do consider(ref) end
  cursor = '(' .. last
end
if released > 0 then notify('') end
return { released, cursor }
