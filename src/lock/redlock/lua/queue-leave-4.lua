--[[
  Takes a waiter's ticket off a lock's queue. A waiter that got the lock
  leaves quietly (its release serves the next one). A waiter that gives up
  passes its turn on: on the only master, if the lock was granted to it in the
  meantime (the grant message still on its way) it gives the lock back, and
  if the lock is free the next live waiter is granted it; on the queue master
  of several, a head that leaves wakes the next one.

  KEYS[1] queue            {prefix}:lock-queue:<resource>
  KEYS[2] ticket deadlines {prefix}:lock-queue-deadlines:<resource>
  KEYS[3] lock key         {prefix}:lock:<resource>
  KEYS[4] fencing counter  {prefix}:lock-fence
  ARGV[1] ticket
  ARGV[2] wake-up channel  {prefix}:lock-wake (see channelOf)
  ARGV[3] '0' the waiter won: only take the ticket off
          '1' gave up, the only master: give back a grant, serve the next
          '2' gave up, the queue master of several: wake the next head

  Output: 0 the ticket was neither queued nor granted, 1 it was taken off
          the queue, 2 a lock granted to it was given back
]]
--@include queue
--@include grant

local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if rank then dequeue(KEYS[1], KEYS[2], ARGV[1]) end
local left = rank and 1 or 0
if ARGV[3] == '0' then return left end
if ARGV[3] == '2' then
  if rank == 0 then
    local head = pruneHead(KEYS[1], KEYS[2], nil)
    if head then redis.call('PUBLISH', channelOf(ARGV[2], head), head) end
  end
  return left
end

local holder = redis.call('GET', KEYS[3])
if not rank and grantedTo(holder, ARGV[1]) then
  redis.call('DEL', KEYS[3])
  serveHead(KEYS[3], KEYS[4], KEYS[1], KEYS[2], ARGV[2], '')
  return 2
end
if rank == 0 and not holder then serveHead(KEYS[3], KEYS[4], KEYS[1], KEYS[2], ARGV[2], '') end
return left
