--[[
  time: the Redis server time, from the node that serves the namespace.

  KEYS[1]  {p}:pending  (only routes the call to the namespace's node on Cluster)
  ARGV[1]  namespace prefix `{p}:`

  Output: epoch ms as decimal text.
]]
--- @include "common"

return fmt(now_ms())
