--[[
  Gives a lock up on one master. On the queue master it also serves the
  waiting queue in the same step: the lock goes straight to the head's
  waiter when the releasing process has named it (that waiter lives in the
  same process, so it learns of the grant from this reply: no wake-up, no
  second round trip), else the head is woken over pub/sub.

  KEYS[1] lock key         {prefix}:lock:<resource>
  KEYS[2] fencing counter  {prefix}:lock-fence
  KEYS[3] queue            {prefix}:lock-queue:<resource>
  KEYS[4] ticket deadlines {prefix}:lock-queue-deadlines:<resource>
  ARGV[1] the releasing holder's lock value
  ARGV[2] wake-up channel  {prefix}:lock-wake
  ARGV[3] '0' not the queue master: only delete the key
          '1' the only master: hand over or wake the head now
          '2' queue master of several: only report whether someone waits
              (the caller wakes the head once a quorum has released)
  ARGV[4] ticket of a local waiter that may take the lock over, '' for none
  ARGV[5] the lock value for that waiter
  ARGV[6] that waiter's TTL (ms)

  Output: { released, next, fence }
    released 1 when the key held ARGV[1] (it is now deleted or handed over)
    next     0 nobody waits, 1 a live waiter is at the head (woken in mode '1'),
             2 the lock was handed over to ARGV[4]
    fence    the fencing counter after INCR when handed over, else 0
]]
--@include queue

local mine = redis.call('GET', KEYS[1]) == ARGV[1]
if ARGV[3] == '0' then
  if mine then
    redis.call('DEL', KEYS[1])
    return { 1, 0, 0 }
  end
  return { 0, 0, 0 }
end
-- Held by someone else (ours expired and was taken): their release serves the queue.
if not mine and redis.call('EXISTS', KEYS[1]) == 1 then return { 0, 0, 0 } end

local head
if redis.call('EXISTS', KEYS[3]) == 1 then head = pruneHead(KEYS[3], KEYS[4], nowMs()) end
if mine and head ~= nil and head == ARGV[4] and ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[6])
  local fence = redis.call('INCR', KEYS[2])
  dequeue(KEYS[3], KEYS[4], head)
  return { 1, 2, fence }
end
if mine then redis.call('DEL', KEYS[1]) end
if head ~= nil and ARGV[3] == '1' then redis.call('PUBLISH', ARGV[2], head) end
return { mine and 1 or 0, head ~= nil and 1 or 0, 0 }
