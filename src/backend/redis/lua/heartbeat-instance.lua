--[[
  heartbeatInstance: says an instance is alive for ttlMs more (by Redis
  time) and lists the instances alive now.

  KEYS[1]  {p}:instances  ZSET instance id -> alive until (epoch ms)
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  instanceId
  ARGV[3]  ttlMs

  Output: the ids of every live instance (this one included), unsorted (the
  caller sorts them: Lua compares strings by the server's locale).
  Instances whose time ran out are deleted.
]]
--- @include "common"

local now = now_ms()
redis.call('ZADD', KEYS[1], fmt(now + tonumber(ARGV[3])), ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now))
return redis.call('ZRANGE', KEYS[1], 0, -1)
