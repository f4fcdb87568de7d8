--[[
  One lock attempt on one master, in one step: takes the key if it is free
  (SET NX PX) and bumps the fencing counter with it, so the counter value
  returned belongs to this very grant. On the queue master it looks at the
  waiting queue first: a free lock is not taken past waiters ahead of the
  caller (first come, first served), and a caller that is going to wait is
  queued right away when it does not get the lock, saving the round trip of
  a separate join.

  KEYS[1] lock key         {prefix}:lock:<resource>
  KEYS[2] fencing counter  {prefix}:lock-fence
  KEYS[3] queue            {prefix}:lock-queue:<resource>
  KEYS[4] ticket deadlines {prefix}:lock-queue-deadlines:<resource>
  ARGV[1] lock value (random per attempt)
  ARGV[2] TTL (ms)
  ARGV[3] '1' on the queue master (look at the queue), '0' elsewhere
  ARGV[4] the caller's ticket, '' when it has none
  ARGV[5] ticket lease (ms)
  ARGV[6] '1' to queue the ticket when the lock is not granted
  ARGV[7] '1' to take the ticket off the queue when granted (one master:
          this grant is the lock), '0' to keep it at the head (several: the
          caller leaves once it knows a quorum granted; taken off now, a
          waiter behind it could start an attempt of its own and split the
          votes)

  Output: { 1, fence, queued } when granted (the short reply of the common
  case: the holder is ARGV[1] for ARGV[2] ms, nobody ahead), else
          { granted, fence, holder, pttl, ahead, queued, counter }
    granted 1 when this master granted the lock to ARGV[1]
    fence   the fencing counter after INCR when granted, else 0
    holder  the lock key's value now (nil when there is no key)
    pttl    PTTL of the lock key (-2: no key, -1: no expiry)
    ahead   tickets ahead of the caller (every ticket when it has none)
    queued  1 when the caller's ticket is on the queue now
    counter when not granted, the fencing counter now (0 when not the queue
            master): a lock granted to the ticket later has a higher fence
]]
--@include queue

local queueMaster = ARGV[3] == '1'
local ticket = ARGV[4]
local leaseMs = tonumber(ARGV[5])
local ahead, queued = 0, 0
local now
if queueMaster then
  local head
  head, now = pruneHead(KEYS[3], KEYS[4], nil)
  if head == nil then
    ahead = 0
  elseif ticket ~= '' and redis.call('ZSCORE', KEYS[3], ticket) then
    ahead, queued = redis.call('ZRANK', KEYS[3], ticket), 1
  else
    ahead = redis.call('ZCARD', KEYS[3])
  end
end

if ahead == 0 and redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local fence = redis.call('INCR', KEYS[2])
  if queued == 1 then
    if ARGV[7] == '1' then
      dequeue(KEYS[3], KEYS[4], ticket)
      queued = 0
    else
      renew(KEYS[3], KEYS[4], ticket, leaseMs, now)
    end
  end
  return { 1, fence, queued }
end

local counter = 0
if queueMaster and ticket ~= '' then
  now = now or nowMs()
  if queued == 1 then
    renew(KEYS[3], KEYS[4], ticket, leaseMs, now)
  elseif ARGV[6] == '1' then
    ahead, queued = enqueue(KEYS[3], KEYS[4], ticket, leaseMs, now), 1
  end
  counter = tonumber(redis.call('GET', KEYS[2])) or 0
end
return { 0, 0, redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]), ahead, queued, counter }
