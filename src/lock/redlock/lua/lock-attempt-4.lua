--[[
  The companion of one lock attempt on one master. It is sent right after
  redlock's acquire script on the same connection, so it runs after it: it
  bumps the fencing counter and reports what the acquire left behind. On the
  queue master it also reports the waiting queue (and renews the caller's
  ticket), so a newcomer can see that others are waiting.

  KEYS[1] lock key         {prefix}:lock:<resource>
  KEYS[2] fencing counter  {prefix}:lock-fence
  KEYS[3] queue            {prefix}:lock-queue:<resource>
  KEYS[4] ticket deadlines {prefix}:lock-queue-deadlines:<resource>
  ARGV[1] '1' to report the queue (queue master only), '0' otherwise
  ARGV[2] the caller's ticket, '' when it holds none
  ARGV[3] ticket lease (ms)

  Output: { fence, holder, pttl, ahead, queued }
    fence   the fencing counter after INCR
    holder  the lock key's value now (nil when the key does not exist)
    pttl    PTTL of the lock key (-2: no key, -1: no expiry)
    ahead   tickets ahead of the caller (every ticket when it holds none; 0 when ARGV[1] is '0')
    queued  1 when the caller's ticket is on the queue, else 0
]]
--@include queue

local fence = redis.call('INCR', KEYS[2])
local holder = redis.call('GET', KEYS[1])
local pttl = redis.call('PTTL', KEYS[1])
local ahead, queued = 0, 0
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then
  local now = nowMs()
  pruneHead(KEYS[3], KEYS[4], now)
  if ARGV[2] ~= '' and redis.call('ZSCORE', KEYS[3], ARGV[2]) then
    renew(KEYS[3], KEYS[4], ARGV[2], tonumber(ARGV[3]), now)
    ahead, queued = redis.call('ZRANK', KEYS[3], ARGV[2]), 1
  else
    ahead = redis.call('ZCARD', KEYS[3])
  end
end
return { fence, holder, pttl, ahead, queued }
