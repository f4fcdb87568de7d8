--[[
  Puts a waiter's ticket at the tail of a lock's queue, or renews it if it is
  already queued. Also the waiter's periodic re-check: when the lock was
  granted to its ticket (includes/grant.lua) and the grant message never
  arrived, the reply says so, and the ticket is not queued again.

  KEYS[1] queue            {prefix}:lock-queue:<resource>
  KEYS[2] ticket deadlines {prefix}:lock-queue-deadlines:<resource>
  KEYS[3] lock key         {prefix}:lock:<resource>
  KEYS[4] fencing counter  {prefix}:lock-fence
  ARGV[1] ticket
  ARGV[2] ticket lease (ms)

  Output: { rank, pttl, counter, granted }
    rank     0 when the ticket is at the head; -1 when the lock is granted to it
    pttl     PTTL of the lock key on this master (-2: no key, -1: no expiry)
    counter  the fencing counter now: a grant with a higher fence came after
             this call (the waiter dates its grant by it)
    granted  the lock value granted to the ticket (`<ticket>#<fence>`), else nil
]]
--@include queue
--@include grant

local holder = redis.call('GET', KEYS[3])
if grantedTo(holder, ARGV[1]) then
  return { -1, redis.call('PTTL', KEYS[3]), 0, holder }
end
local _, now = pruneHead(KEYS[1], KEYS[2], nil)
local rank = enqueue(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), now or nowMs())
return { rank, redis.call('PTTL', KEYS[3]), tonumber(redis.call('GET', KEYS[4])) or 0 }
