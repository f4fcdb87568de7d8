-- Shared by the scripts that free a lock on its only master (spliced in
-- after `queue`, where a script says `--@include grant`): the lock goes
-- straight to the waiter at the head of the queue, in the step that frees it.
--
-- A ticket names the TTL its waiter asked for, `<instance>.<n>/<ttlMs>`, so
-- the grant needs no lookup. The granted value is `<ticket>#<fence>`: the waiter
-- recognises its own lock, and reads its fencing token, in the grant message
-- or, if that message is lost (pub/sub is best effort), in the lock key on
-- its next renewal (queue-join-4.lua). A ticket without a TTL (an older
-- schedkit's waiter) is woken instead, and takes the lock with its own attempt.
--
-- A waiter in another process may have died since it last renewed its ticket,
-- so the key is set to expire when the ticket's lease does (never later than
-- the TTL): a dead waiter holds the lock no longer than its ticket would have
-- held its place. A live waiter extends the key to its TTL on the grant (one
-- round trip, the same value and fencing token). The waiter of the releasing
-- process (`quiet`, told by the reply) is alive, and is granted the full TTL.

-- The TTL a ticket asks for, or nil.
local function ticketTtl(ticket)
  return tonumber(string.match(ticket, '/(%d+)$'))
end

-- True when `value` (the lock key's) was granted to `ticket`.
local function grantedTo(value, ticket)
  return value ~= false and value ~= nil and string.sub(value, 1, #ticket + 1) == ticket .. '#'
end

-- The lock key is free, or held by the caller who gives it up: grants it to
-- the live head (dead tickets are pruned first, so a waiter whose lease ran
-- out is never granted) and publishes the granted value to the head's
-- process (`channelOf`), unless the head's ticket is `quiet` (the caller's
-- own waiter, told by the reply). Returns the head, the fence (0 when the
-- head was only woken, the key left as it was) and the key's expiry in ms
-- (the ticket's remaining lease, or the TTL for `quiet`), or nil when nobody
-- waits.
local function serveHead(lockKey, fenceKey, queue, deadlines, channel, quiet)
  local head, now, deadline = pruneHead(queue, deadlines, nil)
  if head == nil then return nil, 0, 0 end
  local ttl = ticketTtl(head)
  if ttl == nil then
    redis.call('PUBLISH', channelOf(channel, head), head)
    return head, 0, 0
  end
  local px = ttl
  if head ~= quiet then px = math.min(ttl, deadline - now) end
  local fence = redis.call('INCR', fenceKey)
  local value = head .. '#' .. fence
  redis.call('SET', lockKey, value, 'PX', px)
  dequeue(queue, deadlines, head)
  if head ~= quiet then redis.call('PUBLISH', channelOf(channel, head), value) end
  return head, fence, px
end
