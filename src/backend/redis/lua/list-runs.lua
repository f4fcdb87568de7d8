--[[
  listRuns: one page of pending, retrying and active runs, ordered by job
  key, then run id ({p}:runs:<key> is a ZSET of score 0: lexicographic).

  KEYS[1]  the jobs to read: {p}:jobs, {p}:tenant-jobs:<tenant>, or (one job)
           {p}:runs:<key>
  ARGV[1]  namespace prefix `{p}:`
  ARGV[2]  '' to read the jobs of the index KEYS[1], or the one job key
  ARGV[3]  cursor job key ('' = from the first job)
  ARGV[4]  cursor run id: resume after it within the cursor job ('' = from
           that job's first run)
  ARGV[5]  state wanted: '' (any but done) | 'pending' | 'retrying' | 'running'
  ARGV[6]  most runs answered
  ARGV[7]  most runs and jobs read by this call

  Output: { cursor job key ('' = no more), cursor run id, then per run the
  15 values of common.lua `run_reply` }. A page may hold fewer runs than asked
  while the cursor is not '' (the read budget was spent).
]]
--- @include "common"

local CHUNK = 100
local only, wanted, limit, budget = ARGV[2], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local out = { '', '' }
local found, read = 0, 0

local function state_of(stored, attempt)
  if stored == 'active' then return 'running' end
  if stored == 'pending' then return tonumber(attempt) > 1 and 'retrying' or 'pending' end
  return stored
end

--- Reads the runs of `key` after `after` ('' = all); answers true when the
--- page is full or the budget spent (the cursor then says where to resume).
local function read_job(key, after)
  local names = false
  local start = after == '' and '-' or '(' .. after
  while true do
    local ids = redis.call('ZRANGEBYLEX', runs_key(key), start, '+', 'LIMIT', 0, CHUNK)
    if #ids == 0 then return false end
    for _, id in ipairs(ids) do
      if found >= limit or read >= budget then return true end
      read = read + 1
      out[1], out[2] = key, id
      local values = redis.call('HMGET', run_key(key, id), unpack(RUN_FIELDS))
      local state = values[1] and state_of(values[1], values[5])
      if state and state ~= 'done' and (wanted == '' or wanted == state) then
        names = names or job_names(key)
        for _, v in ipairs(run_reply(key, id, values, names)) do out[#out + 1] = v end
        found = found + 1
      end
    end
    start = '(' .. ids[#ids]
  end
end

local function finish(more)
  if not more then out[1], out[2] = '', '' end
  return out
end

if only ~= '' then return finish(read_job(only, ARGV[3] == only and ARGV[4] or '')) end

local from = '-'
if ARGV[3] ~= '' then
  if read_job(ARGV[3], ARGV[4]) then return finish(true) end
  from = '(' .. ARGV[3]
end
while true do
  local keys = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, CHUNK)
  if #keys == 0 then return finish(false) end
  for _, key in ipairs(keys) do
    if found >= limit or read >= budget then
      -- Resume at this job, from its first run.
      out[1], out[2] = key, ''
      return finish(true)
    end
    read = read + 1
    if read_job(key, '') then return finish(true) end
  end
  from = '(' .. keys[#keys]
end
