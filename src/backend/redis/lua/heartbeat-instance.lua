--[[
  heartbeatInstance: says an instance is alive for ttlMs more (by Redis
  time) and lists the instances alive now.

  KEYS[1]  {p}:instances  ZSET instance id -> alive until (epoch ms)
  KEYS[2]  {p}:heard      HASH at, ttl, reapAfter: the outage rule (below)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  instanceId
  ARGV[3]  ttlMs

  Output: the ids of every live instance (this one included), unsorted (the
  caller sorts them: Lua compares strings by the server's locale).
  Instances whose time ran out are deleted.

  The outage rule (Backend.heartbeatInstance; src/backend/outage-grace.ts is
  the same rule for the memory backend): when no instance was heard from for
  more than ttlMs / 2, nobody could reach Redis, so reap-stalled.lua leaves
  expired leases alone until ttlMs from now.
]]
--- @include "common"

local now = now_ms()
local ttl = tonumber(ARGV[3])
local heard_at = tonumber(redis.call('HGET', KEYS[2], 'at') or '')
if heard_at and now - heard_at > ttl / 2 then
  redis.call('HSET', KEYS[2], 'reapAfter', fmt(now + ttl))
end
redis.call('HSET', KEYS[2], 'at', fmt(now), 'ttl', ARGV[3])
redis.call('ZADD', KEYS[1], fmt(now + tonumber(ARGV[3])), ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now))
return redis.call('ZRANGE', KEYS[1], 0, -1)
