--[[
  Gives a lock up on one master. On the only master it also serves the
  waiting queue in the same step: the lock goes straight to the waiter at the
  head of the queue, whichever process that waiter lives in (see
  includes/grant.lua). No wake-up, no attempt of the waiter's own: a waiter
  of the releasing process holds the lock on the reply; one elsewhere, told
  over pub/sub, holds it once it has extended the short-lived grant to its
  TTL (one extension).

  KEYS[1] lock key         {prefix}:lock:<resource>
  KEYS[2] fencing counter  {prefix}:lock-fence
  KEYS[3] queue            {prefix}:lock-queue:<resource>
  KEYS[4] ticket deadlines {prefix}:lock-queue-deadlines:<resource>
  ARGV[1] the releasing holder's lock value
  ARGV[2] wake-up channel  {prefix}:lock-wake (see channelOf)
  ARGV[3] '0' not the queue master: only delete the key
          '1' the only master: grant the lock to the head now
          '2' queue master of several: wake the head now. A grant here would
              be a vote of one master, not a lock: the head takes the lock
              with its own attempt on every master. The releaser's calls to
              the other masters went out before this one ran, so they are
              almost always there before the head's attempt; when one is
              not, the head's attempt fails there and it tries again soon.
  ARGV[4] ticket of a waiter in the releasing process, '' for none: when it is
          the one granted (or woken), nothing is published (the reply tells
          its process)

  Output: { released, next, fence, head, px }
    released 1 when the key held ARGV[1] (it is now deleted, or granted on)
    next     0 nobody waits, 1 a live waiter is at the head (woken),
             2 the lock was granted to the head
    fence    the granted lock's fencing token, else 0
    head     the head's ticket, nil when nobody waits
    px       the granted key's expiry (ms): the TTL for ARGV[4]'s waiter,
             else at most the head ticket's remaining lease; 0 unless granted
]]
--@include queue
--@include grant

local holder = redis.call('GET', KEYS[1])
local mine = holder == ARGV[1]
local released = mine and 1 or 0
-- Not ours: held by someone else (ours expired and was taken: their release
-- serves the queue), or, on a master that only deletes, gone.
if not mine and (holder or ARGV[3] == '0') then return { 0, 0, 0 } end

if ARGV[3] == '1' then
  -- A grant sets the key to the head's value over ours.
  local head, fence, px = serveHead(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[2], ARGV[4])
  if fence == 0 and mine then redis.call('DEL', KEYS[1]) end
  if head == nil then return { released, 0, 0 } end
  return { released, fence > 0 and 2 or 1, fence, head, px }
end
if mine then redis.call('DEL', KEYS[1]) end
if ARGV[3] == '0' then return { released, 0, 0 } end
local head = pruneHead(KEYS[3], KEYS[4], nil)
if head == nil then return { released, 0, 0 } end
if head ~= ARGV[4] then redis.call('PUBLISH', channelOf(ARGV[2], head), head) end
return { released, 1, 0, head }
