--[[
  setPaused: sets or clears a job's pause flag.

  KEYS[1]  {p}:job:<key>  the job's state HASH
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key
  ARGV[3]  '1' to pause, '0' to resume, 'more' to go on unparking runs
           after a resume (nothing, if the job was paused since)
  ARGV[4]  most parked runs moved back to the due index by this call

  Output: 0 when the job does not exist; 1 when done; 2 (resume only) when
  parked runs remain: the caller calls again (with 'more') until it answers 1.

  Pausing moves nothing: a poll that meets a due run of a paused job parks
  it (claim-due-runs.lua), and runs that become pending while the job is
  paused are parked at once (common.lua). Resuming gives the parked runs
  back, in chunks, keeping their due order (they keep their members), then
  lets the earliest waiting exclusive run in when no exclusive run is
  active. Resuming a job that has pending runs publishes on
  {p}:runs-changed: they may be claimable now. Nothing else could have
  become claimable.
]]
--- @include "common"

local jk, key = KEYS[1], ARGV[2]
if redis.call('EXISTS', jk) == 0 then return 0 end
local was_paused = redis.call('HGET', jk, 'paused') == '1'
if ARGV[3] == 'more' then
  if was_paused then return 1 end
else
  redis.call('HSET', jk, 'paused', ARGV[3])
  if ARGV[3] ~= '0' then return 1 end
end

local pk = parked_key(key)
local chunk = tonumber(ARGV[4])
local moved = redis.call('ZRANGE', pk, 0, chunk - 1, 'WITHSCORES')
for i = 1, #moved, 2000 do
  local pairs_ = {}
  for j = i, math.min(i + 1999, #moved), 2 do
    pairs_[#pairs_ + 1] = moved[j + 1]
    pairs_[#pairs_ + 1] = moved[j]
  end
  redis.call('ZADD', PENDING, unpack(pairs_))
end
if #moved > 0 then redis.call('ZREMRANGEBYRANK', pk, 0, #moved / 2 - 1) end
local more = #moved >= 2 * chunk and redis.call('EXISTS', pk) == 1
if not more and (was_paused or #moved > 0) then promote(key) end
if #moved > 0 or (ARGV[3] == '0' and tonumber(redis.call('HGET', jk, 'pending') or '0') > 0) then notify(key) end
return more and 2 or 1
