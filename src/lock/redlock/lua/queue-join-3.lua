--[[
  Puts a waiter's ticket at the tail of a lock's queue, or renews it if it is
  already queued.

  KEYS[1] queue            {prefix}:lock-queue:<resource>
  KEYS[2] ticket deadlines {prefix}:lock-queue-deadlines:<resource>
  KEYS[3] lock key         {prefix}:lock:<resource>
  ARGV[1] ticket
  ARGV[2] ticket lease (ms)

  Output: { rank, pttl }
    rank  0 when the ticket is at the head
    pttl  PTTL of the lock key on this master (-2: no key, -1: no expiry)
]]
--@include queue

local now = nowMs()
pruneHead(KEYS[1], KEYS[2], now)
local rank = enqueue(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), now)
return { rank, redis.call('PTTL', KEYS[3]) }
