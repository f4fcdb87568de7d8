--[[
  getJob: the stored state of one job.

  KEYS[1]  {p}:job:<key>  the job's state HASH
  ARGV[1]  namespace prefix `{p}:`

  Output: HGETALL of the job (an empty array when it is not stored).
  A script rather than a plain HGETALL so the reply shape is the same on
  RESP2 and RESP3 connections.
]]
return redis.call('HGETALL', KEYS[1])
