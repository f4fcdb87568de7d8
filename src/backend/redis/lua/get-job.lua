--[[
  getJob: the stored state of one job.

  KEYS[1]  {p}:job:<key>  the job's state HASH
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  job key

  Output: HGETALL of the job (an empty array when it is not stored). For a
  job without schedule with pending runs, followed by 'nextRunAt' and the
  due time of the earliest (common.lua `with_earliest_due`; the later pair wins
  when decoded).
  A script rather than a plain HGETALL so the reply shape is the same on
  RESP2 and RESP3 connections.
]]
--- @include "common"

return with_earliest_due(ARGV[2], redis.call('HGETALL', KEYS[1]))
