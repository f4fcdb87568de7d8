--[[
  Takes a waiter's ticket off a lock's queue. A waiter that gives up while at
  the head wakes the next one (ARGV[3] = '1'); a waiter that got the lock
  does not (its release will).

  KEYS[1] queue            {prefix}:lock-queue:<resource>
  KEYS[2] ticket deadlines {prefix}:lock-queue-deadlines:<resource>
  ARGV[1] ticket
  ARGV[2] wake-up channel  {prefix}:lock-wake
  ARGV[3] '1' to wake the new head when the ticket was the head

  Output: 1 when the ticket was on the queue, else 0
]]
--@include queue

local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return 0 end
dequeue(KEYS[1], KEYS[2], ARGV[1])
if rank == 0 and ARGV[3] == '1' then
  local head = pruneHead(KEYS[1], KEYS[2], nowMs())
  if head then redis.call('PUBLISH', ARGV[2], head) end
end
return 1
