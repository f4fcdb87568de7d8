-- Shared by the waiting-queue scripts (spliced in where a script says
-- `--@include queue`). A queue is a ZSET ticket -> arrival order plus a HASH
-- ticket -> lease deadline (server ms); a ticket whose lease ran out belongs
-- to a waiter that died or stalled, and is dropped when it reaches the head.

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drops dead tickets at the head; returns the live head ticket (or nil), the
-- server time it used (`now`, read only when someone is queued) and the head
-- ticket's lease deadline (server ms, after `now`).
local function pruneHead(queue, deadlines, now)
  while true do
    local head = redis.call('ZRANGE', queue, 0, 0)[1]
    if head == nil then return nil, now end
    now = now or nowMs()
    local deadline = tonumber(redis.call('HGET', deadlines, head))
    if deadline ~= nil and deadline > now then return head, now, deadline end
    redis.call('ZREM', queue, head)
    redis.call('HDEL', deadlines, head)
  end
end

-- Renews a ticket's lease (both keys outlive every live lease).
local function renew(queue, deadlines, ticket, leaseMs, now)
  redis.call('HSET', deadlines, ticket, now + leaseMs)
  redis.call('PEXPIRE', queue, leaseMs * 2)
  redis.call('PEXPIRE', deadlines, leaseMs * 2)
end

-- Puts a ticket at the tail unless it is queued already, renews it; returns its rank.
local function enqueue(queue, deadlines, ticket, leaseMs, now)
  if not redis.call('ZSCORE', queue, ticket) then
    local tail = redis.call('ZRANGE', queue, -1, -1, 'WITHSCORES')
    local order = 1
    if tail[2] then order = tonumber(tail[2]) + 1 end
    redis.call('ZADD', queue, order, ticket)
  end
  renew(queue, deadlines, ticket, leaseMs, now)
  return redis.call('ZRANK', queue, ticket)
end

-- The channel that reaches a ticket's waiter. A ticket starts with the id of
-- the lock instance that waits (`<instance>.<n>/<ttlMs>`), which listens on
-- `<channel>:<instance>`: a message wakes that process only, not every
-- process of the namespace. A ticket without one (an older schedkit's) is
-- told on the namespace's channel.
local function channelOf(channel, ticket)
  local instance = string.match(ticket, '^([^%.]+)%.')
  if instance == nil then return channel end
  return channel .. ':' .. instance
end

-- Takes a ticket off the queue.
local function dequeue(queue, deadlines, ticket)
  redis.call('ZREM', queue, ticket)
  redis.call('HDEL', deadlines, ticket)
end
