--[[
  After a release: wakes the waiter at the head of the lock's queue by
  publishing its ticket. Nobody else wakes: first come, first served.

  KEYS[1] queue            {prefix}:lock-queue:<resource>
  KEYS[2] ticket deadlines {prefix}:lock-queue-deadlines:<resource>
  ARGV[1] wake-up channel  {prefix}:lock-wake

  Output: the ticket woken, or nil when nobody waits
]]
--@include queue

if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local head = pruneHead(KEYS[1], KEYS[2], nowMs())
if head then redis.call('PUBLISH', ARGV[1], head) end
return head or false
